r"""Playing RL² trials: the agent acts pull by pull, its memory carried across the trial.

A *trial* is ``n_pulls`` pulls of one bandit. :func:`play_trials` runs ``B`` trials side by
side on :class:`~mini_lib.envs.bernoulli_bandit.BatchedBernoulliBandit`, one GRU step per
pull (no gradients), and records what training needs: the input sequence, the arms, the
rewards and the hidden states. The loss later re-reads the whole input sequence in one fused
GRU call — the same numbers, now with a graph.

:func:`trial_inputs` rebuilds the input sequence from the arms and rewards alone: input
``t`` holds what happened at pull ``t − 1`` (never the reward of the pull being chosen).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch

from mini_lib.checks import check_int
from mini_lib.envs.bernoulli_bandit import BatchedBernoulliBandit
from mini_lib.rl2.policy import RecurrentActorCritic

__all__ = ["Trials", "evaluate_rl2", "play_trials", "trial_inputs"]


class Trials(NamedTuple):
    """``B`` trials of ``n`` pulls, time first: what the agent saw, did and remembered."""

    inputs: torch.Tensor  # (n, B, k + 2) float32: the observation before each pull
    actions: torch.Tensor  # (n, B) int64: the arm pulled
    rewards: torch.Tensor  # (n, B) float32: what it paid
    states: torch.Tensor  # (n, B, H): hidden state after reading input t (before pull t)
    probs: torch.Tensor  # (B, k) float64: the bandits

    @property
    def totals(self) -> torch.Tensor:
        """Total reward of each trial, ``(B,)``."""
        return self.rewards.sum(0)


def trial_inputs(actions: torch.Tensor, rewards: torch.Tensor, n_arms: int) -> torch.Tensor:
    """The RL² input sequence ``(n, B, n_arms + 2)`` of trials with these ``actions`` and
    ``rewards`` ``(n, B)``: row ``t`` is ``[one_hot(a_{t−1}), r_{t−1}, t / n]``, row 0 is
    ``[0…0, 0, 0]`` (nothing pulled yet)."""
    n_arms = check_int("n_arms", n_arms, 2)
    if actions.ndim != 2 or rewards.shape != actions.shape:
        raise ValueError(f"actions and rewards must both have shape (n, B), got "
                         f"{tuple(actions.shape)} and {tuple(rewards.shape)}")
    n, batch = actions.shape
    inputs = torch.zeros(n, batch, n_arms + 2)
    inputs[1:, :, :n_arms] = torch.nn.functional.one_hot(actions[:-1].long(), n_arms).float()
    inputs[1:, :, n_arms] = rewards[:-1].float()
    inputs[:, :, n_arms + 1] = (torch.arange(n, dtype=torch.float32) / n)[:, None]
    return inputs


@torch.no_grad()
def play_trials(model: RecurrentActorCritic, probs: Any, n_pulls: int,
                generator: torch.Generator | None = None, greedy: bool = False,
                reset_every_pull: bool = False) -> Trials:
    """One trial of ``n_pulls`` pulls on every bandit in ``probs`` ``(B, k)``.

    Arms are sampled from the policy (``greedy=True``: its most likely arm), with ``generator``
    for the arm draws and the rewards, so a seeded generator replays the same trials.
    ``reset_every_pull=True`` zeroes the memory before every pull — the "what breaks" case of
    an agent that cannot remember its trial.
    """
    env = BatchedBernoulliBandit(probs, n_pulls, generator=generator)
    if env.k != model.n_arms:
        raise ValueError(f"probs has {env.k} arms but the model was built for "
                         f"{model.n_arms}")
    observation = env.reset()
    inputs, actions, rewards, states = [], [], [], []
    state = None
    for _ in range(env.n_pulls):
        out = model(observation[None], None if reset_every_pull else state)
        state = out.last_state
        logits = out.logits[0]
        if greedy:
            arms = logits.argmax(1)
        else:
            arms = torch.multinomial(torch.softmax(logits, 1), 1, generator=generator)[:, 0]
        inputs.append(observation)
        states.append(out.states[0])
        observation, reward, _ = env.step(arms)
        actions.append(arms)
        rewards.append(reward)
    return Trials(torch.stack(inputs), torch.stack(actions), torch.stack(rewards),
                  torch.stack(states), env.probs)


def evaluate_rl2(model: RecurrentActorCritic, probs: Any, n_pulls: int, seed: int = 0,
                 greedy: bool = False, reset_every_pull: bool = False) -> torch.Tensor:
    """Total reward of one trial on each bandit of ``probs`` ``(T, k)``: a float tensor
    ``(T,)`` (its mean is a Table 1 entry). Reproducible from ``seed``."""
    generator = torch.Generator().manual_seed(check_int("seed", seed, 0))
    return play_trials(model, probs, n_pulls, generator, greedy, reset_every_pull).totals
