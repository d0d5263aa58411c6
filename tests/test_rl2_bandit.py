"""data/rl2_bandit.pt: loads (checksum, weights_only), meets the chapter's Table 1 bars,
regenerates."""

import numpy as np
import pytest
import torch

from mini_lib.artefacts import rl2_bandit
from mini_lib.artefacts.__main__ import GENERATORS
from mini_lib.artefacts.rl2_bandit import RUNS, TABLE_ROWS, agent, load_agents, train_run
from mini_lib.artefacts.store import manifest_entry
from mini_lib.demos.ch07_rl2 import PAPER_TABLE_1, evaluation_tasks
from mini_lib.rl2.trials import evaluate_rl2


@pytest.fixture(scope="module")
def stored():
    return load_agents()


def test_registered_and_listed_in_the_manifest():
    assert GENERATORS["rl2_bandit"] is rl2_bandit.generate
    assert manifest_entry("rl2_bandit")["command"] == "python -m mini_lib.artefacts rl2_bandit"


def test_every_run_is_stored_with_its_curves(stored):
    for run, config in RUNS.items():
        model = agent(stored, run)
        assert model.n_arms == config.n_arms and model.hidden == config.hidden
        for curve in ("returns", "entropies"):
            assert stored[f"{run}.{curve}"].shape == (config.updates,)
            assert torch.isfinite(stored[f"{run}.{curve}"]).all()
    with pytest.raises(KeyError, match="no agent 'n5'"):
        agent(stored, "n5")


@pytest.mark.parametrize(("n", "k"), list(TABLE_ROWS))
def test_stored_agents_meet_the_table_1_bars_on_1000_fresh_bandits(stored, n, k):
    """The issue's bars: ≥ 6.5 at n = 10 (the paper's RL² 6.7) and above Thompson sampling
    (the paper's 74.7) at n = 100, k = 5."""
    score = float(evaluate_rl2(agent(stored, TABLE_ROWS[n, k]), evaluation_tasks(1000, k), n,
                               seed=1).mean())
    bar = 6.5 if n == 10 else PAPER_TABLE_1[100, 5]["Thompson"]
    assert score > bar


def test_the_collapse_run_collapses(stored):
    entropies = stored["collapse.entropies"]
    assert entropies[0] > 1.5 and entropies[100:].max() < 0.1  # uniform over 5 arms: 1.61


@pytest.mark.parametrize(("run", "updates"), [("n10_k5", 5), ("n100_k5", 2), ("collapse", 5)])
def test_regenerating_the_first_updates_gives_the_stored_curves(stored, run, updates):
    """Same seed, same config: a short run is the stored run's prefix."""
    prefix = train_run(run, updates)
    for curve in ("returns", "entropies"):
        np.testing.assert_allclose(prefix[f"{run}.{curve}"].numpy(),
                                   stored[f"{run}.{curve}"][:updates].numpy(), rtol=1e-4)
