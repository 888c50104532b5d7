"""encoders.paper: the paper's RoBERTa and ViT+PCA through tiny random models built here."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hiercat.encoders import ModelLoadError, load_preset, preset_from_meta

from ..conftest import DEMO
from .conftest import _unit_rows


def test_roberta_mean_pooling_ignores_padding(tiny_paper) -> None:
    from hiercat.encoders.paper import RobertaTextEncoder

    enc = RobertaTextEncoder(str(tiny_paper[0]))
    assert enc.name == "roberta" and enc.dim == 32
    batch = enc.encode(["Nike shoes", "Fabindia Women Blue Cotton Kurta with long sleeves", ""])
    _unit_rows(batch[:2])
    assert not batch[2].any()
    # Alone (no padding) and padded inside a batch must give the same mean: the mask weights the pool.
    np.testing.assert_allclose(enc.encode(["Nike shoes"])[0], batch[0], atol=1e-5)


def test_vit_pca_fits_once_saves_and_reloads(tiny_paper, images, tmp_path: Path) -> None:
    from hiercat.encoders.paper import VitImageEncoder

    pca = tmp_path / "store" / "vit_pca.safetensors"
    enc = VitImageEncoder(str(tiny_paper[1]), pca_path=pca)
    with pytest.raises(ModelLoadError, match="vit_pca_fit"):
        _ = enc.dim
    first = enc.encode(images)  # the first data seen fits the PCA
    assert pca.is_file() and enc.fitted and first.shape == (8, enc.dim) and 1 <= enc.dim <= 32
    _unit_rows(first)
    assert enc.pca.explained_variance_ratio.sum() >= 0.9 - 1e-6
    reloaded = VitImageEncoder(str(tiny_paper[1]), pca_path=pca)
    assert reloaded.fitted and reloaded.dim == enc.dim
    np.testing.assert_allclose(reloaded.encode(images[:3]), first[:3], atol=1e-4)
    # An explicit fit replaces it.
    other = VitImageEncoder(str(tiny_paper[1]), pca_path=tmp_path / "explicit.safetensors")
    assert other.fit_pca(images) == other.dim and (tmp_path / "explicit.safetensors").is_file()


def test_paper_preset(tiny_paper, images, tmp_path: Path) -> None:
    roberta, vit = tiny_paper
    p = load_preset("paper", roberta=str(roberta), vit=str(vit), store_path=str(tmp_path / "store"),
                    vit_pca_fit=sorted(str(p) for p in (DEMO / "myntra" / "images").glob("*.jpg"))[:16])
    assert (tmp_path / "store" / "vit_pca.safetensors").is_file()
    specs = p.vector_specs()
    assert list(specs) == ["roberta_title", "roberta_brand", "roberta_words", "roberta_description", "vit_image"]
    assert specs["roberta_title"] == 32
    dense, _ = p.encode(["Nike shoes"], ["Nike"], [images[0]])
    assert dense["vit_image"].shape == (1, specs["vit_image"])
    assert preset_from_meta({"name": "paper", "vectors": specs, "options": p.options}).vector_specs() == specs


def test_pca_reducer_keeps_the_asked_variance_and_round_trips(tmp_path: Path) -> None:
    from hiercat.encoders.paper import PCAReducer

    rng = np.random.default_rng(0)
    # Three strong directions in 20 dimensions plus a little noise: 90 % of the variance needs exactly 3.
    x = rng.normal(size=(200, 3)) @ (rng.normal(size=(3, 20)) * [[5.0], [4.0], [3.0]]) + 0.01 * rng.normal(size=(200, 20))
    pca = PCAReducer.fit(x, variance=0.9, meta={"model": "tiny"})
    assert pca.dim in (2, 3) and pca.explained_variance_ratio.sum() >= 0.9 - 1e-6
    assert pca.meta == {"model": "tiny", "variance_target": 0.9, "n_samples": 200}
    z = pca.transform(x)
    assert z.shape == (200, pca.dim) and abs(float(z.mean())) < 1e-3
    pca.save(tmp_path / "p" / "pca.safetensors")
    again = PCAReducer.load(tmp_path / "p" / "pca.safetensors")
    assert again.meta == pca.meta and again.components.flags["C_CONTIGUOUS"]
    np.testing.assert_allclose(again.transform(x), z, atol=1e-4)
    with pytest.raises(ValueError, match="PCA needs at least 2 samples, got 1"):
        PCAReducer.fit(x[:1])
