"""The convolutional embedding of metric-based few-shot learning (Snell et al. 2017).

``GlyphEmbedding(channels, blocks)`` stacks ``blocks`` blocks of conv3x3 (padding 1) →
BatchNorm → ReLU → 2×2 max-pool, and flattens: a 16×16 glyph with 3 blocks of 64 channels
becomes a 64 · 2 · 2 = 256-dimensional feature vector.
"""

from __future__ import annotations

import torch
from torch import nn

from mini_lib.checks import check_int

__all__ = ["GlyphEmbedding"]


class GlyphEmbedding(nn.Module):
    """Images ``(n, 1, H, W)`` → features ``(n, d)``; each block halves H and W (floor)."""

    def __init__(self, channels: int = 64, blocks: int = 3) -> None:
        super().__init__()
        self.channels = check_int("channels", channels, 1)
        self.blocks = check_int("blocks", blocks, 1, 4)
        layers: list[nn.Module] = []
        n_in = 1
        for _ in range(self.blocks):
            layers += [nn.Conv2d(n_in, self.channels, 3, padding=1),
                       nn.BatchNorm2d(self.channels), nn.ReLU(), nn.MaxPool2d(2)]
            n_in = self.channels
        self.body = nn.Sequential(*layers)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """Features ``(n, d)`` of images ``(n, 1, H, W)``."""
        if images.dim() != 4 or images.shape[1] != 1:
            raise ValueError(f"images must have shape (n, 1, H, W), got {tuple(images.shape)}")
        return self.body(images).flatten(1)
