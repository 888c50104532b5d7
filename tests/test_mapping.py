"""hiercat.mapping: mapping tables, including proposed ones whose unsure rows ingest must not apply."""

from __future__ import annotations

from pathlib import Path

import pytest

from hiercat.catalog import CatalogOptions, read_table, validate
from hiercat.mapping import CategoryMapping, MappingError
from hiercat.taxonomy import Taxonomy

from .conftest import GOOGLE

PROPOSED = """native_category,gpt_category,n_items,share,status
Tops > Tees,Apparel & Accessories > Clothing > Shirts & Tops,40,0.95,auto
Leather Goods,Apparel & Accessories > Clothing Accessories > Belts,20,0.5,mixed
Gifts,Apparel & Accessories > Clothing Accessories > Sunglasses,20,0.3,review
Unknown,,3,0.0,
"""


@pytest.fixture(scope="module")
def google() -> Taxonomy:
    return Taxonomy.from_google(GOOGLE)


@pytest.fixture()
def proposed(tmp_path: Path, google: Taxonomy) -> CategoryMapping:
    (tmp_path / "m.csv").write_text(PROPOSED)
    return CategoryMapping.load(tmp_path / "m.csv", google)


def test_unsure_rows_are_known_but_not_looked_up(proposed: CategoryMapping) -> None:
    assert proposed.unsure == {("Leather Goods",): "mixed", ("Gifts",): "review"}
    assert proposed.lookup(("Tops", "Tees")) == ("Apparel & Accessories", "Clothing", "Shirts & Tops")
    assert proposed.lookup(("Leather Goods",)) is None and proposed.lookup(("Gifts",)) is None


def test_a_bad_status_names_its_row(tmp_path: Path, google: Taxonomy) -> None:
    (tmp_path / "m.csv").write_text(PROPOSED.replace(",review", ",maybe"))
    with pytest.raises(MappingError, match=r"m\.csv:4: status 'maybe' is not one of auto, review, mixed"):
        CategoryMapping.load(tmp_path / "m.csv", google)


def test_validate_rejects_or_flags_unsure_categories(proposed: CategoryMapping, tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    f.write_text("product_id,title,category\n1,Tee,Tops > Tees\n2,Belt,Leather Goods\n3,Shades,Gifts\n4,Box,Unknown\n")
    checked = validate(read_table(f), f, CatalogOptions(mapping=proposed, platform="x"))
    assert checked.rows["product_id"].tolist() == ["1"]
    reasons = dict(zip(checked.rejects["product_id"], checked.rejects["reason"]))
    assert reasons["2"].startswith("category 'Leather Goods' is marked 'mixed' in ")
    assert reasons["2"].endswith("or ingest with --unsure classify")
    assert "is marked 'review'" in reasons["3"] and reasons["4"] == "unmapped category 'Unknown'"
    flagged = validate(read_table(f), f, CatalogOptions(mapping=proposed, platform="x", unsure="classify"))
    assert flagged.rows["product_id"].tolist() == ["1", "2", "3"]
    assert flagged.rows["classify"].tolist() == [False, True, True]
    assert flagged.rows["path"].tolist()[1:] == ["", ""]  # the proposal's guess is not applied
    with pytest.raises(ValueError, match="unsure must be 'reject' or 'classify'"):
        CatalogOptions(unsure="guess")
