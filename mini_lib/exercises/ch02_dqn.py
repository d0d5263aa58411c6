"""Checkers for the DQN chapter's two exercises: the TD target and sampling a replay batch.

:func:`check_td_target` runs the learner's ``td_target(rewards, next_q_values, terminated,
gamma)`` on batches with terminal, non-terminal and time-limit-truncated rows (stored as
``terminated = 0``: they still bootstrap), several action counts and γ from 0 to 1, and names
the typical mistakes: no terminal masking, an inverted mask, a masked reward, mean / min /
argmax instead of the max value, the max over the batch instead of the actions, a missing γ
or reward, and a target that still carries gradients.

:func:`check_replay_sample` runs the learner's ``sample_batch(buffer, batch_size, rng)`` many
times on a partly filled buffer and on one that has wrapped around, where every field of
transition ``k`` is a known function of ``k``. It checks the batch's types, shapes and
dtypes, that each row is one stored transition (no empty slot, no fields mixed from different
transitions), that every stored transition is drawn and the draws are uniform (a loose
chi-square bound), that the batch changes from call to call and that the same seed gives the
same batch (the ``rng`` argument is used).

Both return a :class:`~mini_lib.exercises.kit.CheckResult`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from mini_lib.deep_q.replay import ReplayBuffer, TransitionBatch
from mini_lib.exercises.kit import (
    CheckResult,
    as_array,
    report_failure,
    run_cases,
    short,
    single_threaded,
)

__all__ = ["check_replay_sample", "check_td_target"]


# -- exercise: the DQN target ------------------------------------------------------------------

_NO_GRAD_HINT = ("the TD target is a fixed regression target, so no gradient may flow through "
                 "it: compute the target under torch.no_grad() or .detach() it.")


def _reference_td(r: np.ndarray, q: np.ndarray, t: np.ndarray, g: float) -> np.ndarray:
    return r + g * (1 - t) * q.max(axis=1)


def _wrong_dim_td(r: np.ndarray, q: np.ndarray, t: np.ndarray, g: float) -> np.ndarray:
    return r + g * (1 - t) * q.max(axis=0)


def _td_learner(fn: Callable[..., Any]) -> Callable[..., np.ndarray]:
    """Call ``fn`` on fresh float32 tensors (so in-place edits can't leak between calls)."""
    def run(r: np.ndarray, q: np.ndarray, t: np.ndarray, g: float) -> np.ndarray:
        return as_array(fn(torch.tensor(r), torch.tensor(q), torch.tensor(t), g))
    return run


def _td_cases() -> list[tuple[tuple, np.ndarray, str]]:
    """Batches (B ≠ n_actions) of rewards in [0.25, 2] and Q-values in [0, 4]: every target is
    ≥ 0.25, so float32 rounding never matters for the comparison."""
    rng = np.random.default_rng(5)
    layouts = [
        ([0, 1, 0, 0, 1], "terminal and non-terminal rows"),
        ([0, 0, 0, 0], "no terminal row"),
        ([1, 1, 1, 1], "only terminal rows"),
        ([0, 1, 0, 0, 0, 1, 0], "the last row cut by the time limit (truncated, stored as "
                                "terminated=0: it still bootstraps)"),
    ]
    cases = []
    for i, (terminated, note) in enumerate(layouts):
        for j, gamma in enumerate((0.0, 0.5, 0.9, 0.99, 1.0)):
            n_actions = (2, 3, 6)[(i + j) % 3]
            t = np.array(terminated, dtype=np.float32)
            r = (rng.integers(1, 9, size=t.size) / 4).astype(np.float32)
            q = (rng.integers(0, 33, size=(t.size, n_actions)) / 8).astype(np.float32)
            cases.append(((r, q, t, gamma), _reference_td(r, q, t, gamma),
                          f"a batch with {note}: rewards={short(r)}, next_q_values="
                          f"{short(q)}, terminated={short(t)}, gamma={gamma}"))
    return cases


_TD_MISTAKES: list[tuple[Callable[..., np.ndarray], str]] = [
    (lambda r, q, t, g: r + g * q.max(axis=1),
     "you bootstrap from terminal transitions: after termination there is no future, so "
     "multiply the next-state value by (1 − terminated) and the target of a terminal row is "
     "just its reward."),
    (lambda r, q, t, g: r + g * t * q.max(axis=1),
     "the terminal mask is inverted: you bootstrap only where terminated = 1; multiply by "
     "(1 − terminated), not by terminated."),
    (lambda r, q, t, g: (1 - t) * (r + g * q.max(axis=1)),
     "you mask the reward too: a terminal transition still earns its reward r; only the "
     "bootstrap term γ max Q is multiplied by (1 − terminated)."),
    (lambda r, q, t, g: r + g * (1 - t) * q.mean(axis=1),
     "you average the next Q-values over actions; the DQN target takes the max over actions "
     "(the value of the greedy next action): next_q_values.max(dim=1).values."),
    (lambda r, q, t, g: r + g * (1 - t) * q.min(axis=1),
     "use max, not min: the target bootstraps from the best next action."),
    (lambda r, q, t, g: r + g * (1 - t) * q.argmax(axis=1),
     "you use the index of the best action (argmax, or .max(dim=1)[1] / .indices) instead of "
     "its value: use next_q_values.max(dim=1).values."),
    (lambda r, q, t, g: r + g * (1 - t) * q.max(),
     "you take one max over the whole batch (next_q_values.max()); take it per row, over "
     "actions only: next_q_values.max(dim=1).values."),
    (lambda r, q, t, g: r + (1 - t) * q.max(axis=1),
     "the next-state value is not discounted by γ."),
    (lambda r, q, t, g: g * (1 - t) * q.max(axis=1),
     "the reward r is missing from the target."),
]


def _td_shape_hint(shape: tuple[int, ...], batch: int) -> str | None:
    if shape == (batch, batch):
        return (f"the answer has shape {shape}, not ({batch},): max(dim=1, keepdim=True) "
                f"gives a ({batch}, 1) column that broadcasts against the ({batch},) rewards — "
                f"drop keepdim (or .squeeze(1)).")
    if shape == ():
        return (f"the answer is a single number, not one target per row ({batch},): take the "
                f"max over actions only, next_q_values.max(dim=1).values.")
    return None


def check_td_target(
    fn: Callable[[torch.Tensor, torch.Tensor, torch.Tensor, float], Any],
) -> CheckResult:
    """Check ``fn(rewards, next_q_values, terminated, gamma) -> targets`` of shape (B,), the
    DQN target ``r + γ (1 − terminated) max_a' Q_target(s', a')``, computed without gradient.

    Inputs are float32 tensors: ``rewards`` (B,), ``next_q_values`` (B, n_actions),
    ``terminated`` (B,) of 0/1; the answer may be a tensor or a numpy array.
    """
    with single_threaded():
        return _check_td_target(fn)


def _check_td_target(fn: Callable[..., Any]) -> CheckResult:
    what = "td_target"
    learner = _td_learner(fn)
    cases = _td_cases()

    # A square batch (B = n_actions) tells a max over the batch from a max over the actions.
    t = np.array([0, 1, 0, 0], dtype=np.float32)
    r = np.array([1.0, 0.5, 2.0, 0.25], dtype=np.float32)
    q = np.array([[0.5, 3.0, 1.0, 0.0], [2.0, 0.25, 0.0, 1.5], [1.0, 1.0, 4.0, 0.5],
                  [0.0, 0.75, 0.5, 2.5]], dtype=np.float32)
    try:
        got = learner(r, q, t, 0.9)
    except Exception as error:  # the learner's bug, reported rather than raised
        return report_failure(what, error)
    if (got.shape == t.shape and np.allclose(got, _wrong_dim_td(r, q, t, 0.9))
            and not np.allclose(got, _reference_td(r, q, t, 0.9))):
        return CheckResult(False, f"❌ {what}: the max is over the wrong dimension: dim 0 runs "
                                  f"over the batch; take the max over *actions*, "
                                  f"next_q_values.max(dim=1).values — one value per row.")

    (r, q, t, g), _, _ = cases[0]
    try:
        got = learner(r, q, t, g)
    except Exception as error:  # the learner's bug, reported rather than raised
        return report_failure(what, error)
    hint = _td_shape_hint(got.shape, t.size)
    if hint is not None:
        return CheckResult(False, f"❌ {what}: {hint}")

    result = run_cases(learner, cases, _TD_MISTAKES, what)
    if not result.passed:
        return result

    # The target network's output carries gradients unless the caller prevents it.
    (r, q, t, g), expected, _ = cases[2]
    next_q_values = torch.tensor(q, requires_grad=True) * 1.0  # a non-leaf, like a net output
    try:
        out = fn(torch.tensor(r), next_q_values, torch.tensor(t), g)
    except Exception as error:  # the learner's bug, reported rather than raised
        if "requires grad" in str(error):
            return CheckResult(False, f"❌ {what} raised {type(error).__name__} when "
                                      f"next_q_values requires grad (as a network's output "
                                      f"does): {error} — {_NO_GRAD_HINT}")
        return report_failure(what, error)
    if isinstance(out, torch.Tensor) and out.requires_grad:
        return CheckResult(False, f"❌ {what}: the returned target requires grad — "
                                  f"{_NO_GRAD_HINT}")
    got = as_array(out)
    if got.shape != expected.shape or not np.allclose(got, expected, atol=1e-8):
        return CheckResult(False, f"❌ {what}: when next_q_values requires grad the answer "
                                  f"changes: expected {short(expected)}, got {short(got)}.")
    return CheckResult(True, f"✅ {what}: correct on all {len(cases) + 2} test cases, and "
                             f"no gradient flows through the target.")


# -- exercise: sampling a batch from the replay buffer -----------------------------------------

_FIELDS = ("observations", "actions", "rewards", "next_observations", "terminated")
_DTYPES = {"observations": torch.float32, "actions": torch.int64, "rewards": torch.float32,
           "next_observations": torch.float32, "terminated": torch.float32}
_DRAW_HINT = "rng.integers(0, len(buffer), size=batch_size)"


def _transition(k: np.ndarray) -> dict[str, np.ndarray]:
    """Every field of transition number ``k`` is a function of ``k``; none is all zeros."""
    k = np.asarray(k, dtype=np.float64)
    return {
        "observations": np.stack([k, k + 0.5, -k], axis=-1),
        "actions": np.floor(k) % 5,
        "rewards": 1.0 + 0.5 * k,
        "next_observations": np.stack([k + 0.25, k + 0.75, -k - 0.25], axis=-1),
        "terminated": (k % 7 == 6).astype(np.float64),
    }


@dataclass(frozen=True)
class _Scenario:
    capacity: int
    n_added: int
    batch_size: int
    seed: int

    @property
    def stored(self) -> np.ndarray:
        """Numbers ``k`` of the transitions still in the buffer."""
        return np.arange(max(0, self.n_added - self.capacity), self.n_added)

    def buffer(self) -> ReplayBuffer:
        buffer = ReplayBuffer(self.capacity, (3,))
        fields = _transition(np.arange(self.n_added))
        for k in range(self.n_added):
            buffer.add(fields["observations"][k], int(fields["actions"][k]),
                       float(fields["rewards"][k]), fields["next_observations"][k],
                       bool(fields["terminated"][k]))
        return buffer


_PARTLY_FILLED = _Scenario(capacity=100, n_added=30, batch_size=16, seed=3)
_WRAPPED = _Scenario(capacity=40, n_added=100, batch_size=32, seed=4)


def _uniform(counts: np.ndarray) -> bool:
    """A chi-square test of equal counts, ≈ 7 standard deviations loose."""
    expected = counts.sum() / counts.size
    chi_square = float(np.sum((counts - expected) ** 2 / expected))
    return chi_square <= (counts.size - 1) + 10 * np.sqrt(2 * (counts.size - 1))


def _rows(batch: Any, sc: _Scenario) -> str | dict[str, np.ndarray]:
    """The five fields of one returned batch as float64 arrays, or what is wrong with its
    type, dtypes or shapes."""
    missing = [name for name in _FIELDS if not hasattr(batch, name)]
    if missing:
        return (f"return a TransitionBatch(observations=..., actions=..., rewards=..., "
                f"next_observations=..., terminated=...); got a {type(batch).__name__} "
                f"without {', '.join(missing)}.")
    rows: dict[str, np.ndarray] = {}
    for name in _FIELDS:
        value = getattr(batch, name)
        if not isinstance(value, torch.Tensor):
            return (f"batch.{name} must be a torch.Tensor, got {type(value).__name__}: wrap "
                    f"the selected rows with torch.from_numpy(...).")
        if value.dtype != _DTYPES[name]:
            return (f"batch.{name} should keep the buffer's dtype {_DTYPES[name]}, got "
                    f"{value.dtype}.")
        shape = (sc.batch_size, 3) if name.endswith("observations") else (sc.batch_size,)
        if tuple(value.shape) != shape:
            return (f"batch.{name} should have shape {shape} for batch_size={sc.batch_size}, "
                    f"got {tuple(value.shape)}.")
        rows[name] = value.detach().cpu().numpy().astype(np.float64)
    return rows


def _transition_numbers(rows: dict[str, np.ndarray], sc: _Scenario) -> str | np.ndarray:
    """The number ``k`` of each returned row (of one or many batches stacked), or why a row is
    not a stored transition."""
    empty = ((rows["observations"] == 0).all(axis=1)
             | (rows["next_observations"] == 0).all(axis=1) | (rows["rewards"] == 0))
    if empty.any():
        return (f"some rows are empty slots (all zeros): the buffer holds only len(buffer) = "
                f"{min(sc.n_added, sc.capacity)} transitions so far (capacity "
                f"{sc.capacity}) — draw indices from range(len(buffer)), not range(capacity).")
    k = rows["observations"][:, 0]
    expected = _transition(k)
    consistent = np.ones(k.size, dtype=bool)
    for name in _FIELDS:
        same = rows[name] == expected[name]
        consistent &= same.all(axis=1) if same.ndim == 2 else same
    if not consistent.all():
        i = int(np.argmin(consistent)) % sc.batch_size
        return (f"the fields of a row come from different transitions (e.g. row {i}: its "
                f"observation, action, reward, next_observation and terminated do not belong "
                f"together) — draw one set of indices and use it for all five arrays.")
    stored = (k >= sc.stored[0]) & (k <= sc.stored[-1]) & (k == np.floor(k))
    if not stored.all():
        return f"row {int(np.argmin(stored)) % sc.batch_size} is not a stored transition."
    return k.astype(np.int64)


def check_replay_sample(
    fn: Callable[[ReplayBuffer, int, np.random.Generator], TransitionBatch],
    n_calls: int = 100,
) -> CheckResult:
    """Check ``fn(buffer, batch_size, rng) -> TransitionBatch``: ``batch_size`` stored
    transitions drawn uniformly (with the given ``rng``), all five fields at the same indices.

    Runs ``n_calls`` batches on a partly filled buffer and on a wrapped-around one.
    """
    with single_threaded():
        return _check_replay_sample(fn, n_calls)


def _check_replay_sample(fn: Callable[..., Any], n_calls: int) -> CheckResult:
    what = "sample_batch"
    scenarios = [_PARTLY_FILLED, _WRAPPED]
    draws: list[np.ndarray] = []  # per scenario: (n_calls, batch_size) transition numbers
    for sc in scenarios:
        buffer, rng = sc.buffer(), np.random.default_rng(sc.seed)
        batches = []
        for _ in range(n_calls):
            try:
                rows = _rows(fn(buffer, sc.batch_size, rng), sc)
            except Exception as error:  # the learner's bug, reported rather than raised
                return report_failure(what, error)
            if isinstance(rows, str):
                return CheckResult(False, f"❌ {what}: {rows}")
            batches.append(rows)
        k = _transition_numbers({name: np.concatenate([b[name] for b in batches])
                                 for name in _FIELDS}, sc)
        if isinstance(k, str):
            return CheckResult(False, f"❌ {what}: {k}")
        draws.append(k.reshape(n_calls, sc.batch_size))

    sc = _PARTLY_FILLED
    seeded = []
    for _ in range(2):
        try:
            rows = _rows(fn(sc.buffer(), sc.batch_size, np.random.default_rng(99)), sc)
        except Exception as error:  # the learner's bug, reported rather than raised
            return report_failure(what, error)
        seeded.append(rows if isinstance(rows, str) else _transition_numbers(rows, sc))
    if (not all(isinstance(k, np.ndarray) for k in seeded)
            or not np.array_equal(seeded[0], seeded[1])):
        return CheckResult(False, f"❌ {what}: two calls with identically seeded rngs returned "
                                  f"different batches — use the rng argument (e.g. "
                                  f"{_DRAW_HINT}), not np.random or torch.randint, so runs "
                                  f"are reproducible.")

    for sc, drawn in zip(scenarios, draws, strict=True):
        if all(np.array_equal(k, drawn[0]) for k in drawn):
            if set(drawn[0].tolist()) == set(sc.stored[-sc.batch_size:].tolist()):
                return CheckResult(False, f"❌ {what}: you always return the most recent "
                                          f"batch_size transitions; draw them at random from "
                                          f"everything stored (e.g. {_DRAW_HINT}) — replay "
                                          f"exists to break the correlation of consecutive "
                                          f"steps.")
            return CheckResult(False, f"❌ {what}: the batch is the same at every call — draw "
                                      f"fresh random indices with the rng argument at each "
                                      f"call, e.g. {_DRAW_HINT}.")
        counts = np.bincount(drawn.ravel() - sc.stored[0], minlength=sc.stored.size)
        total, n = int(counts.sum()), sc.stored.size
        full = sc.n_added >= sc.capacity
        if (counts == 0).any() and _uniform(counts[counts > 0]):  # uniform on too few rows
            slots = (sc.stored[counts == 0] % sc.capacity).tolist()
            listed = ", ".join(map(str, slots[:8])) + (", …" if len(slots) > 8 else "")
            wrapped = (f" After wrap-around all capacity = {sc.capacity} slots hold "
                       f"transitions." if full else "")
            return CheckResult(False, f"❌ {what}: in {total} draws from a buffer holding {n} "
                                      f"transitions, buffer slot(s) {listed} were never "
                                      f"drawn: every stored transition must be eligible "
                                      f"(rng.integers(low, high) excludes high).{wrapped}")
        if not _uniform(counts):
            return CheckResult(False, f"❌ {what}: the indices are not uniform: in {total} "
                                      f"draws from {n} stored transitions the counts range "
                                      f"from {counts.min()} to {counts.max()} (about "
                                      f"{total / n:.0f} expected each); draw every stored "
                                      f"index with equal probability, e.g. {_DRAW_HINT}.")
    total = sum(sc.batch_size for sc in scenarios) * n_calls
    return CheckResult(True, f"✅ {what}: consistent transitions drawn uniformly from the stored "
                             f"ones ({total} draws from a partly filled and a wrapped-around "
                             f"buffer), reproducible with the rng.")
