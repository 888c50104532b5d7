"""store (package): open_store picks the backend from the environment."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from hiercat.store import EdgeStore, ServerStore, open_store


# qdrant-client warns that there is no server to check versions against, and of an api key over http.
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_open_store_picks_the_backend(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QDRANT_URL", raising=False)
    with open_store(tmp_path / "e") as s:
        assert isinstance(s, EdgeStore)
    monkeypatch.setenv("QDRANT_URL", "http://localhost:6333")
    monkeypatch.setenv("QDRANT_API_KEY", "secret")
    before = set(threading.enumerate())
    s = open_store(tmp_path / "e")  # the client connects lazily, so no server is needed here
    # qdrant-client checks the server version in a thread: let it warn inside this test, not the next.
    for t in set(threading.enumerate()) - before:
        t.join(timeout=30)
    assert isinstance(s, ServerStore) and s.collection == "products" and not s.local
    s.close()
