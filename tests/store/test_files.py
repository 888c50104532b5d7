"""store._files: the folder lock and the atomic JSON files the embedded store keeps beside its shard."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from hiercat.store._files import FolderLock, read_json, write_json_atomic
from hiercat.store.errors import StoreError, StoreLockedError


def test_folder_lock_is_exclusive_until_released(tmp_path: Path) -> None:
    lock = FolderLock(tmp_path, "x.lock")
    assert (tmp_path / "x.lock").read_text() == f"{os.getpid()}\n"  # who holds it, for a person looking
    with pytest.raises(StoreLockedError, match=f"the store {tmp_path} is already open"):
        FolderLock(tmp_path, "x.lock")
    lock.release()
    lock.release()  # twice is harmless
    FolderLock(tmp_path, "x.lock").release()


def test_json_round_trip_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "meta.json"
    assert read_json(path) == {}
    data = {"taxonomy": {"Äpfel": [1, 2.5, None]}, "b": True}
    write_json_atomic(path, data)
    assert read_json(path) == data
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    assert json.loads(path.read_text(encoding="utf-8")) == data and "Äpfel" in path.read_text(encoding="utf-8")
    write_json_atomic(path, {"only": 1})
    assert read_json(path) == {"only": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["meta.json"]  # no temporary file left behind


def test_unserialisable_metadata_leaves_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "meta.json"
    write_json_atomic(path, {"ok": 1})
    with pytest.raises(TypeError, match="store metadata must be JSON-serialisable"):
        write_json_atomic(path, {"bad": object()})
    assert read_json(path) == {"ok": 1} and [p.name for p in tmp_path.iterdir()] == ["meta.json"]


def test_broken_json_is_reported_with_its_path(tmp_path: Path) -> None:
    path = tmp_path / "meta.json"
    path.write_text("{not json")
    with pytest.raises(StoreError, match=f"{path} is not valid JSON .*restore it or delete it"):
        read_json(path)
    path.write_text("[1, 2]")
    with pytest.raises(StoreError, match="holds a JSON list, expected an object"):
        read_json(path)
