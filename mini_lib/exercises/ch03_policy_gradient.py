"""Checkers for the policy-gradient chapter's two exercises: the reward-to-go and the surrogate
loss whose gradient is the policy gradient.

:func:`check_reward_to_go` runs the learner's ``reward_to_go(rewards, gamma)`` on episodes of
1 to 12 steps (positive, zero and negative rewards) with γ ∈ {0, 0.5, 0.9, 0.99, 1}; the
answer may be a tensor, a NumPy array or a list with one ``G_t`` per step. It names the
typical mistakes: a single number instead of one value per step, an extra trailing
``G_T = 0``, the full-episode return ``G_0`` at every step, the answer in reverse order,
forward accumulation (summing the *past* rewards), an off-by-one either way (``G_t`` without
``r_{t+1}``, or with ``r_t``), a missing ``G_0`` or last reward, and γ used wrongly (``γ^k``
counted from the episode start, no discount, or discounting ``r_{t+1}`` itself).

:func:`check_surrogate_loss` runs ``surrogate_loss(log_probs, advantages)`` on batches whose
``log_probs`` come from the policy's parameters and whose advantages are either plain numbers
or a critic's output (they require grad). It checks that the answer is a scalar tensor, its
value ``−mean(log_probs · advantages)``, its gradient w.r.t. the policy's parameters
(``−advantages / B``) and that no gradient reaches the critic. It names: one loss per sample
(no mean), a plain number (.item()) instead of a tensor, a flipped sign, a sum instead of a
mean, normalised advantages, advantages not detached, and no gradient reaching the policy.
(Probabilities passed instead of log-probabilities cannot be told from these inputs.)

Both return a :class:`~mini_lib.exercises.kit.CheckResult`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from mini_lib.exercises.kit import (
    CheckResult,
    as_array,
    report_failure,
    run_cases,
    short,
    single_threaded,
)
from mini_lib.returns import reward_to_go as _reference_reward_to_go

__all__ = ["check_reward_to_go", "check_surrogate_loss"]


# -- exercise: the reward-to-go ----------------------------------------------------------------

_EPISODES: tuple[tuple[float, ...], ...] = (
    (1.0, 2.0, 3.0, 4.0),
    (0.0, 0.0, 0.0, 1.0),  # a sparse reward at the end
    (2.0, -1.0, 0.5),
    (3.0,),
    (-1.0, -1.0, -1.0, -1.0, -1.0),
    (0.5, -2.0, 3.0, 0.0, -1.5, 4.0, 1.0, -0.5),
    (1.25, -0.75, 2.0, 0.25, -3.0, 1.5, 0.0, 2.5, -1.0, 0.75, 3.5, -2.25),
)
_GAMMAS = (0.0, 0.5, 0.9, 0.99, 1.0)

# (rewards, gamma, correct G, learner's answer) -> does the answer show this mistake?
_Symptom = Callable[[np.ndarray, float, np.ndarray, np.ndarray], bool]


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    """Equal up to float32 rounding (rewards are multiples of 1/4, |G| < 20)."""
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-5, atol=1e-5))


def _rtg(r: np.ndarray, g: float) -> np.ndarray:
    return _reference_reward_to_go(torch.as_tensor(r, dtype=torch.float64), g).numpy()


def _weighted(r: np.ndarray, g: float, keep: Callable[[np.ndarray, np.ndarray], np.ndarray],
              power: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> np.ndarray:
    """``out[t] = Σ_k [keep(t, k)] γ^power(t, k) r_k``."""
    t, k = np.indices((r.size, r.size))
    weights = np.where(keep(t, k), g ** np.maximum(power(t, k), 0).astype(float), 0.0)
    return weights @ r


def _is(formula: Callable[[np.ndarray, float], np.ndarray]) -> _Symptom:
    return lambda r, g, G, got: _close(got, formula(r, g))


_FORWARD_HINT = ("you accumulate forwards, from the start of the episode, so G_t sums the "
                 "rewards *before* step t. The reward-to-go looks ahead: loop backwards from "
                 "the last step, G_t = r_{t+1} + γ G_{t+1}.")

_RTG_MISTAKES: list[tuple[_Symptom, str]] = [
    (_is(lambda r, g: np.full(r.size, _rtg(r, g)[0])),
     "full return instead of reward-to-go: each action should only be credited with rewards "
     "that come after it — G_t sums r_{t+1}, r_{t+2}, …, not the whole episode's return G_0."),
    (_is(lambda r, g: np.full(r.size, r.sum())),
     "full return instead of reward-to-go: each action should only be credited with rewards "
     "that come after it — G_t sums r_{t+1}, r_{t+2}, … (discounted), not the whole episode."),
    (lambda r, g, G, got: _close(got, G[::-1]),
     "the answer is in reverse order: the backward loop produces G_{T−1} first — reverse the "
     "list at the end (or insert each G_t at the front)."),
    (_is(lambda r, g: _weighted(r, g, lambda t, k: k <= t, lambda t, k: t - k)), _FORWARD_HINT),
    (_is(lambda r, g: np.cumsum(r)), _FORWARD_HINT),
    (_is(lambda r, g: _weighted(r, g, lambda t, k: k <= t, lambda t, k: k)), _FORWARD_HINT),
    (lambda r, g, G, got: _close(got[:-1], G[1:]) or _close(got[:-1], g * G[1:]),
     "off by one: G_t must include r_{t+1}, the reward of step t itself "
     "(G_t = r_{t+1} + γ G_{t+1}); yours starts at r_{t+2} — store G_t after adding r_{t+1}, "
     "not before."),
    (lambda r, g, G, got: _close(got[1:], G[:-1])
     or _close(got, G + np.concatenate([[0.0], r[:-1]])),
     "off by one: G_t must start at r_{t+1}, yours also counts r_t, the reward of the step "
     "before — check the indices."),
    (lambda r, g, G, got: got[0] == 0 and _close(got[1:], G[1:]),
     "G_0 is never computed (it stays 0): range(T − 1, 0, −1) stops before t = 0 — loop "
     "over reversed(range(T))."),
    (_is(lambda r, g: _rtg(np.concatenate([r[:-1], [0.0]]), g)),
     "the last reward is missing: the backward loop must start at the last step t = T − 1, "
     "with G_{T−1} = r_{T−1} (the G after the last step is 0)."),
    (_is(lambda r, g: _weighted(r, g, lambda t, k: k >= t, lambda t, k: k)),
     "γ is counted from the start of the episode (γ^k): in G_t, r_k is discounted by "
     "γ^(k−t), from step t — the first reward counted, r_{t+1}, gets weight 1."),
    (_is(lambda r, g: _rtg(r, 1.0)),
     "you ignore γ: the rewards must be discounted, G_t = r_{t+1} + γ G_{t+1}."),
    (_is(lambda r, g: g * _rtg(r, g)),
     "the discount starts one step too early: r_{t+1} itself gets weight 1 — "
     "G_t = r_{t+1} + γ G_{t+1}, not γ (r_{t+1} + G_{t+1})."),
]


def _rtg_shape_hint(shape: tuple[int, ...], length: int) -> str | None:
    if shape == () or (length > 1 and int(np.prod(shape)) == 1):
        return (f"you return a single number for an episode of {length} steps; the "
                f"reward-to-go has one value per step: an array of the same length as "
                f"rewards, G_0, G_1, …, G_{{T−1}}.")
    if shape == (length + 1,):
        return (f"the answer has {length + 1} entries for {length} rewards: the G after the "
                f"last step (0) only starts the backward loop — return G_0 … G_{{T−1}}.")
    if shape != (length,):
        return (f"for an episode of {length} steps the answer should have shape ({length},), "
                f"got shape {shape}.")
    return None


def check_reward_to_go(fn: Callable[[torch.Tensor, float], Any]) -> CheckResult:
    """Check ``fn(rewards, gamma) -> G`` with ``G_t = r_{t+1} + γ G_{t+1}`` (0 after the last step).

    ``rewards`` is a 1-D float32 tensor (one episode); the answer may be a tensor, a NumPy
    array or a list of the same length.
    """
    with single_threaded():
        return _check_reward_to_go(fn)


def _check_reward_to_go(fn: Callable[..., Any]) -> CheckResult:
    what = "reward_to_go"
    cases = [(np.array(r), g) for r in _EPISODES for g in _GAMMAS]
    answers = []
    for r, g in cases:
        try:  # a fresh tensor each call: in-place edits can't leak into the next case
            got = as_array(fn(torch.tensor(r, dtype=torch.float32), g))
        except Exception as error:  # the learner's bug, reported rather than raised
            return report_failure(what, error)
        hint = _rtg_shape_hint(got.shape, r.size)
        if hint is not None:
            return CheckResult(False, f"❌ {what}: {hint}")
        answers.append(got)
    expected = [_rtg(r, g) for r, g in cases]
    wrong = [i for i, (got, G) in enumerate(zip(answers, expected, strict=True))
             if not _close(got, G)]
    if not wrong:
        return CheckResult(True, f"✅ {what}: correct on all {len(cases)} test cases.")
    for symptom, hint in _RTG_MISTAKES:
        if all(symptom(r, g, G, got) for (r, g), G, got in zip(cases, expected, answers,
                                                               strict=True)):
            return CheckResult(False, f"❌ {what}: {hint}")
    (r, g), G, got = cases[wrong[0]], expected[wrong[0]], answers[wrong[0]]
    return CheckResult(False, f"❌ {what}: wrong answer for rewards={short(r)}, gamma={g}: "
                              f"expected {short(G)}, got {short(got)}.")


# -- exercise: the surrogate loss --------------------------------------------------------------

_DETACH_HINT = ("the gradient reaches the critic through the advantages: .detach() them. "
                "The advantages only weight log π; the critic learns from its own value loss.")
_SIGN_HINT = ("you would minimise the return: the optimiser *minimises* the loss, so the "
              "loss must be −mean(log π · A).")
_SUM_HINT = ("you sum over the batch instead of averaging: the gradient, and so the step "
             "size, would grow with the batch size — use .mean().")


@dataclass(frozen=True)
class _LossCase:
    """One batch: ``log_probs`` and ``advantages`` as float32 values; ``critic_values`` the
    critic's outputs when the advantages are ``returns − values`` (else None)."""

    log_probs: np.ndarray
    advantages: np.ndarray
    critic_values: np.ndarray | None

    def tensors(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor | None]:
        """Fresh (policy parameters, log_probs, advantages, critic parameters)."""
        policy = torch.tensor(self.log_probs, requires_grad=True)
        log_probs = policy * 1.0  # a non-leaf, like a network's output
        if self.critic_values is None:
            return policy, log_probs, torch.tensor(self.advantages), None
        critic = torch.tensor(self.critic_values, requires_grad=True)
        returns = torch.tensor(self.advantages + self.critic_values)  # exact: multiples of 1/8
        return policy, log_probs, returns - critic * 1.0, critic

    @property
    def description(self) -> str:
        source = ("from a critic (they require grad)" if self.critic_values is not None
                  else "plain numbers")
        return (f"log_probs={short(self.log_probs)}, advantages={short(self.advantages)} "
                f"({source})")


def _loss_cases() -> list[_LossCase]:
    rng = np.random.default_rng(12)
    cases = []
    for size, from_critic in [(6, False), (4, True), (9, True), (2, False), (16, False)]:
        log_probs = (-rng.integers(1, 25, size=size) / 8).astype(np.float32)
        advantages = (rng.integers(-12, 13, size=size) / 4).astype(np.float32)
        values = ((rng.integers(-8, 9, size=size) / 8).astype(np.float32) if from_critic
                  else None)
        cases.append(_LossCase(log_probs, advantages, values))
    return cases


def _normalized(a: np.ndarray, ddof: int) -> np.ndarray:
    return (a - a.mean()) / (a.std(ddof=ddof) + 1e-8)


_LOSS_MISTAKES: list[tuple[Callable[..., float], str]] = [
    (lambda lp, a, c: float(np.mean(lp * a)), _SIGN_HINT),
    (lambda lp, a, c: float(-np.sum(lp * a)), _SUM_HINT),
    (lambda lp, a, c: float(np.sum(lp * a)), f"{_SIGN_HINT} Also, {_SUM_HINT}"),
    (lambda lp, a, c: float(-np.mean(lp * _normalized(a, 1))),
     "you normalise the advantages: here take them as given (normalising is a separate, "
     "optional step) — loss = −mean(log_probs · advantages)."),
    (lambda lp, a, c: float(-np.mean(lp * _normalized(a, 0))),
     "you normalise the advantages: here take them as given (normalising is a separate, "
     "optional step) — loss = −mean(log_probs · advantages)."),
]


def _loss_type_hint(loss: Any, batch: int) -> str | None:
    if not isinstance(loss, torch.Tensor):
        return (f"return the loss as a torch tensor, not a {type(loss).__name__}: .item(), "
                f"float() or NumPy cut the graph that loss.backward() needs.")
    if tuple(loss.shape) == (batch,):
        return (f"the loss has shape ({batch},), one value per sample: you forgot the mean — "
                f"−(log_probs * advantages.detach()).mean() is the single number "
                f"loss.backward() needs.")
    if loss.dim() != 0:
        return f"the loss must be a single number (shape ()), got shape {tuple(loss.shape)}."
    return None


def check_surrogate_loss(fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
                         ) -> CheckResult:
    """Check ``fn(log_probs, advantages) -> loss = −mean(log_probs · advantages.detach())``.

    ``log_probs`` (B,) is computed from the policy's parameters; ``advantages`` (B,) is either
    a plain tensor or a critic's output that requires grad. Checks the value, the gradient
    w.r.t. the policy's parameters, and that no gradient reaches the critic.
    """
    with single_threaded():
        return _check_surrogate_loss(fn)


def _run_loss(fn: Callable[..., Any], case: _LossCase
              ) -> tuple[Any, torch.Tensor, torch.Tensor | None]:
    """``(loss, policy parameters, critic parameters)`` for one call of ``fn``."""
    policy, log_probs, advantages, critic = case.tensors()
    return fn(log_probs, advantages), policy, critic


def _check_surrogate_loss(fn: Callable[..., Any]) -> CheckResult:
    what = "surrogate_loss"
    cases = _loss_cases()
    for case in cases:
        try:
            loss = _run_loss(fn, case)[0]
        except Exception as error:  # the learner's bug, reported rather than raised
            return report_failure(what, error)
        hint = _loss_type_hint(loss, case.log_probs.size)
        if hint is not None:
            return CheckResult(False, f"❌ {what}: {hint}")

    def value(lp: np.ndarray, a: np.ndarray, c: np.ndarray | None) -> np.ndarray:
        return as_array(_run_loss(fn, _LossCase(lp, a, c))[0])

    value_cases = [((c.log_probs, c.advantages, c.critic_values),
                    -np.mean(c.log_probs.astype(float) * c.advantages), c.description)
                   for c in cases]
    result = run_cases(value, value_cases, _LOSS_MISTAKES, what)
    if not result.passed:
        return result

    for case in cases:
        try:
            loss, policy, critic = _run_loss(fn, case)
            params = [policy] if critic is None else [policy, critic]
            grads = (torch.autograd.grad(loss, params, allow_unused=True)
                     if loss.requires_grad else (None,) * len(params))
        except Exception as error:  # the learner's bug, reported rather than raised
            return report_failure(what, error)
        if grads[0] is None:
            return CheckResult(False, f"❌ {what}: no gradient reaches the policy: build the "
                                      f"loss from log_probs with torch operations — don't "
                                      f".detach() log_probs, rebuild a tensor from their "
                                      f"values, or work under torch.no_grad().")
        expected = -case.advantages.astype(float) / case.advantages.size
        got = as_array(grads[0])
        if not np.allclose(got, expected, rtol=1e-5, atol=1e-7):
            return CheckResult(False, f"❌ {what}: the value is right but the gradient "
                                      f"w.r.t. log_probs is not: for {case.description} "
                                      f"expected −advantages / B = {short(expected)}, got "
                                      f"{short(got)}.")
        if critic is not None and grads[1] is not None and bool(grads[1].abs().max() > 0):
            return CheckResult(False, f"❌ {what}: {_DETACH_HINT}")
    return CheckResult(True, f"✅ {what}: correct value and gradient on all {len(cases)} "
                             f"test cases, and no gradient reaches the critic.")
