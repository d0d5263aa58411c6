"""data/model_based_nav.pt: the dynamics models and MPC episodes of chapter 08 part 2 — load,
registered, re-train exactly, replay, and show what the chapter says they show."""

import numpy as np
import pytest
import torch

from mini_lib.artefacts import model_based_nav
from mini_lib.artefacts.__main__ import GENERATORS
from mini_lib.artefacts.model_based_nav import CONDITIONS, load, model_params, play, train_model
from mini_lib.artefacts.store import manifest_entry


@pytest.fixture(scope="module")
def stored():
    return load()


def test_registered_and_listed_in_the_manifest():
    assert GENERATORS["model_based_nav"] is model_based_nav.generate
    entry = manifest_entry("model_based_nav")
    assert entry["command"] == "python -m mini_lib.artefacts model_based_nav"


def test_every_condition_is_stored(stored):
    for condition in CONDITIONS:
        assert stored[f"{condition}.returns"].shape == (40,)
        assert stored[f"{condition}.positions"].shape == (40, 101, 2)
        assert torch.isfinite(stored[f"{condition}.returns"]).all()
    with pytest.raises(KeyError, match="no dynamics model"):
        model_params(stored, "oracle")
    with pytest.raises(ValueError, match="condition must be one of"):
        play(stored, "grbal2")


@pytest.mark.parametrize("name", ["maml", "pretrain"])
def test_a_prefix_re_trains_exactly(stored, name):
    fresh = train_model(name, iterations=3)
    assert torch.allclose(fresh[f"{name}.losses"], stored[f"{name}.losses"][:3], rtol=1e-4)


def test_the_oracle_episodes_replay(stored):
    again = play(stored, "oracle")
    assert torch.allclose(again["oracle.returns"], stored["oracle.returns"], atol=1e-4)


def test_the_adapted_model_beats_the_non_adaptive_one(stored):
    """What the chapter reads off the table: GrBAL reaches every goal, and its median task
    loses at least 2 return points less than the pretrained model's; its one-step error
    from step 5 on is under half the pretrained model's; the oracle bounds everything."""
    returns = {c: stored[f"{c}.returns"].numpy() for c in CONDITIONS}
    assert stored["grbal.reached"].all()
    assert np.median(returns["grbal"]) > np.median(returns["pretrained"]) + 2.0
    assert np.median(returns["oracle"]) >= max(np.median(r) for r in returns.values())

    def error(condition):
        return float(stored[f"{condition}.prediction_error"][:, 5:].nanmean())

    assert error("grbal") < 0.5 * error("pretrained")
