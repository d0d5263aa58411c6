"""Navigation with turned and scaled actuators: the dynamics are chapter 06's when untouched,
a rotation when turned, and a dynamics model meta-trained with MAML adapts to held-out
actuators from 10 transitions, where a pretrained one does not."""

import math

import numpy as np
import pytest
import torch

from mini_lib.envs.point_navigation import BatchedPointNavigation
from mini_lib.meta.training import MAMLConfig, evaluate_adaptation, train_meta
from mini_lib.tasks.navigation_dynamics import (
    Dynamics,
    DynamicsFamily,
    sample_dynamics,
    step,
    transitions,
)


def test_untouched_actuators_move_as_chapter_06_s_env():
    actions = torch.randn(3, 5, 2)
    env = BatchedPointNavigation(np.zeros((3, 2), dtype=np.float32), 5)
    env.reset()
    expected, *_ = env.step(actions)
    identity = Dynamics(torch.zeros(3), torch.ones(3))
    torch.testing.assert_close(step(torch.zeros(3, 5, 2), actions, identity), expected)


def test_a_turned_actuator_rotates_the_velocity():
    turned = Dynamics(torch.tensor([math.pi / 2]), torch.tensor([0.5]))
    moved = step(torch.zeros(1, 1, 2), torch.tensor([[[1.0, 0.0]]]), turned)
    torch.testing.assert_close(moved, torch.tensor([[[0.0, 0.05]]]))  # 0.1 · 0.5 · R(90°) e_x


def test_transitions_are_seeded_and_shaped():
    rng = np.random.default_rng(0)
    dynamics = sample_dynamics(4, rng)
    inputs, moved = transitions(dynamics, 7, rng)
    assert inputs.shape == (4, 7, 4) and moved.shape == (4, 7, 2)
    assert moved.abs().max() <= 1.0 + 1e-5  # Δs in units of the top speed (float rounding)
    rng = np.random.default_rng(0)
    assert torch.equal(transitions(sample_dynamics(4, rng), 7, rng)[1], moved)  # seeded
    with pytest.raises(ValueError, match=r"^k_shot "):
        DynamicsFamily(k_shot=0)


def test_maml_adapts_a_dynamics_model_where_pretraining_does_not():
    """150 iterations each (seed 0, about 4 s): on 100 held-out actuators, one step on 10
    transitions more than halves MAML's error; the pretrained model, which cannot tell the
    actuators apart, stays far above it (training seeds 0-2: MAML after one step 0.44-0.45 of
    the pretrained model's error before adapting and 0.51-0.54 of it after one step)."""
    torch.set_num_threads(1)
    family = DynamicsFamily()
    rng = np.random.default_rng(123)
    held_out = sample_dynamics(100, rng)
    support, query = transitions(held_out, 10, rng), transitions(held_out, 50, rng)
    errors = {}
    for method in ("maml", "pretrain"):
        config = MAMLConfig(method=method, iterations=150, meta_batch_size=25, alpha=0.5,
                            outer_lr=1e-3)
        params = train_meta(config, family, seed=0).params
        errors[method] = evaluate_adaptation(params, family.loss, support, query, 0.5, 1).mean(0)
    assert errors["maml"][1] < 0.6 * errors["pretrain"][0]
    assert errors["maml"][1] < 0.7 * errors["pretrain"][1]
