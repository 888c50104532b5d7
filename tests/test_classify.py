"""hiercat.classify and `hiercat classify`: new products, with the shop's breadcrumbs as evidence."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from hiercat.catalog import CatalogError, CatalogOptions
from hiercat.classify import classify_catalog, read_for_classification
from hiercat.store import EdgeStore

from .conftest import unseen_demo_rows

runner = CliRunner()
TOPS = "Apparel & Accessories > Clothing > Shirts & Tops"
WATCHES = "Apparel & Accessories > Jewelry > Watches"
ODD = "Fila Men White Athletic"  # a title naming no product type, alone taken for a shoe


@pytest.fixture(scope="module")
def tees_shelf(demo_dir: Path, tmp_path_factory) -> Path:
    """30 unseen T-shirts under one breadcrumb, one retitled with no product type, plus one watch filed among them."""
    rows = unseen_demo_rows(demo_dir)
    tees = rows[rows["category"] == "Apparel > Topwear > Tshirts"].head(30).copy()
    tees.iloc[0, tees.columns.get_loc("title")] = ODD
    tees.iloc[0, tees.columns.get_loc("image")] = ""  # nothing else to tell it by
    watch = rows[rows["category"] == "Accessories > Watches > Watches"].head(1).copy()
    shelf = pd.concat([tees, watch], ignore_index=True)
    shelf["category"] = "Summer > Tees"
    out = tmp_path_factory.mktemp("shelf") / "products.csv"
    shelf.to_csv(out, index=False)
    return out


def test_native_category_corrects_an_outlier_and_keeps_a_real_exception(demo_model, tees_shelf: Path) -> None:
    store, model = demo_model
    with EdgeStore(store) as vs:
        alone = classify_catalog(tees_shelf, vs, model).table
        pooled = classify_catalog(tees_shelf, vs, model, native_category=True).table
    assert alone.loc[0, "predicted_path"] != TOPS  # the odd title alone goes astray ...
    assert pooled.loc[0, "predicted_path"] == TOPS  # ... its 29 siblings bring it back
    assert pooled.loc[0, "source"] == "breadcrumb"
    assert alone.iloc[-1]["predicted_path"] == pooled.iloc[-1]["predicted_path"] == WATCHES  # the watch stays a watch
    assert (pooled["predicted_path"].iloc[1:-1] == TOPS).all()
    assert len(pooled) == 31 and pooled["level_1_confidence"].between(0, 1).all()


def test_native_category_without_a_category_column_is_a_clear_error(demo_model, tees_shelf: Path,
                                                                    tmp_path: Path) -> None:
    from hiercat.cli import app

    store, _ = demo_model
    pd.read_csv(tees_shelf, dtype=str).drop(columns=["category"]).to_csv(tmp_path / "new.csv", index=False)
    with pytest.raises(CatalogError, match="missing required column"):
        read_for_classification(tmp_path / "new.csv", CatalogOptions(), need_category=True)
    res = runner.invoke(app, ["classify", str(tmp_path / "new.csv"), "--native-category", "--store", str(store),
                              "-o", str(tmp_path / "p.csv")])
    assert res.exit_code == 2  # a user error (hiercat.cli.errors)
    said = " ".join(res.output.split())
    assert "missing required column(s) category" in said and "breadcrumbs are read from the `category` column" in said
    assert not (tmp_path / "p.csv").exists()
    res = runner.invoke(app, ["classify", str(tmp_path / "new.csv"), "--store", str(store), "-o", str(tmp_path / "p.csv")])
    assert res.exit_code == 0, res.output  # without the flag the column is optional, as before
    assert len(pd.read_csv(tmp_path / "p.csv")) == 31
