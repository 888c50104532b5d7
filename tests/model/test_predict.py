"""model.predict: batched prediction, whole-path scores and the predictions made from them."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from hiercat.model import HierarchicalClassifier, ModalityInputs, PathScores, predict, predict_path_scores
from hiercat.model.predict import check_inputs, default_device, predictions_from_scores
from hiercat.taxonomy import Taxonomy

from .conftest import RAGGED, _random_bags


@pytest.fixture(scope="module")
def model_and_inputs():
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    inputs = ModalityInputs({"x": rng.normal(size=(60, 8)).astype(np.float32)}, {"lex": _random_bags(rng, 60)})
    return HierarchicalClassifier(inputs.specs(), Taxonomy.from_paths(RAGGED), fusion="late").eval(), inputs


def test_predictions_do_not_depend_on_the_batch_size(model_and_inputs) -> None:
    model, inputs = model_and_inputs
    a, b = predict(model, inputs, batch_size=1024), predict(model, inputs, batch_size=7)
    assert a.paths == b.paths and len(a) == 60
    np.testing.assert_allclose(a.level_conf, b.level_conf, atol=1e-6)
    assert a.indices.shape == (60, 3) and [model.taxonomy.decode(r) for r in a.indices.tolist()] == a.paths


def test_no_rows_give_empty_arrays_of_the_model_depth(model_and_inputs) -> None:
    model, inputs = model_and_inputs
    empty = predict(model, inputs.take(np.zeros(0, int)))
    assert empty.paths == [] and empty.level_conf.shape == (0, 3) and empty.path_conf.shape == (0,)
    assert empty.indices.shape == (0, 3)
    scores = predict_path_scores(model, inputs.take(np.zeros(0, int)))
    assert len(scores) == 0 and scores.log_probs.shape == (0, 4) and len(scores.paths) == 4


def test_path_scores_are_a_distribution_over_valid_paths_and_agree_with_path_decoding(model_and_inputs) -> None:
    model, inputs = model_and_inputs
    scores = predict_path_scores(model, inputs, batch_size=16)
    assert sorted(scores.paths) == model.taxonomy.valid_label_paths()
    np.testing.assert_allclose(np.exp(scores.log_probs).sum(axis=1), 1.0, atol=1e-5)
    best, prob = scores.best()
    decoded = predict(model, inputs, decode="path")
    assert best == decoded.paths
    np.testing.assert_allclose(prob, decoded.path_conf, rtol=1e-4)
    again = predictions_from_scores(scores, model.taxonomy)
    assert again.paths == decoded.paths
    np.testing.assert_allclose(again.level_conf, decoded.level_conf, atol=1e-4)
    np.testing.assert_array_equal(again.indices, decoded.indices)


def test_predictions_from_scores_hand_computed() -> None:
    tax = Taxonomy.from_paths(RAGGED)
    paths = [("Shoes",), ("Clothing", "Pants"), ("Clothing", "Tops", "Shirts"), ("Clothing", "Tops", "Tees")]
    probs = np.array([[0.1, 0.2, 0.4, 0.3], [0.7, 0.1, 0.1, 0.1]])
    pred = predictions_from_scores(PathScores(paths, np.log(probs)), tax)
    assert pred.paths == [("Clothing", "Tops", "Shirts"), ("Shoes",)]
    # Clothing 0.9; Tops given Clothing 0.7 / 0.9; Shirts given Tops 0.4 / 0.7. Shoes 0.7, then STOP (1).
    np.testing.assert_allclose(pred.level_conf, [[0.9, 0.7 / 0.9, 0.4 / 0.7], [0.7, 1.0, 1.0]], rtol=1e-5)
    np.testing.assert_allclose(pred.path_conf, [0.4, 0.7], rtol=1e-5)
    np.testing.assert_array_equal(pred.indices, [tax.encode(p) for p in pred.paths])


def test_check_inputs_names_what_is_missing_or_different(model_and_inputs) -> None:
    model, inputs = model_and_inputs
    extra = ModalityInputs({**inputs.dense, "y": np.zeros((60, 2), np.float32)}, inputs.sparse)
    assert check_inputs(model, extra).names == ["x", "lex"]  # the extra modality is left out
    with pytest.raises(ValueError, match=r"model expects lex \(sparse, 262144\) but the inputs lack it"):
        check_inputs(model, ModalityInputs({"x": inputs.dense["x"]}))
    wrong = ModalityInputs({"x": np.zeros((60, 9), np.float32)}, inputs.sparse)
    with pytest.raises(ValueError, match=r"model expects x \(dense, 8\) but the inputs have \(dense, 9\)"):
        predict(model, wrong)


def test_default_device_honours_a_given_device() -> None:
    assert default_device("cpu") == torch.device("cpu")
    assert default_device().type == ("cuda" if torch.cuda.is_available() else "cpu")
