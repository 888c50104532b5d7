"""The store contract: every VectorStore implementation behaves the same.

Run on the embedded Qdrant Edge store, on the server store against qdrant-client's in-process
mode (ServerStore(location=":memory:"), the client hiercat builds for a server, minus the network),
and on recluster's in-memory store, which stands in for them in tests and benchmarks.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from hiercat.recluster.memstore import MemoryStore
from hiercat.store import EdgeStore, SchemaError, ServerStore, StoreClosedError, point_id

from .conftest import DENSE, KEYWORDS, SPARSE, N, make_points, unit

KINDS = ["edge", "server", "memory"]


def open_kind(kind: str, folder: Path):
    """An empty store of one kind."""
    if kind == "edge":
        return EdgeStore(folder / "edge")
    if kind == "server":
        return ServerStore(location=":memory:")
    return MemoryStore()


@pytest.fixture(params=KINDS)
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator:
    """An empty store of each kind, closed afterwards."""
    s = open_kind(request.param, tmp_path)
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


def test_search_batch_equals_one_search_per_query(filled, monkeypatch: pytest.MonkeyPatch) -> None:
    from hiercat.store import edge, server

    store, points = filled
    # A chunk of 3 makes 11 queries cross chunk boundaries, as a large classify run does.
    monkeypatch.setattr(edge, "SEARCH_BATCH_CHUNK", 3)
    monkeypatch.setattr(server, "SEARCH_BATCH_CHUNK", 3)
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
    with pytest.raises(SchemaError, match="no dense vector"):
        store.search_batch("nope", [points[0].vectors["text"]])


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


def test_upserting_the_same_points_twice_changes_nothing(filled) -> None:
    store, points = filled
    before = {p.id: p for p in store.scroll(with_vectors=True)}
    store.upsert(make_points())
    after = {p.id: p for p in store.scroll(with_vectors=True)}
    assert store.count() == N and sorted(after) == sorted(before)
    for i, p in after.items():
        assert p.payload == before[i].payload
        np.testing.assert_allclose(p.vectors["text"], before[i].vectors["text"], atol=1e-6)
    assert store.facet("platform") == dict(Counter(p.payload["platform"] for p in points))


def test_dense_vectors_name_every_dense_vector_and_no_sparse_one(store) -> None:
    store.ensure_schema({"a": 3}, ["s"])
    assert store.dense_vectors() == {"a": 3} and store.sparse_vectors() == ["s"]
    store.ensure_schema({"b": 5}, ["r"])
    assert store.dense_vectors() == {"a": 3, "b": 5} and store.sparse_vectors() == ["r", "s"]
    with pytest.raises(SchemaError, match="'s'.*sparse"):
        store.ensure_schema({"s": 3})


def test_a_closed_store_refuses_use(store) -> None:
    store.ensure_schema(DENSE, SPARSE)
    store.upsert(make_points(2))
    store.close()
    for use in (store.count, store.get_meta, lambda: list(store.scroll()), lambda: store.upsert(make_points(1)),
                lambda: store.search("text", np.ones(8, np.float32))):
        with pytest.raises(StoreClosedError, match="closed"):
            use()
    store.close()  # closing twice is harmless


@pytest.mark.parametrize("kind", ["edge", "server-path"])
def test_a_reopened_store_holds_what_was_written(kind: str, tmp_path: Path) -> None:
    # The in-memory kinds (ServerStore(":memory:"), MemoryStore) end with their process by design.
    def opened():
        return EdgeStore(tmp_path / "e") if kind == "edge" else ServerStore(path=str(tmp_path / "q"))

    points = make_points()
    with opened() as s:
        s.ensure_schema(DENSE, SPARSE, indexed_keywords=KEYWORDS)
        s.upsert(points)
        s.set_payload([points[3].id], {"path": "Bags"})
        s.set_meta({"preset": {"name": "x"}})
    with opened() as s:
        assert s.count() == N and s.dense_vectors() == DENSE and s.get_meta() == {"preset": {"name": "x"}}
        assert s.retrieve([points[3].id])[0].payload["path"] == "Bags"
        assert s.search("bm25", points[9].sparse["bm25"], k=1)[0].id == points[9].id
        assert s.count({"platform": "hm"}) == sum(p.payload["platform"] == "hm" for p in points)


def test_a_vector_outside_the_schema_is_refused_by_name(store) -> None:
    store.ensure_schema(DENSE, SPARSE)
    [p] = make_points(1)
    p.vectors["zz"] = np.ones(3, np.float32)
    # The engines raise their own exception types here (Edge: Exception, qdrant-client: ValueError);
    # what all stores share is the refusal and the vector's name in the message.
    with pytest.raises(Exception, match="zz"):
        store.upsert([p])
    assert store.count() == 0


def test_a_zero_vector_stays_zero(store) -> None:
    # Ingest writes a zero row for a missing field (no image, no brand): cosine must not turn it into NaN.
    store.ensure_schema(DENSE, SPARSE)
    [p] = make_points(1)
    p.vectors["image"] = np.zeros(4, np.float32)
    store.upsert([p])
    [got] = store.retrieve([p.id], with_vectors=["image"])
    np.testing.assert_array_equal(got.vectors["image"], np.zeros(4, np.float32))
