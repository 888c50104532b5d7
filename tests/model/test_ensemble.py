"""model.ensemble: averaged members, taxonomy checks, round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hiercat.metrics import evaluate_paths
from hiercat.model import (
    EnsembleClassifier,
    HierarchicalClassifier,
    ModalityInputs,
    load_model,
    predict,
    save_model,
)
from hiercat.taxonomy import Taxonomy

from .conftest import RAGGED


def test_ensemble_averages_member_probabilities_and_round_trips(trained, tmp_path):
    model, _, _, test_inputs, test_paths, tax = trained
    torch.manual_seed(1)
    other = HierarchicalClassifier(model.specs, model.taxonomy, fusion="early", token_dropout=0.1).eval()
    ens = EnsembleClassifier([model, other]).eval()
    batch = test_inputs.select([s.name for s in model.specs]).to_tensors("cpu").batch(torch.arange(50))
    with torch.no_grad():
        mean = [(torch.softmax(a, 1) + torch.softmax(b, 1)) / 2 for a, b in zip(model(batch), other(batch))]
        assert all(torch.allclose(torch.exp(z), m, atol=1e-6) for z, m in zip(ens(batch), mean))
    preds = predict(ens, test_inputs, decode="path")
    assert evaluate_paths(test_paths, preds.paths, tax)["validity"] == 1.0
    save_model(ens, tmp_path / "ens")
    sidecar = json.loads((tmp_path / "ens" / "model.json").read_text())
    assert sidecar["version"] == 2 and sidecar["fusion"] == "late+early"
    assert [(m["fusion"], m["hparams"]["token_dropout"]) for m in sidecar["members"]] == [("late", 0.4), ("early", 0.1)]
    loaded, _ = load_model(tmp_path / "ens", expected_vectors={"rand_dense": 16}, device="cpu")
    assert isinstance(loaded, EnsembleClassifier)
    again = predict(loaded, test_inputs, decode="path")
    assert again.paths == preds.paths and np.allclose(again.path_conf, preds.path_conf, atol=1e-6)


def test_ensemble_refuses_members_of_another_taxonomy():
    inputs = ModalityInputs({"a": np.zeros((4, 3), np.float32)})
    one = HierarchicalClassifier(inputs.specs(), Taxonomy.from_paths(RAGGED))
    two = HierarchicalClassifier(inputs.specs(), Taxonomy.from_paths(RAGGED[1:]))
    with pytest.raises(ValueError, match="ensemble member 1 has another taxonomy than member 0"):
        EnsembleClassifier([one, two])
    with pytest.raises(ValueError, match="at least 2 members"):
        EnsembleClassifier([one])


def test_ensemble_refuses_members_with_other_inputs_and_exposes_the_shared_ones():
    tax = Taxonomy.from_paths(RAGGED)
    a = HierarchicalClassifier(ModalityInputs({"a": np.zeros((2, 3), np.float32)}).specs(), tax)
    b = HierarchicalClassifier(ModalityInputs({"b": np.zeros((2, 3), np.float32)}).specs(), tax)
    with pytest.raises(ValueError, match=r"ensemble member 1 uses \['b'\] but member 0 uses \['a'\]"):
        EnsembleClassifier([a, b])
    ens = EnsembleClassifier([a, HierarchicalClassifier(a.specs, tax, fusion="early")])
    assert ens.specs == a.specs and ens.taxonomy is a.taxonomy and ens.levels == 3
    assert [m["fusion"] for m in ens.config()["members"]] == ["late", "early"]
