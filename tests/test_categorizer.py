"""categorizer: the estimator API, a native-label model's kNN fallback, and models that leave the store alone."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hiercat.calibration import Calibration, SourceCalibration
from hiercat.categorizer import Categorizer, rows_for_classification
from hiercat.store import EdgeStore

from .conftest import ROOT, unseen_demo_rows


def readme_example() -> str:
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Python API", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


def test_the_readme_python_example_runs_as_written(demo_store: Path, demo_dir: Path, tmp_path: Path, monkeypatch,
                                                  capsys) -> None:
    # The README's folder layout, holding the 1,000 demo products the demo store was made of.
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "myntra").symlink_to(demo_store.parent / "myntra", target_is_directory=True)
    (tmp_path / "demo" / "mappings").symlink_to(demo_dir / "mappings", target_is_directory=True)
    monkeypatch.chdir(tmp_path)
    ns: dict = {}
    exec(compile(readme_example(), "README.md", "exec"), ns)
    out = capsys.readouterr().out
    assert "1000 products stored, 0 rejected" in out
    hf1 = float(re.search(r"hF1 on the held-out 20 %: ([0-9.]+)", out).group(1))
    assert hf1 > 0.8
    shoe, watch = ns["table"]["predicted_path"]
    assert shoe.startswith("Apparel & Accessories > Shoes") and watch == "Apparel & Accessories > Jewelry > Watches"
    assert len(ns["proba"].columns) == len(ns["cat"].taxonomy_.valid_label_paths())
    assert (tmp_path / "hiercat-store" / "models" / "classifier" / "split.parquet").exists()


@pytest.fixture(scope="module")
def fitted(demo_model) -> tuple[Categorizer, Path]:
    store, model = demo_model
    vs = EdgeStore(store)
    yield Categorizer.load(model, vs), store
    vs.close()


def test_load_predict_proba_and_the_sklearn_contract(fitted, demo_dir: Path) -> None:
    from sklearn.base import clone

    cat, _ = fitted
    new = unseen_demo_rows(demo_dir).head(40)
    table = cat.predict(new)
    assert len(table) == 40 and set(table["source"]) <= {"model", "knn", "zero-shot"}
    proba = cat.predict_proba(new)
    assert proba.shape == (40, len(cat.taxonomy_.valid_label_paths()))
    assert np.allclose(proba.sum(axis=1), 1.0, atol=1e-3)
    model_rows = table["source"] == "model"
    best = proba.idxmax(axis=1).to_numpy()
    assert (best[model_rows.to_numpy()] == table.loc[model_rows, "predicted_path"].to_numpy()).all()
    assert clone(cat).get_params() == cat.get_params() and not hasattr(clone(cat), "model_")
    assert cat.split_ is not None and len(cat.split_.test) > 0
    held = set(cat.split_.test)
    got = cat.explain(new.head(3), k=5)
    assert len(got) == 15 and not any(pid in held for pid in got["neighbour_id"])  # never a test product


def test_a_native_label_model_falls_back_to_a_vote_over_native_labels(demo_store: Path, demo_dir: Path,
                                                                     tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(demo_store, store, ignore=shutil.ignore_patterns("hiercat.lock"))
    with EdgeStore(store) as vs:
        cat = Categorizer(labels="native_category", epochs=6).fit(vs)
        native = set(vs.facet("native_category", limit=10_000))
        # A model calibrated to be never right hands every row to the vote: what is left is the vote itself.
        cat.classifier_.calibration = SourceCalibration(Calibration((0.0, 1.0), (0.0, 0.0)), Calibration())
        new = unseen_demo_rows(demo_dir).head(25)
        table = cat.predict(new)
        votes = cat.explain(new, k=10)
    assert (table["source"] == "knn").all()
    assert set(table["predicted_path"]) <= native  # the shop's own tree, not the Google paths in `path`
    assert set(votes["neighbour_label"]) <= native
    # Each row carries the vote's own per-level shares, and their product is its confidence.
    levels = table[[c for c in table.columns if re.fullmatch(r"level_\d+_confidence", c)]].to_numpy(float)
    depth = table["predicted_path"].str.count(" > ").to_numpy() + 1
    prod = np.array([np.prod(levels[i, :depth[i]]) for i in range(len(table))])
    assert np.allclose(prod, table["confidence"].to_numpy(float), atol=1e-4)
    assert cat.calibration_.model.fitted  # fit learned how often the model is right on validation data


def test_fitting_writes_nothing_into_the_store_and_leaves_other_models_alone(demo_model, demo_dir: Path,
                                                                            tmp_path: Path) -> None:
    store, model = demo_model
    copy = tmp_path / "store"
    shutil.copytree(store, copy, ignore=shutil.ignore_patterns("hiercat.lock"))
    new = unseen_demo_rows(demo_dir).head(60)
    with EdgeStore(copy) as vs:
        first = Categorizer.load(model, vs).predict(new, explain=True)
        before = {p.id: p.payload for p in vs.scroll()}
        prod = Categorizer(labels="native_category", epochs=3, holdout=0.0).fit(vs)
        after = {p.id: p.payload for p in vs.scroll()}
        second = Categorizer.load(model, vs).predict(new, explain=True)
    assert before == after and not any("split" in p for p in after.values())
    pd.testing.assert_frame_equal(first, second)
    assert prod.split_.test == [] and prod.metrics_ == {}
    assert len(prod.split_.neighbour_ids) == len(before)  # a production fit: every product is a neighbour


def test_products_as_records_are_validated_like_a_file() -> None:
    rows, rejects = rows_for_classification([{"product_id": "1", "title": "Red Dress"},
                                             {"product_id": "2", "title": ""}])
    assert rows["title"].tolist() == ["Red Dress"] and rejects["reason"].tolist() == ["missing title"]
    with pytest.raises(ValueError, match="products lack column"):
        rows_for_classification([{"title": "x"}])
    with pytest.raises(ValueError, match="not fitted"):
        Categorizer().predict([{"product_id": "1", "title": "x"}])
