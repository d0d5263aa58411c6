"""Chapter 04's stored scaling measurement: its shape and sanity, and the generator on a
tiny budget (the numbers themselves are timings and not compared)."""

from dataclasses import replace

import numpy as np

from mini_lib.artefacts.a3c_scaling import (
    SEEDS,
    SOLVE_WORKERS,
    THROUGHPUT_WORKERS,
    A3CScaling,
    generate,
    load_scaling,
)
from mini_lib.policy_gradient.config import CARTPOLE_A3C


def test_stored_measurement_has_the_documented_shape_and_plausible_values():
    scaling = load_scaling()
    assert scaling.throughput_workers.tolist() == list(THROUGHPUT_WORKERS)
    assert scaling.solve_steps.shape == (len(SOLVE_WORKERS), len(SEEDS))
    assert np.all(scaling.wall_steps_per_second > 100)
    assert scaling.speedup[0] == 1.0
    for i, n in enumerate(THROUGHPUT_WORKERS):  # one entry per worker, the rest padding
        assert np.isfinite(scaling.steps_per_cpu_second[i, :n]).all()
        assert np.isnan(scaling.steps_per_cpu_second[i, n:]).all()
    assert np.all(scaling.solve_steps <= CARTPOLE_A3C.total_steps + 4 * CARTPOLE_A3C.n_steps)
    assert "logical CPUs" in scaling.description and "load average" in scaling.description


def test_the_generator_measures_every_worker_count_and_seed():
    arrays, description = generate(config=replace(CARTPOLE_A3C, total_steps=3_000),
                                   seconds=0.3, seeds=(0,))
    scaling = A3CScaling(arrays, description)
    assert scaling.wall_steps_per_second.shape == (len(THROUGHPUT_WORKERS),)
    assert np.all(scaling.wall_steps_per_second > 0)
    assert scaling.solve_steps.shape == (len(SOLVE_WORKERS), 1)
    assert np.all(scaling.solve_steps <= 3_000 + 2 * CARTPOLE_A3C.n_steps)
