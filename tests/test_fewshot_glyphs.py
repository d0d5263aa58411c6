"""data/fewshot_glyphs.pt: the few-shot learners of chapter 08 part 2 — registered, re-train
exactly, re-score, and show what the chapter says they show."""

import pytest
import torch

from mini_lib.artefacts import fewshot_glyphs
from mini_lib.artefacts.__main__ import GENERATORS
from mini_lib.artefacts.fewshot_glyphs import (
    METRIC_RUNS,
    embedding,
    evaluation_episodes,
    evaluation_indices,
    load,
    setting_name,
    test_features,
    train_run,
)
from mini_lib.artefacts.store import manifest_entry
from mini_lib.evaluation import mean_interval
from mini_lib.fewshot.metric import indexed_accuracies, nearest_prototype_accuracy


@pytest.fixture(scope="module")
def stored():
    return load()


def test_registered_and_listed_in_the_manifest():
    assert GENERATORS["fewshot_glyphs"] is fewshot_glyphs.generate
    assert manifest_entry("fewshot_glyphs")["command"] == (
        "python -m mini_lib.artefacts fewshot_glyphs")


@pytest.mark.parametrize("run", ["protonet", "matching", "maml"])
def test_a_prefix_re_trains_exactly(stored, run):
    fresh = train_run(run, iterations=3)
    assert torch.allclose(fresh[f"{run}.losses"], stored[f"{run}.losses"][:3], rtol=1e-4)


def test_indexed_episodes_are_the_image_episodes():
    images, indices = evaluation_episodes(5, 1, 15), evaluation_indices(5, 1, 15)
    pixels = test_features()
    assert torch.equal(pixels[indices.support[:50]].reshape(images.support[:50].shape),
                       images.support[:50])
    assert torch.equal(indexed_accuracies("protonet", pixels, indices),
                       nearest_prototype_accuracy(images))


def test_stored_scores_re_score(stored):
    """Features of the whole test set, computed once, give the stored accuracies (a query
    whose two nearest prototypes tie to the last bit may flip on another CPU: 0.5 pp)."""
    for method in METRIC_RUNS:
        features = test_features(embedding(stored, method))
        again = indexed_accuracies(method, features, evaluation_indices(5, 1, 15))
        assert abs(float(again.mean() - stored[f"eval.{method}.5w1s"].mean())) < 0.005


def test_protonet_clearly_beats_raw_pixels_and_maml_adapts(stored):
    """The issue's number: ProtoNet 5-way 1-shot on held-out classes clearly above raw
    pixels, with 95 % intervals over 1000 episodes that do not overlap."""
    for n_way, k_shot in ((5, 1), (20, 1)):
        name = setting_name(n_way, k_shot)
        proto, proto_half = mean_interval(stored[f"eval.protonet.{name}"])
        pixels, pixels_half = mean_interval(stored[f"eval.pixels.{name}"])
        assert proto - proto_half > pixels + pixels_half + 0.1
    assert len(stored["eval.protonet.5w1s"]) == 1000
    before, after = (float(stored[f"eval.maml.{k}"].mean()) for k in (0, 1))
    assert before < 0.3 < 0.7 < after  # 5-way chance is 0.2: one step does the work
