"""The vector-store interface hiercat needs, independent of where Qdrant runs."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

# Fixed namespace so point ids are the same on every machine and every run.
_ID_NAMESPACE = uuid.UUID("5b0f7c1e-8a51-4b8e-9d3c-2f1e0c6a9b77")
COLLECTION = "products"


def point_id(platform: str, product_id: str) -> str:
    """Deterministic point id (UUID string) of a product, so re-ingest overwrites instead of duplicating."""
    return str(uuid.uuid5(_ID_NAMESPACE, f"{platform}\x1f{product_id}"))


def content_hash(fields: Mapping[str, Any], extra: bytes = b"") -> str:
    """Stable hash of a product's fields (and e.g. its image bytes) to skip unchanged products."""
    h = hashlib.blake2b(digest_size=16)
    h.update(json.dumps(fields, sort_keys=True, ensure_ascii=False, default=str).encode())
    h.update(extra)
    return h.hexdigest()


@dataclass
class SparseVector:
    """A sparse vector as parallel index/value arrays."""

    indices: np.ndarray  # uint32 / int64
    values: np.ndarray  # float32


@dataclass
class PointData:
    """One product as stored: id, named dense vectors, named sparse vectors, payload."""

    id: str
    vectors: dict[str, np.ndarray] = field(default_factory=dict)
    sparse: dict[str, SparseVector] = field(default_factory=dict)
    payload: dict[str, Any] = field(default_factory=dict)


@dataclass
class Hit:
    """A search result: point id, similarity score, payload."""

    id: str
    score: float
    payload: dict[str, Any]


# A filter is a mapping of payload key -> required value (or list of accepted values); all keys must match.
Filter = Mapping[str, Any]


class VectorStore(Protocol):
    """What hiercat asks of Qdrant; implemented by the embedded Edge shard and by a Qdrant server."""

    def ensure_schema(self, dense: Mapping[str, int], sparse: Sequence[str] = (),
                      indexed_keywords: Sequence[str] = ()) -> None:
        """Create the collection / named vectors / keyword payload indexes if missing (cosine distance)."""

    def upsert(self, points: Sequence[PointData]) -> None:
        """Insert or overwrite points (durable once this returns)."""

    def retrieve(self, ids: Sequence[str], with_vectors: bool | Sequence[str] = False) -> list[PointData]:
        """Points by id (missing ids are left out), with payloads and optionally vectors."""

    def scroll(self, filter: Filter | None = None, with_vectors: bool | Sequence[str] = False,
               batch_size: int = 1024) -> Iterator[PointData]:
        """Every point matching the filter, in batches, optionally with (some) vectors."""

    def search(self, vector_name: str, query: np.ndarray | SparseVector, k: int = 10,
               filter: Filter | None = None, exact: bool = False) -> list[Hit]:
        """k nearest points by one named (dense or sparse) vector; exact=True bypasses the index."""

    def search_batch(self, vector_name: str, queries: Sequence[np.ndarray | SparseVector], k: int = 10,
                     filter: Filter | None = None, exact: bool = False) -> list[list[Hit]]:
        """`search` for many queries in one engine call (Qdrant's batch query): one hit list per query, in order."""

    def count(self, filter: Filter | None = None) -> int:
        """Number of points matching the filter."""

    def facet(self, key: str, filter: Filter | None = None, limit: int = 1000) -> dict[str, int]:
        """Counts of the values of a keyword payload key."""

    def set_payload(self, ids: Sequence[str], payload: Mapping[str, Any]) -> None:
        """Merge payload keys into the given points."""

    def get_meta(self) -> dict[str, Any]:
        """Store-level metadata (encoder preset, vector dims, taxonomy, ...), {} when new."""

    def set_meta(self, meta: Mapping[str, Any]) -> None:
        """Replace store-level metadata."""

    def dense_vectors(self) -> dict[str, int]:
        """Names and dimensions of the dense vectors the collection holds."""

    def close(self) -> None:
        """Flush and release the store."""
