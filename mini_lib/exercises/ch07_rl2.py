"""Checkers for chapter 07's exercises: Thompson sampling, the RL² input sequence, the memory.

:func:`check_thompson` runs ``thompson_arms(wins, pulls, rng)`` on count states repeated in
20 000 rows and compares the choice frequencies with the exact probabilities that each arm's
Beta(1 + wins, 1 + losses) draw is the largest (:func:`beta_argmax_probabilities`), then plays
it on 2000 five-armed bandits for 100 pulls (Duan et al.: 74.7). It names: no prior, pulls
counted as losses, a deterministic (greedy) choice, argmin, the wrong axis, draws not from rng.

:func:`check_rl2_inputs` compares ``rl2_inputs(actions, rewards, n_arms)`` with
:func:`~mini_lib.rl2.trials.trial_inputs` and names: the current reward fed before its pull
(the leak), the current arm, row 0 wrapped around (``torch.roll``), the time feature off by
one, missing or zero, the features in the wrong order, batch first, float64.

:func:`check_memory_loop` compares ``run_memory(model, inputs)``, the GRU stepped pull by pull,
with one fused call, ``model(inputs).states``, and names: the state reset at every pull, a state
kept from call to call (the previous trial's), ``last_state`` alone or stacked, and the fused
call itself (right numbers, but no agent can act that way).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import torch

from mini_lib.bandits.baselines import BanditPolicy, run_policy
from mini_lib.envs.bernoulli_bandit import sample_tasks
from mini_lib.exercises.kit import CheckResult, as_array, report_failure, short, single_threaded
from mini_lib.rl2.policy import RecurrentActorCritic
from mini_lib.rl2.trials import trial_inputs

__all__ = ["beta_argmax_probabilities", "check_memory_loop", "check_rl2_inputs",
           "check_thompson"]


def _fail(what: str, text: str) -> CheckResult:
    return CheckResult(False, f"❌ {what}: {text}")


# -- exercise 1: Thompson sampling -------------------------------------------------------------

ThompsonArms = Callable[[np.ndarray, np.ndarray, np.random.Generator], np.ndarray]

#: (wins, pulls) per arm; the first has wins and losses on every arm, for Beta(wins, losses)
_STATES = [((1, 4), (3, 6)), ((0, 2), (0, 3)), ((9, 1, 0, 2), (10, 4, 0, 5)),
           ((3, 2, 0, 1), (5, 4, 0, 3))]
_ROWS, _DUAN = 20_000, 74.7  # Duan et al. 2016, Table 1: Thompson, k = 5 arms, n = 100 pulls
_TASKS_SEED = 2016  # our Thompson collects 75.15 on these (20 seeds, spread 0.12, measured)

_GREEDY_HINT = ("every row with the same counts got the same arm: your choice is deterministic "
                "(the best posterior mean?) and never tries an arm that only *might* be best. "
                "Draw p_a ~ Beta(1 + wins, 1 + pulls − wins) per row and arm, pull the largest.")
_NO_PRIOR_HINT = ("your draws come from Beta(wins, losses), without the prior: an arm never "
                  "pulled, won or lost gets a parameter 0, no distribution (an error or NaN). "
                  "Add +1 to both counts, the U[0, 1] prior: Beta(1 + wins, 1 + pulls − wins).")
_LOSSES_HINT = ("your draws come from Beta(1 + wins, 1 + pulls): the second parameter counts "
                "the *losses*, pulls − wins, else the winning arms are underrated.")
_ARGMIN_HINT = ("you pull the arm with the *smallest* draw, the one most likely to be bad: "
                "take argmax(draws, axis=1).")
_AXIS_HINT = ("you return one number per arm instead of one arm per task: take the argmax over "
              "the arms, axis=1, for a (T,) answer.")
_RNG_HINT = ("identically seeded generators gave different arms: your draws do not come from "
             "rng (np.random?). Draw with rng.beta, so that a seeded run replays.")


def beta_argmax_probabilities(alpha: np.ndarray, beta: np.ndarray,
                              largest: bool = True) -> np.ndarray:
    """P(arm a's draw is the largest), ∫ f_a(x) Π_{b≠a} F_b(x) dx, for independent draws
    ``p_b ~ Beta(alpha_b, beta_b)`` with integer parameters ≥ 1 (``largest=False``: the
    smallest, with 1 − F_b). The densities and CDFs, ``F(x) = P(Binomial(α + β − 1, x) ≥ α)``,
    are then polynomials: Gauss–Legendre quadrature integrates them exactly (to rounding)."""
    alpha, beta = np.asarray(alpha, dtype=np.int64), np.asarray(beta, dtype=np.int64)
    if alpha.ndim != 1 or alpha.shape != beta.shape or min(alpha.min(), beta.min()) < 1:
        raise ValueError(f"alpha and beta must be integers ≥ 1 of one shape (k,), got "
                         f"{alpha.tolist()} and {beta.tolist()}")
    nodes, weights = np.polynomial.legendre.leggauss(int(np.sum(alpha + beta)) // 2 + 2)
    x, w = (nodes + 1.0) / 2.0, weights / 2.0
    pdfs, tails = [], []
    for a, n in zip(alpha.tolist(), (alpha + beta - 1).tolist(), strict=True):
        pdfs.append(n * math.comb(n - 1, a - 1) * x ** (a - 1) * (1 - x) ** (n - a))
        cdf = sum(math.comb(n, j) * x ** j * (1 - x) ** (n - j) for j in range(a, n + 1))
        tails.append(cdf if largest else 1.0 - cdf)
    return np.array([np.sum(w * pdf * np.prod([t for j, t in enumerate(tails) if j != i],
                                                axis=0)) for i, pdf in enumerate(pdfs)])


def _close(freq: np.ndarray, probs: np.ndarray) -> bool:  # 5 standard errors and a floor
    return bool(np.all(np.abs(freq - probs) <= 5 * np.sqrt(probs * (1 - probs) / _ROWS) + 2e-3))


def _thompson_mistake(freq: np.ndarray, wins: np.ndarray, pulls: np.ndarray) -> str | None:
    if freq.max() == 1.0:
        return _GREEDY_HINT
    losses = pulls - wins
    tables = [(_LOSSES_HINT, beta_argmax_probabilities(1 + wins, 1 + pulls)),
              (_ARGMIN_HINT, beta_argmax_probabilities(1 + wins, 1 + losses, largest=False))]
    if min(wins.min(), losses.min()) >= 1:
        tables.insert(0, (_NO_PRIOR_HINT, beta_argmax_probabilities(wins, losses)))
    return next((hint for hint, table in tables if _close(freq, table)), None)


def _arms_problem(arms: object, k: int) -> str | None:
    if np.shape(arms) == (k,):
        return _AXIS_HINT
    if np.shape(arms) != (_ROWS,):
        return f"return one arm per task, shape ({_ROWS},), got shape {np.shape(arms)}."
    arms = np.asarray(arms)
    if not np.issubdtype(arms.dtype, np.integer):
        return f"return integer arm indices, as np.argmax gives them, got {arms.dtype}."
    if arms.min() < 0 or arms.max() >= k:
        return f"arms must be in [0, {k - 1}], got values from {arms.min()} to {arms.max()}."
    return None


class _LearnerThompson(BanditPolicy):
    def __init__(self, thompson_arms: ThompsonArms) -> None:
        self.thompson_arms = thompson_arms

    def choose(self, rng: np.random.Generator) -> np.ndarray:
        return np.asarray(self.thompson_arms(self.wins.copy(), self.pulls.copy(), rng))


def check_thompson(thompson_arms: ThompsonArms, seed: int = 0) -> CheckResult:
    """Check ``thompson_arms(wins, pulls, rng) -> arms``: Thompson sampling, Beta(1, 1) prior."""
    what = "thompson_arms"
    for i, (wins, pulls) in enumerate(_STATES):
        wins, pulls = np.array(wins), np.array(pulls)
        try:  # the first state twice with the same seed: does the function draw from rng?
            answers = [thompson_arms(np.tile(wins, (_ROWS, 1)), np.tile(pulls, (_ROWS, 1)),
                                     np.random.default_rng([seed, i])) for _ in range(1 + (i == 0))]
        except Exception as error:  # the learner's bug, reported rather than raised
            return report_failure(what, error)
        if (problem := _arms_problem(answers[0], len(wins))) is not None:
            return _fail(what, problem)
        freq = np.bincount(np.asarray(answers[0]), minlength=len(wins)) / _ROWS
        exact = beta_argmax_probabilities(1 + wins, 1 + pulls - wins)
        if not _close(freq, exact):
            return _fail(what, _thompson_mistake(freq, wins, pulls) or (
                f"with wins {tuple(wins.tolist())}, pulls {tuple(pulls.tolist())} in every row, "
                f"your arms' frequencies are {short(freq)}, but Thompson sampling's exact "
                f"probabilities are {short(exact)}."))
        if len(answers) == 2 and not np.array_equal(*map(np.asarray, answers)):
            return _fail(what, _RNG_HINT)
    try:
        mean = float(run_policy(_LearnerThompson(thompson_arms),
                                sample_tasks(2000, seed=_TASKS_SEED, k=5), 100,
                                np.random.default_rng(seed)).mean())
    except Exception as error:  # the learner's bug, reported rather than raised
        return report_failure(what, error)
    played = f"on 2000 five-armed bandits, 100 pulls, it collects {mean:.1f} on average"
    if abs(mean - _DUAN) > 0.03 * _DUAN:
        return _fail(what, f"right on the count states, but {played} (Duan et al.'s "
                           f"Thompson: {_DUAN}); does it work for any counts (T, 5)?")
    return CheckResult(True, f"✅ {what}: the choice frequencies match the exact Thompson "
                             f"probabilities on all {len(_STATES)} count states, and {played} "
                             f"(Duan et al.: {_DUAN}).")


# -- exercise 2: the RL² input sequence --------------------------------------------------------

_LEAK_HINT = ("row t holds r_t, the reward of the pull being chosen at t: the agent would see "
              "the outcome before it pulls (a leak, the network learns to read the answer). "
              "Feed the previous pull's reward: rewards[:-1] into rows 1 … n − 1.")
_ACTION_HINT = ("row t holds one_hot(a_t), the arm about to be chosen: the input says what "
                "happened *before*, one_hot(a_{t−1}): actions[:-1] into rows 1 … n − 1.")
_ROLL_HINT = ("row 0 holds the trial's last pull (torch.roll wraps around): nothing was pulled "
              "yet at the start, row 0 must be zeros.")
_TIME_OFF_HINT = "your time feature is (t + 1)/n: make it t/n, the fraction already played."
_TIME_MISSING_HINT = ("the time feature t/n is missing (or zero): without it the agent cannot "
                      "tell when to stop exploring. Put torch.arange(n) / n in the last column.")
_ORDER_HINT = ("the features are right but in the wrong places: the layout is "
               "[one_hot(a_{t−1}) (k) | r_{t−1} | t/n], as the env's observation.")
_RL2_CASES = [(6, 3, 2), (8, 4, 5), (5, 1, 3), (1, 2, 4)]  # (n, B, k)


def _input_mistake(got: np.ndarray, actions: torch.Tensor, rewards: torch.Tensor,
                   expected: np.ndarray) -> str | None:
    n, k = actions.shape[0], expected.shape[2] - 2
    one_hot, rewards = torch.nn.functional.one_hot(actions, k).numpy(), rewards.numpy()
    columns = [sorted(map(tuple, x.astype(np.float64).reshape(-1, k + 2).T.round(6)))
               for x in (got, expected)]  # the same columns in another order?
    later, same = (np.arange(n)[:, None] + 1.0) / n, np.allclose  # got has the right shape
    for mistaken, hint in [(columns[0] == columns[1], _ORDER_HINT),
                           (n > 1 and same(got[1:, :, k], rewards[1:]), _LEAK_HINT),
                           (n > 1 and same(got[1:, :, :k], one_hot[1:]), _ACTION_HINT),
                           (same(got[1:, :, :k], expected[1:, :, :k])
                            and same(got[0, :, :k], one_hot[-1]), _ROLL_HINT),
                           (same(got[:, :, k + 1], later), _TIME_OFF_HINT),
                           (n > 1 and not got[:, :, k + 1].any(), _TIME_MISSING_HINT)]:
        if mistaken:
            return hint
    return None


def check_rl2_inputs(
        rl2_inputs: Callable[[torch.Tensor, torch.Tensor, int], torch.Tensor]) -> CheckResult:
    """Check ``rl2_inputs(actions, rewards, n_arms)``: the RL² input sequence ``(n, B, k + 2)``."""
    what = "rl2_inputs"
    generator = torch.Generator().manual_seed(7)
    for n, batch, k in _RL2_CASES:
        actions = torch.randint(k, (n, batch), generator=generator)
        rewards = (torch.rand(n, batch, generator=generator) < 0.5).float()
        expected = trial_inputs(actions, rewards, k).numpy()
        case = f"n = {n} pulls, B = {batch} trials, k = {k} arms"
        try:
            out = rl2_inputs(actions.clone(), rewards.clone(), k)
        except Exception as error:  # the learner's bug, reported rather than raised
            return report_failure(what, error)
        if not isinstance(out, torch.Tensor):
            return _fail(what, f"return a torch tensor for the GRU, got {type(out).__name__}.")
        if (shape := tuple(out.shape)) != expected.shape:
            shape_hints = {(n, batch, k + 1): _TIME_MISSING_HINT,
                           (batch, n, k + 2): "time comes first: return (n, B, k + 2)."}
            return _fail(what, shape_hints.get(shape, f"for {case} the shape should be "
                                                      f"{expected.shape}, got {shape}."))
        if not np.allclose(got := as_array(out), expected, atol=1e-6):
            t, b, _ = np.argwhere(~np.isclose(got, expected, atol=1e-6))[0]
            return _fail(what, _input_mistake(got, actions, rewards, expected) or (
                f"wrong answer for {case}: row t = {t} of trial {b} should be "
                f"{short(expected[t, b])}, got {short(got[t, b])}."))
        if out.dtype != torch.float32:
            return _fail(what, f"right values in {out.dtype}; the GRU reads float32: .float()")
    return CheckResult(True, f"✅ {what}: correct on all {len(_RL2_CASES)} trial batches.")


# -- exercise 3: the memory loop ---------------------------------------------------------------

_RESET_HINT = ("you start every pull from a zero state (None each step): the memory never "
               "survives a pull. Carry it: state = out.last_state, passed to the next call.")
_CARRIED_HINT = ("your function keeps the hidden state from one call to the next (a global or "
                 "a default argument): a new trial starts with the memory of the previous "
                 "bandit. Start every trial from state = None, a local variable.")
_LAST_ONLY_HINT = ("you return last_state only, the memory after the final pull: return the "
                   "state of every pull, torch.cat of out.states, shape (n, B, H).")
_STACKED_HINT = ("your states have shape (n, 1, B, H): stacking (1, B, H) states adds an axis; "
                 "torch.cat them instead.")
_FUSED_HINT = ("the states are right, but from one fused call on the whole sequence: no agent "
               "can act that way, input t + 1 holds the arm chosen from input t. Step one pull "
               "at a time: out = model(inputs[t:t+1], state); state = out.last_state.")
_MEMORY_CASES = [(10, 3, 2, 8), (6, 1, 5, 16), (1, 4, 3, 4)]  # (n, B, k, H)

RunMemory = Callable[[RecurrentActorCritic, torch.Tensor], torch.Tensor]


def _memory_problem(first: object, second: object, fused: bool, model: RecurrentActorCritic,
                    inputs: torch.Tensor, expected: torch.Tensor) -> str | None:
    if not isinstance(first, torch.Tensor) or not isinstance(second, torch.Tensor):
        return f"return one tensor (n, B, H) (torch.cat the states), got {type(first).__name__}."
    first, second = first.detach().float(), second.detach().float()
    if first.shape != second.shape or not torch.allclose(first, second, atol=1e-6):
        return _CARRIED_HINT
    n, batch, hidden = expected.shape
    if first.shape == (n, 1, batch, hidden):
        return _STACKED_HINT
    if first.shape != expected.shape:
        if first.shape in ((1, batch, hidden), (batch, hidden)) and torch.allclose(
                first.reshape(batch, hidden), expected[-1], atol=1e-5):
            return _LAST_ONLY_HINT
        return f"the states must be (n, B, H) = {tuple(expected.shape)}, not {tuple(first.shape)}."
    if not torch.allclose(first, expected, atol=1e-5, rtol=1e-5):
        with torch.no_grad():
            forgetful = torch.cat([model(inputs[t:t + 1]).states for t in range(n)])
        if torch.allclose(first, forgetful, atol=1e-5, rtol=1e-5):
            return _RESET_HINT
        return (f"wrong states (largest difference {(first - expected).abs().max():.3g}): "
                f"feed inputs[t:t+1] with the state of the previous pull, from None at t = 0.")
    return _FUSED_HINT if fused else None


def check_memory_loop(run_memory: RunMemory) -> CheckResult:
    """Check ``run_memory(model, inputs) -> states``: the GRU stepped pull by pull, its hidden
    state carried, from zeros at the start of the trial; ``states`` ``(n, B, H)``."""
    what = "run_memory"
    with single_threaded(), torch.random.fork_rng(devices=[]):
        for seed, (n, batch, k, hidden) in enumerate(_MEMORY_CASES):
            torch.manual_seed(seed)
            model = RecurrentActorCritic(k, hidden)
            inputs = trial_inputs(torch.randint(k, (n, batch)), torch.rand(n, batch).round(), k)
            with torch.no_grad():
                expected = model(inputs).states
            lengths: list[int] = []  # of the GRU's input at every call: 1 when stepping
            hook = model.gru.register_forward_pre_hook(lambda _, args, lengths=lengths: (
                lengths.extend(len(x) for x in args[:1] if isinstance(x, torch.Tensor))))
            answers: list[object] = []  # the same trial twice
            try:
                for _ in range(2):
                    answers.append(run_memory(model, inputs.clone()))
            except Exception as error:  # the learner's bug, reported rather than raised
                if answers or "hidden size" in str(error):  # a state of another trial
                    return _fail(what, _CARRIED_HINT)
                return report_failure(what, error)
            finally:
                hook.remove()
            if problem := _memory_problem(*answers, max(lengths, default=1) > 1, model, inputs,
                                          expected):
                return _fail(what, problem)
    return CheckResult(True, f"✅ {what}: the states of stepwise acting on all "
                             f"{len(_MEMORY_CASES)} trial batches, memory carried.")
