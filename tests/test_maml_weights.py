"""data/maml_weights.pt: loads (checksum, weights_only), reproduces Finn et al., regenerates."""

import numpy as np
import pytest
import torch

from mini_lib.artefacts import maml_weights
from mini_lib.artefacts.__main__ import GENERATORS
from mini_lib.artefacts.maml_weights import (
    FAMILY,
    RUNS,
    load_weights,
    method_params,
    scratch_params,
    train_run,
)
from mini_lib.artefacts.store import manifest_entry
from mini_lib.meta.functional import params_of
from mini_lib.meta.training import evaluate_adaptation
from mini_lib.tasks.sinusoid import batch_mse, held_out_tasks


@pytest.fixture(scope="module")
def weights():
    return load_weights()


def test_registered_and_listed_in_the_manifest():
    assert GENERATORS["maml_weights"] is maml_weights.generate
    assert manifest_entry("maml_weights")["command"] == "python -m mini_lib.artefacts maml_weights"


def test_every_method_is_stored_with_its_curves(weights):
    shapes = {name: p.shape for name, p in scratch_params(weights).items()}
    assert shapes["net.0.weight"] == (40, 1) and shapes["net.4.weight"] == (1, 40)
    for method, config in RUNS.items():
        params = method_params(weights, method)
        assert {name: p.shape for name, p in params.items()} == shapes
        assert all(torch.isfinite(p).all() for p in params.values())
        losses = weights[f"{method}.losses"]
        assert losses.shape == (config.iterations,) and torch.isfinite(losses).all()
        assert len(weights[f"{method}.check_mse"]) == config.iterations // 500
    with pytest.raises(KeyError, match="no weights for 'maml2'"):
        method_params(weights, "maml2")


def test_the_from_scratch_network_is_the_family_s_seeded_initialisation(weights):
    torch.manual_seed(maml_weights.SEED)
    fresh = params_of(FAMILY.make_model())
    stored = scratch_params(weights)
    assert fresh.keys() == stored.keys()
    assert all(torch.equal(fresh[name], stored[name]) for name in fresh)


def test_stored_weights_reproduce_finn_et_al_on_1000_held_out_tasks(weights):
    tasks = held_out_tasks(1000)

    def curve(method: str) -> np.ndarray:
        return evaluate_adaptation(method_params(weights, method), batch_mse, tasks.support,
                                   tasks.query, 0.01, 10).mean(axis=0)

    maml, pretrained = curve("maml"), curve("pretrain")
    assert maml[1] <= 0.5 and maml[10] <= 0.3
    assert pretrained[10] >= 1.0


@pytest.mark.parametrize(("method", "iterations"), [("maml", 30), ("reptile", 20),
                                                    ("pretrain", 60)])
def test_regenerating_the_first_iterations_gives_the_stored_curve(weights, method, iterations):
    """Same seed, same config: a short run is the stored run's prefix."""
    prefix = train_run(method, iterations)
    stored = weights[f"{method}.losses"][:iterations].numpy()
    np.testing.assert_allclose(prefix[f"{method}.losses"].numpy(), stored, rtol=1e-4)
