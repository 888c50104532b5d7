"""model.hierarchy: the masked hierarchical classifier."""

from __future__ import annotations

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
