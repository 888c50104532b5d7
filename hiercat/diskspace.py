"""Free disk space for an ingest: measured before it starts and between batches, so a full disk never ends it mid-write.

Qdrant Edge writes through memory maps; a disk that fills under them ends the process with SIGBUS
and no message. Ingest therefore stops cleanly, with `DiskSpaceError`, when the free space at the
store falls short of what the next products need by the store's own measured size per product.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .store.errors import StoreError

# Before a store holds enough products to measure: the 400-product stores of the fault campaign took
# ~470 kB a product on disk (vectors, payload, WAL and index pages included).
DEFAULT_BYTES_PER_PRODUCT = 512 * 1024
# A new shard preallocates its write-ahead log: two 32 MB segments before the first product.
NEW_STORE_BYTES = 64 * 1024 * 1024
# Free space below which a shard is not even opened: its WAL allocates a 32 MB segment on load.
OPEN_BYTES = 40 * 1024 * 1024
# Always kept free: the WAL segment and a new vector chunk are allocated in blocks of up to ~32 MB.
RESERVE_BYTES = 64 * 1024 * 1024


class DiskSpaceError(StoreError):
    """Too little free disk space for the products still to ingest."""


def free_bytes(path: str | Path) -> int:
    """Free bytes on the file system holding `path` (its nearest existing parent)."""
    p = Path(path).resolve()
    while not p.exists() and p != p.parent:
        p = p.parent
    return shutil.disk_usage(p).free


def folder_bytes(path: str | Path) -> int:
    """Bytes the files under a folder take or may take: per file the larger of its allocated blocks and its size.

    Qdrant's memory-mapped chunks are sparse files: their size is what writing into them may take, and
    a full disk under a written page is the SIGBUS this module exists to avoid.
    """
    total = 0
    for root, _, files in os.walk(path):
        for f in files:
            try:
                st = os.stat(os.path.join(root, f))
            except OSError:
                continue
            total += max(getattr(st, "st_blocks", 0) * 512, st.st_size)
    return total


def bytes_per_product(folder: str | Path, points: int) -> int:
    """The store's own size per product, once it holds 200 or more; the default before that."""
    if points < 200:
        return DEFAULT_BYTES_PER_PRODUCT
    return max(4096, folder_bytes(folder) // points)


def check_space(folder: str | Path, products: int, per_product: int, extra: int = 0) -> None:
    """Refuse (DiskSpaceError) when `products` more (and `extra` bytes) would not fit at `folder` with the reserve left free."""
    need = products * per_product + RESERVE_BYTES + extra
    free = free_bytes(folder)
    if free < need:
        raise DiskSpaceError(
            f"not enough free disk space at {folder}: {free / 2**20:,.0f} MB free, the next {products:,} products "
            f"need about {need / 2**20:,.0f} MB ({per_product / 1024:,.0f} kB each + {RESERVE_BYTES // 2**20} MB "
            f"reserve{f' + {extra // 2**20} MB for a new store' if extra else ''}); free some space or use a --store on a larger disk, then run the same ingest again (it resumes)"
        )
