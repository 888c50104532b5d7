"""Embedded store: a Qdrant Edge shard in a folder, with hiercat's metadata in hiercat.json beside it."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import qdrant_edge as qe

from . import _common as c
from ._files import FolderLock, read_json, write_json_atomic
from .base import Filter, Hit, PointData, SparseVector
from .errors import SchemaError, StoreClosedError, StoreError, StoreLockedError
from .options import DEFAULT_STORAGE, INT8_QUANTILE, StorageOptions

META_FILE = "hiercat.json"
LOCK_FILE = "hiercat.lock"
# Written by qdrant_edge itself (documented): the only place the shard's vector config can be read.
EDGE_CONFIG_FILE = "edge_config.json"
UPSERT_CHUNK = 1024
SEARCH_BATCH_CHUNK = 256


def _edge_filter(filter: Filter | None) -> qe.Filter | None:
    conds = c.conditions(filter)
    if not conds:
        return None
    must: list[qe.ConditionType] = [  # the stub's List is invariant: say the element type it takes
        qe.FieldCondition(k, match=qe.MatchAny(v) if isinstance(v, list) else qe.MatchValue(v))
        for k, v in conds
    ]
    return qe.Filter(must=must)


def _vector_params(dim: int, storage: StorageOptions) -> qe.EdgeVectorParams:
    quantization = None
    if storage.int8:
        # always_ram: the quantized copy is what HNSW walks; the originals (maybe on disk) only rescore.
        quantization = qe.ScalarQuantizationConfig(qe.ScalarType.Int8, quantile=INT8_QUANTILE, always_ram=True)
    return qe.EdgeVectorParams(size=dim, distance=qe.Distance.Cosine, on_disk=storage.on_disk or None,
                               quantization_config=quantization)


def _to_point(p: PointData) -> qe.Point:
    vec: dict[str, Any] = {name: c.dense_list(v, name) for name, v in p.vectors.items()}
    for name, sv in p.sparse.items():
        vec[name] = qe.SparseVector(*c.sparse_lists(sv, name))
    return qe.Point(c.canonical_id(p.id), vec, c.plain_payload(p.payload))


def _from_record(rec: Any) -> PointData:
    point = PointData(id=str(rec.id), payload=dict(rec.payload or {}))
    for name, v in (rec.vector or {}).items():
        if isinstance(v, qe.SparseVector):
            point.sparse[name] = c.to_sparse(v.indices, v.values)
        else:
            point.vectors[name] = c.to_dense(v)
    return point


class EdgeStore:
    """The VectorStore on an embedded Qdrant Edge shard (a folder on disk; created or loaded)."""

    def __init__(self, path: str | Path, *, hnsw_ef: int | None = None, storage: StorageOptions | None = None) -> None:
        self.path = Path(path)
        # Beam width of non-exact searches; None keeps the engine default (ef_construct, 100).
        self.hnsw_ef = hnsw_ef
        # Layout of a shard this store creates (on-disk vectors, int8 quantization); a loaded one keeps its own.
        self.storage = storage or DEFAULT_STORAGE
        if self.storage.cluster_only:
            raise ValueError("shards, replicas and write consistency belong to a Qdrant server or cluster "
                             "(--qdrant-url); the embedded store is one shard on one machine")
        self.path.mkdir(parents=True, exist_ok=True)
        self._lock: FolderLock | None = FolderLock(self.path, LOCK_FILE)
        self._shard: qe.EdgeShard | None = None
        self._names: tuple[set[str], set[str]] | None = None  # (dense, sparse) names, cached for search
        try:
            if (self.path / EDGE_CONFIG_FILE).exists() or (self.path / "segments").exists():
                self._shard = self._load()
        except BaseException:
            self._lock.release()
            raise

    def _load(self) -> qe.EdgeShard:
        try:
            return qe.EdgeShard.load(str(self.path))
        except Exception as e:
            if "WouldBlock" in str(e):  # the WAL is locked by an EdgeShard opened without EdgeStore
                raise StoreLockedError(f"the store {self.path} is already open by another Qdrant Edge shard") from e
            raise StoreError(f"cannot load the Qdrant Edge shard in {self.path}: {e}") from e

    # -- lifecycle ---------------------------------------------------------------------------

    def __enter__(self) -> EdgeStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"EdgeStore({str(self.path)!r})"

    def close(self) -> None:
        """Flush and release the shard and the folder lock (safe to call twice)."""
        try:
            if self._shard is not None:
                self._shard.flush()
                self._shard.close()
        finally:
            self._shard = None
            if self._lock is not None:
                self._lock.release()
                self._lock = None

    def flush(self) -> None:
        """Write pending segment changes to disk (upserts are already safe in the WAL)."""
        if self._shard is not None:
            self._shard.flush()

    def optimize(self) -> bool:
        """Build the HNSW / payload indexes of large segments now (Edge never optimises on its own)."""
        self._check_open()
        return bool(self._shard.optimize()) if self._shard is not None else False

    def _check_open(self) -> None:
        if self._lock is None:
            raise StoreClosedError(f"{self!r} was closed")

    def _opened(self) -> qe.EdgeShard:
        self._check_open()
        if self._shard is None:
            raise SchemaError(f"the store {self.path} has no collection yet: call ensure_schema() first")
        return self._shard

    # -- schema ------------------------------------------------------------------------------

    def _config(self) -> dict[str, Any]:
        return read_json(self.path / EDGE_CONFIG_FILE) if self._shard is not None else {}

    def _check_vector(self, name: str, sparse: bool) -> None:
        # Cached because search is hot; re-read once on a miss (ensure_schema may have added it).
        for attempt in range(2):
            if self._names is None or attempt:
                self._names = (set(self.dense_vectors()), set(self.sparse_vectors()))
            if name in self._names[1 if sparse else 0]:
                return
        kind = "sparse" if sparse else "dense"
        assert self._names is not None  # set by the loop's first pass
        raise SchemaError(f"no {kind} vector {name!r} in {self.path}; it has {sorted(self._names[1 if sparse else 0])}")

    def dense_vectors(self) -> dict[str, int]:
        """Names and dimensions of the dense vectors the shard holds."""
        self._check_open()
        return {n: int(v["size"]) for n, v in (self._config().get("vectors") or {}).items()}

    def sparse_vectors(self) -> list[str]:
        """Names of the sparse vectors the shard holds."""
        self._check_open()
        return sorted(self._config().get("sparse_vectors") or {})

    def ensure_schema(self, dense: Mapping[str, int], sparse: Sequence[str] = (),
                      indexed_keywords: Sequence[str] = ()) -> None:
        """Create the shard / missing named vectors (cosine; sparse with IDF) / keyword indexes."""
        self._check_open()
        if self._shard is None:
            if not dense and not sparse:
                raise SchemaError("ensure_schema needs at least one dense or sparse vector to create a store")
            config = qe.EdgeConfig(
                vectors={n: _vector_params(int(d), self.storage) for n, d in dense.items()},
                sparse_vectors={n: qe.EdgeSparseVectorParams(modifier=qe.Modifier.Idf) for n in sparse},
            )
            self._shard = qe.EdgeShard.create(str(self.path), config)
        else:
            self._add_missing_vectors(dense, sparse)
        shard = self._opened()
        indexed = set(shard.info().payload_schema)
        for key in indexed_keywords:
            if key not in indexed:
                shard.update(qe.UpdateOperation.create_field_index(key, qe.PayloadSchemaType.Keyword))

    def _add_missing_vectors(self, dense: Mapping[str, int], sparse: Sequence[str]) -> None:
        shard = self._opened()
        config = self._config()
        have_dense = config.get("vectors") or {}
        have_sparse = config.get("sparse_vectors") or {}
        for name, dim in dense.items():
            if name in have_sparse:
                raise SchemaError(f"vector {name!r} exists in {self.path} as a sparse vector, asked for dense")
            known = have_dense.get(name)
            if known is None:
                shard.update(qe.UpdateOperation.create_dense_vector(name, int(dim), qe.Distance.Cosine))
            elif int(known["size"]) != int(dim) or known.get("distance", "Cosine") != "Cosine":
                raise SchemaError(f"vector {name!r} in {self.path} is {known['size']}-d {known.get('distance')}, "
                                  f"asked for {dim}-d cosine: use another store folder")
        for name in sparse:
            if name in have_dense:
                raise SchemaError(f"vector {name!r} exists in {self.path} as a dense vector, asked for sparse")
            if name not in have_sparse:
                shard.update(qe.UpdateOperation.create_sparse_vector(name, modifier=qe.Modifier.Idf))

    # -- writes ------------------------------------------------------------------------------

    def upsert(self, points: Sequence[PointData]) -> None:
        """Insert or overwrite points; once this returns they are in the WAL and survive a kill."""
        shard = self._opened()
        for i in range(0, len(points), UPSERT_CHUNK):
            shard.update(qe.UpdateOperation.upsert_points([_to_point(p) for p in points[i:i + UPSERT_CHUNK]]))

    def set_payload(self, ids: Sequence[str], payload: Mapping[str, Any]) -> None:
        """Merge payload keys into the given points (all of which must exist)."""
        shard = self._opened()
        wanted = [c.canonical_id(i) for i in ids]
        if not wanted:
            return
        # qdrant_edge's stub asks List[PointId] (invariant) where any list of str/int/UUID ids is taken
        found = {str(r.id) for r in shard.retrieve(wanted, False, False)}  # type: ignore[arg-type]
        missing = [i for i in wanted if i not in found]
        if missing:
            raise KeyError(f"set_payload: {len(missing)} point(s) not in the store, e.g. {missing[:3]}")
        # qdrant_edge's stub asks List[PointId] (invariant) where any list of str/int/UUID ids is taken
        shard.update(qe.UpdateOperation.set_payload(wanted, c.plain_payload(payload)))  # type: ignore[arg-type]

    # -- metadata ----------------------------------------------------------------------------

    def get_meta(self) -> dict[str, Any]:
        """Store-level metadata from hiercat.json, {} when new."""
        self._check_open()
        return read_json(self.path / META_FILE)

    def set_meta(self, meta: Mapping[str, Any]) -> None:
        """Replace store-level metadata (written atomically)."""
        self._check_open()
        write_json_atomic(self.path / META_FILE, dict(meta))

    # -- reads -------------------------------------------------------------------------------

    def retrieve(self, ids: Sequence[str], with_vectors: bool | Sequence[str] = False) -> list[PointData]:
        """Points by id in the order asked (missing ids left out), with payloads and optional vectors."""
        self._check_open()
        wanted = [c.canonical_id(i) for i in ids]
        if self._shard is None or not wanted:
            return []
        # qdrant_edge's stub asks List[PointId] (invariant) where any list of str/int/UUID ids is taken
        recs = self._shard.retrieve(wanted, True, c.vector_selector(with_vectors))  # type: ignore[arg-type]
        return [_from_record(r) for r in c.in_order(wanted, recs, lambda r: str(r.id))]

    def scroll(self, filter: Filter | None = None, with_vectors: bool | Sequence[str] = False,
               batch_size: int = 1024) -> Iterator[PointData]:
        """Every point matching the filter once, in id order, fetched batch_size at a time."""
        self._check_open()
        flt, vecs = _edge_filter(filter), c.vector_selector(with_vectors)
        offset: Any = None
        while self._shard is not None:
            recs, offset = self._opened().scroll(qe.ScrollRequest(
                offset=offset, limit=batch_size, filter=flt, with_payload=True, with_vector=vecs))
            for r in recs:
                yield _from_record(r)
            if offset is None:
                return

    def search(self, vector_name: str, query: np.ndarray | SparseVector, k: int = 10,
               filter: Filter | None = None, exact: bool = False) -> list[Hit]:
        """k nearest points by one named vector; exact=True scans instead of using HNSW."""
        shard = self._opened()
        res = shard.query(self._query_request(vector_name, query, k, _edge_filter(filter), exact))
        return [Hit(id=str(p.id), score=float(p.score), payload=dict(p.payload or {})) for p in res]

    def search_batch(self, vector_name: str, queries: Sequence[np.ndarray | SparseVector], k: int = 10,
                     filter: Filter | None = None, exact: bool = False) -> list[list[Hit]]:
        """`search` for many queries at once (one planned Qdrant query batch): one hit list per query, in order."""
        shard = self._opened()
        flt = _edge_filter(filter)
        out: list[list[Hit]] = []
        # Chunked so one huge classify run does not build a single request holding every query.
        for lo in range(0, len(queries), SEARCH_BATCH_CHUNK):
            reqs = [self._query_request(vector_name, q, k, flt, exact) for q in queries[lo:lo + SEARCH_BATCH_CHUNK]]
            for res in shard.query_batch(qe.QueryBatchRequest(reqs)):
                out.append([Hit(id=str(p.id), score=float(p.score), payload=dict(p.payload or {})) for p in res])
        return out

    def _query_request(self, vector_name: str, query: np.ndarray | SparseVector, k: int, flt: qe.Filter | None,
                       exact: bool) -> qe.QueryRequest:
        if isinstance(query, SparseVector):
            self._check_vector(vector_name, sparse=True)
            q: Any = qe.SparseVector(*c.sparse_lists(query, vector_name))
        else:
            self._check_vector(vector_name, sparse=False)
            q = c.dense_list(query, vector_name)
        return qe.QueryRequest(
            limit=k, query=qe.Query.Nearest(q, using=vector_name), filter=flt,
            params=qe.SearchParams(exact=exact, hnsw_ef=None if exact else self.hnsw_ef), with_payload=True)

    def count(self, filter: Filter | None = None) -> int:
        """Exact number of points matching the filter."""
        self._check_open()
        if self._shard is None:
            return 0
        return int(self._shard.count(qe.CountRequest(exact=True, filter=_edge_filter(filter))))

    def facet(self, key: str, filter: Filter | None = None, limit: int = 1000) -> dict[str, int]:
        """Points per value of a payload key (each element of a list counts), most frequent first."""
        self._check_open()
        if self._shard is None:
            return {}
        flt = _edge_filter(filter)
        if key in self._shard.info().payload_schema:
            res = self._shard.facet(qe.FacetRequest(key, limit=limit, exact=True, filter=flt))
            return c.top_counts(((h.value, h.count) for h in res.hits), limit)
        # Edge facets only indexed keys; count by scrolling the one key instead.
        payloads = self._scroll_payloads(flt, key)
        return c.top_counts(c.count_values(payloads, key).items(), limit)

    def _scroll_payloads(self, flt: qe.Filter | None, key: str) -> Iterator[dict[str, Any]]:
        offset: Any = None
        while True:
            recs, offset = self._opened().scroll(qe.ScrollRequest(
                offset=offset, limit=4096, filter=flt, with_payload=[key.split(".")[0]], with_vector=False))
            for r in recs:
                yield r.payload or {}
            if offset is None:
                return


__all__ = ["EdgeStore", "META_FILE", "LOCK_FILE"]
