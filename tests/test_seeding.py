"""seed_everything makes every random source repeat."""

import os
import platform
import random
import subprocess
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch

from mini_lib import seed_everything
from mini_lib.seeding import PINNED_NUMERICS


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


def run_fresh_python(code: str, **env_overrides: str) -> str:
    """Run ``code`` in a new interpreter without the pinning variables (unless given)."""
    env = {k: v for k, v in os.environ.items() if k not in PINNED_NUMERICS} | env_overrides
    result = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                            text=True, check=True, timeout=120)
    return result.stdout.strip() + result.stderr


needs_avx2 = pytest.mark.skipif(
    platform.machine() != "x86_64" or " avx2" not in Path("/proc/cpuinfo").read_text(),
    reason="the pinned code paths exist on x86-64 CPUs with AVX2 only")


@needs_avx2
def test_importing_mini_lib_pins_torch_and_mkl_code_paths_even_after_import_torch():
    out = run_fresh_python(
        "import os, torch, mini_lib; torch.ones(2) @ torch.ones(2); "
        "print(torch.backends.cpu.get_cpu_capability(), os.environ['MKL_CBWR'])")
    assert out == "AVX2 COMPATIBLE,STRICT"


@needs_avx2
def test_pinning_changes_the_bits_of_a_matrix_product():
    """The variables are not decoration: MKL's own kernels round differently."""
    code = ("import hashlib, torch{}; torch.manual_seed(0); x = torch.randn(64, 128); "
            "print(hashlib.sha256((x @ torch.randn(128, 128)).numpy().tobytes()).hexdigest())")
    pinned = run_fresh_python(code.format(", mini_lib"))
    assert pinned == run_fresh_python(code.format(", mini_lib"))  # deterministic
    assert pinned != run_fresh_python(code.format(""))  # MKL's CPU-specific kernel


@needs_avx2
def test_a_user_setting_wins_and_a_late_pin_is_reported():
    out = run_fresh_python("import torch, mini_lib; print(torch.backends.cpu.get_cpu_capability())",
                           ATEN_CPU_CAPABILITY="default")
    assert out == "DEFAULT"
    late = run_fresh_python(
        "import os, torch; torch.ones(2) + 1; os.environ['ATEN_CPU_CAPABILITY'] = 'default'; "
        "import mini_lib; mini_lib.seed_everything(0)")
    assert "torch computed something before mini_lib was imported" in late
