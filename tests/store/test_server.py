"""store.server: what only the server store does (qdrant-client's local path mode keeps its metadata)."""

from __future__ import annotations

from pathlib import Path

from hiercat.store import ServerStore

from .conftest import DENSE, SPARSE, make_points


def test_server_local_path_keeps_meta(tmp_path: Path) -> None:
    with ServerStore(path=str(tmp_path / "q"), collection="c") as s:
        s.ensure_schema(DENSE, SPARSE)
        s.upsert(make_points(4))
        s.set_meta({"k": "v"})
    with ServerStore(path=str(tmp_path / "q"), collection="c") as s:
        assert s.get_meta() == {"k": "v"} and s.count() == 4
