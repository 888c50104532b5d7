"""model.inputs: CSR arrays, modality inputs and their batches."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from hiercat.model import (
    CSRArrays,
    ModalityInputs,
)
from hiercat.store.base import SparseVector


def test_csr_take_and_embedding_bag_batch_match_dense_math():
    rng = np.random.default_rng(0)
    m = sp.random(50, 1000, density=0.02, format="csr", random_state=0, dtype=np.float32)
    csr = CSRArrays.from_scipy(m, dim=1000)
    rows = np.array([3, 0, 49, 3, 17])
    taken = csr.take(rows)
    assert np.allclose(sp.csr_matrix((taken.values, taken.indices, taken.indptr), shape=(5, 1000)).toarray(),
                       m[rows].toarray())
    vectors = csr.to_vectors()
    assert isinstance(vectors[0], SparseVector)
    again = CSRArrays.from_vectors(vectors, dim=1000)
    assert np.array_equal(again.indptr, csr.indptr) and np.array_equal(again.indices, csr.indices)

    inputs = ModalityInputs({"d": rng.normal(size=(50, 4)).astype(np.float32)}, {"lex": vectors})
    batch = inputs.to_tensors().batch(torch.as_tensor(rows))
    bag = torch.nn.EmbeddingBag(1000, 8, mode="sum")
    got = bag(batch["lex"].indices, batch["lex"].offsets, per_sample_weights=batch["lex"].weights)
    want = torch.from_numpy(m[rows].toarray()) @ bag.weight
    assert torch.allclose(got, want, atol=1e-5)
    assert torch.equal(batch["d"], torch.from_numpy(inputs.dense["d"][rows]))


def test_inputs_refuse_out_of_range_indices_and_unknown_modalities():
    with pytest.raises(ValueError, match="sparse indices"):
        CSRArrays(np.array([0, 1]), np.array([2**18]), np.array([1.0]))
    inputs = ModalityInputs({"a": np.zeros((2, 3))})
    with pytest.raises(KeyError, match="no modality b"):
        inputs.select(["b"])


def test_modality_spec_round_trips_through_json_form():
    from hiercat.model import ModalitySpec

    spec = ModalitySpec("lex_title", "sparse", 2**18)
    assert spec.to_dict() == {"name": "lex_title", "kind": "sparse", "dim": 262144}
    assert ModalitySpec.from_dict({"name": "x", "kind": "dense", "dim": "8"}) == ModalitySpec("x", "dense", 8)


def test_inputs_refuse_clashing_names_and_unequal_rows():
    with pytest.raises(ValueError, match=r"modality names used for both dense and sparse inputs: \['a'\]"):
        ModalityInputs({"a": np.zeros((2, 3))}, {"a": CSRArrays(np.array([0, 0, 0]), np.zeros(0), np.zeros(0))})
    with pytest.raises(ValueError, match="modalities have different numbers of rows: {'a': 2, 'b': 3}"):
        ModalityInputs({"a": np.zeros((2, 3)), "b": np.zeros((3, 1))})


def test_inputs_take_select_and_batch_rows_with_empty_bags():
    # Row 1 has no n-grams (an empty title): its bag is empty but the row still exists in the batch.
    csr = CSRArrays(np.array([0, 2, 2, 3]), np.array([5, 9, 7]), np.array([1.0, 2.0, 3.0]), dim=10)
    inputs = ModalityInputs({"d": np.arange(6, dtype=np.float64).reshape(3, 2)}, {"lex": csr})
    assert len(inputs) == 3 and inputs.names == ["d", "lex"] and inputs.dense["d"].dtype == np.float32
    assert inputs.select(None) is inputs and inputs.select(["lex"]).names == ["lex"]
    assert [(s.name, s.kind, s.dim) for s in inputs.specs()] == [("d", "dense", 2), ("lex", "sparse", 10)]
    sub = inputs.take([2, 1])
    assert sub.dense["d"].tolist() == [[4, 5], [2, 3]] and sub.sparse["lex"].indptr.tolist() == [0, 1, 1]
    batch = inputs.to_tensors().batch(torch.tensor([1, 0, 2]))
    bag = batch["lex"]
    assert bag.indices.tolist() == [5, 9, 7] and bag.offsets.tolist() == [0, 0, 2]
    assert bag.weights.tolist() == [1.0, 2.0, 3.0]
    assert len(ModalityInputs()) == 0
