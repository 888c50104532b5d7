"""`hiercat search` with free text: H&M's shoes, named only in their descriptions, are found."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from hiercat.cli import app

runner = CliRunner()


@pytest.fixture(scope="module")
def hm_store(shared_data: Path, tmp_path_factory) -> Path:
    """12 H&M shoes (titles are product names: 'Vaughan sneaker', 'Henry court PQ') among 36 shorts, socks and dresses."""
    from hiercat.catalog import CatalogOptions
    from hiercat.encoders import load_preset
    from hiercat.ingest import ingest
    from hiercat.mapping import CategoryMapping
    from hiercat.store import EdgeStore

    rows = pd.read_csv(shared_data / "hm" / "products.csv", dtype=str, keep_default_na=False)
    shoes = rows[rows["category"].str.startswith("Shoes") & (rows["description"] != "")].head(12)
    others = pd.concat([rows[rows["category"] == c].head(12) for c in
                        ("Garment Lower body > Shorts", "Socks & Tights > Socks", "Garment Full body > Dress")])
    sample = pd.concat([shoes, others])
    root = tmp_path_factory.mktemp("hm") / "hm"
    (root / "images").mkdir(parents=True)
    for p in sample["image"]:
        shutil.copy(shared_data / "hm" / p, root / p)
    sample.to_csv(root / "products.csv", index=False)
    mapping = CategoryMapping.load(shared_data / "mappings" / "hm_to_gpt.csv")
    with EdgeStore(root.parent / "store") as store:
        ingest(root / "products.csv", store, load_preset("minilm"), CatalogOptions(mapping=mapping))
    return root.parent / "store"


def test_red_running_shoes_finds_shoes_in_hm(hm_store: Path) -> None:
    from hiercat.encoders import preset_from_meta
    from hiercat.search import search_text, text_vectors
    from hiercat.store import EdgeStore

    shoe = "Apparel & Accessories > Shoes"
    with EdgeStore(hm_store) as vs:
        preset = preset_from_meta(vs.get_meta())
        assert set(text_vectors(vs)) == {"minilm_title", "minilm_description"}
        hits = search_text(vs, "red running shoes", k=5, preset=preset)
        by_title = vs.search("minilm_title", preset.encode_text(["red running shoes"])[0], k=5)
        by_name = search_text(vs, "Vaughan sneaker", k=1, preset=preset)
    # by the title vector alone (as before) the top 5 are socks and shorts; by the nearest text, shoes lead
    assert sum(h.payload["path"] == shoe for h in by_title) == 0
    assert sum(h.payload["path"] == shoe for h in hits) >= 3
    assert hits[0].payload["path"] == shoe and hits[0].best_vector == "minilm_description"
    assert by_name[0].payload["title"] == "Vaughan sneaker"  # a product name is still found by its title


def test_search_cli_uses_the_descriptions(hm_store: Path) -> None:
    res = runner.invoke(app, ["search", "red running shoes", "--store", str(hm_store), "-k", "3"],
                        env={"COLUMNS": "240"})
    assert res.exit_code == 0, res.output
    said = " ".join(re.sub(r"[│┃┏┓┗┛━─┡┩┢┪└┘┌┐├┤┬┴┼]", " ", res.output).split())
    assert "by their nearest text (" in said and "minilm_description" in said
    assert "Apparel & Accessories > Shoes minilm_description" in said
    res = runner.invoke(app, ["search", "red running shoes", "--store", str(hm_store), "--vector", "minilm_title"],
                        env={"COLUMNS": "240"})
    assert res.exit_code == 0 and "nearest by minilm_title" in res.output  # one vector, when asked
