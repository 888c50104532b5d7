"""The store layer: EdgeStore and ServerStore (qdrant-client local mode) must behave the same."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from hiercat.store import (
    EdgeStore,
    PointData,
    SchemaError,
    ServerStore,
    SparseVector,
    StoreClosedError,
    StoreLockedError,
    open_store,
    point_id,
)

DENSE = {"text": 8, "image": 4}
SPARSE = ["bm25"]
KEYWORDS = ["platform", "levels", "level_1"]
N = 40
BRANCHES = [("Apparel", "Shoes"), ("Apparel", "Clothing", "Shirts"), ("Bags",), ("Apparel", "Clothing", "Dresses")]


def make_points(n: int = N, seed: int = 0) -> list[PointData]:
    """Points with every payload shape the ingest writes: unicode, lists, numbers, empty strings."""
    rng = np.random.default_rng(seed)
    points = []
    for i in range(n):
        levels = list(BRANCHES[i % len(BRANCHES)])
        payload = {
            "product_id": str(i),
            "platform": "myntra" if i % 3 else "hm",
            "title": f"Tröja № {i} — 夏 ✓" if i % 5 else "",
            "levels": levels,
            "level_1": levels[0],
            "price": float(i) + 0.5,
            "year": 2000 + i,
            "tags": [],
            "nested": {"a": [1, 2], "b": ""},
        }
        idx = np.unique(rng.integers(0, 1000, size=5)).astype(np.uint32)
        points.append(PointData(
            id=point_id(payload["platform"], payload["product_id"]),
            vectors={name: rng.standard_normal(d).astype(np.float32) for name, d in DENSE.items()},
            sparse={"bm25": SparseVector(idx, rng.random(idx.size).astype(np.float32) + 0.1)},
            payload=payload,
        ))
    return points


def unit(v: np.ndarray) -> np.ndarray:
    return v / np.linalg.norm(v)


@pytest.fixture(params=["edge", "server"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator:
    """An empty store of each kind, closed afterwards."""
    s = EdgeStore(tmp_path / "edge") if request.param == "edge" else ServerStore(location=":memory:")
    yield s
    s.close()


@pytest.fixture
def filled(store) -> tuple:
    """A store holding make_points(), and those points."""
    points = make_points()
    store.ensure_schema(DENSE, SPARSE, indexed_keywords=KEYWORDS)
    store.upsert(points)
    return store, points


def test_schema_is_created_extended_and_checked(store) -> None:
    assert store.dense_vectors() == {} and store.count() == 0 and list(store.scroll()) == []
    with pytest.raises(SchemaError, match="ensure_schema"):
        store.upsert(make_points(1))
    store.ensure_schema(DENSE, SPARSE, indexed_keywords=KEYWORDS)
    store.ensure_schema(DENSE, SPARSE, indexed_keywords=KEYWORDS)  # idempotent
    assert store.dense_vectors() == DENSE
    store.upsert(make_points(3))
    store.ensure_schema({**DENSE, "extra": 3}, [*SPARSE, "splade"])
    assert store.dense_vectors() == {**DENSE, "extra": 3}
    assert store.count() == 3
    with pytest.raises(SchemaError, match="'text'.*8-d"):
        store.ensure_schema({"text": 16})
    with pytest.raises(SchemaError, match="no dense vector 'nope'"):
        store.search("nope", np.ones(4, dtype=np.float32))


def test_round_trip_of_payloads_and_vectors(filled) -> None:
    store, points = filled
    ids = [points[5].id, point_id("nowhere", "x"), points[2].id]
    got = store.retrieve(ids, with_vectors=True)
    assert [p.id for p in got] == [points[5].id, points[2].id]  # asked order, missing left out
    for want, have in zip([points[5], points[2]], got):
        assert have.payload == want.payload
        assert set(have.vectors) == set(DENSE)
        for name, v in want.vectors.items():
            assert have.vectors[name].dtype == np.float32
            np.testing.assert_allclose(have.vectors[name], unit(v), rtol=1e-5, atol=1e-6)  # cosine stores unit vectors
        sv = have.sparse["bm25"]
        np.testing.assert_array_equal(sv.indices, want.sparse["bm25"].indices)
        np.testing.assert_allclose(sv.values, want.sparse["bm25"].values, rtol=1e-6)
    [only] = store.retrieve([points[1].id], with_vectors=["image"])
    assert set(only.vectors) == {"image"} and not only.sparse
    [bare] = store.retrieve([points[1].id])
    assert not bare.vectors and bare.payload["title"] == "Tröja № 1 — 夏 ✓"


def test_overwrite_by_same_id_does_not_duplicate(filled) -> None:
    store, points = filled
    again = make_points(seed=1)
    again[0].payload["title"] = "new"
    store.upsert(again)
    assert store.count() == N
    assert store.retrieve([points[0].id])[0].payload["title"] == "new"


def test_scroll_filters_and_pagination(filled) -> None:
    store, points = filled
    all_points = list(store.scroll(batch_size=7))
    assert sorted(p.id for p in all_points) == sorted(p.id for p in points)
    by_id = {p.id: p for p in points}

    def ids(flt) -> list[str]:
        got = [p.id for p in store.scroll(flt, batch_size=5)]
        assert len(got) == len(set(got))
        assert store.count(flt) == len(got)
        return sorted(got)

    def expect(pred) -> list[str]:
        return sorted(i for i, p in by_id.items() if pred(p.payload))

    assert ids({"platform": "hm"}) == expect(lambda p: p["platform"] == "hm")
    assert ids({"level_1": ["Bags", "Nope"]}) == expect(lambda p: p["level_1"] == "Bags")
    assert ids({"levels": "Clothing"}) == expect(lambda p: "Clothing" in p["levels"])
    assert ids({"levels": ["Shoes", "Dresses"], "platform": "myntra"}) == expect(
        lambda p: {"Shoes", "Dresses"} & set(p["levels"]) and p["platform"] == "myntra")
    assert ids({"year": [2001, 2003]}) == expect(lambda p: p["year"] in (2001, 2003))
    assert ids({"platform": []}) == []
    with_vecs = list(store.scroll({"platform": "hm"}, with_vectors=["text"], batch_size=3))
    assert all(p.vectors["text"].dtype == np.float32 and p.vectors["text"].shape == (8,) for p in with_vecs)
    with pytest.raises(TypeError, match="boolean"):
        store.count({"platform": True})


def test_search_finds_the_query_point_first(filled) -> None:
    store, points = filled
    for p in points[:5]:
        for exact in (False, True):
            [top, *_] = store.search("text", p.vectors["text"], k=3, exact=exact)
            assert top.id == p.id and top.score == pytest.approx(1.0, abs=1e-4)
            assert top.payload == p.payload
    hm = [p for p in points if p.payload["platform"] == "hm"]
    hits = store.search("image", points[1].vectors["image"], k=50, filter={"platform": "hm"})
    assert sorted(h.id for h in hits) == sorted(p.id for p in hm)
    assert [h.score for h in hits] == sorted((h.score for h in hits), reverse=True)


def test_sparse_search(filled) -> None:
    store, points = filled
    for p in points[:5]:
        hits = store.search("bm25", p.sparse["bm25"], k=5)
        assert hits[0].id == p.id and hits[0].score > 0
    with pytest.raises(SchemaError, match="no sparse vector"):
        store.search("text", points[0].sparse["bm25"])


@pytest.mark.parametrize("kind", ["edge", "server", "memory"])
def test_search_batch_equals_one_search_per_query(kind: str, tmp_path: Path,
                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    from hiercat.recluster.memstore import MemoryStore
    from hiercat.store import edge, server

    # A chunk of 3 makes 11 queries cross chunk boundaries, as a large classify run does.
    monkeypatch.setattr(edge, "SEARCH_BATCH_CHUNK", 3)
    monkeypatch.setattr(server, "SEARCH_BATCH_CHUNK", 3)
    store = {"edge": lambda: EdgeStore(tmp_path / "edge"), "server": lambda: ServerStore(location=":memory:"),
             "memory": MemoryStore}[kind]()
    points = make_points()
    store.ensure_schema(DENSE, SPARSE, indexed_keywords=KEYWORDS)
    store.upsert(points)
    try:
        for name, queries, flt in [("text", [p.vectors["text"] for p in points[:11]], None),
                                   ("image", [p.vectors["image"] for p in points[5:16]], {"platform": "hm"}),
                                   ("bm25", [p.sparse["bm25"] for p in points[:11]], None)]:
            batched = store.search_batch(name, queries, k=4, filter=flt)
            single = [store.search(name, q, k=4, filter=flt) for q in queries]
            assert len(batched) == len(queries)
            assert [[h.id for h in hits] for hits in batched] == [[h.id for h in hits] for hits in single]
            assert [[round(h.score, 5) for h in hits] for hits in batched] == \
                   [[round(h.score, 5) for h in hits] for hits in single]
            assert batched[0][0].payload == single[0][0].payload
        assert store.search_batch("text", [], k=4) == []
        if kind != "memory":
            with pytest.raises(SchemaError, match="no dense vector"):
                store.search_batch("nope", [points[0].vectors["text"]])
    finally:
        store.close()


def test_facet_counts(filled) -> None:
    store, points = filled
    levels = Counter(x for p in points for x in set(p.payload["levels"]))
    assert store.facet("levels") == dict(levels)
    assert store.facet("platform") == dict(Counter(p.payload["platform"] for p in points))
    hm_levels = Counter(x for p in points if p.payload["platform"] == "hm" for x in p.payload["levels"])
    assert store.facet("levels", filter={"platform": "hm"}) == dict(hm_levels)
    top = store.facet("levels", limit=2)
    assert list(top) == [v for v, _ in sorted(levels.items(), key=lambda vc: (-vc[1], vc[0]))][:2]
    # A key without a payload index is counted by scrolling on the engines that cannot facet it.
    assert store.facet("product_id", limit=3) == {"0": 1, "1": 1, "10": 1}


def test_set_payload_merges(filled) -> None:
    store, points = filled
    store.set_payload([points[0].id, points[1].id], {"path": "Bags", "score": 0.25})
    a, b, c = store.retrieve([points[0].id, points[1].id, points[2].id])
    assert a.payload["path"] == b.payload["path"] == "Bags" and a.payload["score"] == 0.25
    assert a.payload["title"] == points[0].payload["title"]  # merged, not replaced
    assert "path" not in c.payload
    assert store.count({"path": "Bags"}) == 2
    with pytest.raises(KeyError, match="not in the store"):
        store.set_payload([point_id("nowhere", "x")], {"path": "x"})


def test_meta_round_trip(store) -> None:
    assert store.get_meta() == {}
    meta = {"preset": {"name": "minilm", "vectors": {"text": 384}}, "taxonomy": {"Äpfel": ["é", 1, 2.5, None]}}
    store.set_meta(meta)
    assert store.get_meta() == meta
    store.set_meta({"only": True})
    assert store.get_meta() == {"only": True}


def test_edge_reopen_keeps_points_meta_and_indexes(tmp_path: Path) -> None:
    points = make_points()
    with EdgeStore(tmp_path / "s") as store:
        store.ensure_schema(DENSE, SPARSE, indexed_keywords=KEYWORDS)
        store.upsert(points)
        store.set_meta({"preset": "x"})
    with pytest.raises(StoreClosedError):
        store.count()
    with EdgeStore(tmp_path / "s", hnsw_ef=128) as store:
        assert store.count() == N and store.get_meta() == {"preset": "x"}
        assert store.dense_vectors() == DENSE
        assert store.search("text", points[7].vectors["text"], k=1)[0].id == points[7].id
        assert store.facet("platform") == dict(Counter(p.payload["platform"] for p in points))


def test_edge_second_open_is_refused_clearly(tmp_path: Path) -> None:
    first = EdgeStore(tmp_path / "s")
    first.ensure_schema(DENSE)
    with pytest.raises(StoreLockedError, match="already open"):
        EdgeStore(tmp_path / "s")
    first.close()
    EdgeStore(tmp_path / "s").close()  # free again once closed


def test_edge_upserts_survive_a_killed_process(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[1])!r})
        from tests.test_store import make_points, DENSE, SPARSE
        from hiercat.store import EdgeStore
        store = EdgeStore({str(folder)!r})
        store.ensure_schema(DENSE, SPARSE)
        store.upsert(make_points())
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9, proc.stderr
    with EdgeStore(folder) as store:
        assert store.count() == N


# qdrant-client warns that there is no server to check versions against, and of an api key over http.
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_open_store_picks_the_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QDRANT_URL", raising=False)
    with open_store(tmp_path / "e") as s:
        assert isinstance(s, EdgeStore)
    monkeypatch.setenv("QDRANT_URL", "http://localhost:6333")
    monkeypatch.setenv("QDRANT_API_KEY", "secret")
    before = set(threading.enumerate())
    s = open_store(tmp_path / "e")  # the client connects lazily, so no server is needed here
    # qdrant-client checks the server version in a thread: let it warn inside this test, not the next.
    for t in set(threading.enumerate()) - before:
        t.join(timeout=30)
    assert isinstance(s, ServerStore) and s.collection == "products" and not s.local
    s.close()


def test_server_local_path_keeps_meta(tmp_path: Path) -> None:
    with ServerStore(path=str(tmp_path / "q"), collection="c") as s:
        s.ensure_schema(DENSE, SPARSE)
        s.upsert(make_points(4))
        s.set_meta({"k": "v"})
    with ServerStore(path=str(tmp_path / "q"), collection="c") as s:
        assert s.get_meta() == {"k": "v"} and s.count() == 4
