r"""Navigation tasks whose *dynamics* differ, for model-based meta-RL (chapter 08, part 2).

Chapter 06's point agent, but each task turns and scales the agent's actions before they
take effect — a "crippled" or miscalibrated actuator, as in Nagabandi et al. (2019): the
velocity is :math:`\mathrm{clip}(0.1\, k\, R(\varphi)\, a, -0.1, 0.1)` with a rotation
:math:`\varphi \sim U[-\pi/2, \pi/2]` and a scale :math:`k \sim U[0.5, 1.5]`
(:func:`sample_dynamics`). The reward (reach a known goal) is the same for every task; what
a learner must find out is how its actions move it.

:class:`DynamicsFamily` is the supervised task family that
:func:`mini_lib.meta.training.train_meta` takes: a model :math:`(s, a) \mapsto \Delta s`,
its mean squared error, and per task ``k_shot`` support and ``k_query`` query transitions
from states and actions drawn uniformly (a task's *recent transitions*, GrBAL's adaptation
data, would come from the agent's own episode).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar, NamedTuple

import numpy as np
import torch
from torch import nn

from mini_lib.checks import check_int, check_widths
from mini_lib.envs.point_navigation import ACTION_SCALE, MAX_SPEED, turn_actions
from mini_lib.meta.functional import Batch, LossFn, mse_loss
from mini_lib.nets import mlp

__all__ = ["ANGLE_RANGE", "GOAL", "SCALE_RANGE", "STATE_RANGE", "Dynamics", "DynamicsFamily",
           "DynamicsModel", "held_out_dynamics", "sample_dynamics", "step", "transitions"]

ANGLE_RANGE = (-math.pi / 2, math.pi / 2)
SCALE_RANGE = (0.5, 1.5)
STATE_RANGE = (-0.6, 0.6)  # positions a navigation episode visits
GOAL = (0.3, 0.4)  # the fixed, known goal of the model-based agent (mini_lib.model_based.mpc)


class Dynamics(NamedTuple):
    """Per task: the rotation ``angle`` and ``scale`` of its actions, each ``(T,)``."""

    angle: torch.Tensor
    scale: torch.Tensor


def sample_dynamics(n: int, rng: np.random.Generator) -> Dynamics:
    """``n`` tasks' dynamics, uniform in :data:`ANGLE_RANGE` × :data:`SCALE_RANGE`."""
    n = check_int("n", n, 1)
    angle = rng.uniform(*ANGLE_RANGE, size=n)
    scale = rng.uniform(*SCALE_RANGE, size=n)
    return Dynamics(torch.tensor(angle, dtype=torch.float32),
                    torch.tensor(scale, dtype=torch.float32))


def held_out_dynamics(n: int = 40, seed: int = 2019) -> Dynamics:
    """``n`` fixed held-out actuators (:func:`sample_dynamics` from ``default_rng(seed)``),
    for evaluating model-based agents on the same tasks every time."""
    return sample_dynamics(n, np.random.default_rng(check_int("seed", seed, 0)))


def step(positions: torch.Tensor, actions: torch.Tensor, dynamics: Dynamics) -> torch.Tensor:
    """The next positions ``(T, …, 2)`` of every task's agents after ``actions`` (same shape):
    the action turned by the task's angle, scaled, then chapter 06's clipped velocity."""
    turned = turn_actions(actions, dynamics.angle, dynamics.scale)
    velocity = torch.clamp(turned * ACTION_SCALE, -MAX_SPEED, MAX_SPEED)
    return positions + velocity


def transitions(dynamics: Dynamics, n: int, rng: np.random.Generator
                ) -> tuple[torch.Tensor, torch.Tensor]:
    """``n`` transitions per task from uniform states and actions: inputs ``(T, n, 4)`` =
    (s, a) and targets ``(T, n, 2)`` = Δs in units of the top speed (so in [−1, 1])."""
    n = check_int("n", n, 1)
    n_tasks = len(dynamics.angle)
    states = torch.tensor(rng.uniform(*STATE_RANGE, size=(n_tasks, n, 2)), dtype=torch.float32)
    actions = torch.tensor(rng.uniform(-1.0, 1.0, size=(n_tasks, n, 2)), dtype=torch.float32)
    moved = (step(states, actions, dynamics) - states) / MAX_SPEED
    return torch.cat([states, actions], dim=-1), moved


class DynamicsModel(nn.Module):
    """``(s, a)`` ``(…, 4)`` → predicted Δs ``(…, 2)`` in units of the top speed
    (multiply by :data:`~mini_lib.envs.point_navigation.MAX_SPEED` for positions)."""

    def __init__(self, hidden: tuple[int, ...] = (64, 64)) -> None:
        super().__init__()
        self.net = mlp((4, *check_widths("hidden", hidden), 2), nn.ReLU)

    def forward(self, inputs: torch.Tensor) -> torch.Tensor:
        return self.net(inputs)


@dataclass(frozen=True)
class DynamicsFamily:
    """Actuator tasks for :func:`~mini_lib.meta.training.train_meta`: ``k_shot`` support and
    ``k_query`` query transitions per task, a :class:`DynamicsModel` of ``hidden`` widths."""

    k_shot: int = 10
    k_query: int = 20
    hidden: tuple[int, ...] = (64, 64)
    steep_tasks: ClassVar[str] = "strongly turned actuators (angles up to ±90°)"

    def __post_init__(self) -> None:
        check_int("k_shot", self.k_shot, 1)
        check_int("k_query", self.k_query, 1)
        check_widths("hidden", self.hidden)

    def make_model(self) -> DynamicsModel:
        """A freshly initialised model (from torch's global random stream)."""
        return DynamicsModel(tuple(self.hidden))

    @property
    def loss(self) -> LossFn:
        """Mean squared error of Δs, in units of the top speed."""
        return mse_loss(DynamicsModel(tuple(self.hidden)).to("meta"))

    def sample(self, n_tasks: int, rng: np.random.Generator) -> tuple[Batch, Batch]:
        """``n_tasks`` fresh tasks: their support and query ``(inputs, Δs)`` batches."""
        dynamics = sample_dynamics(n_tasks, rng)
        return transitions(dynamics, self.k_shot, rng), transitions(dynamics, self.k_query, rng)
