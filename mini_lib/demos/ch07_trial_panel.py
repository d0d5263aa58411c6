"""Chapter 07's trial panel: step through one trial pull by pull, against the classics.

:meth:`TrialLab.view` is what a slider move computes: for one test bandit, one stored agent and
a trial length ``n``, the agent's trial (its arm, its decoded belief and the true posterior
before every pull, :func:`~mini_lib.demos.ch07_rl2.belief_trace`) and the mean reward per
pull of the agent, Thompson sampling, UCB1 and the Gittins index over :data:`REPLAYS` replays
of the same bandit. Results are cached: moving the ``pull`` slider only redraws.
:class:`TrialPlot` draws it; :func:`trial_panel` wires the sliders.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import torch
from matplotlib.figure import Figure

from mini_lib.bandits.baselines import UCB1, Thompson, pull_rewards
from mini_lib.bandits.gittins import GittinsPolicy
from mini_lib.checks import check_int
from mini_lib.demos.ch07_rl2 import BeliefTrace, belief_trace, evaluation_tasks
from mini_lib.rl2.belief import LinearProbe
from mini_lib.rl2.policy import RecurrentActorCritic
from mini_lib.rl2.trials import play_trials
from mini_lib.ui.plotting import COLOURS, GREYS
from mini_lib.ui.widgets import Choice, SliderPanel, int_slider

__all__ = ["BANDITS", "LENGTHS", "REPLAYS", "TrialLab", "TrialPlot", "TrialView", "summary",
           "trial_panel"]

BANDITS = 20  # test bandits to choose from
LENGTHS = (10, 25, 50, 100)
REPLAYS = 500
UCB1_C = 0.1  # tuned on validation bandits in the notebook (0.05 at n = 10, 0.1 at n = 100)
STRATEGY_COLOURS = {"RL² agent": COLOURS["blue"], "Thompson": COLOURS["vermillion"],
                    "UCB1": COLOURS["green"], "Gittins": COLOURS["black"]}

Agent = tuple[RecurrentActorCritic, LinearProbe]


class TrialView(NamedTuple):
    """One trial and the replay averages: what the panel shows."""

    trace: BeliefTrace
    mean_rewards: dict[str, np.ndarray]  # strategy -> (n,) mean reward at each pull
    pull: int  # the pull shown (1-based)
    agent: str


class TrialLab:
    """The stored agents (name -> ``(model, probe)``) and a cache of their replays:
    ``lab.view(agent, bandit, n_pulls, pull)`` is the panel's compute function."""

    def __init__(self, agents: dict[str, Agent]) -> None:
        if not agents:
            raise ValueError("agents must hold at least one (model, probe) pair, got none")
        self.agents = dict(agents)
        self._cache: dict[tuple[str, int, int], tuple[BeliefTrace, dict[str, np.ndarray]]] = {}

    def replays(self, agent: str, bandit: int,
                n_pulls: int) -> tuple[BeliefTrace, dict[str, np.ndarray]]:
        """One traced trial of ``agent`` and every strategy's mean reward per pull over
        :data:`REPLAYS` replays of test bandit ``bandit`` (cached)."""
        key = (agent, bandit, n_pulls)
        if key not in self._cache:
            model, probe = self.agents[agent]
            probs = evaluation_tasks(BANDITS, model.n_arms)[bandit]
            trace = belief_trace(model, probe, probs, n_pulls, seed=bandit)
            many = np.repeat(probs[None], REPLAYS, axis=0)
            generator = torch.Generator().manual_seed(bandit)
            means = {"RL² agent": play_trials(model, many, n_pulls,
                                              generator).rewards.mean(1).numpy()}
            for name, policy in (("Thompson", Thompson()),
                                 ("UCB1", UCB1(UCB1_C, estimate="posterior")),
                                 ("Gittins", GittinsPolicy(n_pulls))):
                means[name] = pull_rewards(policy, many, n_pulls,
                                           np.random.default_rng(bandit)).mean(0)
            self._cache[key] = (trace, means)
        return self._cache[key]

    def view(self, agent: str, bandit: int, n_pulls: int, pull: int) -> TrialView:
        """The panel's result for ``agent`` on test bandit ``bandit`` (0…:data:`BANDITS`
        − 1) with trials of ``n_pulls``, showing ``pull`` (clipped to the trial)."""
        if agent not in self.agents:
            raise ValueError(f"agent must be one of {sorted(self.agents)}, got {agent!r}")
        if not 0 <= bandit < BANDITS:
            raise ValueError(f"bandit must be in [0, {BANDITS - 1}], got {bandit}")
        n_pulls = check_int("n_pulls", n_pulls, 1)
        trace, means = self.replays(agent, int(bandit), n_pulls)
        return TrialView(trace, means, int(min(max(pull, 1), n_pulls)), agent)


class TrialPlot:
    """Left: the arms at the chosen pull (true p, posterior mean, decoded belief). Middle:
    belief against pulls, the arm pulled at each pull. Right: mean reward so far."""

    def __call__(self, view: TrialView, fig: Figure) -> None:
        trace, t = view.trace, view.pull - 1
        n, k = trace.decoded.shape
        arms_ax, belief_ax, reward_ax = fig.subplots(1, 3, width_ratios=[1, 1.4, 1.2])
        x = np.arange(k)
        arms_ax.bar(x - 0.27, trace.probs, 0.27, color=GREYS["light"], label="true p")
        arms_ax.bar(x, trace.posterior[t], 0.27, color=COLOURS["orange"],
                    label="posterior mean")
        arms_ax.bar(x + 0.27, np.clip(trace.decoded[t], 0, 1), 0.27, color=COLOURS["blue"],
                    label="agent's belief (probe)")
        arm = int(trace.arms[t])
        arms_ax.annotate("pulled\n▼", (arm, 1.01), ha="center", va="bottom", fontsize=11)
        arms_ax.set(xticks=x, xlabel="arm", ylabel="success probability", ylim=(0, 1.5),
                    yticks=np.linspace(0, 1, 6),
                    title=f"pull {t + 1}: arm {arm} pays {int(trace.rewards[t])}")
        arms_ax.legend(loc="upper left", fontsize=9, ncol=2)
        pulls = np.arange(1, n + 1)
        for a in range(k):
            colour = f"C{a}"
            belief_ax.plot(pulls, trace.posterior[:, a], color=colour, linestyle="--")
            belief_ax.plot(pulls, trace.decoded[:, a], color=colour, label=f"arm {a}")
        belief_ax.scatter(pulls, np.full(n, -0.05), c=[f"C{a}" for a in trace.arms],
                          marker="|", s=120)
        belief_ax.axvline(t + 1, color=GREYS["mid"], linestyle=":")
        belief_ax.set(xlabel="pull", ylabel="belief (solid) / posterior (dashed)",
                      ylim=(-0.1, 1.05), title=f"{view.agent}: belief along the trial")
        belief_ax.legend(loc="upper right", fontsize=9, ncol=2)
        for name, means in view.mean_rewards.items():
            reward_ax.plot(pulls, np.cumsum(means), color=STRATEGY_COLOURS[name], label=name,
                           linestyle="--" if name == "UCB1" else "-",
                           zorder=3 if name == "UCB1" else 2)  # UCB1 often ≈ Gittins
        reward_ax.axvline(t + 1, color=GREYS["mid"], linestyle=":")
        reward_ax.set(xlabel="pull", ylabel=f"total reward so far (mean of {REPLAYS})",
                      title="Same bandit, replayed")
        reward_ax.legend(loc="upper left", fontsize=10)


def summary(view: TrialView) -> str:
    """The readout: totals over the trial (replay means), best arm's p."""
    totals = ", ".join(f"{name} {means.sum():.1f}" for name, means in view.mean_rewards.items())
    return f"best arm p = {view.trace.probs.max():.2f}; total reward: {totals}"


def trial_panel(lab: TrialLab, **defaults) -> SliderPanel:
    """Sliders agent, bandit, trial length, pull → :meth:`TrialLab.view`."""
    start = {"agent": next(iter(lab.agents)), "bandit": 0, "n_pulls": 10, "pull": 1} | defaults
    sliders = [Choice("agent", tuple(lab.agents), start["agent"], "agent"),
               int_slider("bandit", 0, BANDITS - 1, start["bandit"], "test bandit"),
               Choice("n_pulls", LENGTHS, start["n_pulls"], "trial length n"),
               int_slider("pull", 1, max(LENGTHS), start["pull"], "pull (clipped to n)")]
    return SliderPanel(lab.view, sliders, TrialPlot(),
                       name="rl2-trial", summary=summary, figsize=(15.0, 4.8))
