"""An in-memory VectorStore over plain dicts, for recluster experiments, tests and benchmarks without Qdrant."""

from __future__ import annotations

import copy
from collections.abc import Collection, Iterator, Mapping, Sequence
from typing import Any

import numpy as np

from ..store._common import conditions
from ..store.base import Filter, Hit, PointData, SparseVector
from ..store.errors import SchemaError, StoreClosedError


def matches(payload: Mapping[str, Any], filter: Filter | None) -> bool:
    """Qdrant keyword-match semantics: every key must match; a list payload matches if any element does."""
    if not filter:
        return True
    for key, want in filter.items():
        accepted = set(want) if isinstance(want, (list, tuple, set, frozenset)) else {want}
        have = payload.get(key)
        values = have if isinstance(have, (list, tuple)) else [have]
        if not any(v in accepted for v in values if v is not None):
            return False
    return True


def _unit(v: np.ndarray) -> np.ndarray:
    v = np.asarray(v, dtype=np.float32).copy()
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 0 else v


class MemoryStore:
    """Everything in process memory, brute-force search; same contract as the Qdrant stores."""

    def __init__(self) -> None:
        self.points: dict[str, PointData] = {}
        self.meta: dict[str, Any] = {}
        self.dense: dict[str, int] = {}
        self.sparse_names: list[str] = []
        self.closed = False

    def __enter__(self) -> MemoryStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def ensure_schema(self, dense: Mapping[str, int], sparse: Sequence[str] = (),
                      indexed_keywords: Sequence[str] = ()) -> None:
        """Record the named vectors (keyword indexes need nothing in memory), refusing a changed one as Qdrant does."""
        self._check()
        if not self.dense and not self.sparse_names and not dense and not sparse:
            raise SchemaError("ensure_schema needs at least one dense or sparse vector to create a store")
        for name, dim in dense.items():
            if name in self.sparse_names:
                raise SchemaError(f"vector {name!r} exists in memory as a sparse vector, asked for dense")
            if name in self.dense and self.dense[name] != int(dim):
                raise SchemaError(f"vector {name!r} in memory is {self.dense[name]}-d, asked for {int(dim)}-d")
        for name in sparse:
            if name in self.dense:
                raise SchemaError(f"vector {name!r} exists in memory as a dense vector, asked for sparse")
        self.dense.update({k: int(v) for k, v in dense.items()})
        self.sparse_names = sorted(set(self.sparse_names) | set(sparse))

    def upsert(self, points: Sequence[PointData]) -> None:
        """Insert or overwrite points (copied, so callers may reuse their buffers); dense vectors stored unit-length
        as Qdrant's cosine distance stores them."""
        self._check()
        if not self.dense and not self.sparse_names:
            raise SchemaError("the in-memory store has no vectors yet: call ensure_schema() first")
        for p in points:
            for name in p.vectors:
                self._known(name, sparse=False)
            for name in p.sparse:
                self._known(name, sparse=True)
            self.points[p.id] = PointData(
                id=p.id,
                vectors={k: _unit(v) for k, v in p.vectors.items()},
                sparse=dict(p.sparse),
                payload=copy.deepcopy(dict(p.payload)),
            )

    def _check(self, filter: Filter | None = None) -> None:
        """Refuse use after close() and filters the Qdrant stores refuse (booleans, mixed types)."""
        if self.closed:
            raise StoreClosedError(f"{self!r} was closed")
        conditions(filter)

    def _known(self, name: str, sparse: bool) -> None:
        names = self.sparse_names if sparse else self.dense
        if name not in names:
            kind = "sparse" if sparse else "dense"
            raise SchemaError(f"no {kind} vector {name!r} in the in-memory store; it has {sorted(names)}")

    def _view(self, p: PointData, with_vectors: bool | Sequence[str]) -> PointData:
        names: Collection[str] | None
        if with_vectors is True:
            names = None
        elif not with_vectors:
            names = ()
        else:
            names = set(with_vectors)
        return PointData(
            id=p.id,
            vectors={k: v.copy() for k, v in p.vectors.items() if names is None or k in names},
            sparse={k: v for k, v in p.sparse.items() if names is None or k in names},
            payload=copy.deepcopy(p.payload),
        )

    def retrieve(self, ids: Sequence[str], with_vectors: bool | Sequence[str] = False) -> list[PointData]:
        """Points by id (missing ids are left out)."""
        self._check()
        return [self._view(self.points[i], with_vectors) for i in ids if i in self.points]

    def scroll(self, filter: Filter | None = None, with_vectors: bool | Sequence[str] = False,
               batch_size: int = 1024) -> Iterator[PointData]:
        """Every matching point, in insertion order."""
        self._check(filter)
        for p in list(self.points.values()):
            if matches(p.payload, filter):
                yield self._view(p, with_vectors)

    def search(self, vector_name: str, query: np.ndarray | SparseVector, k: int = 10,
               filter: Filter | None = None, exact: bool = False) -> list[Hit]:
        """k nearest by cosine (dense) or dot product (sparse), brute force."""
        self._check(filter)
        self._known(vector_name, sparse=isinstance(query, SparseVector))
        scored = []
        for p in self.points.values():
            if not matches(p.payload, filter):
                continue
            if isinstance(query, SparseVector):
                sv = p.sparse.get(vector_name)
                if sv is None:
                    continue
                common = dict(zip(sv.indices.tolist(), sv.values.tolist()))
                score = float(sum(common.get(int(i), 0.0) * float(v) for i, v in zip(query.indices, query.values)))
            else:
                v = p.vectors.get(vector_name)
                if v is None:
                    continue
                q = np.asarray(query, dtype=np.float32)
                denom = float(np.linalg.norm(q) * np.linalg.norm(v)) or 1.0
                score = float(q @ v) / denom
            scored.append(Hit(p.id, score, copy.deepcopy(p.payload)))
        scored.sort(key=lambda h: -h.score)
        return scored[:k]

    def search_batch(self, vector_name: str, queries: Sequence[np.ndarray | SparseVector], k: int = 10,
                     filter: Filter | None = None, exact: bool = False) -> list[list[Hit]]:
        """`search` for each query, in order (brute force either way)."""
        self._check(filter)
        return [self.search(vector_name, q, k=k, filter=filter, exact=exact) for q in queries]

    def count(self, filter: Filter | None = None) -> int:
        """Number of matching points."""
        self._check(filter)
        return sum(1 for p in self.points.values() if matches(p.payload, filter))

    def facet(self, key: str, filter: Filter | None = None, limit: int = 1000) -> dict[str, int]:
        """Counts of a payload key's values (each element of a list value counts)."""
        self._check(filter)
        counts: dict[str, int] = {}
        for p in self.points.values():
            if not matches(p.payload, filter):
                continue
            v = p.payload.get(key)
            for x in v if isinstance(v, (list, tuple)) else [v]:
                if x is not None:
                    counts[str(x)] = counts.get(str(x), 0) + 1
        top = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        return dict(top)

    def set_payload(self, ids: Sequence[str], payload: Mapping[str, Any]) -> None:
        """Merge payload keys into the given points; unknown ids are refused before any change, as both stores do."""
        self._check()
        missing = [i for i in ids if i not in self.points]
        if missing:
            raise KeyError(f"set_payload: {len(missing)} point(s) not in the store, e.g. {missing[:3]}")
        for i in ids:
            self.points[i].payload.update(copy.deepcopy(dict(payload)))

    def get_meta(self) -> dict[str, Any]:
        """A copy of the store metadata."""
        self._check()
        return copy.deepcopy(self.meta)

    def set_meta(self, meta: Mapping[str, Any]) -> None:
        """Replace the store metadata."""
        self._check()
        self.meta = copy.deepcopy(dict(meta))

    def dense_vectors(self) -> dict[str, int]:
        """Names and dimensions of the dense vectors."""
        self._check()
        return dict(self.dense)

    def sparse_vectors(self) -> list[str]:
        """Names of the sparse vectors, sorted (as the Qdrant stores list them)."""
        self._check()
        return sorted(self.sparse_names)

    def close(self) -> None:
        """Nothing to flush; later use raises StoreClosedError, as on the Qdrant stores."""
        self.closed = True
