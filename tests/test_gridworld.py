"""The GridWorld environment: Gymnasium API, transition table, sampling, bad input."""

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env

import mini_lib  # noqa: F401  (registers the environments)
from mini_lib.envs import MAPS, GridWorldEnv


@pytest.mark.parametrize("map_name", sorted(MAPS))
def test_passes_gymnasiums_env_checker(map_name):
    env = gym.make("mini_lib/GridWorld-v0", map_name=map_name, slip=0.2, render_mode="ansi")
    check_env(env.unwrapped, skip_render_check=False)


def test_gymnasium_make_works_with_time_limit():
    env = gym.make("mini_lib/GridWorld-v0", map_name="cliff", slip=0.1)
    assert env.spec.max_episode_steps == 100
    observation, _ = env.reset(seed=0)
    assert observation == env.unwrapped.start_state


@pytest.mark.parametrize("map_name", sorted(MAPS))
@pytest.mark.parametrize("slip", [0.0, 0.2, 0.5])
def test_transition_table_is_a_distribution(map_name, slip):
    mdp = GridWorldEnv(map_name, slip=slip).mdp
    assert np.all(mdp.P >= 0)
    assert np.allclose(mdp.P.sum(axis=2), 1.0)


def test_slip_goes_to_the_perpendicular_directions():
    env = GridWorldEnv("4x3", slip=0.2)
    start = env.start_state  # bottom-left, row 2, col 0 -> state 8
    up, right, same = 4, 9, 8
    assert env.mdp.P[start, 0, up] == pytest.approx(0.8)
    assert env.mdp.P[start, 0, right] == pytest.approx(0.1)
    assert env.mdp.P[start, 0, same] == pytest.approx(0.1)  # slipping left hits the border


def test_sampled_transitions_follow_the_table():
    env = GridWorldEnv("4x3", slip=0.2)
    env.reset(seed=123)
    counts = np.zeros(env.mdp.n_states)
    n = 20_000
    for _ in range(n):
        env.reset()
        next_state, *_ = env.step(1)  # right from the start
        counts[next_state] += 1
    expected = env.mdp.P[env.start_state, 1]
    standard_error = np.sqrt(expected * (1 - expected) / n)
    assert np.all(np.abs(counts / n - expected) <= 5 * standard_error + 1e-12)


def test_rewards_and_termination_match_the_model():
    env = GridWorldEnv(layout=["SG"], slip=0.0, step_reward=-0.04)
    env.reset(seed=0)
    state, reward, terminated, truncated, _ = env.step(1)
    assert (state, terminated, truncated) == (1, True, False)
    assert reward == pytest.approx(1.0 - 0.04)
    assert env.mdp.R[0, 1] == pytest.approx(reward)


def test_same_seed_same_trajectory():
    def rollout(seed):
        env = GridWorldEnv("4x3", slip=0.5)
        env.reset(seed=seed)
        states = []
        for _ in range(200):
            state, _, terminated, _, _ = env.step(0)
            states.append(state)
            if terminated:
                env.reset()
        return states

    assert rollout(7) == rollout(7)
    assert rollout(7) != rollout(8)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"slip": -0.1}, r"slip must be in \[0, 1\], got -0.1"),
        ({"slip": 1.5}, r"slip must be in \[0, 1\], got 1.5"),
        ({"map_name": "5x5"}, "map_name must be one of"),
        ({"layout": ["S.", "..."]}, "equal-length strings"),
        ({"layout": ["..G"]}, "exactly one start 'S', got 0"),
        ({"layout": ["S.X"]}, "may only use the characters"),
        ({"render_mode": "human"}, "render_mode must be one of"),
    ],
)
def test_bad_arguments_raise_value_error_naming_the_parameter(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GridWorldEnv(**kwargs)


def test_invalid_action_is_rejected():
    env = GridWorldEnv()
    env.reset(seed=0)
    with pytest.raises(ValueError, match=r"action must be an integer in \[0, 3\], got 4"):
        env.step(4)


def test_render_ansi_marks_the_agent():
    env = GridWorldEnv("4x3", render_mode="ansi")
    env.reset(seed=0)
    assert env.render() == "...G\n.#.P\nA...\n"
