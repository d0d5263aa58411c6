"""data/maml_weights.pt: loads (checksum, weights_only), reproduces Finn et al., regenerates."""

import numpy as np
import pytest
import torch

from mini_lib.maml import evaluate_adaptation
from mini_lib.maml_weights import RUNS, load_weights, method_params, scratch_params, train_run
from mini_lib.sinusoid import held_out_tasks
from mini_lib.sweeps import GENERATORS, manifest_entry


@pytest.fixture(scope="module")
def weights():
    return load_weights()


def test_registered_and_listed_in_the_manifest():
    assert GENERATORS["maml_weights"] == "mini_lib.maml_weights:generate"
    assert manifest_entry("maml_weights")["command"] == "python -m mini_lib.sweeps maml_weights"


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


def test_stored_weights_reproduce_finn_et_al_on_1000_held_out_tasks(weights):
    tasks = held_out_tasks(1000)
    maml = evaluate_adaptation(method_params(weights, "maml"), tasks, 0.01, 10).mean(axis=0)
    pretrained = evaluate_adaptation(method_params(weights, "pretrain"), tasks, 0.01,
                                     10).mean(axis=0)
    assert maml[1] <= 0.5 and maml[10] <= 0.3
    assert pretrained[10] >= 1.0


@pytest.mark.parametrize(("method", "iterations"), [("maml", 30), ("reptile", 20),
                                                    ("pretrain", 60)])
def test_regenerating_the_first_iterations_gives_the_stored_curve(weights, method, iterations):
    """Same seed, same config: a short run is the stored run's prefix."""
    prefix = train_run(method, iterations)
    stored = weights[f"{method}.losses"][:iterations].numpy()
    np.testing.assert_allclose(prefix[f"{method}.losses"].numpy(), stored, rtol=1e-4)
