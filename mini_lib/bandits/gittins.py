r"""The Gittins index of a Bernoulli arm with a Beta(a, b) posterior, and the policy that
pulls the arm with the largest index.

**Calibration.** Offer the arm in state ``(a, b)`` against retirement: a standard arm that
pays ``λ`` per pull forever, worth ``λ / (1 − β)``. The value of the choice satisfies

.. math:: W(a, b) = \max\Big(\tfrac{λ}{1-β},\;
          p\,[1 + β W(a{+}1, b)] + (1-p)\, β W(a, b{+}1)\Big), \quad p = \tfrac{a}{a+b},

and the Gittins index ``ν(a, b)`` is the ``λ`` at which pulling once (then acting optimally)
and retiring at once are worth the same. The continuation gap ``h(λ) = pull-once value −
λ / (1 − β)`` decreases in ``λ``, is ``≥ 0`` at ``λ = p`` and ``< 0`` at ``λ = 1``, so bisection
on ``[p, 1]`` finds ``ν``. ``W`` comes from backward induction over the states ``(a + i,
b + j)`` with ``i + j ≤ depth``; at the truncation depth the posterior is taken as frozen, so
``W = max(λ, p) / (1 − β)`` there (retire, or pull forever at the mean).

One backward induction with a given ``λ`` answers "is ``ν > λ``?" for *every* state of the
tree at once, because each state's gap depends only on its own subtree. :func:`gittins_table`
uses this: one vectorised sweep over a grid of ``λ`` values (Chebyshev points, dense near 0
and 1 where the gaps bend most), then linear interpolation of each state's gap between the
two grid points around its root. Measured against :func:`gittins_index` for ``β = 0.99``,
``n = 100``: median error ~3e-6, worst ~1.5e-4 (1024 points; 2048 points: 4e-5, twice the
time); the tests check a few states.

**Discount for a horizon.** The Gittins index is optimal for the infinite discounted problem;
for a trial of ``n`` pulls :func:`horizon_discount` uses ``β = 1 − 1/n`` (the discounted
horizon ``1/(1 − β)`` equals ``n``). Any other ``β`` can be passed, or tuned with
:func:`mini_lib.bandits.baselines.tune`.
"""

from __future__ import annotations

import numpy as np

from mini_lib.bandits.baselines import BanditPolicy, random_argmax
from mini_lib.checks import check_in_range, check_int, check_positive

__all__ = [
    "GittinsPolicy",
    "continuation_gaps",
    "gittins_index",
    "gittins_table",
    "horizon_discount",
]

DEFAULT_DEPTH = 300
TABLE_GRID = 1024  # λ values in one table sweep


def horizon_discount(n_pulls: int) -> float:
    """``β = 1 − 1/n``: the discount whose effective horizon ``1/(1 − β)`` is ``n`` pulls."""
    return 1.0 - 1.0 / check_int("n_pulls", n_pulls, 1)


def continuation_gaps(lambdas: np.ndarray, a: int, b: int, discount: float, depth: int,
                      keep: int = 0) -> list[np.ndarray]:
    """Pull-once value minus retirement value, for each retirement rate in ``lambdas`` (L,).

    The tree starts at the Beta(a, b) state and is truncated ``depth`` pulls ahead. Entry
    ``m`` (for ``m ≤ keep``) is an array ``(L, m + 1)``: column ``i`` is the state
    ``(a + i, b + m − i)``, i.e. ``i`` more successes and ``m − i`` more failures.
    """
    if not 0 <= keep < depth:
        raise ValueError(f"keep must be in [0, depth) = [0, {depth}), got {keep}")
    lambdas = np.asarray(lambdas, dtype=np.float64)
    retire = lambdas[:, None] / (1.0 - discount)  # (L, 1)

    def mean(m: int) -> np.ndarray:
        return (a + np.arange(m + 1)) / (a + b + m)

    value = np.maximum(lambdas[:, None], mean(depth)) / (1.0 - discount)  # frozen posterior
    gaps: list[np.ndarray] = [np.empty(0)] * (keep + 1)
    for m in range(depth - 1, -1, -1):
        p = mean(m)
        pull = p + discount * (p * value[:, 1:] + (1.0 - p) * value[:, :-1])
        if m <= keep:
            gaps[m] = pull - retire
        value = np.maximum(pull, retire)
    return gaps


def _check_arguments(discount: float, depth: int) -> tuple[float, int]:
    discount = check_in_range("discount", discount, 0.0, 1.0, high_open=True)
    return discount, check_int("depth", depth, 1)


def gittins_index(a: float, b: float, discount: float, depth: int = DEFAULT_DEPTH,
                  tol: float = 1e-9) -> float:
    """The Gittins index of a Bernoulli arm with posterior Beta(a, b) and discount ``β``,
    by bisection on the retirement rate until the bracket is narrower than ``tol``."""
    check_positive("a", a)
    check_positive("b", b)
    discount, depth = _check_arguments(discount, depth)
    check_positive("tol", tol)
    low, high = a / (a + b), 1.0
    while high - low > tol:
        middle = 0.5 * (low + high)
        if continuation_gaps(np.array([middle]), a, b, discount, depth)[0][0, 0] > 0.0:
            low = middle
        else:
            high = middle
    return 0.5 * (low + high)


def gittins_table(max_pulls: int, discount: float, depth: int = DEFAULT_DEPTH,
                  grid: int = TABLE_GRID) -> np.ndarray:
    """Gittins indices of Beta(1 + s, 1 + f) for all ``s + f ≤ max_pulls``: ``table[s, f]``
    (``nan`` where ``s + f > max_pulls``). Every state is at least ``depth`` pulls away from
    the truncation; one sweep over ``grid`` retirement rates, then linear interpolation."""
    max_pulls = check_int("max_pulls", max_pulls, 0)
    discount, depth = _check_arguments(discount, depth)
    grid = check_int("grid", grid, 2)
    lambdas = 0.5 * (1.0 - np.cos(np.linspace(0.0, np.pi, grid)))  # 0 … 1, dense at both ends
    gaps = continuation_gaps(lambdas, 1, 1, discount, max_pulls + depth, keep=max_pulls)
    table = np.full((max_pulls + 1, max_pulls + 1), np.nan)
    for m, gap in enumerate(gaps):
        # gap > 0 at λ = 0 and < 0 at λ = 1: j = the last grid point with a positive gap
        j = np.minimum(np.sum(gap > 0.0, axis=0) - 1, grid - 2)
        columns = np.arange(m + 1)
        g0, g1 = gap[j, columns], gap[j + 1, columns]
        root = lambdas[j] + (lambdas[j + 1] - lambdas[j]) * g0 / (g0 - g1)
        table[columns, m - columns] = root
    return table


class GittinsPolicy(BanditPolicy):
    """Pull the arm with the largest Gittins index of its posterior Beta(1 + wins, 1 +
    losses) (ties: uniformly at random), for trials of up to ``n_pulls`` pulls.

    ``discount`` defaults to :func:`horizon_discount` ``(n_pulls)``; the index table is built
    once, on creation.
    """

    def __init__(self, n_pulls: int, discount: float | None = None,
                 depth: int = DEFAULT_DEPTH) -> None:
        self.n_pulls = check_int("n_pulls", n_pulls, 1)
        self.discount = horizon_discount(n_pulls) if discount is None else discount
        self.table = gittins_table(self.n_pulls - 1, self.discount, depth)

    def choose(self, rng: np.random.Generator) -> np.ndarray:
        if self.t >= self.n_pulls:
            raise ValueError(f"GittinsPolicy was built for n_pulls = {self.n_pulls} pulls; "
                             f"pull {self.t + 1} needs a larger n_pulls")
        return random_argmax(self.table[self.wins, self.pulls - self.wins], rng)
