"""Ingest and embedding on a local Ray cluster give what the single-process code gives (ray is an optional extra)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hiercat.catalog import CatalogOptions
from hiercat.encoders import load_preset
from hiercat.ingest import ingest
from hiercat.mapping import CategoryMapping
from hiercat.store import EdgeStore

from .test_ingest import make_catalog

try:
    import ray
    import ray.data  # noqa: F401
except ImportError:
    pytest.skip("ray is not installed: the optional extra hiercat[ray] (pip install 'hiercat[ray]') is what "
                "`hiercat ingest --ray` / `classify --ray` need; their tests run where it is installed",
                allow_module_level=True)

from hiercat.distributed import embed_rows_ray, ingest_ray  # noqa: E402


@pytest.fixture(scope="module")
def cluster():
    """The local Ray cluster the issue asks for: two CPUs, started and stopped by this module."""
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


@pytest.fixture(scope="module")
def preset():
    return load_preset("minilm")


def _points(store: EdgeStore) -> dict[str, tuple[dict, dict, dict]]:
    return {p.id: (p.payload, p.vectors, p.sparse) for p in store.scroll(with_vectors=True)}


def test_ray_ingest_equals_single_process_ingest(cluster, tmp_path: Path, demo_dir: Path, preset) -> None:
    cat = make_catalog(demo_dir, tmp_path / "shop", 48)
    df = pd.read_csv(cat, dtype=str, keep_default_na=False)
    (tmp_path / "shop" / df.loc[3, "image"]).write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    df.loc[5, "title"] = ""
    df.to_csv(cat, index=False)
    mapping = CategoryMapping.load(demo_dir / "mappings" / "myntra_to_gpt.csv")
    opts = CatalogOptions(mapping=mapping)
    with EdgeStore(tmp_path / "single") as single, EdgeStore(tmp_path / "ray") as distributed:
        one = ingest(cat, single, preset, opts, batch_size=16)
        many = ingest_ray(cat, distributed, preset, opts, workers=2, batch_size=16)
        assert (many.rows, many.ingested, many.skipped, many.rejected) == (one.rows, one.ingested, 0, one.rejected) \
            == (48, 46, 0, 2)
        assert sorted(many.rejects["reason"]) == sorted(one.rejects["reason"])
        assert distributed.count() == single.count() == 46
        a, b = _points(single), _points(distributed)
        assert set(a) == set(b)  # the same deterministic ids
        for pid, (payload, dense, sparse) in a.items():
            assert b[pid][0] == payload  # payloads, content hashes included, identical
            for name, vec in dense.items():
                np.testing.assert_allclose(b[pid][1][name], vec, atol=2e-5)
            for name, sv in sparse.items():
                np.testing.assert_array_equal(b[pid][2][name].indices, sv.indices)
                np.testing.assert_allclose(b[pid][2][name].values, sv.values, atol=1e-6)
        assert distributed.get_meta()["preset"] == single.get_meta()["preset"]
        # A rerun (or a resumed run) finds every content hash stored and duplicates nothing.
        again = ingest_ray(cat, distributed, preset, opts, workers=2, batch_size=16)
        assert (again.ingested, again.skipped, again.rejected) == (0, 46, 2)
        assert distributed.count() == 46
        # The single-process ingest accepts the Ray-written points as its own: nothing to redo.
        cross = ingest(cat, distributed, preset, opts, batch_size=16)
        assert (cross.ingested, cross.skipped) == (0, 46)


def test_ray_embedding_equals_classify_embedding(cluster, demo_dir: Path, preset) -> None:
    from hiercat.classify import embed_rows, read_for_classification

    rows, _ = read_for_classification(demo_dir / "myntra" / "products.csv", CatalogOptions())
    rows = rows.head(40).reset_index(drop=True)
    rows.loc[2, "image_path"] = str(demo_dir / "no-such-image.jpg")
    local, local_notes = embed_rows(rows, preset)
    inputs, notes = embed_rows_ray(rows, preset, workers=2, batch_size=16)
    assert notes == local_notes and notes[2]
    assert set(inputs.dense) == set(local.dense) and set(inputs.sparse) == set(local.sparse)
    for name in local.dense:
        np.testing.assert_allclose(inputs.dense[name], local.dense[name], atol=2e-5)
    for name in local.sparse:
        got, want = inputs.sparse[name].to_vectors(), local.sparse[name].to_vectors()
        assert [list(v.indices) for v in got] == [list(v.indices) for v in want]


def test_ray_classify_equals_classify(cluster, demo_model, tmp_path: Path, demo_dir: Path) -> None:
    from hiercat.classify import classify_catalog
    from hiercat.distributed import classify_catalog_ray

    from .conftest import unseen_demo_rows

    store_dir, model = demo_model
    csv = tmp_path / "new.csv"
    unseen_demo_rows(demo_dir).head(40).to_csv(csv, index=False)
    with EdgeStore(store_dir) as store:
        local = classify_catalog(csv, store, model, explain=True).table
        distributed = classify_catalog_ray(csv, store, model, workers=2, batch_size=16, explain=True).table
    assert list(distributed["product_id"]) == list(local["product_id"])
    assert list(distributed["predicted_path"]) == list(local["predicted_path"])
    assert list(distributed["source"]) == list(local["source"])
    np.testing.assert_allclose(distributed["confidence"], local["confidence"], atol=1e-4)
    assert list(distributed["neighbours"].map(len) > 2) == [True] * 40  # the batched kNN vote explained every row
