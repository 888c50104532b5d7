"""recluster.memstore: Qdrant keyword-match semantics in memory, and copies that callers cannot change.

The behaviour it shares with the Qdrant stores is checked by tests/store/test_contract.py.
"""

from __future__ import annotations

import numpy as np

from hiercat.recluster.memstore import MemoryStore, matches
from hiercat.store import PointData, point_id


def test_matches_follows_qdrant_keyword_semantics() -> None:
    payload = {"platform": "hm", "levels": ["Apparel", "Shoes"], "year": 2012, "brand": None}
    assert matches(payload, None) and matches(payload, {})
    assert matches(payload, {"platform": "hm", "levels": "Shoes"})  # a list payload matches any element
    assert matches(payload, {"levels": ["Bags", "Shoes"], "year": [2011, 2012]})
    assert not matches(payload, {"platform": "hm", "levels": "Bags"})  # every key must match
    assert not matches(payload, {"platform": []}) and not matches(payload, {"missing": "x"})
    assert not matches(payload, {"brand": [None]})  # None is no value, as Qdrant has no null keyword


def test_points_are_copied_in_and_out() -> None:
    store = MemoryStore()
    store.ensure_schema({"v": 2})
    vec = np.array([3.0, 4.0], np.float32)
    payload = {"levels": ["A"]}
    store.upsert([PointData(point_id("s", "1"), {"v": vec}, {}, payload)])
    vec[:] = 0
    payload["levels"].append("B")
    [got] = store.retrieve([point_id("s", "1")], with_vectors=True)
    np.testing.assert_allclose(got.vectors["v"], [0.6, 0.8])
    assert got.payload == {"levels": ["A"]}
    got.payload["levels"].append("C")
    got.vectors["v"][:] = 9
    [again] = store.retrieve([point_id("s", "1")], with_vectors=True)
    assert again.payload == {"levels": ["A"]}
    np.testing.assert_allclose(again.vectors["v"], [0.6, 0.8])
