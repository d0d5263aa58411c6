r"""A permutation-invariant context encoder, PEARL-style (Rakelly et al. 2019; chapter 08).

Each transition :math:`c_i = (s, a, r, s')` is mapped by one shared MLP to a Gaussian
*factor* over a latent task variable :math:`z`; the posterior is the normalised product of
the factors and the prior :math:`\mathcal N(0, I)`. In natural parameters a product is a sum:

.. math::
    \Lambda = I + \sum_i \Lambda_i, \qquad \mu = \Lambda^{-1} \sum_i \eta_i .

Two kinds of factor (``factors``):

- ``"diagonal"`` (PEARL's): :math:`\Lambda_i = \operatorname{diag}(\sigma_i^{-2})`,
  :math:`\eta_i = \Lambda_i \mu_i` — each transition says "each coordinate of z is about
  :math:`\mu_i`";
- ``"rank_one"``: :math:`\Lambda_i = u_i u_i^\top`, :math:`\eta_i = y_i u_i` — a factor
  :math:`\propto \exp(-\tfrac12 (u_i^\top z - y_i)^2)`: each transition is one *linear
  measurement* :math:`u_i^\top z \approx y_i` with unit noise, and the posterior is Bayesian
  linear regression on the measurements. A
  distance to the goal is such a measurement of :math:`(g, \lVert g \rVert^2)` —
  :math:`\lVert s' - g \rVert^2 = \lVert s' \rVert^2 - 2 s' \cdot g + \lVert g \rVert^2` —
  which no diagonal factor can express (chapter 08 measures both).

A sum does not depend on the order of its terms, so neither does the posterior, and every
factor adds a positive semi-definite precision, so the posterior can only narrow as
transitions arrive. (Mean or sum pooling is order-invariant too; an RNN over the
transitions is not.) :func:`kl_to_prior` is the KL term of PEARL's loss, in closed form.
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn
from torch.nn import functional as F

from mini_lib.checks import check_int, check_widths
from mini_lib.nets import mlp

__all__ = ["FACTORS", "ContextEncoder", "GaussianPosterior", "kl_to_prior"]


FACTORS = ("diagonal", "rank_one")


class GaussianPosterior(NamedTuple):
    """A Gaussian over the latent: ``mean`` ``(…, latent)`` and ``covariance``
    ``(…, latent, latent)``."""

    mean: torch.Tensor
    covariance: torch.Tensor

    @property
    def variance(self) -> torch.Tensor:
        """The marginal variance of every latent coordinate, ``(…, latent)``."""
        return torch.diagonal(self.covariance, dim1=-2, dim2=-1)

    def sample(self, generator: torch.Generator | None = None) -> torch.Tensor:
        """One reparameterised draw (gradients flow to ``mean`` and ``covariance``)."""
        noise = torch.randn(self.mean.shape, generator=generator, dtype=self.mean.dtype)
        root = torch.linalg.cholesky(self.covariance)
        return self.mean + (root @ noise[..., None])[..., 0]


class ContextEncoder(nn.Module):
    """Transitions ``(…, N, transition_dim)`` → :class:`GaussianPosterior` ``(…, latent)``.

    ``mask`` ``(…, N)`` (optional, 0/1) leaves transitions out: a task with no transitions
    gets the prior. ``hidden`` are the MLP's widths (ReLU); ``factors`` is one of
    :data:`FACTORS`.
    """

    def __init__(self, transition_dim: int, latent_dim: int = 2,
                 hidden: tuple[int, ...] = (64, 64), factors: str = "diagonal") -> None:
        super().__init__()
        if factors not in FACTORS:
            raise ValueError(f"factors must be one of {FACTORS}, got {factors!r}")
        self.transition_dim = check_int("transition_dim", transition_dim, 1)
        self.latent_dim = check_int("latent_dim", latent_dim, 1)
        self.factors = factors
        outputs = 2 * self.latent_dim if factors == "diagonal" else self.latent_dim + 1
        self.factor = mlp((self.transition_dim, *check_widths("hidden", hidden), outputs),
                          nn.ReLU)

    def forward(self, transitions: torch.Tensor,
                mask: torch.Tensor | None = None) -> GaussianPosterior:
        if transitions.ndim < 2 or transitions.shape[-1] != self.transition_dim:
            raise ValueError(f"transitions must have shape (…, N, transition_dim = "
                             f"{self.transition_dim}), got {tuple(transitions.shape)}")
        if mask is None:
            mask = torch.ones(transitions.shape[:-1], dtype=transitions.dtype)
        if mask.shape != transitions.shape[:-1]:
            raise ValueError(f"mask must have shape {tuple(transitions.shape[:-1])}, got "
                             f"{tuple(mask.shape)}")
        weight = mask[..., None].to(transitions.dtype)
        d = self.latent_dim
        if self.factors == "diagonal":
            mean_i, raw = self.factor(transitions).split(d, dim=-1)
            precision_i = weight / (F.softplus(raw) + 1e-4)  # σ_i² > 0, bounded away from 0
            precision = torch.diag_embed(1.0 + precision_i.sum(dim=-2))  # the prior adds I
            natural = (precision_i * mean_i).sum(dim=-2)
        else:
            u, y = self.factor(transitions).split([d, 1], dim=-1)
            u = u * weight
            precision = torch.eye(d, dtype=u.dtype) + u.transpose(-1, -2) @ u
            natural = (y * u).sum(dim=-2)
        covariance = torch.cholesky_inverse(torch.linalg.cholesky(precision))
        mean = (covariance @ natural[..., None])[..., 0]
        return GaussianPosterior(mean, covariance)


def kl_to_prior(posterior: GaussianPosterior) -> torch.Tensor:
    """``KL(N(mean, covariance) ‖ N(0, I))``, shape ``(…)``."""
    mean, covariance = posterior
    trace = torch.diagonal(covariance, dim1=-2, dim2=-1).sum(dim=-1)
    log_det = torch.linalg.slogdet(covariance).logabsdet
    return 0.5 * (trace + (mean**2).sum(dim=-1) - mean.shape[-1] - log_det)
