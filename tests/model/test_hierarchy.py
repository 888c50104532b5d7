"""model.hierarchy: the masked hierarchical classifier."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from hiercat.metrics import path_validity
from hiercat.model import (
    HierarchicalClassifier,
    ModalityInputs,
    greedy_decode,
    path_decode,
    path_index_matrix,
    predict,
)
from hiercat.taxonomy import Taxonomy

from .conftest import RAGGED, _masks, _random_bags


@pytest.mark.parametrize("parent_input", ["soft", "teacher", "none"])
def test_untrained_model_only_predicts_valid_paths_including_early_stops(parent_input):
    tax = Taxonomy.from_paths(RAGGED)
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    inputs = ModalityInputs({"x": rng.normal(size=(400, 8)).astype(np.float32)}, {"lex": _random_bags(rng, 400)})
    model = HierarchicalClassifier(inputs.specs(), tax, fusion="late", parent_input=parent_input)
    for decode in ("greedy", "path"):
        preds = predict(model, inputs, decode=decode, batch_size=128)
        assert path_validity(preds.paths, tax) == 1.0
        assert np.all((preds.level_conf > 0) & (preds.level_conf <= 1 + 1e-6))
    # Random logits of any scale decode to valid paths of every depth.
    gen = torch.Generator().manual_seed(1)
    logits = [torch.randn(2000, m.shape[1], generator=gen) * 4 for m in _masks(tax)]
    for out in (greedy_decode(logits, _masks(tax)),
                path_decode(logits, _masks(tax), torch.from_numpy(path_index_matrix(tax)))):
        paths = [tax.decode(r) for r in out.indices.tolist()]
        assert path_validity(paths, tax) == 1.0
        assert {len(p) for p in paths} == {1, 2, 3}


def test_config_rebuilds_the_same_module_and_refuses_bad_settings():
    tax = Taxonomy.from_paths(RAGGED)
    rng = np.random.default_rng(0)
    inputs = ModalityInputs({"x": rng.normal(size=(16, 8)).astype(np.float32)}, {"lex": _random_bags(rng, 16)})
    torch.manual_seed(0)
    model = HierarchicalClassifier(inputs.specs(), tax, fusion="attention", level_dim=32, shared_dim=64).eval()
    again = HierarchicalClassifier.from_config(json.loads(json.dumps(model.config()))).eval()
    again.load_state_dict(model.state_dict())
    batch = inputs.to_tensors().batch(torch.arange(16))
    with torch.no_grad():
        assert all(torch.equal(a, b) for a, b in zip(model(batch), again(batch)))
    assert model.levels == 3 and [m.shape for m in model.masks] == [(1, 3), (3, 3), (3, 3)]
    with pytest.raises(ValueError, match="parent_input must be one of"):
        HierarchicalClassifier(inputs.specs(), tax, parent_input="guess")
    with pytest.raises(ValueError, match="the taxonomy has no categories"):
        HierarchicalClassifier(inputs.specs(), Taxonomy())
    with pytest.raises(ValueError, match="unknown decode 'beam'"):
        model.decode(model(batch), "beam")


def test_loss_is_the_sum_of_per_level_cross_entropies():
    tax = Taxonomy.from_paths(RAGGED)
    model = HierarchicalClassifier(ModalityInputs({"x": np.zeros((2, 3), np.float32)}).specs(), tax)
    logits = [torch.tensor([[0.0, 2.0, 1.0], [1.0, 0.0, 0.0]]) for _ in range(3)]
    targets = torch.tensor([tax.encode("Clothing > Tops > Tees"), tax.encode("Shoes")])
    want = sum(torch.nn.functional.cross_entropy(z, targets[:, k]) for k, z in enumerate(logits))
    assert torch.allclose(model.loss(logits, targets), want)
    sure = [torch.nn.functional.one_hot(targets[:, k], 3).float() * 50 for k in range(3)]
    assert float(model.loss(sure, targets)) < 1e-6
