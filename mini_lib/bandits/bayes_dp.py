r"""The exact Bayes-optimal two-armed Bernoulli bandit over a finite horizon of ``n`` pulls.

Both arms have independent U[0, 1] = Beta(1, 1) priors. After ``s`` successes and ``f``
failures on an arm its posterior mean is ``p̂ = (s + 1) / (s + f + 2)``, and the value of
``r`` pulls left in the state of counts ``(s1, f1, s2, f2)`` is

.. math:: V_r = \max_{\text{arm}} \big[\, p̂ \,(1 + V_{r-1}(\text{success}))
          + (1 - p̂)\, V_{r-1}(\text{failure}) \big], \qquad V_0 = 0.

``V_n(0, 0, 0, 0)`` is the best expected total reward any policy can get on tasks drawn from
the prior; it is what a perfect RL² agent would score on two-armed tasks (Duan et al. 2016).

**Layout.** The states after ``m`` pulls are stored as one dense array ``[n1, s1, s2]`` of
shape ``(m + 1)³``: ``n1`` pulls of arm 0, of which ``s1`` successes, and ``s2`` successes in
the ``m − n1`` pulls of arm 1 (entries with ``s1 > n1`` or ``s2 > m − n1`` are never read).
Backward induction over ``m = n − 1, …, 0`` turns each Bellman backup into a few array
slices, ~``n⁴/4`` cells in all (n = 100: about 0.5 s and 25 MB for the policy; the exact
state count is ``C(n + 3, 4)``). Two arms only: ``k`` arms would need ``2k``-dimensional
arrays (the state count grows as ``n^{2k}``), and the Gittins index is the practical answer.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from mini_lib.bandits.baselines import BanditPolicy
from mini_lib.checks import check_int

__all__ = ["BayesOptimalPolicy", "TwoArmSolution", "solve_two_arms"]

MAX_PULLS = 150  # the policy keeps ~n⁴/4 bytes: 127 MB at n = 150


@dataclass(frozen=True)
class TwoArmSolution:
    """The solved problem: ``value`` = ``V_n`` at the start, and the optimal arm of every
    state (``arm_one[m][n1, s1, s2]`` is True where arm 1 is strictly better than arm 0
    after ``m`` pulls; on a tie the solution pulls arm 0)."""

    n_pulls: int
    value: float
    arm_one: tuple[np.ndarray, ...] = field(repr=False)

    def optimal_arm(self, s1: np.ndarray | int, f1: np.ndarray | int, s2: np.ndarray | int,
                    f2: np.ndarray | int) -> np.ndarray:
        """The optimal arm (0 or 1) in the state(s) ``(s1, f1, s2, f2)``: successes and
        failures of arm 0 and of arm 1, scalars or arrays of one shape, with fewer than
        ``n_pulls`` pulls made in total."""
        s1, f1, s2, f2 = (np.asarray(x, dtype=np.int64) for x in (s1, f1, s2, f2))
        made = s1 + f1 + s2 + f2
        if np.any(np.minimum(np.minimum(s1, f1), np.minimum(s2, f2)) < 0):
            raise ValueError("counts s1, f1, s2, f2 must be >= 0")
        if np.any(made >= self.n_pulls):
            raise ValueError(f"the counts sum to {int(made.max())} pulls made; this solution "
                             f"decides pulls 1..{self.n_pulls} (fewer than "
                             f"{self.n_pulls} made)")
        arms = np.zeros(made.shape, dtype=np.int64)
        for m in np.unique(made):
            here = made == m
            arms[here] = self.arm_one[m][s1[here] + f1[here], s1[here], s2[here]]
        return arms

    def policy(self) -> BayesOptimalPolicy:
        """This solution as a policy for :func:`~mini_lib.bandits.baselines.run_policy`."""
        return BayesOptimalPolicy(self)


def solve_two_arms(n_pulls: int) -> TwoArmSolution:
    """Backward induction for the two-armed problem with ``n_pulls`` pulls (see the module
    docstring): the Bayes-optimal expected total reward and the optimal arm of every state."""
    n = check_int("n_pulls", n_pulls, 1, MAX_PULLS)
    value = np.zeros((n + 1,) * 3)  # after n pulls nothing is left to earn
    arm_one: list[np.ndarray] = [np.empty(0, dtype=bool)] * n
    for m in range(n - 1, -1, -1):
        size = m + 1
        counts = np.arange(size)
        n1, s1, s2 = counts[:, None, None], counts[None, :, None], counts[None, None, :]
        p1 = (s1 + 1.0) / (n1 + 2.0)
        p2 = (s2 + 1.0) / (m - n1 + 2.0)
        stay = value[:size, :size, :size]  # arm 1 fails: same (n1, s1, s2), one pull later
        pull_0 = (p1 * (1.0 + value[1:size + 1, 1:size + 1, :size])
                  + (1.0 - p1) * value[1:size + 1, :size, :size])
        pull_1 = p2 * (1.0 + value[:size, :size, 1:size + 1]) + (1.0 - p2) * stay
        arm_one[m] = pull_1 > pull_0
        value = np.maximum(pull_0, pull_1)
    return TwoArmSolution(n_pulls=n, value=float(value[0, 0, 0]), arm_one=tuple(arm_one))


class BayesOptimalPolicy(BanditPolicy):
    """Play a :class:`TwoArmSolution` on two-armed tasks, for up to its ``n_pulls`` pulls."""

    def __init__(self, solution: TwoArmSolution) -> None:
        self.solution = solution

    def reset(self, n_tasks: int, n_arms: int) -> None:
        if n_arms != 2:
            raise ValueError(f"n_arms must be 2 for the two-armed Bayes-optimal policy, "
                             f"got {n_arms}")
        super().reset(n_tasks, n_arms)

    def choose(self, rng: np.random.Generator) -> np.ndarray:
        if self.t >= self.solution.n_pulls:
            raise ValueError(f"the solution was computed for n_pulls = "
                             f"{self.solution.n_pulls}; pull {self.t + 1} is beyond it")
        return self.solution.arm_one[self.t][self.pulls[:, 0], self.wins[:, 0],
                                             self.wins[:, 1]].astype(np.int64)
