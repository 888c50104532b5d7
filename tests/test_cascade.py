"""cascade: the stage-1 threshold chosen on validation data, and the two-stage prediction."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hiercat.cascade import cascade_predict, choose_threshold
from hiercat.model import HierarchicalClassifier, ModalityInputs, predict
from hiercat.taxonomy import Taxonomy

PATHS = [("Shoes",), ("Clothing", "Pants"), ("Clothing", "Tops", "Shirts"), ("Clothing", "Tops", "Tees")]


def test_threshold_for_a_target_escalation_share() -> None:
    conf = np.arange(1, 11) / 10  # 0.1 .. 1.0
    ok = np.ones(10, bool)
    thr = choose_threshold(conf, ok, target_escalation=0.3)
    assert thr == pytest.approx(0.37)  # numpy's linear quantile between 0.3 and 0.4
    assert (conf < thr).sum() == 3
    assert choose_threshold(conf, ok, target_escalation=0.0) == 0.0  # nothing escalated
    assert choose_threshold(conf, ok, target_escalation=1.0) == 1.0


def test_threshold_for_a_target_accuracy_is_the_lowest_that_meets_it() -> None:
    conf = np.array([0.95, 0.9, 0.8, 0.7, 0.6, 0.5])
    ok = np.array([True, True, True, False, True, False])
    # Kept accuracy from the top: 1, 1, 1, 3/4, 4/5, 4/6.
    assert choose_threshold(conf, ok, target_accuracy=0.8) == 0.6
    assert choose_threshold(conf, ok, target_accuracy=0.9) == 0.8
    assert choose_threshold(conf, ok, target_accuracy=0.5) == 0.5
    assert choose_threshold(conf[3:4], ok[3:4], target_accuracy=0.5) == float("inf")  # never met: escalate all


def test_threshold_arguments_are_checked() -> None:
    with pytest.raises(ValueError, match="exactly one of target_escalation and target_accuracy"):
        choose_threshold(np.ones(3), np.ones(3), target_escalation=0.1, target_accuracy=0.9)
    with pytest.raises(ValueError, match="exactly one"):
        choose_threshold(np.ones(3), np.ones(3))
    with pytest.raises(ValueError, match="share between 0 and 1"):
        choose_threshold(np.ones(3), np.ones(3), target_escalation=1.5)


@pytest.fixture(scope="module")
def two_models():
    """An untrained text model and multimodal model (different seeds, so they disagree) and their inputs."""
    rng = np.random.default_rng(0)
    inputs = ModalityInputs({"text": rng.normal(size=(80, 6)).astype(np.float32),
                             "image": rng.normal(size=(80, 4)).astype(np.float32)})
    tax = Taxonomy.from_paths(PATHS)
    torch.manual_seed(0)
    text = HierarchicalClassifier(inputs.select(["text"]).specs(), tax).eval()
    torch.manual_seed(1)
    full = HierarchicalClassifier(inputs.specs(), tax, fusion="late").eval()
    return text, full, inputs


def test_only_items_below_the_threshold_go_to_the_multimodal_model(two_models) -> None:
    text, full, inputs = two_models
    first, second = predict(text, inputs), predict(full, inputs)
    thr = float(np.median(first.path_conf))
    res = cascade_predict(text, full, inputs, thr)
    low = first.path_conf < thr
    assert res.escalated.tolist() == low.tolist() and res.escalated_share == pytest.approx(low.mean())
    assert res.source == ["multimodal" if e else "text" for e in low]
    for i in range(len(inputs.dense["text"])):
        want = second if low[i] else first
        assert res.predictions.paths[i] == want.paths[i]
        np.testing.assert_allclose(res.predictions.level_conf[i], want.level_conf[i], atol=1e-6)
        assert res.predictions.path_conf[i] == pytest.approx(want.path_conf[i], abs=1e-6)
        np.testing.assert_array_equal(res.predictions.indices[i], want.indices[i])
    assert res.stage1_seconds > 0 and res.stage2_seconds > 0


def test_extreme_thresholds_use_one_model_only(two_models) -> None:
    text, full, inputs = two_models
    none = cascade_predict(text, full, inputs, 0.0)
    assert not none.escalated.any() and none.predictions.paths == predict(text, inputs).paths
    every = cascade_predict(text, full, inputs, float("inf"), decode="path")
    assert every.escalated.all() and every.predictions.paths == predict(full, inputs, decode="path").paths


def test_given_stage1_predictions_are_used_as_they_are(two_models) -> None:
    text, full, inputs = two_models
    stage1 = predict(text, inputs)
    stage1.path_conf[:] = 1.0  # as if the text model were sure of everything
    res = cascade_predict(text, full, inputs, 0.5, stage1=stage1)
    assert not res.escalated.any() and res.escalated_share == 0.0
    assert cascade_predict(text, full, inputs.take(np.zeros(0, int)), 0.5).escalated_share == 0.0
