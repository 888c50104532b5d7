"""Points for the store tests: every payload shape the ingest writes, on a small four-branch taxonomy."""

from __future__ import annotations

import numpy as np

from hiercat.store import PointData, SparseVector, point_id

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
