"""data/ artefacts: checksummed save/load, and the stored DQN runs are reproducible."""

import json

import numpy as np
import pytest
import torch

from mini_lib.artefacts.__main__ import GENERATORS, main
from mini_lib.artefacts.dqn_sweep import (
    ABLATIONS,
    BUDGET,
    EVAL_EVERY,
    GRID,
    SEEDS,
    load_ablations,
    load_sweep,
    run_curve,
    sweep_config,
)
from mini_lib.artefacts.store import (
    DATA_DIR,
    load_arrays,
    load_tensors,
    manifest_entry,
    save,
    save_arrays,
    save_tensors,
)
from mini_lib.artefacts.sweep import StoredSweep, axis_index


def test_save_then_load_round_trips_and_records_how_to_regenerate(tmp_path):
    arrays = {"x": np.arange(5.0), "labels": np.array(["a", "b"])}
    save_arrays("toy", arrays, "a toy artefact", data_dir=tmp_path)
    loaded = load_arrays("toy", data_dir=tmp_path)
    assert np.array_equal(loaded["x"], arrays["x"]) and loaded["labels"].tolist() == ["a", "b"]
    entry = manifest_entry("toy", data_dir=tmp_path)
    assert entry["command"] == "python -m mini_lib.artefacts toy"
    assert entry["mini_lib_version"] and len(entry["sha256"]) == 64


def test_a_modified_file_is_refused_with_the_regeneration_command(tmp_path):
    save_arrays("toy", {"x": np.arange(5.0)}, "a toy artefact", data_dir=tmp_path)
    np.savez_compressed(tmp_path / "toy.npz", x=np.arange(6.0))  # changed behind our back
    with pytest.raises(ValueError, match=r"does not match its manifest checksum.*"
                                         r"python -m mini_lib.artefacts toy"):
        load_arrays("toy", data_dir=tmp_path)


def test_an_unknown_artefact_names_the_known_ones(tmp_path):
    save_arrays("toy", {"x": np.arange(2.0)}, "a toy artefact", data_dir=tmp_path)
    with pytest.raises(KeyError, match=r"'other' is not in .*known: \['toy'\]"):
        load_arrays("other", data_dir=tmp_path)


def test_every_stored_artefact_has_a_generator_and_an_intact_file():
    manifest = json.loads((DATA_DIR / "manifest.json").read_text())
    assert set(manifest) == set(GENERATORS)
    for name, entry in manifest.items():
        load = load_tensors if entry["file"].endswith(".pt") else load_arrays
        assert load(name)  # raises if the checksum does not match


def test_stored_sweep_has_the_documented_shape():
    sweep = load_sweep()
    n_evals = BUDGET // EVAL_EVERY
    assert sweep.curves.shape == (*(len(v) for v in GRID.values()), len(SEEDS), 3, n_evals)
    assert sweep.steps.tolist() == [EVAL_EVERY * (i + 1) for i in range(n_evals)]
    ablations = load_ablations()
    assert ablations["labels"].tolist() == [label for label, _ in ABLATIONS]
    scores = sweep.curves[..., 0, :]
    assert np.nanmin(scores) >= 8 and np.nanmax(scores) <= 500  # CartPole's possible range


def test_regenerating_one_run_reproduces_the_stored_curve():
    """Re-train one grid cell for 4000 steps: its first two evaluations must match."""
    cell = {"learning_rate": 2.3e-3, "gamma": 0.99, "target_update_every": 32,
            "double_dqn": False}
    seed = 0
    stored = load_sweep().cell(**cell)[SEEDS.index(seed)]
    fresh = run_curve(sweep_config(**cell), seed, until=2 * EVAL_EVERY)
    np.testing.assert_allclose(fresh[:, :2], stored[:, :2], rtol=1e-5)
    assert np.isnan(fresh[:, 2:]).all()


def test_tensors_round_trip_through_weights_only_loading(tmp_path):
    state = {"w": torch.arange(4.0), "b": torch.zeros(2)}
    path = save_tensors("weights", state, "toy weights", data_dir=tmp_path)
    assert path.suffix == ".pt"
    loaded = load_tensors("weights", data_dir=tmp_path)
    assert torch.equal(loaded["w"], state["w"]) and torch.equal(loaded["b"], state["b"])
    path.write_bytes(path.read_bytes() + b"x")
    with pytest.raises(ValueError, match="does not match its manifest checksum"):
        load_tensors("weights", data_dir=tmp_path)


def test_save_picks_npz_for_arrays_and_pt_for_tensors(tmp_path):
    assert save("a", {"x": np.zeros(2)}, "arrays", data_dir=tmp_path).suffix == ".npz"
    assert save("t", {"x": torch.zeros(2)}, "tensors", data_dir=tmp_path).suffix == ".pt"


def test_the_command_lists_every_artefact_with_its_generator(capsys):
    main(["--list"])
    listed = capsys.readouterr().out.split("\n")
    assert sorted(line.split()[0] for line in listed if line) == sorted(GENERATORS)
    assert any("mini_lib.artefacts.dqn_sweep.generate_sweep" in line for line in listed)


def test_a_value_off_the_grid_is_refused_naming_the_axis():
    assert axis_index("gamma", np.array([0.9, 0.99]), 0.99) == 1
    with pytest.raises(ValueError, match=r"gamma must be one of the swept values \[0.9, 0.99\], "
                                         r"got 0.5"):
        axis_index("gamma", np.array([0.9, 0.99]), 0.5)
    sweep = StoredSweep({"gamma": np.array([0.9, 0.99])})
    assert sweep.position("gamma", 0.9) == 0
    with pytest.raises(ValueError, match="gamma must be one of the swept values"):
        sweep.position("gamma", 1.0)
