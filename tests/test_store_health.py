"""Fault corpus, a damaged or full store (issue #16 class 8): say "damaged" with what to do, repair, stop cleanly.

The three damages are the ones met on disk: an id-tracker file lost, a segment folder lost, a
vector chunk lost. `hiercat info` must say so (exit 2), ingest must refuse to skip over it, and
`hiercat check --repair` must bring back every product, re-embedding only what the store lacks.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.faults import HEADER, fast_models, hiercat, no_traceback, one_line_error, rows, stored, write_csv

__all__ = ["fast_models"]

N = 60


@pytest.fixture(scope="module")
def built_store(tmp_path_factory) -> tuple[Path, Path]:
    """(store, catalog): N products ingested in batches of 20, built once and copied by each test."""
    from hiercat.catalog import CatalogOptions
    from hiercat.ingest import ingest
    from hiercat.store import EdgeStore
    from tests.faults import cached_preset

    root = tmp_path_factory.mktemp("health")
    f = write_csv(root / "shop" / "products.csv", HEADER, rows(N))
    with EdgeStore(root / "store") as s:
        report = ingest(f, s, cached_preset("minilm"), CatalogOptions(), batch_size=20)
    assert report.ingested == N
    return root / "store", f


@pytest.fixture
def store(built_store, tmp_path) -> Path:
    src, _ = built_store
    dst = tmp_path / "store"
    shutil.copytree(src, dst, ignore=shutil.ignore_patterns("hiercat.lock"))
    return dst


def damage(store: Path, kind: str) -> None:
    segments = sorted((store / "segments").iterdir())
    if kind == "id tracker":
        for seg in segments:
            for f in seg.glob("*id_tracker*"):
                f.unlink()
    elif kind == "segment":
        shutil.rmtree(max(segments, key=lambda s: sum(f.stat().st_size for f in s.rglob("*") if f.is_file())))
    elif kind == "vector chunk":
        next(store.glob("segments/*/vector_storage-minilm_title/vectors/chunk_0.mmap")).unlink()


@pytest.mark.fault("wrong")
def test_healthy_store_is_ok(store, fast_models) -> None:
    run = hiercat("info", "--store", store)
    no_traceback(run)
    assert run.code == 0 and f"{N} products" in run.output and "damaged" not in run.output


@pytest.mark.fault("wrong")
@pytest.mark.parametrize("kind", ["id tracker", "segment", "vector chunk"])
def test_damaged_store_says_damaged_and_repair_brings_every_product_back(store, built_store, fast_models,
                                                                         kind) -> None:
    damage(store, kind)
    one_line_error(hiercat("info", "--store", store), "damaged", "hiercat check --repair")
    _, catalog = built_store
    # a plain re-ingest must not skip over the damage as if the products were stored
    one_line_error(hiercat("ingest", catalog, "--store", store), "damaged", "hiercat check --repair")
    repaired = hiercat("check", "--repair", "--store", store)
    no_traceback(repaired)
    assert repaired.code == 0, repaired.output
    assert "re-embedded" in repaired.output
    after = hiercat("info", "--store", store)
    no_traceback(after)
    assert after.code == 0 and f"{N} products" in after.output, after.output
    assert sorted(stored(store), key=int) == [str(i) for i in range(1, N + 1)]
    search = hiercat("search", "blue shirt", "--store", store)
    no_traceback(search)
    assert search.code == 0
    again = hiercat("check", "--store", store)
    assert again.code == 0 and "healthy" in again.output


@pytest.mark.fault("wrong")
def test_short_disk_stops_ingest_before_it_starts(tmp_path, fast_models, monkeypatch) -> None:
    import hiercat.diskspace as ds

    monkeypatch.setattr(ds, "free_bytes", lambda path: 1_000_000)
    f = write_csv(tmp_path / "shop" / "products.csv", HEADER, rows(10))
    one_line_error(hiercat("ingest", f, "--store", tmp_path / "store"), "disk", "free")
    assert not (tmp_path / "store" / "segments").exists()


@pytest.mark.fault("loss")
def test_disk_filling_between_batches_stops_cleanly_and_resumes(tmp_path, fast_models, monkeypatch) -> None:
    import hiercat.diskspace as ds

    real = ds.free_bytes
    calls = {"n": 0}

    def shrinking(path):
        calls["n"] += 1
        # real for: opening the store, the check before the start, the first batch; then the disk is full
        return real(path) if calls["n"] <= 3 else 1_000_000

    monkeypatch.setattr(ds, "free_bytes", shrinking)
    f = write_csv(tmp_path / "shop" / "products.csv", HEADER, rows(30))
    run = hiercat("ingest", f, "--store", tmp_path / "store", "--batch-size", "10")
    one_line_error(run, "disk", "free")
    kept = len(stored(tmp_path / "store"))
    assert 0 < kept < 30
    monkeypatch.setattr(ds, "free_bytes", real)
    resumed = hiercat("ingest", f, "--store", tmp_path / "store", "--batch-size", "10")
    no_traceback(resumed)
    assert resumed.code == 0 and len(stored(tmp_path / "store")) == 30


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 24 MB tmpfs, where the platform allows mounting one (root on Linux)."""
    mnt = tmp_path / "tmpfs"
    mnt.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command on this platform")
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=24m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({res.stderr.strip() or res.returncode}): needs root on Linux")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


@pytest.mark.fault("loss")
def test_real_small_tmpfs_ingest_stops_with_a_message_not_sigbus(small_tmpfs, tmp_path) -> None:
    """A real full disk, in a child process: a SIGBUS there would be an exit code of -7."""
    import os
    import sys

    f = write_csv(tmp_path / "shop" / "products.csv", HEADER, rows(400))
    code = (
        "import sys; from tests.faults import hiercat; "
        f"r = hiercat('ingest', {str(f)!r}, '--store', {str(small_tmpfs / 'store')!r}); "
        "print(r.output); sys.exit(r.code)"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=240,
                         cwd=Path(__file__).resolve().parents[1], env=env)
    out = res.stdout + res.stderr
    assert res.returncode == 2, (res.returncode, out[-2000:])
    assert "Traceback" not in out
    assert any(line.lower().startswith("error:") and "disk" in line.lower() for line in out.splitlines()), out[-2000:]


@pytest.mark.fault("loss")
@pytest.mark.xfail(run=False, reason="known gap: ingest stops cleanly between batches, but Qdrant Edge then dies of "
                   "SIGBUS closing or reopening the shard with 66 MB free on tmpfs (its memory-mapped files need more); "
                   "not run, since a SIGBUS would end the test process itself")
def test_real_tmpfs_filling_between_batches_stops_cleanly_and_resumes(small_tmpfs_192, tmp_path) -> None:
    """A real file system filling up under an ingest (another program's file appears after the first batch)."""
    from hiercat.catalog import CatalogOptions
    from hiercat.diskspace import DiskSpaceError, free_bytes
    from hiercat.ingest import ingest
    from hiercat.store import EdgeStore
    from tests.faults import cached_preset

    f = write_csv(tmp_path / "shop" / "products.csv", HEADER, rows(30))
    filler = small_tmpfs_192 / "other-program.bin"

    def fill(done: int, total: int) -> None:
        if done and not filler.exists():  # leave less than the reserve free: the next batch must not start
            # (48 MB: still enough for Qdrant Edge to reopen the shard, which allocates a 32 MB WAL segment)
            filler.write_bytes(b"\0" * max(0, free_bytes(small_tmpfs_192) - 48 * 2**20))

    store = small_tmpfs_192 / "store"
    with EdgeStore(store) as s, pytest.raises(DiskSpaceError, match="not enough free disk space"):
        ingest(f, s, cached_preset("minilm"), CatalogOptions(), batch_size=10, on_progress=fill, overlap=False)
    kept = len(stored(store))
    assert 0 < kept < 30
    filler.unlink()
    with EdgeStore(store) as s:
        report = ingest(f, s, cached_preset("minilm"), CatalogOptions(), batch_size=10)
    assert report.skipped == kept and len(stored(store)) == 30


@pytest.fixture
def small_tmpfs_192(tmp_path):
    """A 192 MB tmpfs (room for a new store's WAL, the reserve and some products), where the platform allows one."""
    mnt = tmp_path / "tmpfs192"
    mnt.mkdir()
    if shutil.which("mount") is None:
        pytest.skip("no mount command on this platform")
    res = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=192m", "tmpfs", str(mnt)], capture_output=True, text=True)
    if res.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({res.stderr.strip() or res.returncode}): needs root on Linux")
    yield mnt
    subprocess.run(["umount", "-l", str(mnt)], capture_output=True)
