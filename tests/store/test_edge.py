"""store.edge: what only the embedded store does (reopen from disk, one opener at a time, durability)."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections import Counter
from pathlib import Path

import pytest

from hiercat.store import EdgeStore, StoreClosedError, StoreLockedError

from .conftest import DENSE, KEYWORDS, SPARSE, N, make_points


def test_edge_reopen_keeps_points_meta_and_indexes(tmp_path: Path) -> None:
    points = make_points()
    with EdgeStore(tmp_path / "s") as store:
        store.ensure_schema(DENSE, SPARSE, indexed_keywords=KEYWORDS)
        store.upsert(points)
        store.set_meta({"preset": "x"})
    with pytest.raises(StoreClosedError):
        store.count()
    with EdgeStore(tmp_path / "s", hnsw_ef=128) as store:
        assert store.count() == N and store.get_meta() == {"preset": "x"}
        assert store.dense_vectors() == DENSE
        assert store.search("text", points[7].vectors["text"], k=1)[0].id == points[7].id
        assert store.facet("platform") == dict(Counter(p.payload["platform"] for p in points))


def test_edge_second_open_is_refused_clearly(tmp_path: Path) -> None:
    first = EdgeStore(tmp_path / "s")
    first.ensure_schema(DENSE)
    with pytest.raises(StoreLockedError, match="already open"):
        EdgeStore(tmp_path / "s")
    first.close()
    EdgeStore(tmp_path / "s").close()  # free again once closed


def test_edge_upserts_survive_a_killed_process(tmp_path: Path) -> None:
    folder = tmp_path / "s"
    script = textwrap.dedent(f"""
        import os, signal, sys
        sys.path.insert(0, {str(Path(__file__).resolve().parents[2])!r})
        from tests.store.conftest import make_points, DENSE, SPARSE
        from hiercat.store import EdgeStore
        store = EdgeStore({str(folder)!r})
        store.ensure_schema(DENSE, SPARSE)
        store.upsert(make_points())
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert proc.returncode == -9, proc.stderr
    with EdgeStore(folder) as store:
        assert store.count() == N
