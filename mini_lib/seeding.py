"""One call that makes a notebook reproducible."""

from __future__ import annotations

import os
import random

import numpy as np
import torch

from mini_lib.checks import check_int

__all__ = ["seed_everything"]


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

    np.set_printoptions(precision=3, suppress=True)
    torch.set_printoptions(precision=3, sci_mode=False)

    if env is not None:
        env.reset(seed=seed)
        env.action_space.seed(seed)
        env.observation_space.seed(seed)
    return np.random.default_rng(seed)
