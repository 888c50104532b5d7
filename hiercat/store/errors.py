"""Errors raised by the store layer, shared by the embedded and the server implementation."""

from __future__ import annotations


class StoreError(RuntimeError):
    """A store operation failed; the message says which one and why."""


class StoreLockedError(StoreError):
    """The store folder is already open in this or another process."""


class SchemaError(StoreError):
    """The collection lacks, or disagrees with, the vectors or payload indexes asked for."""


class StoreClosedError(StoreError):
    """The store was used after close()."""
