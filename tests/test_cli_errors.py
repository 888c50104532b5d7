"""Fault corpus, the CLI's error boundary (issue #16 class 6, issue #17): one line, a hint, exit 2.

User errors never print a traceback (only under --debug); stores and servers are checked, and
arguments validated, before any model is loaded.
"""

from __future__ import annotations

import socket
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path

import pytest

from tests.faults import HEADER, fast_models, hiercat, no_traceback, one_line_error, rows, write_csv

__all__ = ["fast_models"]


@pytest.fixture
def small_store(tmp_path, fast_models) -> Path:
    """An embedded store holding three products."""
    f = write_csv(tmp_path / "shop" / "products.csv", HEADER, rows(3))
    run = hiercat("ingest", f, "--store", tmp_path / "store")
    assert run.code == 0, run.output
    fast_models.clear()
    return tmp_path / "store"


# -- a store that is locked, missing or empty ----------------------------------------------------

@pytest.mark.fault("traceback")
@pytest.mark.parametrize("command", [["info"], ["search", "blue shirt"], ["train"], ["ingest", "CATALOG"]])
def test_locked_store_is_one_line_before_any_model(small_store, fast_models, command) -> None:
    from hiercat.store import EdgeStore

    catalog = small_store.parent / "shop" / "products.csv"
    args = [str(catalog) if a == "CATALOG" else a for a in command]
    with EdgeStore(small_store):
        run = hiercat(*args, "--store", small_store)
    one_line_error(run, str(small_store), "already open")
    assert fast_models == []


@pytest.mark.fault("wrong")
@pytest.mark.parametrize("command", [["info"], ["search", "blue shirt"], ["train"], ["classify", "CATALOG"]])
def test_missing_store_is_not_created_and_says_so(tmp_path, fast_models, command) -> None:
    catalog = write_csv(tmp_path / "shop" / "products.csv", HEADER, rows(2))
    args = [str(catalog) if a == "CATALOG" else a for a in command]
    missing = tmp_path / "typo-store"
    run = hiercat(*args, "--store", missing)
    one_line_error(run, "no store", str(missing))
    assert not missing.exists()
    assert fast_models == []
    assert run.seconds < 3


@pytest.mark.fault("wrong")
def test_empty_store_says_empty_not_missing(tmp_path, fast_models) -> None:
    from hiercat.store import EdgeStore

    EdgeStore(tmp_path / "store").close()
    run = hiercat("search", "blue shirt", "--store", tmp_path / "store")
    line = one_line_error(run, "empty", "hiercat ingest")
    assert "no store" not in line


@pytest.mark.fault("wrong")
def test_wrong_catalog_path_fails_fast_before_models(tmp_path, fast_models) -> None:
    run = hiercat("ingest", tmp_path / "nope.csv", "--store", tmp_path / "store")
    one_line_error(run, "nope.csv", "not found")
    assert fast_models == [] and run.seconds < 3
    assert "ingest summary" not in run.output


@pytest.mark.fault("wrong")
@pytest.mark.parametrize("args", [["search"], ["classify", "missing.csv"], ["ingest", "x.csv", "--unsure", "maybe"],
                                  ["ingest", "x.csv", "--preset", "nosuch"], ["train", "--decode", "beam"]])
def test_argument_errors_arrive_before_any_model_loads(tmp_path, fast_models, args) -> None:
    write_csv(tmp_path / "x.csv", HEADER, rows(1))
    args = [str(tmp_path / a) if a.endswith(".csv") else a for a in args]
    run = hiercat(*args, "--store", tmp_path / "store")
    no_traceback(run)
    assert run.code == 2, run.output
    assert fast_models == [] and run.seconds < 3, (fast_models, run.seconds)


@pytest.mark.fault("traceback")
def test_debug_flag_shows_the_traceback(small_store) -> None:
    from hiercat.store import EdgeStore

    with EdgeStore(small_store):
        run = hiercat("--debug", "info", "--store", small_store)
    assert run.code == 2 and "Traceback" in run.output


# -- a server that is not there, refuses, or never answers ------------------------------------------

class _Unauthorized(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        self.send_response(401)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(b'{"status": {"error": "Must provide an API key"}}')

    do_POST = do_PUT = do_GET

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def http_401():
    server = HTTPServer(("127.0.0.1", 0), _Unauthorized)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def silent_port():
    """A port that accepts connections and never answers."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    yield s.getsockname()[1]
    s.close()


def _free_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.mark.fault("traceback")
@pytest.mark.parametrize("command", [["info"], ["ingest", "CATALOG"]])
def test_nothing_listening_is_one_line_before_models(tmp_path, fast_models, command) -> None:
    catalog = write_csv(tmp_path / "shop" / "products.csv", HEADER, rows(2))
    url = f"http://127.0.0.1:{_free_port()}"
    run = hiercat(*[str(catalog) if a == "CATALOG" else a for a in command], "--qdrant-url", url)
    one_line_error(run, url, "cannot reach")
    assert fast_models == [] and run.seconds < 15


@pytest.mark.fault("traceback")
def test_unresolvable_host_is_one_line(fast_models) -> None:
    run = hiercat("info", "--qdrant-url", "http://no-such-host.invalid:6333")
    one_line_error(run, "no-such-host.invalid")


@pytest.mark.fault("traceback")
def test_401_names_the_api_key(http_401, fast_models, monkeypatch) -> None:
    monkeypatch.delenv("QDRANT_API_KEY", raising=False)
    run = hiercat("info", "--qdrant-url", http_401)
    one_line_error(run, "401", "QDRANT_API_KEY")


@pytest.mark.fault("traceback")
def test_tls_mismatch_is_one_line(http_401, fast_models) -> None:
    url = http_401.replace("http://", "https://")
    run = hiercat("info", "--qdrant-url", url)
    one_line_error(run, url)


@pytest.mark.fault("wrong")
def test_server_that_never_answers_times_out_with_retries(silent_port, fast_models, monkeypatch) -> None:
    monkeypatch.setenv("HIERCAT_QDRANT_TIMEOUT", "1")
    url = f"http://127.0.0.1:{silent_port}"
    run = hiercat("info", "--qdrant-url", url)
    line = one_line_error(run, url, "did not answer")
    assert "3 tries" in line or "tries" in line
    assert run.seconds < 15


@pytest.mark.fault("wrong")
def test_unknown_option_is_one_line_with_exit_2(fast_models) -> None:
    one_line_error(hiercat("ingest", "x.csv", "--bogus"), "--bogus")
    assert fast_models == []


@pytest.mark.fault("traceback")
def test_entry_point_prints_one_line_not_a_traceback(tmp_path) -> None:
    """The real `python -m hiercat`, in a child process: what a user's shell sees."""
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-m", "hiercat", "info", "--store", str(tmp_path / "missing")],
                         capture_output=True, text=True, timeout=120)
    assert res.returncode == 2, res.stdout + res.stderr
    assert "Traceback" not in res.stderr
    assert res.stderr.strip().splitlines()[0].startswith("error: no store at")
