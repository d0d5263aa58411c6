r"""The sinusoid regression tasks of MAML (Finn, Abbeel & Levine 2017, §5.1).

A *task* is one sine wave :math:`y = A \sin(x - \varphi)` with amplitude
:math:`A \sim U[0.1, 5.0]` and phase :math:`\varphi \sim U[0, \pi]`; its data points have
:math:`x \sim U[-5, 5]`. A learner sees ``K`` *support* points of a task, adapts to them, and is
scored on *query* points of the same task. :func:`sample_tasks` draws a batch of tasks with
their points as tensors shaped ``(tasks, K, 1)``, ready for ``torch.func.vmap`` over the first
axis; :func:`held_out_tasks` is the fixed set every method is evaluated on.

The learner is Finn et al.'s 1-40-40-1 ReLU regressor, :class:`SinusoidMLP`;
:func:`forward`, :func:`batch_mse` and :func:`mse` evaluate it from a parameter dict alone
(any widths), and
:class:`SinusoidFamily` is the whole family as :func:`mini_lib.meta.training.train_meta`
takes it: the network, the loss, and batches of ``(x, y)`` support and query points.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import nn

from mini_lib.checks import check_int, check_widths
from mini_lib.meta.functional import Batch, LossFn, Params, mse_loss
from mini_lib.nets import mlp

__all__ = [
    "AMPLITUDE_RANGE",
    "PHASE_RANGE",
    "X_RANGE",
    "SinusoidFamily",
    "SinusoidMLP",
    "SinusoidTasks",
    "batch_mse",
    "forward",
    "held_out_tasks",
    "mse",
    "sample_tasks",
    "shape_only",
    "sinusoid",
]

AMPLITUDE_RANGE = (0.1, 5.0)
PHASE_RANGE = (0.0, math.pi)
X_RANGE = (-5.0, 5.0)


def sinusoid(x: torch.Tensor, amplitude: torch.Tensor, phase: torch.Tensor) -> torch.Tensor:
    """``A sin(x − φ)`` for ``x`` shaped ``(tasks, n, 1)`` and ``A``, ``φ`` shaped ``(tasks,)``."""
    return amplitude[:, None, None] * torch.sin(x - phase[:, None, None])


@dataclass(frozen=True)
class SinusoidTasks:
    """A batch of sine-wave tasks: their parameters and their support and query points.

    ``amplitude`` and ``phase`` are shaped ``(tasks,)``; ``x_support``/``y_support`` are
    ``(tasks, K, 1)``; ``x_query``/``y_query`` are ``(tasks, K_query, 1)``.
    """

    amplitude: torch.Tensor
    phase: torch.Tensor
    x_support: torch.Tensor
    y_support: torch.Tensor
    x_query: torch.Tensor
    y_query: torch.Tensor

    def __len__(self) -> int:
        return self.amplitude.shape[0]

    def __getitem__(self, index: int | slice) -> SinusoidTasks:
        """The tasks at ``index`` (an int keeps a task axis of length 1)."""
        if isinstance(index, int):
            index = slice(index, index + 1 if index != -1 else None)
        return SinusoidTasks(*(getattr(self, name)[index] for name in self.__dataclass_fields__))

    @property
    def support(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The support batch ``(x_support, y_support)``, with the task axis in front."""
        return self.x_support, self.y_support

    @property
    def query(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The query batch ``(x_query, y_query)``, with the task axis in front."""
        return self.x_query, self.y_query

    def curve(self, x: torch.Tensor) -> torch.Tensor:
        """Every task's true ``y`` at the points ``x`` (shape ``(n,)`` or ``(n, 1)``, shared by
        all tasks, e.g. a plotting grid) as ``(tasks, n, 1)``."""
        x = x.reshape(1, -1, 1).to(self.amplitude.dtype)
        return sinusoid(x, self.amplitude, self.phase)


def sample_tasks(
    n_tasks: int,
    k_shot: int,
    rng: np.random.Generator,
    *,
    k_query: int | None = None,
    dtype: torch.dtype = torch.float32,
) -> SinusoidTasks:
    """Draw ``n_tasks`` sine waves with ``k_shot`` support and ``k_query`` query points each.

    ``k_query`` defaults to ``k_shot`` (Finn et al. use K points for both the inner and the
    outer loss). Everything comes from ``rng``, in the order amplitudes, phases, support x,
    query x, so the same seed gives the same tasks.
    """
    n_tasks = check_int("n_tasks", n_tasks, 1)
    k_shot = check_int("k_shot", k_shot, 1)
    k_query = k_shot if k_query is None else check_int("k_query", k_query, 1)
    amplitude = rng.uniform(*AMPLITUDE_RANGE, size=n_tasks)
    phase = rng.uniform(*PHASE_RANGE, size=n_tasks)
    x_support = rng.uniform(*X_RANGE, size=(n_tasks, k_shot, 1))
    x_query = rng.uniform(*X_RANGE, size=(n_tasks, k_query, 1))

    def tensor(a: np.ndarray) -> torch.Tensor:
        return torch.as_tensor(a, dtype=dtype)

    amplitude, phase = tensor(amplitude), tensor(phase)
    x_support, x_query = tensor(x_support), tensor(x_query)
    return SinusoidTasks(amplitude, phase, x_support, sinusoid(x_support, amplitude, phase),
                         x_query, sinusoid(x_query, amplitude, phase))


def held_out_tasks(
    n_tasks: int = 1000,
    k_shot: int = 10,
    *,
    k_query: int = 100,
    seed: int = 10_000,
    dtype: torch.dtype = torch.float32,
) -> SinusoidTasks:
    """The fixed test tasks: ``k_shot`` points to adapt on, ``k_query`` points to score on.

    The default seed (10 000, the course's evaluation seed) is far from the small training
    seeds, and 100 query points per task make each task's MSE a low-noise estimate of the
    error over the whole interval [−5, 5].
    """
    return sample_tasks(n_tasks, k_shot, np.random.default_rng(seed), k_query=k_query,
                        dtype=dtype)


# --- the network ---------------------------------------------------------------------------

class SinusoidMLP(nn.Module):
    """The regressor of Finn et al.: 1 → 40 → 40 → 1 with ReLU (``hidden`` sets the widths).

    The layers sit in ``self.net`` (parameter names ``net.0.weight`` … ``net.4.bias``).
    """

    def __init__(self, hidden: tuple[int, ...] = (40, 40),
                 linear: type[nn.Linear] = nn.Linear) -> None:
        super().__init__()
        self.net = mlp((1, *hidden, 1), nn.ReLU, linear)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net(x)


class _ShapeOnlyLinear(nn.Linear):
    def reset_parameters(self) -> None:
        pass  # no random initial values: functional_call brings the weights


@functools.cache
def shape_only(hidden: tuple[int, ...] = (40, 40)) -> SinusoidMLP:
    """A :class:`SinusoidMLP` with shapes but no weights, for ``functional_call``.

    Its weights live on the ``"meta"`` device and are never initialised: no random numbers are
    drawn (which would shift seeded runs), no memory is used. One copy per architecture serves
    every parameter dict of it.
    """
    with torch.device("meta"):
        return SinusoidMLP(hidden, linear=_ShapeOnlyLinear)


@functools.cache
def _loss(hidden: tuple[int, ...]) -> LossFn:
    return mse_loss(shape_only(hidden))


def _hidden(params: Params) -> tuple[int, ...]:
    return tuple(w.shape[0] for name, w in params.items() if name.endswith("weight"))[:-1]


def forward(params: Params, x: torch.Tensor) -> torch.Tensor:
    """The :class:`SinusoidMLP` whose parameters are ``params`` applied to ``x`` (``(..., 1)``)."""
    return torch.func.functional_call(shape_only(_hidden(params)), params, (x,))


def batch_mse(params: Params, batch: Batch) -> torch.Tensor:
    """Mean squared error of the :class:`SinusoidMLP` ``params`` (any widths) on ``batch``.

    ``batch`` is ``(x, y)``; a :data:`~mini_lib.meta.functional.LossFn`, so it goes wherever
    the meta-learning functions take one.
    """
    return _loss(_hidden(params))(params, batch)


def mse(params: Params, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """``batch_mse(params, (x, y))``: the MSE of the network ``params`` on the points."""
    return batch_mse(params, (x, y))


# --- the family, as meta-training takes it -------------------------------------------------

@dataclass(frozen=True)
class SinusoidFamily:
    """Sine-wave tasks with ``k_shot`` support and ``k_shot`` query points, and the network.

    Satisfies :class:`mini_lib.meta.training.TaskFamily`: :meth:`make_model` builds a
    :class:`SinusoidMLP` with widths ``hidden``, :attr:`loss` is its MSE on ``(x, y)``, and
    :meth:`sample` draws tasks with :func:`sample_tasks`. Defaults are Finn et al.'s (K = 10,
    1-40-40-1).
    """

    k_shot: int = 10
    hidden: tuple[int, ...] = (40, 40)
    #: where a too large inner step overshoots, as the divergence message names it
    steep_tasks: ClassVar[str] = "steep tasks (amplitudes up to 5)"

    def __post_init__(self) -> None:
        check_int("k_shot", self.k_shot, 1)
        check_widths("hidden", self.hidden)

    def make_model(self) -> SinusoidMLP:
        """A freshly initialised network (from torch's global random stream)."""
        return SinusoidMLP(tuple(self.hidden))

    @property
    def loss(self) -> LossFn:
        """:func:`batch_mse`: the network's mean squared error on ``(x, y)``."""
        return batch_mse

    def sample(self, n_tasks: int, rng: np.random.Generator) -> tuple[Batch, Batch]:
        """``n_tasks`` fresh tasks from ``rng``: their support and query ``(x, y)`` batches."""
        tasks = sample_tasks(n_tasks, self.k_shot, rng)
        return tasks.support, tasks.query
