"""Catalog reading and validation on real rows: every bad row is rejected with its reason, nothing is dropped."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

from hiercat.catalog import CatalogError, CatalogOptions, derive_brands, read_table, validate
from hiercat.mapping import CategoryMapping, MappingError
from hiercat.taxonomy import Taxonomy

from .conftest import GOOGLE


@pytest.fixture(scope="module")
def google() -> Taxonomy:
    return Taxonomy.from_google(GOOGLE)


@pytest.fixture()
def sample(tmp_path: Path, demo_dir: Path) -> Path:
    """Twelve real demo rows with their images, copied so a test can damage them."""
    df = pd.read_csv(demo_dir / "myntra" / "products.csv", dtype=str, keep_default_na=False).head(12)
    (tmp_path / "images").mkdir()
    for p in df["image"]:
        shutil.copy(demo_dir / "myntra" / p, tmp_path / p)
    df.to_csv(tmp_path / "products.csv", index=False)
    return tmp_path / "products.csv"


def test_reads_csv_parquet_jsonl_alike(sample: Path, tmp_path: Path) -> None:
    df = read_table(sample)
    pd.read_csv(sample, dtype=str, keep_default_na=False).to_parquet(tmp_path / "p.parquet")
    pd.read_csv(sample, dtype=str, keep_default_na=False).to_json(tmp_path / "p.jsonl", orient="records", lines=True)
    for other in (read_table(tmp_path / "p.parquet"), read_table(tmp_path / "p.jsonl")):
        assert other["title"].tolist() == df["title"].tolist()
        assert other["category"].tolist() == df["category"].tolist()
        assert other["row"].tolist() == list(range(1, 13))


def test_malformed_csv_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.csv"
    bad.write_text("product_id,title,category\n1,Shirt,A > B\n2,Shoe,A > C,extra,fields\n", encoding="utf-8")
    with pytest.raises(CatalogError, match=r"bad\.csv: line 3, 5 fields, the header has 3"):
        read_table(bad)


def test_malformed_jsonl_names_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"product_id": "1", "title": "a", "category": "A"}\n{"product_id": 2,\n', encoding="utf-8")
    with pytest.raises(CatalogError, match=r"bad\.jsonl: line 2, column 1: invalid JSON"):
        read_table(bad)


def test_missing_columns_are_named(tmp_path: Path) -> None:
    f = tmp_path / "c.csv"
    f.write_text("id,name,category\n1,Shirt,A > B\n", encoding="utf-8")
    with pytest.raises(CatalogError, match="missing required column\\(s\\) product_id, title"):
        read_table(f)
    df = read_table(f, columns={"id": "product_id", "name": "title"})
    assert df.loc[0, "title"] == "Shirt"


def test_each_bad_row_gets_its_reason(sample: Path, google: Taxonomy, demo_dir: Path) -> None:
    df = pd.read_csv(sample, dtype=str, keep_default_na=False)
    df.loc[1, "title"] = "  "
    df.loc[2, "category"] = ""
    df.loc[3, "category"] = "Apparel > Topwear > Spacesuits"
    df.loc[4, "image"] = "images/does-not-exist.jpg"
    df.loc[5, "product_id"] = df.loc[0, "product_id"]
    df.loc[6, "product_id"] = ""
    df.to_csv(sample, index=False)
    mapping = CategoryMapping.load(demo_dir / "mappings" / "myntra_to_gpt.csv", google)
    checked = validate(read_table(sample), sample, CatalogOptions(mapping=mapping))
    reasons = dict(zip(checked.rejects["row"], checked.rejects["reason"]))
    assert reasons == {
        2: "missing title",
        3: "missing category",
        4: "unmapped category 'Apparel > Topwear > Spacesuits'",
        5: "image not found: images/does-not-exist.jpg",
        6: f"duplicate product_id {df.loc[0, 'product_id']!r} (first at row 1)",
        7: "missing product_id",
    }
    assert len(checked.rows) + len(checked.rejects) == 12
    assert all(p.startswith("Apparel & Accessories") or p for p in checked.rows["path"])


def test_mapping_to_nothing_is_rejected_as_unmapped(tmp_path: Path, google: Taxonomy) -> None:
    m = tmp_path / "m.csv"
    m.write_text("native_category,gpt_category\nA > Gift Set,\nA > Shirt,Apparel & Accessories > Clothing\n")
    mapping = CategoryMapping.load(m, google)
    f = tmp_path / "p.csv"
    f.write_text("product_id,title,category\n1,Box,A > Gift Set\n2,Shirt,A > Shirt\n")
    checked = validate(read_table(f), f, CatalogOptions(mapping=mapping, platform="x"))
    assert checked.rejects["reason"].tolist() == ["unmapped category 'A > Gift Set'"]
    assert checked.rows["path"].tolist() == ["Apparel & Accessories > Clothing"]


def test_mapping_target_outside_taxonomy_is_an_error(tmp_path: Path, google: Taxonomy) -> None:
    m = tmp_path / "m.csv"
    m.write_text("native_category,gpt_category\nA > Shirt,Apparel & Accessories > Clothing\nA > X,Apparel & Accessories > Spacesuits\n")
    with pytest.raises(MappingError, match=r"m\.csv:3: target 'Apparel & Accessories > Spacesuits' is not in the taxonomy"):
        CategoryMapping.load(m, google)


def test_shared_mappings_resolve_in_google_taxonomy(shared_data: Path, google: Taxonomy) -> None:
    for name in ("myntra_to_gpt.csv", "hm_to_gpt.csv"):
        m = CategoryMapping.load(shared_data / "mappings" / name, google)
        assert sum(t is not None for t in m.table.values()) > 80


def test_custom_separator_and_platform(tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    f.write_text("product_id,title,category\n1,Shirt,Men/Tops/Shirts\n")
    checked = validate(read_table(f), f, CatalogOptions(sep="/", platform="shopx"))
    assert checked.rows.loc[0, "path"] == "Men > Tops > Shirts"
    assert checked.rows.loc[0, "platform"] == "shopx"


def test_brands_come_from_myntra_titles() -> None:
    titles = pd.Series(["Peter England Men Party Blue Jeans", "Nike Women Red Shoe", "Peter England Blue Tie", "Lakme Lipstick"])
    assert derive_brands(titles).tolist() == ["Peter England", "Nike", "Peter England", "Lakme"]


def test_google_taxonomy_shape(google: Taxonomy) -> None:
    assert len(google) == 5595
    assert google.is_leaf(("Apparel & Accessories", "Shoes"))
    assert google.depth == 7
