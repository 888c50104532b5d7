"""model.io: save/load round trips, the JSON sidecar, vector mismatches."""

from __future__ import annotations

import json

import numpy as np
import pytest

from hiercat.model import (
    HierarchicalClassifier,
    ModalityInputs,
    ModelMismatchError,
    load_model,
    predict,
    save_model,
)
from hiercat.taxonomy import Taxonomy

from .conftest import RAGGED


def test_save_load_round_trip_gives_identical_predictions(trained, tmp_path):
    model, history, _, test_inputs, _, _ = trained
    save_model(model, tmp_path / "clf", {"preset": "test", "history": history.to_dict()})
    assert sorted(p.name for p in (tmp_path / "clf").iterdir()) == ["model.json", "model.safetensors"]
    sidecar = json.loads((tmp_path / "clf" / "model.json").read_text())
    assert sidecar["fusion"] == "late" and sidecar["preset"] == "test"
    assert {m["name"]: m["dim"] for m in sidecar["modalities"]} == {"rand_dense": 16, "lex_title": 2**18}
    loaded, meta = load_model(tmp_path / "clf", expected_vectors={"rand_dense": 16}, device="cpu")
    assert meta["taxonomy"] == model.taxonomy.to_dict()
    for decode in ("greedy", "path"):
        a, b = predict(model, test_inputs, decode=decode), predict(loaded, test_inputs, decode=decode)
        assert a.paths == b.paths
        assert np.array_equal(a.indices, b.indices)
        assert np.allclose(a.level_conf, b.level_conf, atol=1e-6)


def test_load_refuses_vector_mismatch_by_name(tmp_path):
    tax = Taxonomy.from_paths(RAGGED)
    inputs = ModalityInputs({"minilm_title": np.zeros((4, 384), np.float32)})
    save_model(HierarchicalClassifier(inputs.specs(), tax), tmp_path / "m.safetensors")
    with pytest.raises(ModelMismatchError, match=r"model expects minilm_title \(384\) but the store has clip_title \(512\)"):
        load_model(tmp_path / "m.safetensors", expected_vectors={"clip_title": 512})
    with pytest.raises(ModelMismatchError, match=r"minilm_title \(384\) but the store has minilm_title \(768\)"):
        load_model(tmp_path / "m.safetensors", expected_vectors={"minilm_title": 768})
    model, _ = load_model(tmp_path / "m.json", expected_vectors={"minilm_title": 384, "simclr_image": 512})
    with pytest.raises(ValueError, match="model expects minilm_title"):
        predict(model, ModalityInputs({"clip_title": np.zeros((2, 512), np.float32)}))


def test_sidecar_is_json_and_weights_are_not_pickled(tmp_path):
    tax = Taxonomy.from_paths(RAGGED)
    inputs = ModalityInputs({"a": np.zeros((4, 3), np.float32)})
    file = save_model(HierarchicalClassifier(inputs.specs(), tax, fusion="attention"), tmp_path)
    assert file.read_bytes()[8:9] == b"{"  # safetensors: 8-byte header length, then a JSON header
    with pytest.raises(ValueError, match="written by save_model"):
        save_model(HierarchicalClassifier(inputs.specs(), tax), tmp_path / "x", {"taxonomy": {}})
