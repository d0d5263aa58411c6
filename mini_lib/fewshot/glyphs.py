"""Procedurally generated, Omniglot-like glyphs: the few-shot data set of chapter 08 (part 2).

**The data are synthetic.** Omniglot (Lake et al. 2015), the usual benchmark of metric-based
few-shot learning, would have to be downloaded, and the course runs offline: nothing may be
fetched at run time, and the data set is not available on the course machines. So the glyphs
are drawn from a seed instead, in a few seconds, and never written to disk. They mimic what
makes Omniglot a few-shot problem (many classes, few samples each, each class a small set of
pen strokes that every "writer" draws a little differently), not its pictures: compare only
the *gap* between a method and raw pixels with published Omniglot numbers, never the absolute
accuracies.

A *class* is 2 or 3 quadratic Bézier strokes whose control points lie in the unit square (a
stroke whose end points are closer than :data:`MIN_STROKE_LENGTH` is redrawn). A *sample* of a
class jitters every control point (Gaussian noise), rotates, scales and shifts the whole glyph a
little about the centre of the square, picks a stroke thickness, and renders a soft distance
field: the intensity of a pixel is ``clip(1 − d / thickness, 0, 1)``, where ``d`` is the
distance from the pixel centre to the nearest stroke, each stroke a polyline of
:data:`SEGMENTS_PER_STROKE` segments. The image shows the square with a margin of
:data:`MARGIN` on each side, so a transformed glyph stays inside it.

Class ``c`` of seed ``s`` is drawn from its own generator, ``numpy.random.default_rng([s, c])``:
it depends only on ``(s, c)``, so ``make_glyphs(3, k, s)`` equals ``make_glyphs(10, k, s)[:3]``.
Pixels are computed with IEEE arithmetic only (the transcendental functions, whose last bits
may vary by CPU, enter only through the small rotation), and :func:`quantise` turns images into
the ``uint8`` bytes that a checksum can pin.

:func:`glyph_split` is the standard split: 400 training and 100 test classes of 20 samples,
from two sub-seeds of one seed (about 0.4 s on one core; repeated calls are served from a
small in-memory cache).
"""

from __future__ import annotations

import functools
from typing import NamedTuple

import numpy as np

from mini_lib.checks import check_int

__all__ = [
    "JITTER",
    "MARGIN",
    "MIN_STROKE_LENGTH",
    "ROTATION",
    "SAMPLES_PER_CLASS",
    "SCALE_RANGE",
    "SEGMENTS_PER_STROKE",
    "SHIFT",
    "TEST_CLASSES",
    "THICKNESS_RANGE",
    "TRAIN_CLASSES",
    "GlyphSplit",
    "glyph_split",
    "make_glyphs",
    "quantise",
    "split_seeds",
]

#: Standard split (:func:`glyph_split`): classes and samples per class.
TRAIN_CLASSES, TEST_CLASSES, SAMPLES_PER_CLASS = 400, 100, 20
#: A stroke's end points are at least this far apart (unit-square units).
MIN_STROKE_LENGTH = 0.3
#: Standard deviation of the Gaussian jitter of each control point, per sample.
JITTER = 0.03
#: Largest rotation of a sample about the centre of the square, in radians (±15°).
ROTATION = np.pi / 12
#: Range of the uniform scale factor of a sample.
SCALE_RANGE = (0.9, 1.1)
#: Largest shift of a sample along each axis.
SHIFT = 0.06
#: Range of the stroke thickness (the distance at which the intensity reaches 0).
THICKNESS_RANGE = (0.05, 0.09)
#: The image shows ``[-MARGIN, 1 + MARGIN]²``.
MARGIN = 0.15
#: Polyline segments per stroke when rendering.
SEGMENTS_PER_STROKE = 8

_MAX_STROKES = 3
_CHUNK_ELEMENTS = 2**16  # samples × segments × pixels per NumPy pass: 256 kB arrays stay in cache


class GlyphSplit(NamedTuple):
    """The standard split: ``train`` and ``test`` images, each (classes, samples, H, W)."""

    train: np.ndarray
    test: np.ndarray


def _class_strokes(rng: np.random.Generator) -> tuple[np.ndarray, int]:
    """Three strokes' control points (3, 3, 2) and how many of them the class uses (2 or 3)."""
    n_strokes = int(rng.integers(2, _MAX_STROKES + 1))
    strokes = rng.random((_MAX_STROKES, 3, 2))
    while True:
        short = np.hypot(*(strokes[:, 2] - strokes[:, 0]).T) < MIN_STROKE_LENGTH
        if not short.any():
            return strokes, n_strokes
        strokes[short] = rng.random((int(short.sum()), 3, 2))


def _class_samples(rng: np.random.Generator, n_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """One class's samples: control points (n, 3, 3, 2) and stroke thickness (n,)."""
    strokes, n_strokes = _class_strokes(rng)
    points = strokes[None] + rng.normal(0.0, JITTER, (n_samples, _MAX_STROKES, 3, 2))
    angle = rng.uniform(-ROTATION, ROTATION, n_samples)
    scale = rng.uniform(*SCALE_RANGE, n_samples)
    shift = rng.uniform(-SHIFT, SHIFT, (n_samples, 2))
    thickness = rng.uniform(*THICKNESS_RANGE, n_samples)
    cos, sin = scale * np.cos(angle), scale * np.sin(angle)
    x, y = points[..., 0] - 0.5, points[..., 1] - 0.5
    moved_x = cos[:, None, None] * x - sin[:, None, None] * y + 0.5 + shift[:, 0, None, None]
    moved_y = sin[:, None, None] * x + cos[:, None, None] * y + 0.5 + shift[:, 1, None, None]
    points = np.stack([moved_x, moved_y], axis=-1)
    points[:, n_strokes:] = points[:, n_strokes - 1, None]  # a repeated stroke draws nothing new
    return points, thickness


def _render(points: np.ndarray, thickness: np.ndarray, size: int) -> np.ndarray:
    """Distance-field images (n, size, size), float32, of control points (n, strokes, 3, 2)."""
    u = np.linspace(0.0, 1.0, SEGMENTS_PER_STROKE + 1)[:, None]
    polyline = ((1 - u) ** 2 * points[:, :, 0, None] + 2 * (1 - u) * u * points[:, :, 1, None]
                + u**2 * points[:, :, 2, None])  # (n, strokes, segments + 1, 2)
    n = len(points)
    start = polyline[:, :, :-1].reshape(n, -1, 2).astype(np.float32)
    along = polyline[:, :, 1:].reshape(n, -1, 2).astype(np.float32) - start
    inv_length2 = 1 / np.maximum((along**2).sum(-1), np.float32(1e-12))
    centres = (-MARGIN + (1 + 2 * MARGIN) * (np.arange(size) + 0.5) / size).astype(np.float32)
    pixel_y, pixel_x = (c.ravel()[None, None] for c in np.meshgrid(centres, centres,
                                                                    indexing="ij"))
    distance = np.empty((n, size * size), dtype=np.float32)
    chunk = max(1, _CHUNK_ELEMENTS // (size * size * start.shape[1]))
    for lo in range(0, n, chunk):
        part = slice(lo, lo + chunk)
        ax, ay = start[part, :, 0, None], start[part, :, 1, None]  # (c, segments, 1)
        bx, by = along[part, :, 0, None], along[part, :, 1, None]
        to_x = pixel_x - ax  # (c, segments, pixels): pixel minus segment start
        to_y = pixel_y - ay
        t = to_x * bx
        t += to_y * by
        t *= inv_length2[part, :, None]
        np.clip(t, 0, 1, out=t)  # the closest point of the segment, as a fraction along it
        to_x -= t * bx
        to_y -= t * by
        to_x *= to_x
        to_y *= to_y
        to_x += to_y
        distance[part] = to_x.min(axis=1)
    np.sqrt(distance, out=distance)
    images = np.clip(1 - distance / thickness[:, None].astype(np.float32), 0, 1)
    return images.reshape(n, size, size)


def make_glyphs(n_classes: int, samples_per_class: int, seed: int,
                size: int = 16) -> np.ndarray:
    """Glyph images, float32 in [0, 1], shaped (n_classes, samples_per_class, size, size).

    Deterministic from ``seed``; class ``c`` depends only on ``(seed, c)`` (module docstring).
    """
    n_classes = check_int("n_classes", n_classes, 1)
    samples_per_class = check_int("samples_per_class", samples_per_class, 1)
    seed = check_int("seed", seed, 0)
    size = check_int("size", size, 4, 256)
    parts = [_class_samples(np.random.default_rng([seed, c]), samples_per_class)
             for c in range(n_classes)]
    points, thickness = (np.concatenate(arrays) for arrays in zip(*parts, strict=True))
    return _render(points, thickness, size).reshape(n_classes, samples_per_class, size, size)


def split_seeds(seed: int) -> tuple[int, int]:
    """The two sub-seeds (train, test) that :func:`glyph_split` passes to :func:`make_glyphs`.

    Drawn with ``numpy.random.SeedSequence(seed)``, so neither equals ``seed`` itself and the
    test classes of one seed are not the training classes of another (barring a 2⁻³² chance).
    """
    seed = check_int("seed", seed, 0)
    train_seed, test_seed = np.random.SeedSequence(seed).generate_state(2)
    return int(train_seed), int(test_seed)


@functools.lru_cache(maxsize=4)
def _cached_split(seed: int, size: int) -> GlyphSplit:
    train_seed, test_seed = split_seeds(seed)
    return GlyphSplit(make_glyphs(TRAIN_CLASSES, SAMPLES_PER_CLASS, train_seed, size),
                      make_glyphs(TEST_CLASSES, SAMPLES_PER_CLASS, test_seed, size))


def glyph_split(seed: int = 0, size: int = 16) -> GlyphSplit:
    """The standard split: 400 training and 100 test classes (disjoint), 20 samples each.

    Generated on first use for each ``(seed, size)`` (about 0.4 s at 16×16) and kept in memory
    (8.2 MB at 16×16; the last four are kept); every call returns fresh copies, so changing
    them in place does not change the next call's result.
    """
    seed = check_int("seed", seed, 0)
    size = check_int("size", size, 4, 256)
    split = _cached_split(seed, size)
    return GlyphSplit(split.train.copy(), split.test.copy())


def quantise(images: np.ndarray) -> np.ndarray:
    """Images in [0, 1] as ``uint8``: ``round(255 · x)`` (half to even), same shape."""
    images = np.asarray(images, dtype=np.float64)
    finite = np.isfinite(images)
    if not finite.all():
        raise ValueError(f"images must have every pixel in [0, 1], got {int((~finite).sum())} "
                         f"non-finite values")
    if images.size and (images.min() < 0 or images.max() > 1):
        raise ValueError(f"images must have every pixel in [0, 1], got values in "
                         f"[{images.min():g}, {images.max():g}]")
    return np.round(255.0 * images).astype(np.uint8)
