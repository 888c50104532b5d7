"""hiercat.review and `hiercat review`: the queue's choice and order, the page as a reader sees it in Chromium."""

from __future__ import annotations

import os
import shutil
from html import escape
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from hiercat.review import review_queue

from .browser import check_page, chromium
from .conftest import unseen_demo_rows

runner = CliRunner()
TOPS = "Apparel & Accessories > Clothing > Shirts & Tops"
PANTS = "Apparel & Accessories > Clothing > Pants"
SHOES = "Apparel & Accessories > Shoes"


def _row(pid: str, conf: float, path: str, runner_up: str, model: str = "", knn: str = "") -> dict:
    return {"product_id": pid, "platform": "shop", "title": f"product {pid}", "status": "ok", "predicted_path": path,
            "confidence": conf, "source": "model", "runner_up": runner_up, "runner_up_confidence": 1 - conf,
            "model_path": model or path, "knn_path": knn or path}


def test_queue_lists_the_unsure_and_the_disagreeing_most_helpful_first() -> None:
    table = pd.DataFrame([
        _row("sure", 0.97, TOPS, SHOES),  # confident and all agree: not listed
        _row("sure-too", 0.99, SHOES, PANTS),  # ... but it shares the unsure one's confusion: reach 2
        _row("unsure", 0.30, SHOES, PANTS),  # P(wrong) 0.7, its confusion twice in the file: 1.4
        _row("knn-disagrees", 0.90, TOPS, PANTS, knn=PANTS),  # confident, but the neighbours say Pants: 0.5
        *[_row(f"confusion-{i}", 0.55, PANTS, SHOES) for i in range(3)],  # 0.45 each, 3 of one confusion: 1.35
        {**_row("rejected", 0.0, "", ""), "status": "rejected: missing title"},
    ])
    items = review_queue(table, low=0.6)
    assert [it.product_id for it in items] == ["unsure", "confusion-0", "confusion-1", "confusion-2", "knn-disagrees"]
    assert [it.help for it in items] == pytest.approx([1.4, 1.35, 1.35, 1.35, 0.5])
    assert items[-1].reasons == [f"disagree: kNN says {PANTS}"]
    assert items[0].reasons == ["confidence 0.30 < 0.6"] and items[0].runner_up == PANTS
    assert len(review_queue(table, low=0.6, limit=2)) == 2


@pytest.fixture(scope="module")
def predictions(demo_model, demo_dir: Path, tmp_path_factory) -> Path:
    """`hiercat classify --explain` of 40 unseen demo products (with images)."""
    from hiercat.cli import app

    store, model = demo_model
    root = tmp_path_factory.mktemp("review")
    unseen_demo_rows(demo_dir).head(40).to_csv(root / "new.csv", index=False)
    res = runner.invoke(app, ["classify", str(root / "new.csv"), "--explain", "--store", str(store),
                              "--model", str(model), "-o", str(root / "predictions.csv")])
    assert res.exit_code == 0, res.output
    return root / "predictions.csv"


def test_classify_writes_the_columns_review_reads(predictions: Path) -> None:
    table = pd.read_csv(predictions, dtype=str, keep_default_na=False)
    for col in ("image", "model_path", "runner_up", "runner_up_confidence", "knn_path", "knn_confidence"):
        assert col in table.columns, col
    assert (table["runner_up"] != table["predicted_path"]).all()
    assert table["image"].map(lambda p: Path(p).is_file()).all()


def test_review_page_renders_with_its_images_in_chromium(predictions: Path, tmp_path: Path) -> None:
    from hiercat.cli import app

    chromium()
    out = tmp_path / "review"
    res = runner.invoke(app, ["review", str(predictions), "-o", str(out), "--low", "0.9"])
    assert res.exit_code == 0, res.output
    corrections = pd.read_csv(out / "corrections.csv", dtype=str, keep_default_na=False)
    assert len(corrections) > 0 and (corrections["path"] == "").all()
    assert list(corrections.columns[:3]) == ["product_id", "platform", "path"]
    helps = corrections["help"].astype(float).tolist()
    assert helps == sorted(helps, reverse=True)
    shots = Path(os.environ.get("HIERCAT_SCREENSHOTS", tmp_path))
    page = check_page(out / "index.html", shots / "review.png")
    assert len(page.images) == len(corrections), "one image per listed product (all demo products have one)"
    assert page.broken == [] and page.errors == []
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "runner-up" in html and "neighbour" in html and escape(corrections["proposed_path"].iloc[0]) in html
    # the page is self-contained: images were copied beside it
    shutil.move(out, tmp_path / "moved")
    assert check_page(tmp_path / "moved" / "index.html").broken == []


def test_review_refuses_a_file_that_is_not_predictions(tmp_path: Path) -> None:
    from hiercat.cli import app

    (tmp_path / "x.csv").write_text("a,b\n1,2\n")
    res = runner.invoke(app, ["review", str(tmp_path / "x.csv"), "-o", str(tmp_path / "r")])
    assert res.exit_code != 0 and "not a predictions file" in res.output
