"""hiercat.evaluate and `hiercat evaluate --leave-one-shop-out`: every shop scored as one the model never saw."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from hiercat.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def two_shops(demo_store: Path, shared_data: Path, tmp_path_factory) -> Path:
    """The demo store (1,000 Myntra products) plus 400 real H&M products with their Google mapping."""
    root = tmp_path_factory.mktemp("two")
    store = root / "store"
    shutil.copytree(demo_store, store, ignore=shutil.ignore_patterns("hiercat.lock"))
    hm = pd.read_csv(shared_data / "hm" / "products.csv", dtype=str, keep_default_na=False).sample(400, random_state=0)
    hm["image"] = [str((shared_data / "hm" / p).resolve()) for p in hm["image"]]
    hm.to_csv(root / "hm.csv", index=False)
    res = runner.invoke(app, ["ingest", str(root / "hm.csv"), "--mapping", str(shared_data / "mappings" / "hm_to_gpt.csv"),
                              "--store", str(store)])
    assert res.exit_code == 0, res.output
    return store


def test_leave_one_shop_out_report(two_shops: Path, tmp_path: Path) -> None:
    out = tmp_path / "report"
    res = runner.invoke(app, ["evaluate", "--leave-one-shop-out", "--epochs", "8", "--store", str(two_shops),
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    md = (out / "report.md").read_text(encoding="utf-8")
    for row in ("hm → myntra, per product", "hm → myntra, breadcrumb pooling", "myntra → hm, per product",
                "myntra → hm, breadcrumb pooling"):
        assert row in md
    assert "mapping_item_accuracy" in md and (out / "report.html").exists()
    from hiercat.store import EdgeStore

    proposal = pd.read_csv(out / "proposed-mapping-hm.csv", keep_default_na=False)
    with EdgeStore(two_shops) as vs:
        assert proposal["n_items"].sum() == vs.count({"platform": "hm"})  # every stored H&M product voted once
    said = " ".join(res.output.split())
    # 1,000 demo products teach enough for most of 400 H&M products (per product and pooled).
    hf1 = [float(x) for x in __import__("re").findall(r"myntra → hm, [a-z ]+ hF1 ([\d.]+)", said)]
    assert len(hf1) == 2 and min(hf1) > 60 and hf1[1] >= hf1[0] - 1


def test_leave_one_shop_out_needs_two_shops(demo_store: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(demo_store, store, ignore=shutil.ignore_patterns("hiercat.lock"))
    res = runner.invoke(app, ["evaluate", "--leave-one-shop-out", "--store", str(store), "--out", str(tmp_path / "r")])
    assert res.exit_code == 2  # a user error (hiercat.cli.errors)
    said = " ".join(res.output.split())  # rich wraps long lines at the runner's 80 columns
    assert "leave-one-shop-out needs products of two platforms or more; the store has ['myntra']" in said


# ---- the pure functions, on a small store of real demo rows and tiny encoders ----------------------

@pytest.fixture(scope="module")
def small(tmp_path_factory):
    """40 demo rows (the first 10 relabelled as shop 'other') with tiny text, image and lexical vectors."""
    from hiercat.catalog import CatalogOptions
    from hiercat.dataset import load_products
    from hiercat.encoders.lexical import LexicalEncoder
    from hiercat.encoders.presets import Preset
    from hiercat.ingest import ingest
    from hiercat.store import EdgeStore

    from .conftest import DEMO
    from .recluster.conftest import TinyImage, TinyText

    root = tmp_path_factory.mktemp("evaluate")
    df = pd.read_csv(DEMO / "myntra" / "products.csv", dtype=str, keep_default_na=False).head(40)
    df["image"] = [str((DEMO / "myntra" / p).resolve()) for p in df["image"]]
    df.loc[:9, "platform"] = "other"
    df.to_csv(root / "products.csv", index=False)
    with EdgeStore(root / "store") as store:
        ingest(root / "products.csv", store, Preset("tiny", TinyText(), TinyImage(), LexicalEncoder()), CatalogOptions())
        return load_products(store), df


def test_grid_rows_are_unimodal_rows_then_every_fusion(small) -> None:
    from hiercat.evaluate import grid_rows
    from hiercat.model import inputs_from_stored

    products, _ = small
    rows = grid_rows(inputs_from_stored(products))
    assert [(name, fusion) for name, _, fusion in rows] == [
        ("text only", "early"), ("lexical only", "early"), ("image only", "early"), ("text + lexical (late)", "late"),
        ("all, early fusion", "early"), ("all, late fusion", "late"), ("all, attention fusion", "attention")]
    mods = {name: m for name, m, _ in rows}
    assert sorted(mods["text only"]) == ["tiny_brand", "tiny_title"] and mods["image only"] == ["tiny_image"]
    assert sorted(mods["lexical only"]) == ["lex_description", "lex_title"]
    assert sorted(mods["all, late fusion"]) == sorted([*products.dense, *products.sparse])


def test_cross_platform_rows_and_label_coverage(small) -> None:
    from hiercat.evaluate import cross_platform

    products, df = small
    rows = cross_platform(products, "myntra", "other", fusions=("early",), epochs=1, modalities=["lex_title"])
    [row] = rows
    assert row.name == "myntra → other, early fusion" and row.modalities == ["lex_title"] and row.fusion == "early"
    seen = set(df["category"][10:])
    assert row.extra["label_coverage"] == pytest.approx(sum(c in seen for c in df["category"][:10]) / 10)
    assert row.metrics["n"] == 10 and 0.0 <= row.metrics["hF1"] <= 1.0
    with pytest.raises(ValueError, match="need products of both 'myntra' and 'nowhere'"):
        cross_platform(products, "myntra", "nowhere")


def test_leave_one_shop_out_refuses_unknown_platforms(small) -> None:
    from hiercat.evaluate import leave_one_shop_out

    products, _ = small
    with pytest.raises(ValueError, match="no products of platform\\(s\\) nowhere; the store has myntra, other"):
        leave_one_shop_out(products, platforms=["nowhere"])
    one = products.where(products.payload["platform"] == "myntra")
    with pytest.raises(ValueError, match=r"two platforms or more; the store has \['myntra'\]"):
        leave_one_shop_out(one)


def test_cascade_rows_use_thresholds_chosen_on_the_validation_part(small) -> None:
    import numpy as np
    import torch

    from hiercat.cascade import choose_threshold
    from hiercat.evaluate import cascade_rows
    from hiercat.experiment import Split, label_paths
    from hiercat.model import HierarchicalClassifier, inputs_from_stored, predict
    from hiercat.taxonomy import Taxonomy

    products, _ = small
    paths = label_paths(products, "path")
    split = Split.make(paths, seed=0)
    inputs = inputs_from_stored(products)
    tax = Taxonomy.from_paths(paths)
    torch.manual_seed(0)
    text = HierarchicalClassifier(inputs.select(["lex_title"]).specs(), tax).eval()
    full = HierarchicalClassifier(inputs.specs(), tax).eval()
    rows = cascade_rows(text, full, products, split, targets=(0.25, 1.0))
    val = predict(text, inputs.take(split.val))
    ok = np.array([p == paths[i] for p, i in zip(val.paths, split.val)])
    for row, share in zip(rows, (0.25, 1.0)):
        thr = choose_threshold(val.path_conf, ok, target_escalation=share)
        assert row.name == f"cascade, escalate {share:.0%} (threshold {thr:.3f})" and row.fusion == "cascade"
        assert row.extra["threshold"] == pytest.approx(thr) and row.metrics["n"] == len(split.test)
    # Escalating everything below the highest validation confidence sends (nearly) every test product on.
    test_conf = predict(text, inputs.take(split.test)).path_conf
    assert rows[1].extra["escalated"] == pytest.approx(float(np.mean(test_conf < rows[1].extra["threshold"])))
