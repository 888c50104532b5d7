"""kNN over the stored products: a similarity-weighted, hierarchy-aware vote that explains every prediction."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Sequence
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
    def from_hit(cls, hit: Hit, label_field: str = "path") -> Neighbour:
        """Neighbour from a store search hit; `path` is its label in `label_field` (the one the model learned)."""
        p = hit.payload
        return cls(str(p.get("product_id", "")), str(p.get("platform", "")), str(p.get("title", "")),
                   str(p.get(label_field) or ""), float(hit.score))


@dataclass
class KnnVote:
    """The kNN decision: a path, its confidence (weight share, product over levels) and the neighbours.

    level_conf: the weight share of the chosen child at each level of `path`, among the neighbours
    that agree on the levels above (the product of them is `confidence`).
    """

    path: tuple[str, ...]
    confidence: float
    neighbours: list[Neighbour] = field(default_factory=list)
    level_conf: tuple[float, ...] = ()


def vote(neighbours: Sequence[Neighbour], power: float = 1.0) -> tuple[tuple[str, ...], float]:
    """(path, confidence) of `vote_levels`."""
    path, levels = vote_levels(neighbours, power)
    return path, float(np.prod(levels)) if path else 0.0


def vote_levels(neighbours: Sequence[Neighbour], power: float = 1.0) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """Top-down weighted vote: at each level the child with the most similarity mass wins.

    Going down level by level (instead of voting on whole paths) lets neighbours that agree on
    the branch but not on the leaf still count, and the result is always a prefix of a stored
    path; it ends where most of the remaining mass says the path ends, so it is a valid label.
    """
    weighted = [(split_path(n.path), max(n.score, 0.0) ** power) for n in neighbours if n.path]
    if not weighted:
        return (), ()
    prefix: tuple[str, ...] = ()
    shares: list[float] = []
    pool = weighted
    while True:
        mass: dict[str | None, float] = defaultdict(float)
        for path, w in pool:
            mass[path[len(prefix)] if len(path) > len(prefix) else None] += w
        total = sum(mass.values())
        best = max(mass, key=lambda key: (mass[key], key is None, str(key)))
        share = mass[best] / total if total > 0 else 0.0
        if best is None:
            if shares:  # stopping here is part of the decision: it scales the last level's share
                shares[-1] *= share
            return prefix, tuple(shares)
        shares.append(share)
        prefix = prefix + (best,)
        pool = [(p, w) for p, w in pool if p[: len(prefix)] == prefix]


# Hits fetched per query, as a multiple of k, before the neighbour set filters them; doubled while too few are left.
OVERFETCH = 2
MAX_OVERFETCH = 16


def _search_many(store: VectorStore, vector_name: str, queries: Sequence[np.ndarray | SparseVector], k: int,
                 filter: Filter | None) -> list[list[Hit]]:
    batch = getattr(store, "search_batch", None)
    if batch is not None:  # one query batch instead of a round trip per product
        return list(batch(vector_name, list(queries), k=k, filter=filter))
    return [store.search(vector_name, q, k=k, filter=filter) for q in queries]


def knn_classify(
    store: VectorStore,
    vector_name: str,
    queries: Sequence[np.ndarray | SparseVector],
    k: int = 10,
    filter: Filter | None = None,
    label_field: str = "path",
    members: Callable[[Hit], bool] | None = None,
) -> list[KnnVote]:
    """Search the store for each query vector and vote over the neighbours' labels in `label_field`.

    members: which stored products may be neighbours (a model's neighbour set: the products it was
    trained on, plus reviewed corrections); the search fetches more hits until k members are left
    or MAX_OVERFETCH * k hits were looked at.
    """
    queries = list(queries)
    hits: list[list[Hit]] = [[] for _ in queries]
    todo = list(range(len(queries)))
    factor = OVERFETCH if members is not None else 1
    while todo:
        found = _search_many(store, vector_name, [queries[i] for i in todo], k * factor, filter)
        again = []
        for i, got in zip(todo, found):
            kept = [h for h in got if members is None or members(h)]
            hits[i] = kept[:k]
            if len(kept) < k and len(got) == k * factor and factor < MAX_OVERFETCH:
                again.append(i)
        todo, factor = again, factor * 2
    out = []
    for got in hits:
        neighbours = [Neighbour.from_hit(h, label_field) for h in got]
        path, levels = vote_levels(neighbours)
        out.append(KnnVote(path=path, confidence=float(np.prod(levels)) if path else 0.0, neighbours=neighbours,
                           level_conf=levels))
    return out


def knn_classify_arrays(
    vectors: np.ndarray,
    labels: Sequence[str],
    queries: np.ndarray,
    k: int = 10,
    chunk: int = 1024,
) -> list[KnnVote]:
    """The same vote as `knn_classify`, over vectors in memory (cosine), e.g. validation products against training ones.

    Training uses it to learn how often the store's vote is right (`hiercat.calibration`) without
    one store round trip per validation product. Zero rows (a missing field) never count as neighbours.
    """
    def unit(a: np.ndarray) -> np.ndarray:
        norm = np.linalg.norm(a, axis=1, keepdims=True)
        return np.divide(a, norm, out=np.zeros_like(a, dtype=np.float32), where=norm > 0)

    base, q = unit(np.asarray(vectors, dtype=np.float32)), unit(np.asarray(queries, dtype=np.float32))
    present = np.linalg.norm(base, axis=1) > 0
    k = min(k, int(present.sum()))
    out: list[KnnVote] = []
    for lo in range(0, len(q), chunk):
        sims = q[lo:lo + chunk] @ base.T
        sims[:, ~present] = -np.inf
        top = np.argpartition(-sims, k - 1, axis=1)[:, :k] if k else np.zeros((len(sims), 0), dtype=int)
        for row, idx in zip(sims, top):
            idx = idx[np.argsort(-row[idx], kind="stable")]
            neighbours = [Neighbour("", "", "", str(labels[j]), float(row[j])) for j in idx]
            path, levels = vote_levels(neighbours)
            out.append(KnnVote(path, float(np.prod(levels)) if path else 0.0, neighbours, levels))
    return out

