"""kNN over the stored products: a similarity-weighted, hierarchy-aware vote that explains every prediction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .store.base import Filter, Hit, SparseVector, VectorStore
from .taxonomy import split_path


@dataclass
class Neighbour:
    """A stored product near the query: the evidence shown with a prediction."""

    product_id: str
    platform: str
    title: str
    path: str
    score: float

    @classmethod
    def from_hit(cls, hit: Hit) -> Neighbour:
        """Neighbour from a store search hit."""
        p = hit.payload
        return cls(str(p.get("product_id", "")), str(p.get("platform", "")), str(p.get("title", "")),
                   str(p.get("path", "")), float(hit.score))


@dataclass
class KnnVote:
    """The kNN decision: a path, its confidence (weight share, product over levels) and the neighbours."""

    path: tuple[str, ...]
    confidence: float
    neighbours: list[Neighbour] = field(default_factory=list)


def vote(neighbours: Sequence[Neighbour], power: float = 1.0) -> tuple[tuple[str, ...], float]:
    """Top-down weighted vote: at each level the child with the most similarity mass wins.

    Going down level by level (instead of voting on whole paths) lets neighbours that agree on
    the branch but not on the leaf still count, and the result is always a prefix of a stored
    path; it ends where most of the remaining mass says the path ends, so it is a valid label.
    """
    weighted = [(split_path(n.path), max(n.score, 0.0) ** power) for n in neighbours if n.path]
    if not weighted:
        return (), 0.0
    prefix: tuple[str, ...] = ()
    confidence = 1.0
    pool = weighted
    while True:
        mass: dict[str | None, float] = defaultdict(float)
        for path, w in pool:
            mass[path[len(prefix)] if len(path) > len(prefix) else None] += w
        total = sum(mass.values())
        best = max(mass, key=lambda key: (mass[key], key is None, str(key)))
        confidence *= mass[best] / total if total > 0 else 0.0
        if best is None:
            return prefix, confidence
        prefix = prefix + (best,)
        pool = [(p, w) for p, w in pool if p[: len(prefix)] == prefix]


def knn_classify(
    store: VectorStore,
    vector_name: str,
    queries: Sequence[np.ndarray | SparseVector],
    k: int = 10,
    filter: Filter | None = None,
) -> list[KnnVote]:
    """Search the store for all query vectors in one batched query and vote over each one's neighbours' paths."""
    out = []
    # One batch query instead of one search per product: a round trip each on a server, a planned pass on Edge.
    for hits in store.search_batch(vector_name, list(queries), k=k, filter=filter):
        neighbours = [Neighbour.from_hit(h) for h in hits]
        path, conf = vote(neighbours)
        out.append(KnnVote(path=path, confidence=conf, neighbours=neighbours))
    return out
