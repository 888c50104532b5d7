"""model.fusion: early, late and attention fusion of modality features."""

from __future__ import annotations

import pytest
import torch

from hiercat.model import (
    build_fusion,
)


@pytest.mark.parametrize("kind", ["early", "late", "attention"])
def test_fusion_shapes_and_unimodal_subsets(kind):
    dims = {"minilm_title": 12, "minilm_brand": 6, "simclr_image": 10}
    feats = {n: torch.randn(5, d) for n, d in dims.items()}
    fusion = build_fusion(kind, dims)
    assert fusion(feats).shape == (5, fusion.out_dim)
    only_image = build_fusion(kind, {"simclr_image": 10})
    assert only_image({"simclr_image": feats["simclr_image"]}).shape == (5, only_image.out_dim)
    if kind == "attention":
        assert fusion.pairs == [("minilm_title", "simclr_image"), ("minilm_brand", "simclr_image")]


def test_default_attention_pairs_and_unknown_names():
    from hiercat.model.fusion import default_pairs

    assert default_pairs(["minilm_title", "simclr_image", "lex"], images=["simclr_image"]) == [("minilm_title", "simclr_image"),
                                                                    ("lex", "simclr_image")]
    # Without an image (or only images), every pair in order.
    assert default_pairs(["a", "b", "c"]) == [("a", "b"), ("a", "c"), ("b", "c")]
    with pytest.raises(KeyError, match="attention pairs name modalities not in the inputs: nope"):
        build_fusion("attention", {"a": 3, "b": 3}, pairs=[("a", "nope")])
    with pytest.raises(ValueError, match="unknown fusion 'sum'; choose one of early, late, attention"):
        build_fusion("sum", {"a": 3})


def test_drop_rows_zeroes_only_the_dropped_rows_bags():
    from hiercat.model.fusion import SparseEmbedding, drop_rows
    from hiercat.model.inputs import SparseBag

    bag = SparseBag(torch.tensor([1, 2, 3, 4]), torch.tensor([0, 2, 2]), torch.tensor([1.0, 2.0, 3.0, 4.0]))
    dropped = drop_rows(bag, torch.tensor([True, False, False]))
    assert dropped.weights.tolist() == [1.0, 2.0, 0.0, 0.0] and torch.equal(dropped.indices, bag.indices)
    emb = SparseEmbedding(10, 4).eval()
    out = emb(dropped, with_bias=False)
    assert torch.allclose(out[0], emb.bag.weight[1] + 2 * emb.bag.weight[2]) and not out[1:].any()


def test_token_dropout_acts_only_while_training():
    from hiercat.model.fusion import SparseEmbedding
    from hiercat.model.inputs import SparseBag

    torch.manual_seed(0)
    emb = SparseEmbedding(1000, 8, token_dropout=0.5)
    bag = SparseBag(torch.arange(200), torch.tensor([0]), torch.ones(200))
    emb.eval()
    assert torch.equal(emb(bag), emb(bag))
    emb.train()
    assert not torch.allclose(emb(bag), emb.eval()(bag))
