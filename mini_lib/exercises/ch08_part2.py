r"""Checkers for chapter 08 part 2's exercises: the prototype classifier, one shooting step.

:func:`check_prototype_logits` tests ``prototype_logits(support, support_labels, query,
n_way)`` — the logits of Prototypical Networks, minus the squared Euclidean distance from each
query feature to each class's mean support feature — against
:func:`mini_lib.fewshot.metric.prototype_logits`. It names: the distance summed over the
wrong axis (the classes), the support set not averaged (summed, one sample per class, or the
nearest sample), the sign (distances, not minus distances), the square root (Euclidean, not
squared), and labels assumed in class-major order.

:func:`check_shooting_step` tests ``shooting_step(model, reward, state, sequences)`` — one
planning step of random shooting: roll each candidate sequence through the model from
``state``, sum its rewards, and return the first action of the best one with every
sequence's predicted return — against :func:`mini_lib.model_based.planning.predicted_returns`.
It names: every action scored from the start state (the state never carried forward), only
the last reward counted, the worst sequence chosen, and the best sequence's last (or mean)
action executed instead of its first.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from mini_lib.exercises.kit import CheckResult, as_array, report_failure, short, single_threaded
from mini_lib.fewshot.metric import prototype_logits
from mini_lib.model_based.planning import predicted_returns

__all__ = ["check_prototype_logits", "check_shooting_step", "toy_model", "toy_reward"]


def _fail(what: str, text: str) -> CheckResult:
    return CheckResult(False, f"❌ {what}: {text}")


def _close(a: np.ndarray, b: np.ndarray) -> bool:
    return a.shape == b.shape and bool(np.allclose(a, b, rtol=1e-5, atol=1e-6))


# -- exercise 1: the prototype classifier -------------------------------------------------------

Logits = Callable[[torch.Tensor, torch.Tensor, torch.Tensor, int], torch.Tensor]

#: (n_way, k_shot, n_query, features): n_way ≠ k_shot ≠ features so a wrong axis shows
_PROTO_CASES = [(3, 4, 5, 6), (5, 1, 7, 2), (4, 3, 2, 9)]


def _proto_cases() -> list[tuple[torch.Tensor, torch.Tensor, torch.Tensor, int]]:
    """Support sets in a shuffled (not class-major) order, with far-apart class centres."""
    generator = torch.Generator().manual_seed(11)
    cases = []
    for n_way, k_shot, n_query, dims in _PROTO_CASES:
        centres = 3 * torch.randn(n_way, dims, generator=generator, dtype=torch.float64)
        labels = torch.arange(n_way).repeat_interleave(k_shot)
        order = torch.randperm(len(labels), generator=generator)
        labels = labels[order]
        support = centres[labels] + torch.randn(len(labels), dims, generator=generator,
                                                dtype=torch.float64)
        query = (centres[torch.randint(n_way, (n_query,), generator=generator)]
                 + 1.5 * torch.randn(n_query, dims, generator=generator, dtype=torch.float64))
        cases.append((support, labels, query, n_way))
    return cases


def _means_by(support: torch.Tensor, labels: torch.Tensor, n_way: int, how: str) -> torch.Tensor:
    rows = [support[labels == c] for c in range(n_way)]
    if how == "sum":
        return torch.stack([r.sum(0) for r in rows])
    return torch.stack([r[0] for r in rows])  # "first"


def _proto_diagnosis(args: tuple, answer: np.ndarray) -> str:
    support, labels, query, n_way = args
    distance = ((query[:, None, :] - _means_by(support, labels, n_way, "sum")[None]) ** 2).sum(-1)
    k_shot = len(labels) // n_way
    if k_shot > 1 and _close(answer, as_array(-distance)):
        return ("your prototypes are the *sums* of each class's support features: a class "
                "with more shots would sit further out. Average them: .mean(dim=0) per class.")
    first = _means_by(support, labels, n_way, "first")
    if k_shot > 1 and _close(answer, as_array(-((query[:, None] - first[None]) ** 2).sum(-1))):
        return ("you use one support sample per class, not the mean of the class's k_shot "
                "samples: the prototype is the class mean (Snell et al., eq. 1).")
    nearest = torch.stack([-((query[:, None] - support[labels == c][None]) ** 2).sum(-1)
                           .min(dim=1).values for c in range(n_way)], dim=1)
    if k_shot > 1 and _close(answer, as_array(nearest)):
        return ("you score each class by its *nearest* support sample (1-nearest neighbour): "
                "average the class's support features first, then take one distance.")
    expected = as_array(prototype_logits(support, labels, query, n_way))
    if _close(answer, -expected):
        return ("you return the distances themselves: the logits are *minus* the squared "
                "distances, so the nearest prototype gets the largest logit.")
    if _close(answer, -np.sqrt(-expected)):
        return ("you return minus the Euclidean distance (a square root): the decisions agree, "
                "but the softmax and the loss differ — ProtoNet uses the *squared* distance.")
    class_major = support.reshape(n_way, -1, support.shape[-1]).mean(1)
    if _close(answer, as_array(-((query[:, None] - class_major[None]) ** 2).sum(-1))):
        return ("you grouped the support set by position (reshape(n_way, k_shot, d)), assuming "
                "it is ordered class by class; here it is shuffled. Group by support_labels.")
    return (f"wrong logits for n_way = {n_way}, {len(labels)} support samples, {len(query)} "
            f"queries: expected {short(expected)}, got {short(answer)}.")


def check_prototype_logits(fn: Logits) -> CheckResult:
    """Check ``fn(support (n, d), support_labels (n,), query (q, d), n_way) -> (q, n_way)``:
    minus the squared distance to each class's mean support feature."""
    what = "prototype_logits"
    with single_threaded():
        try:
            for args in _proto_cases():
                support, labels, query, n_way = args
                answer = as_array(fn(*(a.clone() if torch.is_tensor(a) else a for a in args)))
                if answer.shape != (len(query), n_way):
                    wrong_axis = answer.shape == (len(query), support.shape[1])
                    hint = ("you summed the squared differences over the wrong axis (the "
                            "classes, not the features, the last axis)" if wrong_axis else
                            "rows are queries, columns classes")
                    return _fail(what, f"for {len(query)} queries and n_way = {n_way} the "
                                       f"logits should have shape {(len(query), n_way)}, got "
                                       f"{answer.shape}: {hint}.")
                expected = as_array(prototype_logits(support, labels, query, n_way))
                if not _close(answer, expected):
                    return _fail(what, _proto_diagnosis(args, answer))
        except Exception as error:  # the learner's bug, reported rather than raised
            return report_failure(what, error)
    return CheckResult(True, f"✅ {what}: correct on all {len(_PROTO_CASES)} episodes (shuffled "
                             f"support sets, 1 to 4 shots).")


# -- exercise 2: one step of random shooting ----------------------------------------------------

Step = Callable[..., tuple[torch.Tensor, torch.Tensor]]


def toy_model(states: torch.Tensor, actions: torch.Tensor) -> torch.Tensor:
    """A known model for the exercise: the action, turned by 30° and halved, moves the state."""
    angle = torch.tensor(np.pi / 6, dtype=states.dtype)
    cos, sin = torch.cos(angle), torch.sin(angle)
    turned = torch.stack([cos * actions[..., 0] - sin * actions[..., 1],
                          sin * actions[..., 0] + cos * actions[..., 1]], dim=-1)
    return states + 0.5 * turned


def toy_reward(states: torch.Tensor, actions: torch.Tensor,
               next_states: torch.Tensor) -> torch.Tensor:
    """Minus the distance of the next state from the goal (1, 0.5)."""
    goal = torch.tensor([1.0, 0.5], dtype=next_states.dtype)
    return -torch.linalg.vector_norm(next_states - goal, dim=-1)


def _shoot_cases() -> list[tuple[torch.Tensor, torch.Tensor]]:
    generator = torch.Generator().manual_seed(5)
    cases = []
    for n, horizon in [(64, 4), (9, 3), (200, 6)]:
        state = torch.randn(2, generator=generator, dtype=torch.float64)
        sequences = 2 * torch.rand(n, horizon, 2, generator=generator, dtype=torch.float64) - 1
        cases.append((state, sequences))
    return cases


def _reference(state: torch.Tensor, sequences: torch.Tensor) -> tuple[np.ndarray, np.ndarray]:
    returns = predicted_returns(toy_model, toy_reward, state[None], sequences[None])[0]
    return as_array(sequences[returns.argmax(), 0]), as_array(returns)


def _last_rewards(state: torch.Tensor, sequences: torch.Tensor) -> np.ndarray:
    """Each sequence's reward of its last step only, on the carried-forward trajectory."""
    current = state.expand(sequences.shape[0], 2)
    for t in range(sequences.shape[1]):
        following = toy_model(current, sequences[:, t])
        reward = toy_reward(current, sequences[:, t], following)
        current = following
    return as_array(reward)


def _shoot_diagnosis(state: torch.Tensor, sequences: torch.Tensor, action: np.ndarray,
                     returns: np.ndarray) -> str:
    start = state.expand(sequences.shape[0], sequences.shape[1], 2)
    from_start = as_array(toy_reward(start, sequences, toy_model(start, sequences)).sum(-1))
    if _close(returns, from_start):
        return ("every action is scored from the start state: the state is never carried "
                "forward. Feed each predicted next state into the next model call.")
    expected_action, expected = _reference(state, sequences)
    if _close(returns, -expected):
        return "your returns have the wrong sign: sum the rewards as they are."
    if _close(returns, _last_rewards(state, sequences)):
        return ("you count only the last step's reward: the return sums reward(s_t, a_t, "
                "s_t+1) over every step of the sequence.")
    if not _close(returns, expected):
        return (f"wrong predicted returns: expected {short(expected)}, got {short(returns)}. "
                f"Sum reward(s_t, a_t, s_t+1) over all {sequences.shape[1]} steps of a sequence.")
    worst = as_array(sequences[int(np.argmin(expected)), 0])
    if _close(action, worst):
        return "you chose the sequence with the *lowest* predicted return: take the argmax."
    best = sequences[int(np.argmax(expected))]
    if _close(action, as_array(best[-1])):
        return ("you execute the best sequence's *last* action: model-predictive control "
                "executes its first action, then plans again.")
    if _close(action, as_array(best.mean(0))):
        return "you execute the best sequence's mean action: execute its first action."
    return (f"wrong action: expected the first action of the best sequence, "
            f"{short(expected_action)}, got {short(action)}.")


def check_shooting_step(fn: Step) -> CheckResult:
    """Check ``fn(model, reward, state (S,), sequences (N, H, A)) -> (first action (A,),
    predicted returns (N,))`` on :func:`toy_model` and :func:`toy_reward`."""
    what = "shooting_step"
    cases = _shoot_cases()
    with single_threaded():
        try:
            for state, sequences in cases:
                out = fn(toy_model, toy_reward, state.clone(), sequences.clone())
                if not isinstance(out, tuple | list) or len(out) != 2:
                    return _fail(what, "return a pair (first action (A,), predicted returns "
                                       f"(N,)); got {type(out).__name__}.")
                action, returns = (as_array(x) for x in out)
                expected_action, expected = _reference(state, sequences)
                if returns.shape == (sequences.shape[0],) and _close(returns, expected):
                    if _close(action, expected_action):
                        continue
                if returns.shape != (sequences.shape[0],):
                    return _fail(what, f"for {sequences.shape[0]} sequences the returns should "
                                       f"have shape ({sequences.shape[0]},), got "
                                       f"{returns.shape}.")
                return _fail(what, _shoot_diagnosis(state, sequences, action, returns))
        except Exception as error:  # the learner's bug, reported rather than raised
            return report_failure(what, error)
    return CheckResult(True, f"✅ {what}: the right returns and first action on all "
                             f"{len(cases)} cases (3 to 6 steps, 9 to 200 sequences).")
