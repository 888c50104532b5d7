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
