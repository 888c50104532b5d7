"""Files the embedded store keeps beside the shard: an exclusive folder lock and atomic JSON."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from .errors import StoreError, StoreLockedError

try:
    import fcntl
except ImportError:  # Windows: the shard's own WAL lock still refuses a second open, less clearly.
    fcntl = None  # type: ignore[assignment]


class FolderLock:
    """An exclusive, non-blocking lock on a folder, held until release() or process exit."""

    def __init__(self, folder: Path, name: str) -> None:
        self.path = folder / name
        self._fh: Any = open(self.path, "a+")
        if fcntl is None:
            return
        try:
            # flock locks belong to the open file, so a second open in this same process conflicts too.
            fcntl.flock(self._fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self._fh.close()
            self._fh = None
            raise StoreLockedError(
                f"the store {folder} is already open (in this or another process); "
                "close it there first: a Qdrant Edge shard allows one open instance per folder"
            ) from None
        self._fh.seek(0)
        self._fh.truncate()
        self._fh.write(f"{os.getpid()}\n")
        self._fh.flush()

    def release(self) -> None:
        """Give the lock up (closing the file drops the flock)."""
        if self._fh is not None:
            self._fh.close()
            self._fh = None


def read_json(path: Path) -> dict[str, Any]:
    """A JSON object from a file, {} when the file does not exist."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as e:
        raise StoreError(f"{path} is not valid JSON ({e}); restore it or delete it to start afresh") from e
    if not isinstance(data, dict):
        raise StoreError(f"{path} holds a JSON {type(data).__name__}, expected an object")
    return data


def write_json_atomic(path: Path, data: Mapping[str, Any]) -> None:
    """Write a JSON object so that readers see the old file or the new one, never half of one."""
    try:
        text = json.dumps(data, ensure_ascii=False, indent=1, sort_keys=True)
    except (TypeError, ValueError) as e:
        raise TypeError(f"store metadata must be JSON-serialisable: {e}") from e
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.chmod(tmp, 0o644)  # mkstemp makes the file private (0600); metadata is no secret
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def _fsync_dir(folder: Path) -> None:
    # The rename itself is only durable once the directory entry is on disk (POSIX only).
    if os.name != "posix":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
