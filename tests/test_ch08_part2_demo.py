"""Chapter 08 part 2's demo functions: the model's predictions, the MPC panel's episodes, one
episode's prototype decisions and the N-way / K-shot accuracy panel."""

import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from mini_lib.demos.ch08_fewshot import (
    CURVE_SHOTS,
    accuracy_panel,
    accuracy_view,
    draw_accuracies,
    draw_decisions,
    episode_decisions,
)
from mini_lib.demos.ch08_model_based import (
    PANEL_STEPS,
    actuator,
    draw_mpc,
    draw_predictions,
    plan_one_actuator,
    predict_actions,
)
from mini_lib.envs.point_navigation import MAX_SPEED
from mini_lib.fewshot.episodes import sample_episode_indices
from mini_lib.meta.functional import params_of
from mini_lib.tasks.navigation_dynamics import DynamicsModel, step


@pytest.fixture(scope="module")
def models():
    torch.manual_seed(0)
    return {"maml": params_of(DynamicsModel((8,))), "pretrain": params_of(DynamicsModel((8,)))}


def test_the_true_displacements_are_the_turned_actions(models):
    view = predict_actions(models, 4, 90.0, 1.0)
    # turned by +90°: action (1, 0) moves the agent along +y at full speed
    np.testing.assert_allclose(view.true[0], [0.0, 1.0], atol=1e-6)
    assert view.true.shape == (16, 2) and set(view.predicted) == set(models)
    for name in models:
        assert set(view.errors[name]) == {"before", "after"}
    draw_predictions(view, Figure())


def test_one_step_lowers_the_error_of_a_model_on_its_own_actuator(models):
    """A step of a small size on many transitions lowers the error on fresh transitions."""
    view = predict_actions({"m": models["maml"]}, 64, 30.0, 1.2, alpha=0.05)
    assert view.errors["m"]["after"] < view.errors["m"]["before"]


def test_actuator_validation_names_the_parameter():
    with pytest.raises(ValueError, match=r"^angle_degrees "):
        actuator(120.0, 1.0)
    with pytest.raises(ValueError, match=r"^scale "):
        actuator(0.0, 2.0)
    assert torch.allclose(step(torch.zeros(1, 1, 2), torch.tensor([[[1.0, 0.0]]]),
                               actuator(0.0, 0.5))[0, 0], torch.tensor([0.5 * MAX_SPEED, 0.0]))


def test_the_mpc_view_plays_at_most_the_panel_steps(models):
    view = plan_one_actuator(models, 4, 2, 0.0, 1.0)
    for name, path in view.paths.items():
        assert path.shape == (PANEL_STEPS + 1, 2) and np.allclose(path[0], 0.0)
        assert view.errors[name].shape == (PANEL_STEPS,)
    again = plan_one_actuator(models, 4, 2, 0.0, 1.0)  # seeded: the same episode
    assert all(np.array_equal(view.paths[n], path) for n, path in again.paths.items())
    draw_mpc(view, Figure())
    with pytest.raises(ValueError, match=r"^recent "):
        plan_one_actuator(models, 0, 2, 0.0, 1.0)
    with pytest.raises(ValueError, match=r"^horizon "):
        plan_one_actuator(models, 4, 11, 0.0, 1.0)


def _clustered_features(classes=12, samples=8, dims=6, spread=0.1):
    generator = torch.Generator().manual_seed(0)
    centres = 3 * torch.randn(classes, dims, generator=generator)
    noise = spread * torch.randn(classes, samples, dims, generator=generator)
    return (centres[:, None] + noise).reshape(-1, dims)


def test_episode_decisions_are_right_on_separated_classes():
    features = _clustered_features()
    images = np.zeros((len(features), 4, 4))
    episode = sample_episode_indices(12, 8, 1, 4, 2, 3, 0).take(0)
    view = episode_decisions(features, images, episode)
    assert np.array_equal(view.predicted, view.query_labels)
    assert view.prototype_xy.shape == (4, 2) and view.query.shape == (12, 4, 4)
    draw_decisions(view, Figure(), shown=6)


def test_the_accuracy_view_scores_every_learner_on_the_same_episodes():
    clustered = _clustered_features(samples=16)
    noise = torch.randn(clustered.shape, generator=torch.Generator().manual_seed(1))
    features = {"raw pixels": noise, "ProtoNet": clustered, "Matching": clustered}
    view = accuracy_view(features, 16, n_way=4, k_shot=3, episodes=20)
    assert view.shots.tolist() == sorted({*CURVE_SHOTS, 3})
    assert np.all(view.means["ProtoNet"] == 1.0)  # separated clusters: every query right
    assert np.all(view.means["raw pixels"] < 0.7)  # noise: near chance (0.25)
    draw_accuracies(view, Figure())
    with pytest.raises(ValueError, match=r"^n_way "):
        accuracy_view(features, 16, n_way=21, k_shot=1)
    with pytest.raises(ValueError, match=r"^k_shot "):
        accuracy_view(features, 16, n_way=4, k_shot=11)
    panel = accuracy_panel(features, 16, n_way=3)
    assert "3-way 1-shot" in panel.readout.value
