"""hiercat.propose and `hiercat propose-mapping`: a new shop's categories mapped from its products' predictions."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from hiercat.cli import app
from hiercat.model.predict import PathScores
from hiercat.propose import MAPPING_COLUMNS, category_status, mapping_accuracy, propose_mapping

from .conftest import unseen_demo_rows

runner = CliRunner()
TEES = "Apparel & Accessories > Clothing > Shirts & Tops"
GIFT_TYPES = ["Accessories > Eyewear > Sunglasses", "Accessories > Socks > Socks",
              "Personal Care > Fragrance > Perfume and Body Mist", "Accessories > Ties > Ties",
              "Accessories > Headwear > Caps"]


def test_status_rules() -> None:
    a, b = ("Apparel", "Belts"), ("Bags", "Wallets")
    assert category_status(0.9, b, 0.1, a, 50, 0.8) == "auto"
    assert category_status(0.55, b, 0.45, a, 50, 0.8) == "mixed"
    assert category_status(0.7, ("Apparel",), 0.3, a, 50, 0.8) == "auto"  # a parent is the same kind, not a second type
    assert category_status(0.4, b, 0.2, a, 50, 0.8) == "review"
    assert category_status(1.0, None, 0.0, a, 2, 0.6) == "review"  # two unsure products are no clear majority
    assert category_status(1.0, None, 0.0, a, 2, 0.95) == "auto"


def test_propose_mapping_votes_shares_and_dissent() -> None:
    paths = [("A", "x"), ("A", "y"), ("B",)]
    probs = np.array([[0.9, 0.05, 0.05]] * 7 + [[0.1, 0.8, 0.1]] * 3 + [[0.1, 0.1, 0.8]] * 2, dtype=np.float32)
    cats = ["Tops"] * 10 + ["Misc"] * 2
    table, dissent = propose_mapping(PathScores(paths, np.log(probs)), cats, [f"t{i}" for i in range(12)])
    assert list(table.columns) == MAPPING_COLUMNS
    tops = table.set_index("native_category").loc["Tops"]
    assert (tops.gpt_category, tops.n_items, tops.share, tops.status) == ("A > x", 10, 0.7, "mixed")
    assert (tops.runner_up, tops.runner_up_share) == ("A > y", 0.3)
    assert tops.examples == "t0 | t1 | t2"
    assert dissent["title"].tolist() == ["t7", "t8", "t9"]
    acc = mapping_accuracy(table, {"Tops": "A > x", "Misc": "A > y"})
    assert acc["item_accuracy"] == pytest.approx(10 / 12) and acc["category_accuracy"] == 0.5


@pytest.fixture(scope="module")
def renamed_shop(demo_dir: Path, tmp_path_factory) -> Path:
    """Unseen demo products filed under another shop's tree: renamed, one mixed and one gift category."""
    rows = unseen_demo_rows(demo_dir)
    rename = {"Apparel > Topwear > Tshirts": "Men & Women > Tees", "Apparel > Topwear > Shirts": "Men & Women > Shirts",
              "Accessories > Watches > Watches": "Time > Watches", "Accessories > Belts > Belts": "Leather Goods",
              "Accessories > Wallets > Wallets": "Leather Goods"}
    rows["category"] = rows["category"].map(lambda c: rename.get(c, c))
    for cat in GIFT_TYPES:  # a gift shelf: four products each of five unrelated kinds
        rows.loc[rows.index[rows["category"] == cat][:4], "category"] = "Gifts"
    rows["platform"] = "newshop"
    out = tmp_path_factory.mktemp("newshop") / "products.csv"
    rows.to_csv(out, index=False)
    return out


@pytest.fixture(scope="module")
def proposed(renamed_shop: Path, demo_model, tmp_path_factory) -> Path:
    store, model = demo_model
    out = tmp_path_factory.mktemp("proposal") / "mapping.csv"
    res = runner.invoke(app, ["propose-mapping", str(renamed_shop), "-o", str(out), "--store", str(store)])
    assert res.exit_code == 0, res.output
    return out


def test_propose_mapping_finds_the_three_statuses(proposed: Path, renamed_shop: Path) -> None:
    table = pd.read_csv(proposed, keep_default_na=False).set_index("native_category")
    shop = pd.read_csv(renamed_shop, dtype=str, keep_default_na=False)
    assert table["n_items"].sum() == len(shop)  # every product counted once
    assert set(table["status"]) == {"auto", "review", "mixed"}
    assert table.loc["Men & Women > Tees", "status"] == "auto"
    assert table.loc["Men & Women > Tees", "gpt_category"] == TEES
    assert table.loc["Time > Watches", "gpt_category"] == "Apparel & Accessories > Jewelry > Watches"
    assert table.loc["Leather Goods", "status"] == "mixed"
    assert {table.loc["Leather Goods", "gpt_category"], table.loc["Leather Goods", "runner_up"]} == {
        "Apparel & Accessories > Clothing Accessories > Belts",
        "Apparel & Accessories > Handbags, Wallets & Cases > Wallets & Money Clips"}
    assert table.loc["Gifts", "status"] == "review"
    page = proposed.with_suffix(".html").read_text(encoding="utf-8")
    assert page.index("mixed (") < page.index("review (") < page.index("auto (")
    assert "Leather Goods" in page and "products disagree" in page


def test_ingest_rejects_unsure_categories_or_classifies_them(proposed: Path, renamed_shop: Path, demo_model,
                                                             tmp_path: Path) -> None:
    from hiercat.store import EdgeStore

    src_store, model = demo_model
    table = pd.read_csv(proposed, keep_default_na=False)
    unsure = table[table["status"] != "auto"]
    n_unsure = int(unsure["n_items"].sum())
    store = tmp_path / "store"
    shutil.copytree(src_store, store, ignore=shutil.ignore_patterns("hiercat.lock"))
    res = runner.invoke(app, ["ingest", str(renamed_shop), "--mapping", str(proposed), "--store", str(store),
                              "--rejects", str(tmp_path / "rejects.csv")])
    assert res.exit_code == 0, res.output
    rejects = pd.read_csv(tmp_path / "rejects.csv", keep_default_na=False)
    assert len(rejects) == n_unsure
    mixed = rejects[rejects["category"] == "Leather Goods"]
    assert mixed["reason"].str.contains("is marked 'mixed' in").all()
    assert mixed["reason"].str.contains("--unsure classify").all()
    with EdgeStore(store) as vs:
        assert vs.count({"platform": "newshop"}) == len(pd.read_csv(renamed_shop)) - n_unsure

    res = runner.invoke(app, ["ingest", str(renamed_shop), "--mapping", str(proposed), "--store", str(store),
                              "--unsure", "classify", "--model", str(model), "--rejects", str(tmp_path / "r2.csv")])
    assert res.exit_code == 0, res.output
    with EdgeStore(store) as vs:
        assert vs.count({"platform": "newshop"}) == len(pd.read_csv(renamed_shop))
        labelled = [p.payload for p in vs.scroll({"platform": "newshop", "native_category": "Leather Goods"})]
    assert labelled and all(p["label_source"] == "model" and p["path"] for p in labelled)
    assert {p["path"] for p in labelled} >= {"Apparel & Accessories > Clothing Accessories > Belts"}


def test_propose_mapping_needs_a_category_column(demo_model, demo_dir: Path, tmp_path: Path) -> None:
    store, _ = demo_model
    unseen_demo_rows(demo_dir).head(5).drop(columns=["category"]).to_csv(tmp_path / "new.csv", index=False)
    res = runner.invoke(app, ["propose-mapping", str(tmp_path / "new.csv"), "--store", str(store)])
    assert res.exit_code == 2  # a user error (hiercat.cli.errors)
    assert "missing required column(s) category" in " ".join(res.output.split())


def test_readme_python_example_runs_as_written(demo_model, renamed_shop: Path, tmp_path: Path, monkeypatch) -> None:
    import re

    store, model = demo_model
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```python\n(.*?)```", readme, re.S)
    code = next(b for b in blocks if "propose_for_catalog" in b)  # the new-shop example (the API one is tested apart)
    assert "propose_for_catalog" in code and "native_category=True" in code
    (tmp_path / "hiercat-demo").mkdir()
    (tmp_path / "hiercat-demo" / "store").symlink_to(store)
    shutil.copy(renamed_shop, tmp_path / "newshop.csv")
    monkeypatch.chdir(tmp_path)
    scope: dict = {}
    exec(compile(code, "README.md", "exec"), scope)
    assert set(scope["mapping"]["status"]) == {"auto", "review", "mixed"}
    assert len(scope["result"].table) == len(pd.read_csv(renamed_shop))
    assert (tmp_path / "newshop-mapping.html").exists()
