"""seed_everything makes every random source repeat."""

import random

import gymnasium as gym
import numpy as np
import pytest
import torch

from mini_lib import seed_everything


def draw_everything(env):
    return (
        random.random(),
        np.random.rand(),  # noqa: NPY002 -- the legacy global stream must be seeded too
        torch.rand(3).tolist(),
        env.action_space.sample(),
        env.observation_space.sample().tolist(),
        env.step(env.action_space.sample())[0].tolist(),
    )


def test_same_seed_same_draws_other_seed_other_draws():
    env = gym.make("CartPole-v1")
    generator = seed_everything(3, env)
    first = draw_everything(env), generator.random()
    generator = seed_everything(3, env)
    second = draw_everything(env), generator.random()
    generator = seed_everything(4, env)
    third = draw_everything(env), generator.random()
    assert first == second
    assert first != third


def test_fixes_torch_threads():
    seed_everything(0, torch_threads=1)
    assert torch.get_num_threads() == 1


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5])
def test_rejects_bad_seed(seed):
    with pytest.raises(ValueError, match="seed must be an integer"):
        seed_everything(seed)
