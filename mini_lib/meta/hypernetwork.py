r"""A hypernetwork: a task embedding mapped to *all* the weights of a policy (chapter 08).

The mapping is :math:`e \mapsto \theta(e)`: a small MLP reads a task embedding (the goal
itself, or a latent inferred from context) and outputs one flat vector, cut into the shapes
of a *target* module's parameters. The generated weights are used through
``torch.func.functional_call`` — never copied into the target's ``nn.Parameter``s, which
would cut the autograd graph, so that no gradient reached the hypernetwork (the mistake of
the source article 002's "meta-policy network"). With a leading task axis the result is
one parameter set per task, the layout :func:`mini_lib.tasks.navigation.sample_batch`
accepts.

The output layer starts at zero weight and a bias equal to the target's own initial
parameters: at the start every embedding generates the target's usual initialisation, and
training moves the weights away from it as far as the tasks need.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from mini_lib.checks import check_int, check_widths
from mini_lib.meta.functional import Params
from mini_lib.nets import mlp

__all__ = ["HyperNetwork"]


class HyperNetwork(nn.Module):
    """``embedding (…, embedding_dim)`` → a parameter dict for ``target``, each entry of
    shape ``(…, *parameter.shape)``.

    ``hidden`` are the widths of the MLP (ReLU); ``target`` is only read for its parameter
    names, shapes and initial values (it is not kept as a submodule, so the hypernetwork's
    own parameters are the MLP's alone).
    """

    def __init__(self, target: nn.Module, embedding_dim: int,
                 hidden: tuple[int, ...] = (64,)) -> None:
        super().__init__()
        self.embedding_dim = check_int("embedding_dim", embedding_dim, 1)
        named = list(target.named_parameters())
        if not named:
            raise ValueError("target must have parameters to generate, got none")
        self.names = [name for name, _ in named]
        self.shapes = [tuple(p.shape) for _, p in named]
        self.sizes = [math.prod(shape) for shape in self.shapes]
        self.body = mlp((self.embedding_dim, *check_widths("hidden", hidden), sum(self.sizes)),
                        nn.ReLU)
        last = self.body[-1]
        with torch.no_grad():
            last.weight.zero_()
            last.bias.copy_(torch.cat([p.detach().reshape(-1) for _, p in named]))

    def forward(self, embedding: torch.Tensor) -> Params:
        if embedding.ndim < 1 or embedding.shape[-1] != self.embedding_dim:
            raise ValueError(f"embedding must end in embedding_dim = {self.embedding_dim}, "
                             f"got shape {tuple(embedding.shape)}")
        flat = self.body(embedding)
        pieces = torch.split(flat, self.sizes, dim=-1)
        lead = embedding.shape[:-1]
        return {name: piece.reshape(*lead, *shape)
                for name, shape, piece in zip(self.names, self.shapes, pieces, strict=True)}
