"""How a new collection is laid out: shards and replicas on a Qdrant cluster, vectors on disk, int8 quantization.

These apply when hiercat creates a collection (the first ingest into a store); an existing
collection keeps the layout it was created with. Shards, replicas and write consistency exist only on
a Qdrant server (they mean nothing to the embedded Edge shard); on-disk vectors and scalar int8
quantization work on both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

QUANTIZATIONS = ("none", "int8")
# Share of the value distribution int8 covers: the extreme 1 % is clipped (Qdrant's recommended setting).
INT8_QUANTILE = 0.99


@dataclass(frozen=True)
class StorageOptions:
    """Layout of a collection hiercat creates.

    shards: how many pieces the collection is split into across a cluster's nodes (server only;
    None: the server's default, one per node). replicas: copies of each shard (server only; 2 keeps a
    collection readable with a node down). write_consistency: replicas that must apply a write before
    it is acknowledged (server only; at most `replicas`). on_disk: keep the original vectors in
    memory-mapped files instead of RAM (the OS caches what is read). quantization: "int8" keeps a
    scalar-quantized copy of every dense vector in RAM (a quarter of the float32 size) that searches
    use, rescoring the top hits with the originals.
    """

    shards: int | None = None
    replicas: int | None = None
    write_consistency: int | None = None
    on_disk: bool = False
    quantization: str = "none"

    def __post_init__(self) -> None:
        if self.quantization not in QUANTIZATIONS:
            raise ValueError(f"quantization must be one of {', '.join(QUANTIZATIONS)}, got {self.quantization!r}")
        for name in ("shards", "replicas", "write_consistency"):
            value = getattr(self, name)
            if value is not None and int(value) < 1:
                raise ValueError(f"{name} must be at least 1, got {value}")
        if self.write_consistency and self.write_consistency > (self.replicas or 1):
            raise ValueError(f"write consistency {self.write_consistency} exceeds the {self.replicas or 1} "
                             "replica(s) of each shard: no write could ever be acknowledged")

    @property
    def cluster_only(self) -> bool:
        """Whether any option asks for something only a Qdrant server (cluster) has."""
        return any(v is not None for v in (self.shards, self.replicas, self.write_consistency))

    @property
    def int8(self) -> bool:
        """Whether dense vectors get a scalar int8 quantized copy."""
        return self.quantization == "int8"


DEFAULT_STORAGE = StorageOptions()


def with_storage(store: Any, storage: StorageOptions) -> Any:
    """The store, set to create its collection with `storage`; cluster options on an embedded store are refused."""
    if storage.cluster_only and not hasattr(store, "client"):
        raise ValueError("--shards, --replicas and --write-consistency need a Qdrant server or cluster "
                         "(--qdrant-url): the embedded store is one shard on one machine")
    store.storage = storage
    return store

__all__ = ["DEFAULT_STORAGE", "INT8_QUANTILE", "QUANTIZATIONS", "StorageOptions", "with_storage"]
