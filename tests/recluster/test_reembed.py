"""recluster.reembed: a category's own image encoder, then a recluster re-embedded with it."""

from __future__ import annotations

from pathlib import Path

from hiercat.recluster import (
    recluster,
)

from .conftest import filled_store


def test_category_image_encoder_then_recluster_with_it(demo_dir: Path, tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from hiercat.cli import app
    from hiercat.encoders.simclr import load_weights

    filled_store(demo_dir, tmp_path).close()
    weights = tmp_path / "shoes.safetensors"
    res = CliRunner().invoke(app, ["train-image-encoder", "--category", "Shoes", "--store", str(tmp_path / "store"),
                                   "--out", str(weights), "--epochs", "3", "--batch-size", "16", "--input-size", "32",
                                   "--max-minutes", "0.0001"])
    assert res.exit_code == 0, res.output
    assert "300 images of 300 products under Apparel & Accessories > Shoes" in res.output
    _, meta = load_weights(weights)
    # Fine-tuned from the shipped encoder, stopped by the time budget after its first step.
    assert meta["init_weights"] == "simclr_resnet18.safetensors" and meta["step"] == 1 and "time budget" in meta["stopped"]
    from hiercat.store import open_store

    with open_store(tmp_path / "store") as store:
        report = recluster(store, "Shoes", tmp_path / "out", vectors="fused", n_clusters=(3,), levels=1,
                           reference="native_category", image_weights=weights, make_scatter=False, montage_size=0)
    assert any("re-embedded with shoes.safetensors (300 of 300 images)" in n for n in report.notes)
    assert report.params["image_weights"] == str(weights) and report.levels[0].n_clusters == 3
    assert report.params["weights"]["words"] == 1.0 and report.params["weights"]["terms"] == 0.0
    res = CliRunner().invoke(app, ["train-image-encoder", "--category", "Boots", "--store", str(tmp_path / "store")])
    assert res.exit_code != 0 and "no category 'Boots'" in res.output
