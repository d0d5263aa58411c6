r"""Model-predictive control with a learned, online-adapted dynamics model (GrBAL).

Nagabandi et al. (2019), "Learning to adapt in dynamic, real-world environments through
meta-reinforcement learning": the agent knows the reward (reach :data:`GOAL`) but not its
actuator. At every step it

1. adapts the dynamics model from the meta-learned :math:`\theta` on its own last ``recent``
   (= M) real transitions, :math:`\varphi_t = \theta - \alpha \nabla_\theta
   L(\theta; \text{last } M)` (GrBAL; no transitions yet at :math:`t = 0` → :math:`\theta`);
2. plans with :func:`~mini_lib.model_based.planning.random_shooting` (or the cross-entropy
   method) through the model :math:`\hat s' = s + \text{MAX\_SPEED}\, f_\varphi(s, a)` with
   the reward :math:`-\lVert \hat s' - g \rVert`;
3. executes the plan's first action in the *true* dynamics
   (:func:`mini_lib.tasks.navigation_dynamics.step`).

:func:`run_mpc` plays every task of a :class:`~mini_lib.tasks.navigation_dynamics.Dynamics`
at once (a leading task axis, ``vmap`` over tasks for the adaptation); ``adapt=False`` plans
with :math:`\theta` itself (a pretrained or an unadapted meta-learned model) and
``oracle=True`` with the true dynamics. An episode ends, as the env's does, within
:data:`~mini_lib.envs.point_navigation.GOAL_TOLERANCE` of the goal in both coordinates.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch.func import functional_call, vmap

from mini_lib.checks import check_int, check_positive
from mini_lib.envs.point_navigation import GOAL_TOLERANCE, HORIZON, MAX_SPEED
from mini_lib.meta.functional import Params, mse_loss
from mini_lib.meta.functional import adapt as adapt_params
from mini_lib.model_based.planning import cross_entropy_method, random_shooting
from mini_lib.tasks.navigation_dynamics import GOAL, Dynamics, DynamicsModel, step

__all__ = ["PLANNERS", "MPCConfig", "MPCRollout", "hidden_widths", "run_mpc"]

PLANNERS = ("random_shooting", "cem")


@dataclass(frozen=True)
class MPCConfig:
    """The MPC agent's settings, validated on creation: plan ``n_sequences`` action sequences
    of ``horizon`` steps with ``planner`` (one of :data:`PLANNERS`), adapt with
    ``adapt_steps`` SGD steps of size ``alpha`` on the last ``recent`` transitions once at
    least ``min_recent`` are at hand (before that, plan with θ), play ``episode_steps`` steps.

    The defaults are what works on the actuator tasks (measured in
    ``benchmarks/mpc_agent.py``): random shooting with 500 sequences of 10 steps leaves even
    the true model 1.6 short of the best return (−2.25 against −0.68 on an untouched
    actuator; it hovers near the goal), CEM with 200 sequences of 3 steps gets −0.69. One
    step of size 0.5 on one or two transitions overshoots (the one-step error at t = 1 rose
    from 0.36 to 2.05), but waiting for 5 transitions before adapting was worse on average
    (40 held-out actuators, seed 0: median −2.13, mean −3.15 ± 0.67, against −2.28 and
    −2.39 ± 0.30 adapting from the first transition): the unadapted θ walks off meanwhile.
    So ``min_recent`` = 1, GrBAL as published."""

    horizon: int = 3
    n_sequences: int = 200
    planner: str = "cem"
    recent: int = 16
    min_recent: int = 1
    alpha: float = 0.5
    adapt_steps: int = 1
    episode_steps: int = HORIZON

    def __post_init__(self) -> None:
        check_int("horizon", self.horizon, 1)
        check_int("n_sequences", self.n_sequences, 2)
        if self.planner not in PLANNERS:
            raise ValueError(f"planner must be one of {PLANNERS}, got {self.planner!r}")
        check_int("recent", self.recent, 1)
        check_int("min_recent", self.min_recent, 1, self.recent)
        check_positive("alpha", self.alpha)
        check_int("adapt_steps", self.adapt_steps, 0)
        check_int("episode_steps", self.episode_steps, 1)


class MPCRollout(NamedTuple):
    """Per task: the ``returns`` ``(T,)``, ``positions`` ``(T, steps + 1, 2)`` (held after the
    goal is reached), ``reached`` ``(T,)`` whether it ended at the goal, and the model's
    one-step ``prediction_error`` ``(T, steps)``: the squared error of Δs in units of
    ``MAX_SPEED`` (as the training loss), averaged over the two coordinates, NaN after the
    episode ended (0 for the oracle)."""

    returns: torch.Tensor
    positions: torch.Tensor
    reached: torch.Tensor
    prediction_error: torch.Tensor


def hidden_widths(params: Params) -> tuple[int, ...]:
    """The hidden widths of a :class:`DynamicsModel` from its parameter dict."""
    return tuple(int(w.shape[0]) for name, w in params.items() if name.endswith("weight"))[:-1]


def _predict(skeleton: DynamicsModel, params: Params, batched: bool, states: torch.Tensor,
             actions: torch.Tensor) -> torch.Tensor:
    """Δs/MAX_SPEED ``(T, N, 2)`` for states and actions ``(T, N, 2)``; ``batched`` params
    carry a task axis."""
    inputs = torch.cat([states, actions], dim=-1)
    if not batched:
        return functional_call(skeleton, params, (inputs,))
    return vmap(lambda p, x: functional_call(skeleton, p, (x,)))(params, inputs)


def run_mpc(params: Params | None, config: MPCConfig, dynamics: Dynamics,
            goal: tuple[float, float] = GOAL, adapt: bool = True, seed: int = 0, *,
            oracle: bool = False) -> MPCRollout:
    """One episode per task of ``dynamics``, all tasks in parallel, from (0, 0) to ``goal``.

    ``params`` is the dynamics model θ (:class:`DynamicsModel`'s parameters; ignored, and
    may be None, with ``oracle=True``). ``adapt`` adapts it GrBAL style every step.
    ``seed`` seeds the planner's sampling: the same seed gives the same rollout.
    """
    if not isinstance(config, MPCConfig):
        raise ValueError(f"config must be an MPCConfig, got {type(config).__name__}")
    if not oracle and params is None:
        raise ValueError("params must be a DynamicsModel's parameter dict unless oracle=True")
    seed = check_int("seed", seed, 0)
    goal_t = torch.as_tensor(goal, dtype=torch.float32)
    if goal_t.shape != (2,):
        raise ValueError(f"goal must be 2 numbers, got {goal!r}")
    n_tasks = len(dynamics.angle)
    generator = torch.Generator().manual_seed(seed)
    skeleton = DynamicsModel(hidden_widths(params)) if params is not None else None
    loss_fn = mse_loss(skeleton) if skeleton is not None else None

    def reward(states: torch.Tensor, actions: torch.Tensor, following: torch.Tensor
               ) -> torch.Tensor:
        return -torch.linalg.vector_norm(following - goal_t, dim=-1)

    def adapted(inputs: torch.Tensor, targets: torch.Tensor) -> Params:
        one_task = functools.partial(adapt_params, params, loss_fn, alpha=config.alpha,
                                     steps=config.adapt_steps, first_order=True)
        return vmap(lambda x, y: one_task(batch=(x, y)))(inputs, targets)

    position = torch.zeros(n_tasks, 2)
    positions = [position]
    alive = torch.ones(n_tasks, dtype=torch.bool)
    returns = torch.zeros(n_tasks)
    errors = torch.full((n_tasks, config.episode_steps), float("nan"))
    inputs = torch.zeros(n_tasks, 0, 4)
    targets = torch.zeros(n_tasks, 0, 2)
    low, high = -torch.ones(2), torch.ones(2)
    for t in range(config.episode_steps):
        if oracle:
            def model(s: torch.Tensor, a: torch.Tensor) -> torch.Tensor:
                return step(s, a, dynamics)
        else:
            batched = adapt and inputs.shape[1] >= config.min_recent and config.adapt_steps > 0
            current = adapted(inputs, targets) if batched else params
            model = functools.partial(
                lambda p, b, s, a: s + MAX_SPEED * _predict(skeleton, p, b, s, a),
                current, batched)
        with torch.no_grad():
            if config.planner == "cem":
                plan = cross_entropy_method(model, reward, position, config.horizon,
                                            config.n_sequences, low, high, generator=generator)
            else:
                plan = random_shooting(model, reward, position, config.horizon,
                                       config.n_sequences, low, high, generator=generator)
            action = plan.first_action
            moved = step(position[:, None], action[:, None], dynamics)[:, 0]
            predicted = model(position[:, None], action[:, None])[:, 0]
        error = (((predicted - moved) / MAX_SPEED) ** 2).mean(dim=-1)
        errors[:, t] = torch.where(alive, error, torch.full_like(error, float("nan")))
        inputs = torch.cat([inputs, torch.cat([position, action], -1)[:, None]], 1)
        targets = torch.cat([targets, ((moved - position) / MAX_SPEED)[:, None]], 1)
        inputs, targets = inputs[:, -config.recent:], targets[:, -config.recent:]
        position = torch.where(alive[:, None], moved, position)
        offset = position - goal_t
        returns = returns + torch.where(alive, -torch.linalg.vector_norm(offset, dim=-1),
                                        torch.zeros(n_tasks))
        alive = alive & ~(offset.abs() < GOAL_TOLERANCE).all(dim=-1)
        positions.append(position)
        if not bool(alive.any()):
            positions += [position] * (config.episode_steps - 1 - t)
            break
    return MPCRollout(returns, torch.stack(positions, 1), ~alive, errors)
