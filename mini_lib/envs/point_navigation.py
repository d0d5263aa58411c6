r"""2D point navigation (Finn et al. 2017, §5.3): reach a goal you are not told, from (0, 0).

The task family behind chapter 06 (MAML-RL). A task is a goal drawn uniformly from
:math:`[-0.5, 0.5]^2`; the observation is only the agent's position, so a policy must find
the goal from the rewards, :math:`r = -\lVert \text{position} - \text{goal} \rVert_2` after
each move. As in the authors' code (rllab's ``normalize`` wrapper around their point env),
the policy acts in normalised units: an action is scaled by :data:`ACTION_SCALE` and clipped
to a velocity in :math:`[-0.1, 0.1]^2`. An episode terminates within :data:`GOAL_TOLERANCE`
of the goal in both coordinates and is truncated after :data:`HORIZON` steps (registered as
``mini_lib/PointNavigation-v0``).

Two implementations with one arithmetic (float32, the same operations in the same order):
:class:`PointNavigationEnv`, a Gymnasium env (``check_env``, ``gym.make``), and
:class:`BatchedPointNavigation`, tasks × trajectories × 2 in one torch tensor — what
meta-training steps. A test runs both on the same actions, step for step. The task interface
follows pytorch-maml-rl and learn2learn: :func:`sample_tasks` and ``reset_task``.
"""

from __future__ import annotations

from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch

from mini_lib.checks import check_int

__all__ = ["ACTION_SCALE", "GOAL_HIGH", "GOAL_LOW", "GOAL_TOLERANCE", "HORIZON", "MAX_SPEED",
           "BatchedPointNavigation", "PointNavigationEnv", "sample_tasks", "turn_actions"]

GOAL_LOW, GOAL_HIGH = -0.5, 0.5
ACTION_SCALE = 0.1  # normalised action -> velocity
MAX_SPEED = 0.1  # the velocity is clipped to [-MAX_SPEED, MAX_SPEED] per coordinate
GOAL_TOLERANCE = 0.01
HORIZON = 100


def sample_tasks(n: int, seed: int) -> np.ndarray:
    """``n`` goals, uniform in ``[GOAL_LOW, GOAL_HIGH]²``, from ``numpy.random.default_rng(seed)``:
    a float32 array ``(n, 2)``."""
    n = check_int("n", n, 1)
    rng = np.random.default_rng(check_int("seed", seed, 0))
    return rng.uniform(GOAL_LOW, GOAL_HIGH, size=(n, 2)).astype(np.float32)


def turn_actions(actions: torch.Tensor, angle: torch.Tensor, scale: torch.Tensor) -> torch.Tensor:
    """Per-task actuators: every task's actions ``(T, …, 2)`` turned by its ``angle`` (radians)
    and multiplied by its ``scale`` (each ``(T,)``), before the env scales and clips them.
    Chapter 08's model-based tasks (:mod:`mini_lib.tasks.navigation_dynamics`)."""
    shape = (-1,) + (1,) * (actions.ndim - 2)
    cos, sin = torch.cos(angle).view(shape), torch.sin(angle).view(shape)
    scale = scale.view(shape)
    return torch.stack([scale * (cos * actions[..., 0] - sin * actions[..., 1]),
                        scale * (sin * actions[..., 0] + cos * actions[..., 1])], dim=-1)


def _check_goal(goal: Any) -> np.ndarray:
    goal = np.asarray(goal, dtype=np.float32)
    if goal.shape != (2,) or not np.all(np.isfinite(goal)):
        raise ValueError(f"task (the goal) must be 2 finite numbers, got {goal!r}")
    return goal


class PointNavigationEnv(gym.Env):
    """The Gymnasium version: observation = position (float32, 2), action in normalised units
    (``Box(-1, 1, (2,))``; larger actions are clipped to the top speed)."""

    metadata: ClassVar[dict] = {"render_modes": []}

    def __init__(self, goal: Any = (0.25, 0.25)) -> None:
        self.observation_space = gym.spaces.Box(-np.inf, np.inf, (2,), np.float32)
        self.action_space = gym.spaces.Box(-1.0, 1.0, (2,), np.float32)
        self.goal = _check_goal(goal)
        self.position = np.zeros(2, dtype=np.float32)

    def reset_task(self, task: Any) -> None:
        """Switch to another goal (``sample_tasks`` makes them); takes effect at once."""
        self.goal = _check_goal(task)

    def reset(self, *, seed: int | None = None,
              options: dict | None = None) -> tuple[np.ndarray, dict]:
        """Back to (0, 0); ``options={"task": goal}`` switches the goal first. The env is
        deterministic: ``seed`` only seeds ``self.np_random`` (for API compatibility)."""
        super().reset(seed=seed)
        if options and "task" in options:
            self.reset_task(options["task"])
        self.position = np.zeros(2, dtype=np.float32)
        return self.position.copy(), {"goal": self.goal.copy()}

    def step(self, action: Any) -> tuple[np.ndarray, float, bool, bool, dict]:
        velocity = np.clip(np.asarray(action, dtype=np.float32) * np.float32(ACTION_SCALE),
                           np.float32(-MAX_SPEED), np.float32(MAX_SPEED))
        self.position = (self.position + velocity).astype(np.float32)
        dx, dy = self.position - self.goal
        reward = -np.sqrt(dx * dx + dy * dy)
        terminated = bool(abs(dx) < GOAL_TOLERANCE and abs(dy) < GOAL_TOLERANCE)
        return self.position.copy(), float(reward), terminated, False, {"goal": self.goal.copy()}


class BatchedPointNavigation:
    """``len(goals)`` tasks × ``n_trajectories`` episodes side by side, state ``(T, K, 2)``.

    ``step(actions)`` takes ``(T, K, 2)`` normalised actions and returns observations,
    rewards, ``terminated`` and ``truncated`` (each ``(T, K)``), and ``alive``: which
    episodes were still running when this step was taken. An episode that ended stays where
    it ended, with reward 0 and ``alive`` False from then on, as a padded batch of Gymnasium
    episodes would be. After ``horizon`` steps every episode still running is truncated.
    ``actuators=(angle, scale)`` (each ``(T,)``) turns and scales each task's actions first
    (:func:`turn_actions`): chapter 08's tasks whose dynamics differ.
    """

    def __init__(self, goals: Any, n_trajectories: int, horizon: int = HORIZON,
                 actuators: tuple[torch.Tensor, torch.Tensor] | None = None) -> None:
        goals = torch.as_tensor(np.asarray(goals, dtype=np.float32))
        if goals.ndim != 2 or goals.shape[1] != 2:
            raise ValueError(f"goals must have shape (n_tasks, 2), got {tuple(goals.shape)}")
        if actuators is not None and any(tuple(x.shape) != (len(goals),) for x in actuators):
            raise ValueError(f"actuators must be (angle, scale), each of shape ({len(goals)},) "
                             f"(one per task), got {[tuple(x.shape) for x in actuators]}")
        self.goals = goals
        self.actuators = actuators
        self.n_trajectories = check_int("n_trajectories", n_trajectories, 1)
        self.horizon = check_int("horizon", horizon, 1)
        self.reset()

    @property
    def shape(self) -> tuple[int, int]:
        return self.goals.shape[0], self.n_trajectories

    def reset(self) -> torch.Tensor:
        """Every episode back at (0, 0); returns the observations ``(T, K, 2)``."""
        self.position = torch.zeros(*self.shape, 2)
        self.running = torch.ones(self.shape, dtype=torch.bool)
        self.t = 0
        return self.position.clone()

    def step(self, actions: torch.Tensor) -> tuple[torch.Tensor, ...]:
        if self.t >= self.horizon:
            raise RuntimeError(f"all episodes ended after {self.horizon} steps; call reset()")
        actions = torch.as_tensor(actions, dtype=torch.float32)
        if actions.shape != (*self.shape, 2):
            raise ValueError(f"actions must have shape {(*self.shape, 2)}, got "
                             f"{tuple(actions.shape)}")
        alive = self.running.clone()
        if self.actuators is not None:
            actions = turn_actions(actions, *self.actuators)
        velocity = torch.clamp(actions * ACTION_SCALE, -MAX_SPEED, MAX_SPEED)
        moved = self.position + velocity
        self.position = torch.where(alive[..., None], moved, self.position)
        d = self.position - self.goals[:, None, :]
        distance = torch.sqrt(d[..., 0] * d[..., 0] + d[..., 1] * d[..., 1])
        rewards = torch.where(alive, -distance, torch.zeros_like(distance))
        terminated = alive & (d[..., 0].abs() < GOAL_TOLERANCE) & (d[..., 1].abs() < GOAL_TOLERANCE)
        self.t += 1
        truncated = alive & ~terminated & (self.t >= self.horizon)
        self.running = alive & ~terminated & ~truncated
        return self.position.clone(), rewards, terminated, truncated, alive
