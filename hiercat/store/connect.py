"""Checking a store before any work: the embedded folder exists (or may be created), the server answers.

Both are cheap and come before models load, so a mistyped --store or an unreachable --qdrant-url is
a one-line error in a second, not after a minute of loading encoders.
"""

from __future__ import annotations

import os
import ssl
import time
from pathlib import Path

from .errors import StoreError

ENV_TIMEOUT = "HIERCAT_QDRANT_TIMEOUT"
DEFAULT_TIMEOUT_S = 10.0
TRIES = 3


class StoreMissingError(StoreError):
    """No store at the given path (a command that reads a store never creates one)."""


class ServerUnavailableError(StoreError):
    """The Qdrant server cannot be reached, refuses the API key, or does not answer in time."""


def check_store_folder(path: str | Path, create: bool) -> Path:
    """The store folder; refused when it does not exist and the command only reads (create=False)."""
    p = Path(path)
    if p.exists() and not p.is_dir():
        raise StoreMissingError(f"{p} is a file, not a store folder: give --store a folder")
    if not p.exists() and not create:
        raise StoreMissingError(f"no store at {p}: check --store (a store is created by `hiercat ingest`)")
    from ..diskspace import OPEN_BYTES, DiskSpaceError, free_bytes

    free = free_bytes(p)
    if free < OPEN_BYTES:  # opening a shard allocates a WAL segment; on a full disk that is a SIGBUS, not an error
        raise DiskSpaceError(f"not enough free disk space at {p}: {free / 2**20:.0f} MB free, Qdrant Edge needs "
                             f"{OPEN_BYTES // 2**20} MB to open a store; free some space first")
    return p


def server_timeout() -> float:
    """Seconds to wait for one answer from the server (env HIERCAT_QDRANT_TIMEOUT, default 10)."""
    try:
        return max(0.1, float(os.environ.get(ENV_TIMEOUT) or DEFAULT_TIMEOUT_S))
    except ValueError:
        raise StoreError(f"{ENV_TIMEOUT} must be a number of seconds, got {os.environ.get(ENV_TIMEOUT)!r}") from None


def check_server(url: str, api_key: str | None = None, timeout: float | None = None, tries: int = TRIES) -> None:
    """Ask the server for its collections, retrying with backoff (0.5 s, 1 s, ...); ServerUnavailableError if it fails.

    Refused connections and timeouts are retried; a bad API key, an unresolvable host or a TLS
    mismatch are not (retrying cannot change them).
    """
    import httpx

    timeout = server_timeout() if timeout is None else timeout
    headers = {"api-key": api_key} if api_key else {}
    last = ""
    for attempt in range(tries):
        if attempt:
            time.sleep(0.5 * 2 ** (attempt - 1))
        try:
            resp = httpx.get(url.rstrip("/") + "/collections", headers=headers, timeout=timeout)
        except httpx.TimeoutException:
            last = f"the Qdrant server at {url} did not answer within {timeout:g} s ({tries} tries)"
            continue
        except httpx.ConnectError as exc:
            text = str(exc)
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, ssl.SSLError) or "SSL" in text or "TLS" in text:
                raise ServerUnavailableError(f"TLS handshake with {url} failed ({text}): is the server http, "
                                             "not https (or the other way round)?") from None
            if "Name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text \
                    or "Temporary failure in name resolution" in text:
                raise ServerUnavailableError(f"cannot resolve the host of {url}: check --qdrant-url / QDRANT_URL") from None
            last = f"cannot reach the Qdrant server at {url} ({text}; {tries} tries): is it running?"
            continue
        except httpx.HTTPError as exc:
            last = f"cannot reach the Qdrant server at {url} ({type(exc).__name__}: {exc})"
            continue
        if resp.status_code in (401, 403):
            raise ServerUnavailableError(
                f"the Qdrant server at {url} refused access (HTTP {resp.status_code}): "
                + ("the API key in QDRANT_API_KEY is wrong" if api_key else "set QDRANT_API_KEY to its API key"))
        if resp.status_code >= 500:
            last = f"the Qdrant server at {url} answered HTTP {resp.status_code} ({tries} tries)"
            continue
        if resp.status_code >= 400:
            raise ServerUnavailableError(f"{url} answered HTTP {resp.status_code} to GET /collections: "
                                         "is this a Qdrant server URL?")
        return
    raise ServerUnavailableError(last)
