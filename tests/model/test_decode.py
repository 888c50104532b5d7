"""model.decode: greedy and path decoding under the taxonomy's masks."""

from __future__ import annotations

import pytest
import torch

from hiercat.model import (
    greedy_decode,
    path_decode,
    path_index_matrix,
)
from hiercat.taxonomy import Taxonomy

from .conftest import RAGGED, _masks


def test_greedy_masking_forces_stop_after_a_leaf():
    tax = Taxonomy.from_paths(RAGGED)
    # Level 1 favours Shoes; levels 2 and 3 favour Clothing's children, which masking must refuse.
    logits = [torch.log(torch.tensor([[1e-6, 0.3, 0.7]])),
              torch.log(torch.tensor([[1e-6, 0.1, 0.9]])),
              torch.log(torch.tensor([[1e-6, 0.6, 0.4]]))]
    out = greedy_decode(logits, _masks(tax))
    assert tax.decode(out.indices[0].tolist()) == ("Shoes",)
    assert torch.allclose(out.level_conf[0], torch.tensor([0.7, 1.0, 1.0]), atol=1e-5)


def test_path_decoding_beats_greedy_on_a_hand_computed_case():
    tax = Taxonomy.from_paths(RAGGED)
    # Classes: L1 [STOP, Clothing, Shoes]; L2 [STOP, Clothing>Pants, Clothing>Tops]; L3 [STOP, Shirts, Tees].
    logits = [torch.log(torch.tensor([[1e-9, 0.6, 0.4]])),
              torch.log(torch.tensor([[0.5, 0.45, 0.55]])),
              torch.log(torch.tensor([[0.5, 0.6, 0.4]]))]
    greedy = greedy_decode(logits, _masks(tax))
    # Greedy: Clothing (.6) > Tops (.55) > Shirts (.6) = .198. Best path: Shoes = .4 * 1 * 1 (vs Pants .27).
    assert tax.decode(greedy.indices[0].tolist()) == ("Clothing", "Tops", "Shirts")
    assert float(greedy.path_conf[0]) == pytest.approx(0.6 * 0.55 * 0.6, rel=1e-4)
    best = path_decode(logits, _masks(tax), torch.from_numpy(path_index_matrix(tax)))
    assert tax.decode(best.indices[0].tolist()) == ("Shoes",)
    assert float(best.path_conf[0]) == pytest.approx(0.4, rel=1e-4)
    assert torch.allclose(best.level_conf[0], torch.tensor([0.4, 1.0, 1.0]), atol=1e-5)


def test_path_decoding_matches_brute_force_over_paths():
    tax = Taxonomy.from_paths(RAGGED + [("Clothing",), ("Bags", "Totes")])  # Clothing is also a label itself
    masks = [m.numpy() for m in _masks(tax)]
    gen = torch.Generator().manual_seed(0)
    logits = [torch.randn(64, m.shape[1], generator=gen) * 3 for m in masks]
    out = path_decode(logits, _masks(tax), torch.from_numpy(path_index_matrix(tax)))
    for b in range(64):
        scores = {}
        for p in tax.valid_label_paths():
            idx, parent, s = tax.encode(p), 0, 1.0
            for k, c in enumerate(idx):
                probs = torch.softmax(logits[k][b].double(), 0).numpy()
                s *= probs[c] / probs[masks[k][parent]].sum()
                parent = c
            scores[p] = s
        best = max(scores, key=scores.get)
        assert tax.decode(out.indices[b].tolist()) == best
        assert float(out.path_conf[b]) == pytest.approx(scores[best], rel=1e-4)


def test_level_masks_and_the_path_index_of_a_ragged_tree():
    from hiercat.model.decode import level_masks

    tax = Taxonomy.from_paths(RAGGED)
    assert [m.tolist() for m in level_masks(tax)] == [tax.child_mask(k).tolist() for k in (1, 2, 3)]
    # Valid paths, sorted: Clothing > Pants, Clothing > Tops > Shirts, Clothing > Tops > Tees, Shoes.
    assert path_index_matrix(tax).tolist() == [[1, 1, 0], [1, 2, 1], [1, 2, 2], [2, 0, 0]]


def test_path_log_probs_are_a_distribution_over_valid_paths():
    from hiercat.model.decode import path_log_probs

    tax = Taxonomy.from_paths(RAGGED)
    gen = torch.Generator().manual_seed(2)
    logits = [torch.randn(16, m.shape[1], generator=gen) * 5 for m in _masks(tax)]
    lp = path_log_probs(logits, _masks(tax), torch.from_numpy(path_index_matrix(tax)))
    assert lp.shape == (16, 4) and lp.dtype == torch.float64
    assert torch.allclose(torch.logsumexp(lp, dim=1), torch.zeros(16, dtype=torch.float64), atol=1e-9)
    best = path_decode(logits, _masks(tax), torch.from_numpy(path_index_matrix(tax)))
    assert torch.allclose(lp.max(dim=1).values.exp().float(), best.path_conf, atol=1e-5)
