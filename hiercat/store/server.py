"""Server store: a collection on a Qdrant server (or qdrant-client's in-process local mode, for tests)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

import numpy as np
from qdrant_client import QdrantClient, models

from . import _common as c
from .base import COLLECTION, Filter, Hit, PointData, SparseVector
from .errors import SchemaError, StoreClosedError, StoreError
from .options import DEFAULT_STORAGE, INT8_QUANTILE, StorageOptions

META_POINT_ID = 1
UPSERT_CHUNK = 512
# Queries per batch request: a few hundred keep one HTTP body small while amortising the round trip.
SEARCH_BATCH_CHUNK = 256
SERVER_TIMEOUT_S = 60


def _filter(filter: Filter | None) -> models.Filter | None:
    conds = c.conditions(filter)
    if not conds:
        return None
    must: list[Any] = [
        models.FieldCondition(key=k, match=models.MatchAny(any=v) if isinstance(v, list)
                              else models.MatchValue(value=v))
        for k, v in conds
    ]
    return models.Filter(must=must)


def _vector_params(dim: int, storage: StorageOptions) -> models.VectorParams:
    quantization = None
    if storage.int8:
        # always_ram: the quantized copy is what HNSW walks; the originals (maybe on disk) only rescore.
        quantization = models.ScalarQuantization(scalar=models.ScalarQuantizationConfig(
            type=models.ScalarType.INT8, quantile=INT8_QUANTILE, always_ram=True))
    return models.VectorParams(size=dim, distance=models.Distance.COSINE, on_disk=storage.on_disk or None,
                               quantization_config=quantization)


def _cluster_params(storage: StorageOptions) -> dict[str, Any]:
    """create_collection's distribution arguments (ignored by a single node and by local mode)."""
    return {"shard_number": storage.shards, "replication_factor": storage.replicas,
            "write_consistency_factor": storage.write_consistency}


def _to_point(p: PointData) -> models.PointStruct:
    vec: dict[str, Any] = {name: c.dense_list(v, name) for name, v in p.vectors.items()}
    for name, sv in p.sparse.items():
        idx, val = c.sparse_lists(sv, name)
        vec[name] = models.SparseVector(indices=idx, values=val)
    return models.PointStruct(id=c.canonical_id(p.id), vector=vec, payload=c.plain_payload(p.payload))


def _from_record(rec: Any) -> PointData:
    point = PointData(id=str(rec.id), payload=dict(rec.payload or {}))
    vectors = rec.vector if isinstance(rec.vector, dict) else {}
    for name, v in vectors.items():
        if isinstance(v, models.SparseVector):
            point.sparse[name] = c.to_sparse(v.indices, v.values)
        else:
            point.vectors[name] = c.to_dense(v)
    return point


class ServerStore:
    """The VectorStore on a Qdrant collection, with metadata in a one-point `{collection}__meta` collection."""

    def __init__(self, url: str | None = None, api_key: str | None = None, collection: str = COLLECTION,
                 location: str | None = None, path: str | None = None, *,
                 hnsw_ef: int | None = None, storage: StorageOptions | None = None) -> None:
        if sum(x is not None for x in (url, location, path)) != 1:
            raise ValueError("ServerStore needs exactly one of url= (a server), "
                             "location=':memory:' or path= (local mode)")
        self.collection = collection
        # Beam width of non-exact searches; None keeps the server default (ef_construct, 100).
        self.hnsw_ef = hnsw_ef
        # Layout of a collection this store creates: shards/replicas over a cluster, on-disk vectors, int8.
        self.storage = storage or DEFAULT_STORAGE
        self.meta_collection = f"{collection}__meta"
        # Local mode keeps no payload indexes (filters scan) and facets any key; a server does neither.
        self.local = path is not None or location == ":memory:"
        if self.local:
            self._client: QdrantClient | None = QdrantClient(location=location,
                                                             path=None if path is None else str(path))
        else:
            self._client = QdrantClient(url=url, location=location, api_key=api_key, timeout=SERVER_TIMEOUT_S)
        self._exists = False
        self._dense: dict[str, int] = {}
        self._cosine: set[str] = set()
        self._sparse: set[str] = set()

    def __enter__(self) -> ServerStore:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        where = "local" if self.local else "server"
        return f"ServerStore({where}, collection={self.collection!r})"

    def close(self) -> None:
        """Close the client (the server persists every acknowledged write itself)."""
        if self._client is not None:
            self._client.close()
            self._client = None

    @property
    def client(self) -> QdrantClient:
        """The underlying qdrant-client, for what the store interface does not cover."""
        if self._client is None:
            raise StoreClosedError(f"{self!r} was closed")
        return self._client

    # -- schema ------------------------------------------------------------------------------

    def _has_collection(self) -> bool:
        if not self._exists:
            self._exists = self.client.collection_exists(self.collection)
        return self._exists

    def _refresh_schema(self) -> None:
        if not self._has_collection():
            self._dense, self._sparse, self._cosine = {}, set(), set()
            return
        params = self.client.get_collection(self.collection).config.params
        vectors = params.vectors
        if isinstance(vectors, models.VectorParams):
            vectors = {"": vectors}
        self._dense = {n: int(v.size) for n, v in (vectors or {}).items()}
        self._cosine = {n for n, v in (vectors or {}).items() if v.distance == models.Distance.COSINE}
        self._sparse = set(params.sparse_vectors or {})

    def dense_vectors(self) -> dict[str, int]:
        """Names and dimensions of the dense vectors the collection holds."""
        self._refresh_schema()
        return dict(self._dense)

    def sparse_vectors(self) -> list[str]:
        """Names of the sparse vectors the collection holds."""
        self._refresh_schema()
        return sorted(self._sparse)

    def ensure_schema(self, dense: Mapping[str, int], sparse: Sequence[str] = (),
                      indexed_keywords: Sequence[str] = ()) -> None:
        """Create the collection / missing named vectors (cosine; sparse with IDF) / keyword indexes."""
        if not self._has_collection():
            if not dense and not sparse:
                raise SchemaError("ensure_schema needs at least one dense or sparse vector to create a collection")
            self.client.create_collection(
                self.collection,
                vectors_config={n: _vector_params(int(d), self.storage) for n, d in dense.items()},
                sparse_vectors_config={n: models.SparseVectorParams(
                    modifier=models.Modifier.IDF, index=models.SparseIndexParams(on_disk=True) if self.storage.on_disk
                    else None) for n in sparse},
                **_cluster_params(self.storage),
            )
            self._exists = True
        else:
            self._add_missing_vectors(dense, sparse)
        self._refresh_schema()
        if self.local:
            return  # local mode ignores payload indexes (and warns); its filters scan every point anyway
        indexed = set(self.client.get_collection(self.collection).payload_schema)
        for key in indexed_keywords:
            if key not in indexed:
                self.client.create_payload_index(self.collection, key, field_schema=models.PayloadSchemaType.KEYWORD)

    def _add_missing_vectors(self, dense: Mapping[str, int], sparse: Sequence[str]) -> None:
        self._refresh_schema()
        for name, dim in dense.items():
            if name in self._sparse:
                raise SchemaError(f"vector {name!r} exists in {self.collection!r} as a sparse vector, asked for dense")
            if name not in self._dense:
                self._create_vector(name, models.DenseVectorNameConfig(
                    dense=models.DenseVectorConfig(size=int(dim), distance=models.Distance.COSINE)))
            elif self._dense[name] != int(dim) or name not in self._cosine:
                raise SchemaError(f"vector {name!r} in collection {self.collection!r} is {self._dense[name]}-d"
                                  f"{'' if name in self._cosine else ' (not cosine)'}, asked for {dim}-d cosine: "
                                  "use another collection")
        for name in sparse:
            if name in self._dense:
                raise SchemaError(f"vector {name!r} exists in {self.collection!r} as a dense vector, asked for sparse")
            if name not in self._sparse:
                self._create_vector(name, models.SparseVectorNameConfig(
                    sparse=models.SparseVectorConfig(modifier=models.Modifier.IDF)))

    def _create_vector(self, name: str, config: Any) -> None:
        try:
            self.client.create_vector_name(self.collection, name, config)
        except Exception as e:
            raise SchemaError(
                f"cannot add vector {name!r} to the existing collection {self.collection!r}: {e}. "
                "Servers without the create-vector-name API cannot add named vectors to a collection: "
                "upgrade Qdrant, or ingest into a new --collection"
            ) from e

    def _check_vector(self, name: str, sparse: bool) -> None:
        names = self._sparse if sparse else self._dense
        if name not in names:
            self._refresh_schema()  # another process may have added it since
            names = self._sparse if sparse else self._dense
        if name not in names:
            kind = "sparse" if sparse else "dense"
            raise SchemaError(f"no {kind} vector {name!r} in collection {self.collection!r}; it has {sorted(names)}")

    # -- writes ------------------------------------------------------------------------------

    def upsert(self, points: Sequence[PointData]) -> None:
        """Insert or overwrite points; returns once the server has applied them (wait=True)."""
        if not self._has_collection():
            raise SchemaError(f"collection {self.collection!r} does not exist: call ensure_schema() first")
        for i in range(0, len(points), UPSERT_CHUNK):
            self.client.upsert(self.collection, [_to_point(p) for p in points[i:i + UPSERT_CHUNK]], wait=True)

    def set_payload(self, ids: Sequence[str], payload: Mapping[str, Any]) -> None:
        """Merge payload keys into the given points (all of which must exist)."""
        wanted = [c.canonical_id(i) for i in ids]
        if not wanted:
            return
        if not self._has_collection():
            raise SchemaError(f"collection {self.collection!r} does not exist: call ensure_schema() first")
        found = {str(r.id) for r in self.client.retrieve(self.collection, wanted, with_payload=False)}
        missing = [i for i in wanted if i not in found]
        if missing:
            raise KeyError(f"set_payload: {len(missing)} point(s) not in the store, e.g. {missing[:3]}")
        # qdrant_client types `points` as an invariant list[ExtendedPointId] (its retrieve takes a Sequence)
        self.client.set_payload(self.collection, c.plain_payload(payload), points=wanted,  # type: ignore[arg-type]
                                wait=True)

    # -- metadata ----------------------------------------------------------------------------

    def get_meta(self) -> dict[str, Any]:
        """Store-level metadata from the companion collection, {} when new."""
        if not self.client.collection_exists(self.meta_collection):
            return {}
        recs = self.client.retrieve(self.meta_collection, [META_POINT_ID], with_payload=True)
        if not recs:
            return {}
        try:
            return json.loads((recs[0].payload or {})["json"])
        except (KeyError, TypeError, json.JSONDecodeError) as e:
            raise StoreError(f"metadata in collection {self.meta_collection!r} is unreadable: {e}") from e

    def set_meta(self, meta: Mapping[str, Any]) -> None:
        """Replace store-level metadata (one point; the JSON text keeps exact types and key order)."""
        try:
            text = json.dumps(dict(meta), ensure_ascii=False, sort_keys=True)
        except (TypeError, ValueError) as e:
            raise TypeError(f"store metadata must be JSON-serialisable: {e}") from e
        if not self.client.collection_exists(self.meta_collection):
            # One shard, but as many replicas as the products: the metadata must survive the same lost nodes.
            self.client.create_collection(
                self.meta_collection, vectors_config=models.VectorParams(size=1, distance=models.Distance.COSINE),
                shard_number=1 if self.storage.shards else None, replication_factor=self.storage.replicas)
        self.client.upsert(self.meta_collection, [models.PointStruct(
            id=META_POINT_ID, vector=[1.0], payload={"json": text})], wait=True)

    # -- reads -------------------------------------------------------------------------------

    def retrieve(self, ids: Sequence[str], with_vectors: bool | Sequence[str] = False) -> list[PointData]:
        """Points by id in the order asked (missing ids left out), with payloads and optional vectors."""
        wanted = [c.canonical_id(i) for i in ids]
        if not wanted or not self._has_collection():
            return []
        recs = self.client.retrieve(self.collection, wanted, with_payload=True,
                                    with_vectors=c.vector_selector(with_vectors))
        return [_from_record(r) for r in c.in_order(wanted, recs, lambda r: str(r.id))]

    def scroll(self, filter: Filter | None = None, with_vectors: bool | Sequence[str] = False,
               batch_size: int = 1024) -> Iterator[PointData]:
        """Every point matching the filter once, fetched batch_size at a time."""
        flt, vecs = _filter(filter), c.vector_selector(with_vectors)
        if not self._has_collection():
            return
        offset: Any = None
        while True:
            recs, offset = self.client.scroll(self.collection, scroll_filter=flt, limit=batch_size, offset=offset,
                                              with_payload=True, with_vectors=vecs)
            for r in recs:
                yield _from_record(r)
            if offset is None:
                return

    def search(self, vector_name: str, query: np.ndarray | SparseVector, k: int = 10,
               filter: Filter | None = None, exact: bool = False) -> list[Hit]:
        """k nearest points by one named vector; exact=True scans instead of using HNSW."""
        if not self._has_collection():
            raise SchemaError(f"collection {self.collection!r} does not exist: call ensure_schema() first")
        res = self.client.query_points(
            self.collection, query=self._query_vector(vector_name, query), using=vector_name, limit=k,
            query_filter=_filter(filter), search_params=self._search_params(exact), with_payload=True)
        return [Hit(id=str(p.id), score=float(p.score), payload=dict(p.payload or {})) for p in res.points]

    def search_batch(self, vector_name: str, queries: Sequence[np.ndarray | SparseVector], k: int = 10,
                     filter: Filter | None = None, exact: bool = False) -> list[list[Hit]]:
        """`search` for many queries in one round trip per chunk (Qdrant's batch query): one hit list per query."""
        if not self._has_collection():
            raise SchemaError(f"collection {self.collection!r} does not exist: call ensure_schema() first")
        flt, params = _filter(filter), self._search_params(exact)
        out: list[list[Hit]] = []
        for lo in range(0, len(queries), SEARCH_BATCH_CHUNK):
            reqs = [models.QueryRequest(query=self._query_vector(vector_name, q), using=vector_name, limit=k,
                                        filter=flt, params=params, with_payload=True)
                    for q in queries[lo:lo + SEARCH_BATCH_CHUNK]]
            for res in self.client.query_batch_points(self.collection, reqs):
                out.append([Hit(id=str(p.id), score=float(p.score), payload=dict(p.payload or {}))
                            for p in res.points])
        return out

    def _query_vector(self, vector_name: str, query: np.ndarray | SparseVector) -> Any:
        if isinstance(query, SparseVector):
            self._check_vector(vector_name, sparse=True)
            idx, val = c.sparse_lists(query, vector_name)
            return models.SparseVector(indices=idx, values=val)
        self._check_vector(vector_name, sparse=False)
        return c.dense_list(query, vector_name)

    def _search_params(self, exact: bool) -> models.SearchParams | None:
        # Local mode is always exact and warns about search params it ignores.
        return None if self.local else models.SearchParams(exact=exact, hnsw_ef=None if exact else self.hnsw_ef)

    def count(self, filter: Filter | None = None) -> int:
        """Exact number of points matching the filter."""
        flt = _filter(filter)
        if not self._has_collection():
            return 0
        return int(self.client.count(self.collection, count_filter=flt, exact=True).count)

    def facet(self, key: str, filter: Filter | None = None, limit: int = 1000) -> dict[str, int]:
        """Points per value of a payload key (each element of a list counts), most frequent first."""
        flt = _filter(filter)
        if not self._has_collection():
            return {}
        if self.local or key in self.client.get_collection(self.collection).payload_schema:
            res = self.client.facet(self.collection, key, facet_filter=flt, limit=limit, exact=True)
            return c.top_counts(((h.value, h.count) for h in res.hits), limit)
        # A server facets only indexed keys; count by scrolling the one key instead.
        return c.top_counts(c.count_values(self._scroll_payloads(flt, key), key).items(), limit)

    def _scroll_payloads(self, flt: models.Filter | None, key: str) -> Iterator[dict[str, Any]]:
        offset: Any = None
        while True:
            recs, offset = self.client.scroll(self.collection, scroll_filter=flt, limit=4096, offset=offset,
                                              with_payload=[key.split(".")[0]], with_vectors=False)
            for r in recs:
                yield r.payload or {}
            if offset is None:
                return


__all__ = ["ServerStore"]
