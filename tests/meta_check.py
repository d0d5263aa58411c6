"""Shared by the meta-learning tests: the meta-gradient by central finite differences."""

import numpy as np
import torch

from mini_lib.meta.functional import Batch, LossFn, Params, maml_loss


def flat(params: Params) -> torch.Tensor:
    return torch.cat([p.reshape(-1) for p in params.values()])


def relative_error(a: Params, b: Params) -> float:
    return float((flat(a) - flat(b)).norm() / flat(b).norm())


def finite_difference_meta_gradient(params: Params, loss_fn: LossFn, support: Batch,
                                    query: Batch, alpha: float, steps: int,
                                    h: float = 1e-6) -> Params:
    """∂ maml_loss / ∂θ, one central difference per coordinate (use float64 parameters)."""
    numeric = {}
    for name, p in params.items():
        numeric[name] = torch.zeros_like(p)
        for index in np.ndindex(*p.shape):
            values = []
            for sign in (1.0, -1.0):
                shifted = dict(params)
                shifted[name] = p.clone()
                shifted[name][index] += sign * h
                values.append(maml_loss(shifted, loss_fn, support, query, alpha, steps).item())
            numeric[name][index] = (values[0] - values[1]) / (2 * h)
    return numeric
