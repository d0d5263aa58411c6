r"""Conditioning by concatenation, written as a map from a task embedding to weights (chapter 08).

A policy :math:`\pi(a \mid s, e)` that reads a task embedding :math:`e` beside its input
:math:`s` computes, in its first layer, :math:`W [s; e] + b = W_s s + (W_e e + b)`: the
embedding only moves the first layer's bias. So concatenation *is* a map from the embedding
to the policy's weights, as a hypernetwork is — one that generates a single bias vector,
linearly — and :class:`ConcatConditioner` returns it in the hypernetwork's layout: a
parameter dict with a leading task axis for a *target* module that reads ``s`` alone. Every
family of chapter 08 then differs only in where ``e`` comes from (the goal itself, a latent
inferred from context, a vector adapted by gradient as in CAVIA) and in which map turns it
into weights (this one, or :class:`~mini_lib.meta.hypernetwork.HyperNetwork`).
"""

from __future__ import annotations

import torch
from torch import nn

from mini_lib.checks import check_int
from mini_lib.meta.functional import Params

__all__ = ["ConcatConditioner"]


class ConcatConditioner(nn.Module):
    """``embedding (…, embedding_dim)`` → ``target``'s parameters, shapes ``(…, *shape)``.

    The conditioner owns a copy of ``target``'s parameters (its own starting values) and the
    weight ``W_e`` ``(out, embedding_dim)`` of the embedding columns of the first layer
    (initialised as PyTorch initialises a linear layer's columns; ``first_bias`` names that
    layer's bias). Every parameter is shared by all tasks (expanded, not copied) except the
    first bias, which becomes ``bias + W_e e``.
    """

    def __init__(self, target: nn.Module, embedding_dim: int,
                 first_bias: str = "mean.0.bias") -> None:
        super().__init__()
        self.embedding_dim = check_int("embedding_dim", embedding_dim, 1)
        named = dict(target.named_parameters())
        if first_bias not in named or named[first_bias].ndim != 1:
            raise ValueError(f"first_bias must name a bias vector of target, got "
                             f"{first_bias!r}; target has {sorted(named)}")
        self.names = list(named)
        self.first_bias = first_bias
        self.shared = nn.ParameterList(nn.Parameter(p.detach().clone())
                                       for p in named.values())
        fan_in = self._fan_in(named, first_bias) + self.embedding_dim
        bound = fan_in ** -0.5
        self.embedding_weight = nn.Parameter(
            torch.empty(named[first_bias].shape[0], self.embedding_dim).uniform_(-bound, bound))

    @staticmethod
    def _fan_in(named: dict[str, nn.Parameter], first_bias: str) -> int:
        weight = named.get(first_bias.removesuffix("bias") + "weight")
        return 0 if weight is None else weight.shape[1]

    def forward(self, embedding: torch.Tensor) -> Params:
        if embedding.ndim < 1 or embedding.shape[-1] != self.embedding_dim:
            raise ValueError(f"embedding must end in embedding_dim = {self.embedding_dim}, "
                             f"got shape {tuple(embedding.shape)}")
        lead = embedding.shape[:-1]
        params = {name: p.expand(*lead, *p.shape)
                  for name, p in zip(self.names, self.shared, strict=True)}
        params[self.first_bias] = params[self.first_bias] + embedding @ self.embedding_weight.t()
        return params
