"""Where hiercat keeps products and vectors: an embedded Qdrant Edge folder or a Qdrant server."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .base import (
    COLLECTION,
    Filter,
    Hit,
    PointData,
    SparseVector,
    VectorStore,
    content_hash,
    point_id,
)
from .edge import EdgeStore
from .errors import SchemaError, StoreClosedError, StoreError, StoreLockedError

if TYPE_CHECKING:
    from .server import ServerStore

DEFAULT_STORE_PATH = Path("hiercat-store")
Store = VectorStore
"""What `open_store` returns: the embedded store or a server store, behind one protocol."""


def open_store(path: str | Path | None = None, url: str | None = None, api_key: str | None = None,
               collection: str = COLLECTION) -> VectorStore:
    """A server store when a url is given (or env QDRANT_URL is set), else the embedded store at path.

    `path` may itself be a server URL (http:// or https://): `open_store("http://qdrant:6333")`.
    """
    if path is not None and str(path).startswith(("http://", "https://")):
        path, url = None, str(path)
    url = url or os.environ.get("QDRANT_URL") or None
    if url:
        api_key = api_key or os.environ.get("QDRANT_API_KEY") or None
        from .server import ServerStore

        return ServerStore(url=url, api_key=api_key, collection=collection)
    return EdgeStore(DEFAULT_STORE_PATH if path is None else path)


def __getattr__(name: str) -> Any:
    # qdrant-client takes over a second to import; only server users should pay for it.
    if name == "ServerStore":
        from .server import ServerStore

        return ServerStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "COLLECTION",
    "DEFAULT_STORE_PATH",
    "EdgeStore",
    "Filter",
    "Hit",
    "PointData",
    "SchemaError",
    "ServerStore",
    "SparseVector",
    "Store",
    "StoreClosedError",
    "StoreError",
    "StoreLockedError",
    "VectorStore",
    "content_hash",
    "open_store",
    "point_id",
]
