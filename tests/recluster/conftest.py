"""Recluster test data: real demo shoes (Myntra rows, real images) ingested with tiny encoders, and one recluster of them.

The store is filled by the real ingest pipeline with a tiny preset (hashed-word text vectors,
8x8-thumbnail image vectors), so the tests run in seconds yet see real titles and images. The
helpers `shoe_catalog` and `tiny_preset` are meant for the end-to-end recluster -> apply -> train test.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import ImageOps
from sklearn.feature_extraction.text import HashingVectorizer

from hiercat.catalog import CatalogOptions
from hiercat.encoders.base import l2_normalize
from hiercat.encoders.presets import Preset
from hiercat.ingest import ingest
from hiercat.mapping import CategoryMapping
from hiercat.recluster import (
    recluster,
)
from hiercat.recluster.memstore import MemoryStore
from hiercat.taxonomy import Taxonomy

from ..conftest import GOOGLE

SHOES = "Apparel & Accessories > Shoes"


class TinyText:
    """Hashed word uni/bigrams, L2-normalized: a text encoder with no model to load."""

    name = "tiny"
    dim = 256

    def __init__(self) -> None:
        self.vec = HashingVectorizer(n_features=self.dim, ngram_range=(1, 2), alternate_sign=False, norm="l2")

    def encode(self, texts):
        return self.vec.transform([str(t) for t in texts]).toarray().astype(np.float32)


class TinyImage:
    """An 8x8 white-padded thumbnail as a 192-d vector: cheap, yet it sees shape and background."""

    name = "tiny"
    dim = 192

    def encode(self, images):
        arr = np.stack([np.asarray(ImageOps.pad(im.convert("RGB"), (8, 8), color=(255, 255, 255)), dtype=np.float32)
                        .ravel() / 255.0 for im in images])
        return l2_normalize(1.0 - arr)  # ink, not paper: white backgrounds must not dominate the cosine


def tiny_preset() -> Preset:
    """A preset (tiny_title, tiny_brand, tiny_image) that ingest accepts like a real one."""
    return Preset(name="tiny", text=TinyText(), image=TinyImage(), lexical=None)


def shoe_catalog(demo_dir: Path, folder: Path, n_shoes: int = 300, n_other: int = 40) -> tuple[Path, CategoryMapping]:
    """A catalog of the first n demo shoes plus some other products, images referenced by absolute path."""
    mapping = CategoryMapping.load(demo_dir / "mappings" / "myntra_to_gpt.csv", Taxonomy.from_google(GOOGLE))
    df = pd.read_csv(demo_dir / "myntra" / "products.csv", dtype=str, keep_default_na=False)
    target = df["category"].map(lambda c: mapping.lookup(tuple(c.split(" > "))))
    shoes = df[target.map(lambda t: t is not None and " > ".join(t) == SHOES)].head(n_shoes)
    other = df[target.map(lambda t: t is not None and t[0] == "Apparel & Accessories" and len(t) > 2)].head(n_other)
    out = pd.concat([shoes, other])
    out["image"] = out["image"].map(lambda p: str((demo_dir / "myntra" / p).resolve()))
    folder.mkdir(parents=True, exist_ok=True)
    out.to_csv(folder / "products.csv", index=False)
    return folder / "products.csv", mapping


def filled_store(demo_dir: Path, folder: Path):
    """A store (the real embedded one when present, else in memory) holding the catalog via ingest."""
    catalog, mapping = shoe_catalog(demo_dir, folder / "shop")
    try:
        from hiercat.store import open_store

        store = open_store(folder / "store")
    except ImportError:
        store = MemoryStore()
    ingest(catalog, store, tiny_preset(), CatalogOptions(mapping=mapping))
    return store


@pytest.fixture(scope="session")
def built(demo_dir: Path, tmp_path_factory):
    """A filled store and one recluster of its shoes (4 level-1 clusters, 2 per group at level 2)."""
    root = tmp_path_factory.mktemp("recluster")
    store = filled_store(demo_dir, root)
    report = recluster(store, "Shoes", root / "out", vectors="fused", method="agglomerative", n_clusters=(4, 2),
                       reference="native_category", text_encoder=TinyText(), seed=0)
    yield store, report, root
    store.close()


@pytest.fixture()
def fresh(demo_dir: Path, tmp_path: Path):
    """A store of its own for tests that rewrite payloads (same catalog, so the same point ids)."""
    store = filled_store(demo_dir, tmp_path)
    yield store
    store.close()


def hm_shoes(shared_data: Path, folder: Path) -> tuple[Path, CategoryMapping]:
    """H&M's shoes from ../shared/data as a catalog (absolute image paths) with H&M's Google mapping."""
    df = pd.read_csv(shared_data / "hm" / "products.csv", dtype=str, keep_default_na=False)
    df = df[df["category"].str.startswith("Shoes > ")].copy()
    df["image"] = df["image"].map(lambda p: str((shared_data / "hm" / p).resolve()))
    folder.mkdir(parents=True, exist_ok=True)
    df.to_csv(folder / "products.csv", index=False)
    return folder / "products.csv", CategoryMapping.load(shared_data / "mappings" / "hm_to_gpt.csv",
                                                         Taxonomy.from_google(GOOGLE))


def _edited(built) -> tuple[dict, dict[str, str]]:
    """The proposal with cluster 1 renamed, 2 merged into 3, and 4 dropped."""
    _, report, root = built
    data = json.loads((root / "out" / "proposal.json").read_text())
    by = {c["id"]: c for c in data["clusters"]}
    by["1"]["name"] = "Everyday"
    by["2"]["merge_into"] = "3"
    by["4"]["drop"] = True
    return data, {c["id"]: c for c in data["clusters"]}
