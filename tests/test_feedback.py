"""hiercat.feedback and `hiercat feedback`: checked corrections in the payloads, training's precedence, the whole loop."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from hiercat.experiment import Split, label_paths, load_training_data
from hiercat.feedback import apply_corrections, reviewed_mask
from hiercat.store import EdgeStore
from hiercat.taxonomy import split_path

from .conftest import unseen_demo_rows

runner = CliRunner()
TOPS = "Apparel & Accessories > Clothing > Shirts & Tops"
TRADITIONAL = "Apparel & Accessories > Clothing > Traditional & Ceremonial Clothing"
KURTAS = "Apparel > Topwear > Kurtas"


@pytest.fixture
def store_copy(demo_store: Path, tmp_path: Path) -> Path:
    shutil.copytree(demo_store, tmp_path / "store", ignore=shutil.ignore_patterns("hiercat.lock"))
    return tmp_path / "store"


def _demo(demo_dir: Path) -> pd.DataFrame:
    return pd.read_csv(demo_dir / "myntra" / "products.csv", dtype=str, keep_default_na=False).head(1000)


def test_corrections_are_checked_then_written_as_reviewed_labels(store_copy: Path, demo_dir: Path) -> None:
    rows = _demo(demo_dir)
    kurta = rows[rows["category"] == KURTAS].iloc[0]["product_id"]
    shoe = rows[rows["category"] == "Footwear > Shoes > Casual Shoes"].iloc[0]["product_id"]
    corrections = pd.DataFrame([
        {"product_id": kurta, "platform": "myntra", "path": TOPS},
        {"product_id": shoe, "platform": "myntra", "path": "Apparel & Accessories > Shoes > Sneakerz"},
        {"product_id": "no-such", "platform": "myntra", "path": TOPS},
        {"product_id": shoe, "platform": "myntra", "path": ""},  # not decided: skipped
        {"product_id": "", "platform": "myntra", "path": TOPS},
        {"product_id": shoe, "platform": "myntra", "path": "Apparel & Accessories"},  # a shallower, valid node
    ])
    with EdgeStore(store_copy) as vs:
        result = apply_corrections(vs, corrections)
        assert result.applied[["product_id", "path", "previous_path"]].values.tolist() == [
            [kurta, TOPS, TRADITIONAL], [shoe, "Apparel & Accessories", "Apparel & Accessories > Shoes"]]
        assert result.skipped == 1
        assert result.rejects["row"].tolist() == [2, 3, 5]
        reasons = result.rejects["reason"].tolist()
        assert "is not a category" in reasons[0] and "'Apparel & Accessories > Shoes' exists" in reasons[0]
        assert reasons[1] == "no stored product myntra/no-such" and reasons[2] == "product_id is empty"
        from hiercat.store.base import point_id

        k, s = (p.payload for p in vs.retrieve([point_id("myntra", kurta), point_id("myntra", shoe)]))
        assert k["path"] == k["reviewed_path"] == TOPS and k["label_source"] == "review" and k["reviewed_at"]
        assert k["path_before_review"] == TRADITIONAL and k["level_3"] == TOPS and k["depth"] == 3
        assert s["path"] == "Apparel & Accessories" and s["level_1"] == "Apparel & Accessories"
        assert s.get("level_2") is None  # the old deeper level does not linger
        # a second review keeps the label from before the first
        again = apply_corrections(vs, pd.DataFrame([{"product_id": kurta, "platform": "myntra", "path": TRADITIONAL}]))
        assert again.applied["previous_path"].tolist() == [TOPS]
        assert vs.retrieve([point_id("myntra", kurta)])[0].payload["path_before_review"] == TRADITIONAL


def test_a_google_category_the_store_never_had_is_accepted(store_copy: Path, demo_dir: Path) -> None:
    from hiercat.taxonomy import Taxonomy, join_path
    from hiercat.zero_shot import GOOGLE_TAXONOMY

    kurta = _demo(demo_dir).query("category == @KURTAS").iloc[0]["product_id"]
    with EdgeStore(store_copy) as vs:
        have = set(vs.get_meta()["taxonomy"]["paths"])
        new = min(join_path(p) for p in Taxonomy.from_google(GOOGLE_TAXONOMY).paths if join_path(p) not in have)
        result = apply_corrections(vs, pd.DataFrame([{"product_id": kurta, "platform": "myntra", "path": new}]))
    assert len(result.applied) == 1 and len(result.rejects) == 0


def test_training_reads_reviewed_labels_first_and_keeps_them_out_of_test(store_copy: Path, demo_dir: Path) -> None:
    kurtas = _demo(demo_dir).query("category == @KURTAS")["product_id"].tolist()
    with EdgeStore(store_copy) as vs:
        before = load_training_data(vs)
        plain = Split.make(label_paths(before), 0)
        apply_corrections(vs, pd.DataFrame({"product_id": kurtas, "platform": "myntra", "path": TOPS}))
        products = load_training_data(vs)
        # a later rewrite of `path` (a re-mapping, say) does not beat the reviewer's label
        vs.set_payload([products.ids[0]], {"path": TRADITIONAL})
        products = load_training_data(vs)
    mask = reviewed_mask(products.payload)
    assert mask.sum() == len(kurtas)
    paths = label_paths(products)
    assert all(paths[i] == split_path(TOPS) for i in np.flatnonzero(mask))
    split, unmasked = Split.make(paths, 0, mask), Split.make(paths, 0)
    assert not mask[split.test].any() and mask[unmasked.test].any()
    assert len(split.train) + len(split.val) + len(split.test) == len(products)
    # the reviewed test products train instead; every other product keeps its part
    moved = unmasked.test[mask[unmasked.test]]
    assert set(split.test) == set(unmasked.test) - set(moved)
    assert set(split.train) == set(unmasked.train) | set(moved) and set(split.val) == set(unmasked.val)
    assert len(plain.test) > 0


def test_cli_feedback_reports_rows_and_fails_when_nothing_applies(store_copy: Path, demo_dir: Path,
                                                                 tmp_path: Path) -> None:
    from hiercat.cli import app

    kurta = _demo(demo_dir).query("category == @KURTAS").iloc[0]["product_id"]
    good = tmp_path / "c.csv"
    pd.DataFrame([{"product_id": kurta, "platform": "myntra", "path": TOPS},
                  {"product_id": kurta, "platform": "myntra", "path": "Nope > Nada"}]).to_csv(good, index=False)
    res = runner.invoke(app, ["feedback", str(good), "--store", str(store_copy), "--rejects", str(tmp_path / "r.csv")])
    assert res.exit_code == 0, res.output
    assert "1 corrections written" in res.output and "row 2" in res.output and "1 rejected" in res.output
    assert pd.read_csv(tmp_path / "r.csv")["row"].tolist() == [2]
    bad = tmp_path / "bad.csv"
    pd.DataFrame([{"product_id": kurta, "platform": "myntra", "path": "Nope"}]).to_csv(bad, index=False)
    assert runner.invoke(app, ["feedback", str(bad), "--store", str(store_copy)]).exit_code == 2
    (tmp_path / "cols.csv").write_text("id,label\n1,x\n")
    res = runner.invoke(app, ["feedback", str(tmp_path / "cols.csv"), "--store", str(store_copy)])
    assert res.exit_code == 2 and "missing column(s) product_id, platform, path" in res.output


def test_review_feedback_then_train_learns_the_corrections(demo_model, demo_dir: Path, tmp_path: Path) -> None:
    """The whole loop on the demo: kurtas, filed as traditional clothing, are corrected to shirts & tops."""
    from hiercat.cli import app

    src, _ = demo_model
    store = tmp_path / "store"
    shutil.copytree(src, store, ignore=shutil.ignore_patterns("hiercat.lock"))
    model = store / "models" / "classifier"
    stored = _demo(demo_dir)
    shelf = stored[stored["category"] == KURTAS].copy()
    shelf["image"] = [str((demo_dir / "myntra" / p).resolve()) for p in shelf["image"]]
    shelf.to_csv(tmp_path / "kurtas.csv", index=False)
    unseen = unseen_demo_rows(demo_dir).query("category == @KURTAS")
    unseen.to_csv(tmp_path / "new-kurtas.csv", index=False)

    def classify(file: Path, out: Path) -> pd.DataFrame:
        res = runner.invoke(app, ["classify", str(file), "--explain", "--store", str(store), "--model", str(model),
                                  "-o", str(out)])
        assert res.exit_code == 0, res.output
        return pd.read_csv(out, dtype=str, keep_default_na=False)

    before = classify(tmp_path / "new-kurtas.csv", tmp_path / "before.csv")
    assert (before["predicted_path"] == TRADITIONAL).mean() > 0.8
    # the reviewer works through the whole shelf (every prediction below confidence 1.01 is listed) ...
    classify(tmp_path / "kurtas.csv", tmp_path / "shelf.csv")
    res = runner.invoke(app, ["review", str(tmp_path / "shelf.csv"), "-o", str(tmp_path / "review"), "--low", "1.01"])
    assert res.exit_code == 0, res.output
    corrections = pd.read_csv(tmp_path / "review" / "corrections.csv", dtype=str, keep_default_na=False)
    assert len(corrections) == len(shelf)
    corrections["path"] = TOPS  # ... and files every kurta under shirts & tops
    corrections.to_csv(tmp_path / "review" / "corrections.csv", index=False)
    res = runner.invoke(app, ["feedback", str(tmp_path / "review" / "corrections.csv"), "--store", str(store)])
    assert res.exit_code == 0 and f"{len(shelf)} corrections written" in res.output, res.output
    # at once, before any training: the neighbours' vote of new kurtas follows the corrections
    knn_now = classify(tmp_path / "new-kurtas.csv", tmp_path / "knn.csv")
    assert (knn_now["knn_path"] == TOPS).mean() > 0.8
    assert (before["knn_path"] == TOPS).mean() < 0.2
    res = runner.invoke(app, ["train", "--store", str(store), "--epochs", "12"])
    assert res.exit_code == 0, res.output
    after = classify(tmp_path / "new-kurtas.csv", tmp_path / "after.csv")
    assert (after["predicted_path"] == TOPS).mean() > 0.8
