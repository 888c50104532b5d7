"""Ingest on real demo rows: counts add up, payloads round-trip, re-runs skip, a killed run resumes."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from hiercat.catalog import CatalogOptions
from hiercat.cli import app
from hiercat.encoders import load_preset
from hiercat.ingest import ingest
from hiercat.mapping import CategoryMapping
from hiercat.store import EdgeStore, point_id
from hiercat.taxonomy import Taxonomy

from .conftest import GOOGLE


@pytest.fixture(scope="module")
def preset():
    return load_preset("minilm")


@pytest.fixture(scope="module")
def mapping(demo_dir: Path) -> CategoryMapping:
    return CategoryMapping.load(demo_dir / "mappings" / "myntra_to_gpt.csv", Taxonomy.from_google(GOOGLE))


def make_catalog(demo_dir: Path, folder: Path, n: int) -> Path:
    """The first n demo rows with their images, in a folder of their own."""
    df = pd.read_csv(demo_dir / "myntra" / "products.csv", dtype=str, keep_default_na=False).head(n)
    (folder / "images").mkdir(parents=True)
    for p in df["image"]:
        shutil.copy(demo_dir / "myntra" / p, folder / p)
    df.to_csv(folder / "products.csv", index=False)
    return folder / "products.csv"


def test_counts_payloads_and_idempotent_rerun(tmp_path: Path, demo_dir: Path, preset, mapping) -> None:
    cat = make_catalog(demo_dir, tmp_path / "shop", 40)
    df = pd.read_csv(cat, dtype=str, keep_default_na=False)
    (tmp_path / "shop" / df.loc[3, "image"]).write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    df.loc[5, "image"] = "images/missing.jpg"
    df.loc[7, "title"] = ""
    df.to_csv(cat, index=False)
    with EdgeStore(tmp_path / "store") as store:
        first = ingest(cat, store, preset, CatalogOptions(mapping=mapping), batch_size=16)
        assert (first.rows, first.ingested, first.skipped, first.rejected) == (40, 37, 0, 3)
        reasons = sorted(first.rejects["reason"].str.split(":").str[0])
        assert reasons == ["corrupt image", "image not found", "missing title"]
        assert store.count() == 37
        row = df.loc[0]
        [point] = store.retrieve([point_id("myntra", row["product_id"])], with_vectors=True)
        assert point.payload["title"] == row["title"]
        assert point.payload["native_category"] == row["category"]
        path = mapping.lookup(tuple(row["category"].split(" > ")))
        assert point.payload["levels"] == list(path)
        assert point.payload["level_1"] == path[0]
        assert point.payload["brand"] and row["title"].startswith(point.payload["brand"])
        assert set(point.vectors) == set(preset.vector_specs())
        again = ingest(cat, store, preset, CatalogOptions(mapping=mapping), batch_size=16)
        assert (again.ingested, again.skipped, again.rejected) == (0, 37, 3)
        assert store.count() == 37
        df.loc[0, "title"] = row["title"] + " Limited Edition"
        df.to_csv(cat, index=False)
        changed = ingest(cat, store, preset, CatalogOptions(mapping=mapping), batch_size=16)
        assert (changed.ingested, changed.skipped) == (1, 36)
        assert store.count() == 37


def test_killed_ingest_resumes_without_duplicates(tmp_path: Path, demo_dir: Path, preset, mapping) -> None:
    cat = make_catalog(demo_dir, tmp_path / "shop", 64)
    store_dir = tmp_path / "store"
    script = textwrap.dedent(f"""
        import os, signal
        from hiercat.catalog import CatalogOptions
        from hiercat.encoders import load_preset
        from hiercat.ingest import ingest
        from hiercat.mapping import CategoryMapping
        from hiercat.store import EdgeStore
        mapping = CategoryMapping.load({str(demo_dir / 'mappings' / 'myntra_to_gpt.csv')!r})
        def die(done, total):
            if done >= 32:
                os.kill(os.getpid(), signal.SIGKILL)
        store = EdgeStore({str(store_dir)!r})
        ingest({str(cat)!r}, store, load_preset("minilm"), CatalogOptions(mapping=mapping), batch_size=16, on_progress=die)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert proc.returncode == -9, proc.stderr
    with EdgeStore(store_dir) as store:
        assert store.count() == 32
        resumed = ingest(cat, store, preset, CatalogOptions(mapping=mapping), batch_size=16)
        assert (resumed.ingested, resumed.skipped) == (32, 32)
        assert store.count() == 64
        assert len({p.id for p in store.scroll()}) == 64


def test_cli_ingest_info_search(tmp_path: Path, demo_dir: Path) -> None:
    make_catalog(demo_dir, tmp_path / "myntra", 30)
    store = str(tmp_path / "store")
    runner = CliRunner()
    res = runner.invoke(app, ["ingest", str(tmp_path / "myntra"), "--mapping",
                              str(demo_dir / "mappings" / "myntra_to_gpt.csv"), "--store", store])
    assert res.exit_code == 0, res.output
    assert "30" in res.output
    res = runner.invoke(app, ["info", "--store", store])
    assert res.exit_code == 0, res.output
    assert "30 products" in res.output and "myntra" in res.output
    res = runner.invoke(app, ["search", "blue shirt", "--store", store, "-k", "3"])
    assert res.exit_code == 0, res.output
    first = pd.read_csv(tmp_path / "myntra" / "products.csv", dtype=str).loc[0, "product_id"]
    res = runner.invoke(app, ["search", "--like", first, "--store", store, "-k", "3"])
    assert res.exit_code == 0, res.output
    assert "products like" in res.output
