"""The base of every stored sweep: a grid of runs whose axes are named and looked up by value."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["StoredSweep", "axis_index"]


def axis_index(name: str, axis: np.ndarray, value: float) -> int:
    """Position of ``value`` on a stored sweep axis; ValueError naming the axis if absent."""
    hits = np.flatnonzero(np.isclose(axis, float(value)))
    if hits.size == 0:
        raise ValueError(f"{name} must be one of the swept values {axis.tolist()}, "
                         f"got {value}")
    return int(hits[0])


@dataclass(frozen=True)
class StoredSweep:
    """A sweep loaded from ``data/``: its axes by name (``axes["gamma"]`` is the swept values).

    Subclasses add the stored arrays and the cell accessors the chapter needs; they index with
    :meth:`position`.
    """

    axes: dict[str, np.ndarray]

    def position(self, name: str, value: float) -> int:
        """Index of ``value`` on axis ``name`` (ValueError listing the swept values if absent)."""
        return axis_index(name, self.axes[name], value)
