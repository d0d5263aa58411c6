"""data/actuator_nav.pt: chapter 06's MAML-RL on chapter 08's actuator tasks — loads, is
registered, re-trains exactly, and its evaluation is what the stored weights give."""

import numpy as np
import pytest
import torch

from mini_lib.artefacts import actuator_nav
from mini_lib.artefacts.__main__ import GENERATORS
from mini_lib.artefacts.actuator_nav import RUNS, load, policy, task_returns, train_run
from mini_lib.artefacts.store import manifest_entry
from mini_lib.tasks.navigation_dynamics import held_out_dynamics


@pytest.fixture(scope="module")
def stored():
    return load()


def test_registered_and_listed_in_the_manifest():
    assert GENERATORS["actuator_nav"] is actuator_nav.generate
    assert manifest_entry("actuator_nav")["command"] == "python -m mini_lib.artefacts actuator_nav"


def test_every_run_is_stored(stored):
    for run, config in RUNS.items():
        assert config.tasks == "actuators"
        assert stored[f"{run}.pre_returns"].shape == (config.iterations,)
        assert stored[f"eval.{run}"].shape == (2, 40)
        assert torch.isfinite(stored[f"eval.{run}"]).all()
    with pytest.raises(KeyError, match="no policy 'oracle'"):
        policy(stored, "oracle")


@pytest.mark.parametrize("run", sorted(RUNS))
def test_a_prefix_re_trains_exactly(stored, run):
    fresh = train_run(run, iterations=3)
    assert torch.allclose(fresh[f"{run}.pre_returns"], stored[f"{run}.pre_returns"][:3],
                          atol=1e-3)


def test_the_stored_evaluation_is_what_the_weights_give(stored):
    model, params = policy(stored, "maml")
    again = task_returns(model, params, held_out_dynamics(), float(stored["eval.maml.alpha"]))
    assert torch.allclose(again, stored["eval.maml"], atol=1e-2)


def test_meta_training_learned_and_one_step_helps_on_average(stored):
    """The chapter's reading: meta-training took the return from about −41 to about −12; on
    the held-out actuators one step on 20 episodes improves the mean (the worst tasks) by
    more than a return point, while the median task moves less than that."""
    pre = stored["maml.pre_returns"].numpy()
    assert pre[:20].mean() < -30 and pre[-50:].mean() > -16
    before, after = stored["eval.maml"].numpy()
    assert after.mean() > before.mean() + 1.0
    assert abs(np.median(after) - np.median(before)) < 1.0
