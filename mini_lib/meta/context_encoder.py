r"""A permutation-invariant context encoder, PEARL-style (Rakelly et al. 2019; chapter 08).

Each transition :math:`c_i = (s, a, r, s')` is mapped by one shared MLP to a Gaussian factor
:math:`\mathcal N(\mu_i, \sigma_i^2)` over a latent task variable :math:`z`; the posterior
is the normalised product of the factors and the prior :math:`\mathcal N(0, I)`:

.. math::
    \sigma^{-2} = 1 + \sum_i \sigma_i^{-2}, \qquad
    \mu = \sigma^2 \sum_i \sigma_i^{-2} \mu_i .

A product does not depend on the order of its factors, so neither does the posterior, and
every factor adds precision, so the posterior can only narrow as transitions arrive. (Mean
or sum pooling is order-invariant too; an RNN over the transitions is not.) :func:`kl_to_prior`
is the KL term of PEARL's loss, in closed form.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from mini_lib.checks import check_int, check_widths
from mini_lib.nets import mlp

__all__ = ["ContextEncoder", "GaussianPosterior", "kl_to_prior"]


class GaussianPosterior(NamedTuple):
    """A diagonal Gaussian over the latent: ``mean`` and ``variance``, shape ``(…, latent)``."""

    mean: torch.Tensor
    variance: torch.Tensor

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """One reparameterised draw (gradients flow to ``mean`` and ``variance``)."""
        noise = torch.randn(self.mean.shape, generator=generator, dtype=self.mean.dtype)
        return self.mean + self.variance.sqrt() * noise


class ContextEncoder(nn.Module):
    """Transitions ``(…, N, transition_dim)`` → :class:`GaussianPosterior` ``(…, latent)``.

    ``mask`` ``(…, N)`` (optional, 0/1) leaves transitions out: a task with no transitions
    gets the prior. ``hidden`` are the MLP's widths (ReLU).
    """

    def __init__(self, transition_dim: int, latent_dim: int = 2,
                 hidden: tuple[int, ...] = (64, 64)) -> None:
        super().__init__()
        self.transition_dim = check_int("transition_dim", transition_dim, 1)
        self.latent_dim = check_int("latent_dim", latent_dim, 1)
        self.factor = mlp((self.transition_dim, *check_widths("hidden", hidden),
                           2 * self.latent_dim), nn.ReLU)

    def forward(self, transitions: torch.Tensor,
                mask: torch.Tensor | None = None) -> GaussianPosterior:
        if transitions.ndim < 2 or transitions.shape[-1] != self.transition_dim:
            raise ValueError(f"transitions must have shape (…, N, transition_dim = "
                             f"{self.transition_dim}), got {tuple(transitions.shape)}")
        mean_i, raw = self.factor(transitions).split(self.latent_dim, dim=-1)
        precision_i = 1.0 / (F.softplus(raw) + 1e-4)  # σ_i² > 0, bounded away from 0
        if mask is not None:
            if mask.shape != transitions.shape[:-1]:
                raise ValueError(f"mask must have shape {tuple(transitions.shape[:-1])}, got "
                                 f"{tuple(mask.shape)}")
            precision_i = precision_i * mask[..., None].to(precision_i.dtype)
        precision = 1.0 + precision_i.sum(dim=-2)  # the prior N(0, I) contributes 1
        mean = (precision_i * mean_i).sum(dim=-2) / precision
        return GaussianPosterior(mean, 1.0 / precision)


def kl_to_prior(posterior: GaussianPosterior) -> torch.Tensor:
    """``KL(N(mean, variance) ‖ N(0, I))`` summed over the latent, shape ``(…)``."""
    mean, variance = posterior
    return 0.5 * (variance + mean**2 - 1.0 - variance.log()).sum(dim=-1)
