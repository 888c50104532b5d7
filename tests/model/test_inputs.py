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
