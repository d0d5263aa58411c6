"""Chapter 04's stored sweep: documented shape, plausible values, and one run re-trained."""

import numpy as np

from mini_lib.artefacts.a3c_sweep import (
    BUDGET,
    ESTIMATORS,
    EVAL_EVERY,
    GRID,
    PANELS,
    QUANTITIES,
    SEEDS,
    load_sweep,
    run_curve,
)


def test_stored_sweep_has_the_documented_shape_and_cartpole_range():
    sweep = load_sweep()
    n_evals = BUDGET // EVAL_EVERY
    for panel, (first, second) in PANELS.items():
        assert sweep.panels[panel].shape == (len(GRID[first]), len(GRID[second]), len(SEEDS),
                                             len(QUANTITIES), n_evals)
    assert sweep.estimators.shape == (len(ESTIMATORS), 5, len(QUANTITIES), n_evals)
    assert sweep.estimator_names == tuple(ESTIMATORS)
    assert sweep.steps.tolist() == [EVAL_EVERY * (i + 1) for i in range(n_evals)]
    scores = np.concatenate([p[..., 0, :].ravel() for p in sweep.panels.values()])
    assert np.nanmin(scores) >= 8 and np.nanmax(scores) <= 500


def test_regenerating_runs_reproduces_the_stored_curves():
    """Re-train an A2C cell and a simulated-staleness cell for two evaluations each."""
    sweep = load_sweep()
    for panel, cell in (("rollout_lr", {"t_max": 32, "learning_rate": 1e-2}),
                        ("staleness", {"workers": 4, "staleness": 3})):
        stored = sweep.cell(panel, *cell.values())[SEEDS.index(1)]
        fresh = run_curve(panel, cell, seed=1, until=2 * EVAL_EVERY)
        np.testing.assert_allclose(fresh[:, :2], stored[:, :2], rtol=1e-5)
        assert np.isnan(fresh[:, 2:]).all()
