"""store.base: deterministic point ids and content hashes, the point and hit records."""

from __future__ import annotations

import uuid

import numpy as np

from hiercat.store.base import Hit, PointData, content_hash, point_id


def test_point_id_is_a_stable_uuid_per_platform_and_product() -> None:
    a = point_id("myntra", "15970")
    assert a == point_id("myntra", "15970") and uuid.UUID(a).version == 5
    # Pinned: ids written by earlier runs must keep matching, or a re-ingest would duplicate every product.
    assert a == str(uuid.uuid5(uuid.UUID("5b0f7c1e-8a51-4b8e-9d3c-2f1e0c6a9b77"), "myntra\x1f15970"))
    assert len({a, point_id("hm", "15970"), point_id("myntra", "1597"), point_id("myntra1", "5970")}) == 4


def test_content_hash_ignores_key_order_and_sees_values_and_extra_bytes() -> None:
    h = content_hash({"title": "Kurta", "price": 10})
    assert h == content_hash({"price": 10, "title": "Kurta"}) and len(h) == 32
    assert h != content_hash({"title": "Kurta", "price": 11})
    assert h != content_hash({"title": "Kurta", "price": 10}, extra=b"\x89PNG")
    assert content_hash({"title": "Äpfel"}) == content_hash({"title": "Äpfel"})


def test_records_default_to_empty_and_do_not_share_state() -> None:
    a, b = PointData("x"), PointData("y")
    a.vectors["t"] = np.ones(2)
    a.payload["k"] = 1
    assert b.vectors == {} and b.sparse == {} and b.payload == {}
    assert Hit("x", 0.5, {"k": 1}) == Hit("x", 0.5, {"k": 1})
