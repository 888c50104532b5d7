"""Collection layout: int8 quantization and on-disk vectors on both engines, shards and replicas for a cluster."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hiercat.store import EdgeStore, ServerStore
from hiercat.store.options import StorageOptions, with_storage

from .conftest import DENSE, KEYWORDS, SPARSE, make_points, unit


def test_int8_and_on_disk_on_both_stores(tmp_path: Path) -> None:
    layout = StorageOptions(on_disk=True, quantization="int8")
    points = make_points()
    edge, server = EdgeStore(tmp_path / "edge", storage=layout), ServerStore(location=":memory:", storage=layout)
    try:
        for store in (edge, server):
            store.ensure_schema(DENSE, SPARSE, indexed_keywords=KEYWORDS)
            store.upsert(points)
            # Quantized search still ranks each point first for its own vector (rescored with the originals).
            for p in points[:5]:
                assert store.search("text", p.vectors["text"], k=3)[0].id == p.id
            [got] = store.retrieve([points[0].id], with_vectors=["text"])
            np.testing.assert_allclose(got.vectors["text"], unit(points[0].vectors["text"]), atol=1e-6)
        config = json.loads((tmp_path / "edge" / "edge_config.json").read_text())["vectors"]["text"]
        assert config["on_disk"] is True and config["quantization_config"]["scalar"]["type"] == "int8"
        params = server.client.get_collection(server.collection).config.params.vectors["text"]
        assert params.on_disk is True and params.quantization_config.scalar.type == "int8"
    finally:
        edge.close()
        server.close()


def test_cluster_layout_reaches_create_collection(monkeypatch: pytest.MonkeyPatch) -> None:
    # qdrant-client's local mode is one process and drops shard and replica settings, so what a
    # cluster would receive is checked at the client call itself.
    store = with_storage(ServerStore(location=":memory:"), StorageOptions(shards=6, replicas=2, write_consistency=2))
    calls: dict[str, dict] = {}
    real = store.client.create_collection
    monkeypatch.setattr(store.client, "create_collection",
                        lambda name, **kw: calls.setdefault(name, kw) and real(name, **kw))
    try:
        store.ensure_schema(DENSE, SPARSE)
        store.set_meta({"x": 1})
        products, meta = calls[store.collection], calls[store.meta_collection]
        assert (products["shard_number"], products["replication_factor"],
                products["write_consistency_factor"]) == (6, 2, 2)
        assert (meta["shard_number"], meta["replication_factor"]) == (1, 2)  # metadata survives the same lost nodes
        store.upsert(make_points(4))
        assert store.count() == 4 and store.get_meta() == {"x": 1}
    finally:
        store.close()


def test_cluster_options_are_refused_where_they_mean_nothing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="need a Qdrant server"):
        with EdgeStore(tmp_path / "a") as store:
            with_storage(store, StorageOptions(shards=3))
    with pytest.raises(ValueError, match="belong to a Qdrant server"):
        EdgeStore(tmp_path / "b", storage=StorageOptions(replicas=2))
    with pytest.raises(ValueError, match="exceeds"):
        StorageOptions(replicas=2, write_consistency=3)
    with pytest.raises(ValueError, match="quantization"):
        StorageOptions(quantization="int4")
    with pytest.raises(ValueError, match="at least 1"):
        StorageOptions(shards=0)


def test_cli_refuses_cluster_options_for_the_embedded_store(tmp_path: Path, demo_dir: Path) -> None:
    from typer.testing import CliRunner

    from hiercat.cli import app

    res = CliRunner().invoke(app, ["ingest", str(demo_dir / "myntra"), "--store", str(tmp_path / "s"),
                                   "--shards", "3"])
    assert res.exit_code != 0 and "Qdrant server" in res.output
    res = CliRunner().invoke(app, ["ingest", str(demo_dir / "myntra"), "--store", str(tmp_path / "s"),
                                   "--quantization", "int4"])
    assert res.exit_code != 0 and "quantization" in res.output
