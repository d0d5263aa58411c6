"""The one network builder of the course: a multi-layer perceptron.

``mlp((4, 64, 64, 2), nn.Tanh)`` is ``Linear(4, 64), Tanh, Linear(64, 64), Tanh,
Linear(64, 2)``: layers are created (and so initialised from torch's global random stream)
in that order, and named ``0, 2, 4, …`` inside the ``nn.Sequential``. The Q-network, the
policy and value networks and the sinusoid regressor are all this builder with their own sizes
and activation.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence

from torch import nn

from mini_lib.checks import check_int

__all__ = ["mlp"]


def mlp(sizes: Sequence[int], activation: type[nn.Module] = nn.Tanh,
        linear: type[nn.Linear] = nn.Linear) -> nn.Sequential:
    """Linear layers between consecutive ``sizes`` with ``activation`` between them (none after
    the last). ``linear`` may be a subclass of ``nn.Linear`` (e.g. one that skips
    initialisation, for a shape-only skeleton)."""
    sizes = [check_int(f"sizes[{i}]", size, 1) for i, size in enumerate(sizes)]
    if len(sizes) < 2:
        raise ValueError(f"sizes must list at least an input and an output size, got {sizes}")
    layers: list[nn.Module] = []
    for i, (n_in, n_out) in enumerate(itertools.pairwise(sizes)):
        layers.append(linear(n_in, n_out))
        if i < len(sizes) - 2:
            layers.append(activation())
    return nn.Sequential(*layers)
