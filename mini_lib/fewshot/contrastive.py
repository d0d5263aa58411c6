"""Self-supervised pretraining of the glyph embedding: a contrastive task on unlabelled glyphs.

Chapter 08 part 3 (issue 20, in progress). Seed 000 §2.7's "self-supervised meta-learning"
first learns from unlabelled data and only then meta-learns; this module is the first half.
No label is ever read: :func:`train_contrastive` takes images ``(n, 1, H, W)``.

* :func:`augment_views`: a random view of each glyph — a small rotation, scaling and shift
  (one affine warp, bilinear) and, for half of the glyphs, strokes thickened by a 3×3 max-pool.
* :func:`nt_xent_loss` (SimCLR's normalised temperature-scaled cross-entropy, Chen et al.
  2020): features ``[z₁; z₂]`` of two views of the same ``n`` glyphs; view ``i``'s positive is
  ``i + n`` (and back), every other view of the batch a negative, and a view is never compared
  with itself.
* :func:`train_contrastive`: a :class:`~mini_lib.fewshot.embedding.GlyphEmbedding` with a
  small projection head, trained with Adam on random batches; returns the embedding (the head
  is dropped, as in SimCLR).

Why not rotation prediction (Gidaris et al. 2018)? The glyphs' strokes have control points
uniform in the unit square, a distribution that a quarter turn leaves unchanged: which of four
rotations was applied cannot be told from a glyph, so that pretext task has nothing to learn.
"""

from __future__ import annotations

import dataclasses
import math
import time
from typing import NamedTuple

import torch
import torch.nn.functional as F
from torch import nn
from tqdm.auto import tqdm

from mini_lib.checks import check_finite, check_in_range, check_int
from mini_lib.fewshot.embedding import GlyphEmbedding

__all__ = ["ContrastiveConfig", "ContrastiveResult", "augment_views", "nt_xent_loss",
           "train_contrastive"]


def _check_images(images: torch.Tensor) -> torch.Tensor:
    if not isinstance(images, torch.Tensor) or images.dim() != 4 or images.shape[1] != 1:
        shape = tuple(images.shape) if isinstance(images, torch.Tensor) else type(images)
        raise ValueError(f"images must be a tensor of shape (n, 1, H, W), got {shape}")
    return images


def augment_views(images: torch.Tensor, generator: torch.Generator, rotation: float = 20.0,
                  scale: float = 0.15, shift: float = 0.12) -> torch.Tensor:
    """One random view of each image ``(n, 1, H, W)``, the same shape, values in [0, 1].

    Rotation uniform in ±``rotation`` degrees, scale in 1 ± ``scale``, shift in ±``shift`` of
    the half-width, about the image centre; then, with probability ½ per image, a 3×3
    max-pool (thicker strokes). ``generator`` makes the views reproducible.
    """
    images = _check_images(images)
    check_in_range("rotation", rotation, 0.0, 180.0)
    check_in_range("scale", scale, 0.0, 1.0, high_open=True)
    check_in_range("shift", shift, 0.0, 1.0)
    n = images.shape[0]

    def uniform(*shape: int) -> torch.Tensor:
        return torch.rand(*shape, generator=generator) * 2 - 1

    angle = uniform(n) * math.radians(rotation)
    zoom = 1 + uniform(n) * scale
    offset = uniform(n, 2) * shift
    cos, sin = torch.cos(angle) / zoom, torch.sin(angle) / zoom
    theta = torch.stack([torch.stack([cos, -sin, offset[:, 0]], 1),
                         torch.stack([sin, cos, offset[:, 1]], 1)], 1)
    grid = F.affine_grid(theta, list(images.shape), align_corners=False)
    views = F.grid_sample(images, grid, align_corners=False, padding_mode="zeros")
    thicker = torch.rand(n, generator=generator) < 0.5
    return torch.where(thicker[:, None, None, None], F.max_pool2d(views, 3, 1, 1), views)


def nt_xent_loss(features: torch.Tensor, temperature: float = 0.5) -> torch.Tensor:
    """SimCLR's loss of features ``(2n, d)`` of two views ``[z₁; z₂]``: a 0-d tensor.

    Cosine similarities divided by ``temperature``; row ``i`` is a ``2n − 1``-way
    classification whose right answer is ``i + n`` (mod ``2n``), itself excluded.
    """
    if features.dim() != 2 or features.shape[0] % 2 or features.shape[0] < 4:
        raise ValueError(f"features must have shape (2n, d) with n >= 2 (two views of n "
                         f"samples), got {tuple(features.shape)}")
    check_in_range("temperature", temperature, 0.0, math.inf, low_open=True, high_open=True)
    n = features.shape[0] // 2
    unit = F.normalize(features, dim=1)
    similarity = unit @ unit.T / temperature
    self_pairs = torch.eye(2 * n, dtype=torch.bool)
    similarity = similarity.masked_fill(self_pairs, -math.inf)
    positives = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    return F.cross_entropy(similarity, positives)


@dataclasses.dataclass(frozen=True)
class ContrastiveConfig:
    """Hyper-parameters of :func:`train_contrastive` (``batch`` glyphs → 2·batch views)."""

    steps: int = 600
    batch: int = 256
    lr: float = 1e-3
    temperature: float = 0.5
    projection: int = 64
    channels: int = 64
    blocks: int = 3

    def __post_init__(self) -> None:
        check_int("steps", self.steps, 1)
        check_int("batch", self.batch, 2)
        check_in_range("lr", self.lr, 0.0, math.inf, low_open=True, high_open=True)
        check_in_range("temperature", self.temperature, 0.0, math.inf, low_open=True,
                       high_open=True)
        check_int("projection", self.projection, 1)
        check_int("channels", self.channels, 1)
        check_int("blocks", self.blocks, 1, 4)


class ContrastiveResult(NamedTuple):
    """The pretrained ``embedding`` (eval mode, head dropped), per-step losses, wall seconds."""

    embedding: GlyphEmbedding
    losses: list[float]
    seconds: float


def train_contrastive(config: ContrastiveConfig, images: torch.Tensor, seed: int = 0,
                      progress: bool = False) -> ContrastiveResult:
    """Pretrain an embedding on unlabelled ``images`` ``(n, 1, H, W)``; see the module doc."""
    if not isinstance(config, ContrastiveConfig):
        raise ValueError(f"config must be a ContrastiveConfig, got {type(config).__name__}")
    images = _check_images(images).float()
    seed = check_int("seed", seed, 0)
    start = time.perf_counter()
    torch.manual_seed(seed)
    generator = torch.Generator().manual_seed(seed)
    embedding = GlyphEmbedding(config.channels, config.blocks)
    width = embedding(images[:2]).shape[1]
    head = nn.Sequential(nn.Linear(width, width), nn.ReLU(), nn.Linear(width, config.projection))
    optimiser = torch.optim.Adam([*embedding.parameters(), *head.parameters()], lr=config.lr)
    embedding.train()
    losses: list[float] = []
    bar = tqdm(range(config.steps), disable=not progress, desc="contrastive")
    for step in bar:
        batch = images[torch.randint(len(images), (config.batch,), generator=generator)]
        views = torch.cat([augment_views(batch, generator), augment_views(batch, generator)])
        loss = nt_xent_loss(head(embedding(views)), config.temperature)
        value = float(loss.detach())
        check_finite(f"contrastive pretraining diverged at step {step}: the loss became "
                     f"{value}", value, [f"the learning rate lr = {config.lr:g} is too large",
                                         f"the temperature {config.temperature:g} is too small"])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(value)
        if progress and step % 50 == 0:
            bar.set_postfix(loss=f"{value:.3f}")
    embedding.eval()
    return ContrastiveResult(embedding, losses, time.perf_counter() - start)
