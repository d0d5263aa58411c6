r"""The sinusoid regression tasks of MAML (Finn, Abbeel & Levine 2017, §5.1).

A *task* is one sine wave :math:`y = A \sin(x - \varphi)` with amplitude
:math:`A \sim U[0.1, 5.0]` and phase :math:`\varphi \sim U[0, \pi]`; its data points have
:math:`x \sim U[-5, 5]`. A learner sees ``K`` *support* points of a task, adapts to them, and is
scored on *query* points of the same task. :func:`sample_tasks` draws a batch of tasks with
their points as tensors shaped ``(tasks, K, 1)``, ready for ``torch.func.vmap`` over the first
axis; :func:`held_out_tasks` is the fixed set every method is evaluated on.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from mini_lib.checks import check_int

__all__ = [
    "AMPLITUDE_RANGE",
    "PHASE_RANGE",
    "X_RANGE",
    "SinusoidTasks",
    "held_out_tasks",
    "sample_tasks",
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
