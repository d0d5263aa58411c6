"""One call that makes a notebook reproducible, and CPU code paths that do not vary by CPU."""

from __future__ import annotations

import os
import platform
import random
import warnings
from pathlib import Path

import numpy as np
import torch

from mini_lib.checks import check_int

__all__ = ["PINNED_NUMERICS", "pin_cpu_numerics", "seed_everything"]

#: Environment variables that fix torch's CPU code paths on x86-64. By default torch picks
#: its vectorised kernels (ATen) and Intel MKL picks its matrix-multiply kernels by the CPU
#: it finds (AVX2, AVX-512, Intel or AMD), and each choice rounds differently in the last
#: bit. A training run amplifies one bit into a different learning curve, so the stored
#: notebook outputs would only reproduce on the CPU model that made them. With these set, a
#: seeded run gives the same bits on any x86-64 CPU with AVX2 (about 8 % slower for DQN).
PINNED_NUMERICS = {"ATEN_CPU_CAPABILITY": "avx2", "MKL_CBWR": "COMPATIBLE,STRICT"}


def _has_avx2() -> bool:
    cpuinfo = Path("/proc/cpuinfo")
    return cpuinfo.exists() and " avx2" in cpuinfo.read_text()


def pin_cpu_numerics() -> dict[str, str]:
    """Set :data:`PINNED_NUMERICS` (unless already set) before torch runs its first op.

    ``mini_lib`` calls this when it is imported. torch and MKL read the variables at their
    first computation, so it works even after ``import torch``, as long as no tensor
    arithmetic ran before. Only on x86-64 Linux with AVX2 (elsewhere nothing is changed and
    outputs may differ from the stored ones in the last digits). Returns what is now set.
    """
    if platform.machine().lower() in ("x86_64", "amd64") and _has_avx2():
        for name, value in PINNED_NUMERICS.items():
            os.environ.setdefault(name, value)
    return {name: os.environ[name] for name in PINNED_NUMERICS if name in os.environ}


def seed_everything(seed: int, env=None, *, torch_threads: int = 1) -> np.random.Generator:
    """Seed Python, NumPy, torch and (optionally) a Gymnasium env and its spaces.

    Also fixes the number of torch CPU threads (reductions are summed in a thread-dependent
    order, so the thread count changes the last digits), turns on torch's deterministic
    algorithms (an op without one raises instead of silently varying), and sets NumPy/torch
    print precision to 3 digits, so stored notebook outputs survive other CPUs.

    Returns a ``numpy.random.Generator`` seeded with ``seed`` for code that wants an
    explicit random stream instead of global state.
    """
    seed = check_int("seed", seed, 0, 2**32 - 1)
    torch_threads = check_int("torch_threads", torch_threads, 1, os.cpu_count() or 1)

    random.seed(seed)
    np.random.seed(seed)  # noqa: NPY002 -- learners' code uses the legacy global RNG
    torch.manual_seed(seed)
    torch.set_num_threads(torch_threads)
    torch.use_deterministic_algorithms(True)
    wanted = os.environ.get("ATEN_CPU_CAPABILITY")
    if wanted and torch.backends.cpu.get_cpu_capability().lower() != wanted.lower():
        warnings.warn(f"torch runs its {torch.backends.cpu.get_cpu_capability()} kernels, not "
                      f"ATEN_CPU_CAPABILITY={wanted}: torch computed something before "
                      "mini_lib was imported; import mini_lib first (or restart the kernel) "
                      "to reproduce the stored outputs bit for bit", stacklevel=2)

    np.set_printoptions(precision=3, suppress=True)
    torch.set_printoptions(precision=3, sci_mode=False)

    if env is not None:
        env.reset(seed=seed)
        env.action_space.seed(seed)
        env.observation_space.seed(seed)
    return np.random.default_rng(seed)
