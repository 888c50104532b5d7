"""dataset: load_products reads stored products back as arrays (real demo rows ingested with tiny encoders)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hiercat.catalog import CatalogOptions
from hiercat.dataset import load_products
from hiercat.encoders.lexical import LexicalEncoder
from hiercat.encoders.presets import Preset
from hiercat.ingest import ingest
from hiercat.store import EdgeStore, point_id
from hiercat.taxonomy import split_path

from .conftest import DEMO
from .recluster.conftest import TinyImage, TinyText

DENSE = {"tiny_title": 256, "tiny_brand": 256, "tiny_words": 256, "tiny_description": 256, "tiny_image": 192}


@pytest.fixture(scope="module")
def stored(tmp_path_factory):
    """30 demo rows (the last 5 without an image, 6 relabelled as a second shop) in an embedded store."""
    root = tmp_path_factory.mktemp("dataset")
    df = pd.read_csv(DEMO / "myntra" / "products.csv", dtype=str, keep_default_na=False).head(30)
    df["image"] = [str((DEMO / "myntra" / p).resolve()) for p in df["image"]]
    df.loc[25:, "image"] = ""
    df.loc[:5, "platform"] = "hm"
    df.to_csv(root / "products.csv", index=False)
    store = EdgeStore(root / "store")
    preset = Preset(name="tiny", text=TinyText(), image=TinyImage(), lexical=LexicalEncoder())
    assert ingest(root / "products.csv", store, preset, CatalogOptions()).ingested == 30
    yield store, df
    store.close()


def test_every_product_with_every_vector(stored) -> None:
    store, df = stored
    got = load_products(store)
    assert len(got) == 30
    assert sorted(got.ids) == sorted(point_id(p, i) for p, i in zip(df["platform"], df["product_id"]))
    assert {k: v.shape for k, v in got.dense.items()} == {k: (30, d) for k, d in DENSE.items()}
    assert all(v.dtype == np.float32 for v in got.dense.values())
    assert sorted(got.sparse) == ["lex_description", "lex_title"] and len(got.sparse["lex_title"]) == 30
    by_id = dict(zip(got.ids, range(30)))
    row = by_id[point_id("myntra", df["product_id"][10])]
    assert got.payload["title"][row] == df["title"][10]
    assert got.paths[row] == split_path(df["category"][10])  # no mapping: the shop's own path is the label


def test_a_product_without_an_image_gets_a_zero_row(stored) -> None:
    store, df = stored
    got = load_products(store, vectors=["tiny_image"], sparse=[])
    assert list(got.dense) == ["tiny_image"] and got.sparse == {}
    no_image = {point_id("myntra", i) for i in df["product_id"][25:]}
    norms = np.linalg.norm(got.dense["tiny_image"], axis=1)
    assert [got.ids[i] for i in np.flatnonzero(norms == 0)] and set(np.array(got.ids)[norms == 0]) == no_image
    np.testing.assert_allclose(norms[norms > 0], 1.0, atol=1e-5)


def test_filters_subsets_and_unknown_vectors(stored) -> None:
    store, _ = stored
    hm = load_products(store, filter={"platform": "hm"}, vectors=["tiny_title"], sparse=["lex_title"])
    assert len(hm) == 6 and set(hm.payload["platform"]) == {"hm"}
    first = hm.take([2, 0])
    assert first.ids == [hm.ids[2], hm.ids[0]] and first.dense["tiny_title"].shape == (2, 256)
    np.testing.assert_array_equal(first.dense["tiny_title"][1], hm.dense["tiny_title"][0])
    assert first.sparse["lex_title"][0] is hm.sparse["lex_title"][2] and list(first.payload.index) == [0, 1]
    assert hm.where(hm.payload["product_id"] == hm.payload["product_id"][3]).ids == [hm.ids[3]]
    none = load_products(store, filter={"platform": "nowhere"}, vectors=["tiny_title"])
    assert len(none) == 0 and none.dense["tiny_title"].shape == (0, 256) and none.paths == []
    with pytest.raises(KeyError, match=r"the store has no vector\(s\) clip_image; it has .*tiny_title"):
        load_products(store, vectors=["clip_image"])


def test_an_empty_store_loads_nothing(tmp_path: Path) -> None:
    with EdgeStore(tmp_path / "s") as store:
        got = load_products(store)
        assert len(got) == 0 and got.dense == {} and got.sparse == {}
        assert list(got.payload.columns) == ["path", "platform"]
