r"""Checker for chapter 08b's exercise: SimCLR's contrastive loss (NT-Xent).

:func:`check_nt_xent` tests ``nt_xent(features, temperature)`` — features ``(2n, d)`` of two
views ``[z₁; z₂]`` of the same ``n`` glyphs; cosine similarities over ``temperature``; row ``i``
is a classification among the other ``2n − 1`` rows whose right answer is its other view,
``i + n`` (mod ``2n``); the mean cross-entropy — against
:func:`mini_lib.fewshot.contrastive.nt_xent_loss`. It names: the positive taken as the row
itself (a loss the encoder minimises by doing nothing), the self-similarity left in the
softmax, the positive of the second half pointing at itself, dot products instead of cosines,
and the temperature multiplied instead of divided.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
import torch.nn.functional as F

from mini_lib.exercises.kit import CheckResult, report_failure, short, single_threaded
from mini_lib.fewshot.contrastive import nt_xent_loss

__all__ = ["check_nt_xent"]

Loss = Callable[[torch.Tensor, float], torch.Tensor]

#: (n, d, temperature, scale of the features: not unit length, so a missing cosine shows)
_CASES = [(3, 4, 0.5, 3.0), (5, 2, 0.1, 0.5), (8, 6, 1.0, 2.0)]


def _cases() -> list[tuple[torch.Tensor, float]]:
    generator = torch.Generator().manual_seed(21)
    cases = []
    for n, d, temperature, scale in _CASES:
        z = torch.randn(n, d, generator=generator, dtype=torch.float64)
        views = torch.cat([z, z + 0.3 * torch.randn(n, d, generator=generator,
                                                    dtype=torch.float64)])
        cases.append((scale * views, temperature))
    return cases


def _loss(features: torch.Tensor, temperature: float, *, cosine: bool = True,
          divide: bool = True, mask_self: bool = True, targets: str = "other") -> torch.Tensor:
    """NT-Xent with one of the typical mistakes switched on."""
    n = features.shape[0] // 2
    unit = F.normalize(features, dim=1) if cosine else features
    similarity = unit @ unit.T
    similarity = similarity / temperature if divide else similarity * temperature
    if mask_self:
        similarity = similarity.masked_fill(torch.eye(2 * n, dtype=torch.bool), -math.inf)
    if targets == "self":
        positives = torch.arange(2 * n)
    elif targets == "first half only":
        positives = torch.cat([torch.arange(n, 2 * n), torch.arange(n, 2 * n)])
    else:
        positives = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    return F.cross_entropy(similarity, positives)


_MISTAKES = [
    (dict(targets="self", mask_self=False),
     "row i's 'positive' is row i itself (targets arange(2n)): every view is most similar to "
     "itself, so the loss is small for any encoder and teaches nothing. The positive of view i "
     "is its *other* view, i + n (and i − n for the second half)."),
    (dict(mask_self=False),
     "the self-similarity (the diagonal, always the largest cosine) is still in the softmax: "
     "mask it with -inf (masked_fill with torch.eye(2n, dtype=torch.bool)) so each row chooses "
     "among the other 2n − 1 views."),
    (dict(targets="first half only"),
     "the second half's positives point at themselves (i + n for every row): rows n … 2n − 1 "
     "must point back to 0 … n − 1, torch.cat([arange(n, 2n), arange(n)])."),
    (dict(cosine=False),
     "you use dot products of the raw features: NT-Xent compares *cosines* — normalise each "
     "row to unit length first (F.normalize(features, dim=1))."),
    (dict(divide=False),
     "the temperature multiplies the similarities: divide by it (a small temperature sharpens "
     "the softmax)."),
]


def check_nt_xent(fn: Loss) -> CheckResult:
    """Check ``fn(features (2n, d), temperature) -> loss`` (a 0-d tensor) against SimCLR's
    NT-Xent loss on three batches."""
    what = "nt_xent"
    with single_threaded():
        try:
            for features, temperature in _cases():
                answer = torch.as_tensor(fn(features.clone(), temperature)).detach()
                if answer.numel() != 1:
                    return CheckResult(False, f"❌ {what}: the loss must be one number (the "
                                              f"mean over the 2n rows), got shape "
                                              f"{tuple(answer.shape)}.")
                expected = nt_xent_loss(features, temperature)
                if math.isclose(float(answer), float(expected), rel_tol=1e-6, abs_tol=1e-9):
                    continue
                for switches, hint in _MISTAKES:
                    mistaken = _loss(features, temperature, **switches)
                    if math.isclose(float(answer), float(mistaken), rel_tol=1e-6,
                                    abs_tol=1e-9):
                        return CheckResult(False, f"❌ {what}: {hint}")
                n = features.shape[0] // 2
                return CheckResult(False, f"❌ {what}: wrong loss for n = {n}, temperature "
                                          f"{temperature}: expected "
                                          f"{short(float(expected))}, got "
                                          f"{short(float(answer))}.")
        except Exception as error:  # the learner's bug, reported rather than raised
            return report_failure(what, error)
    return CheckResult(True, f"✅ {what}: correct on all {len(_CASES)} batches (2n = 6, 10 and "
                             f"16 views).")
