"""What ingest checks before it writes: the platform of every row, a whole store, the free disk space.

And what it records for later: the store's default platform and each source file with its reading
options (`hiercat check --repair` re-ingests from them what a damaged store lacks).
"""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from .catalog import CatalogOptions
from .diskspace import NEW_STORE_BYTES, bytes_per_product, check_space
from .store.health import REPAIR_HINT, StoreDamagedError, check_health
from .store.schema import read_schema, write_schema


def platform_options(store: Any, options: CatalogOptions) -> CatalogOptions:
    """Options whose rows without a platform take the store's recorded default, or are refused.

    The platform is part of a product's identity (its point id): taking it from a folder name, as
    hiercat once did, stored the same catalog twice when it was read from two folders.
    """
    default = read_schema(store).default_platform
    return replace(options, default_platform=options.default_platform or default, require_platform=True)


def refuse_damaged(store: Any) -> None:
    """StoreDamagedError for a store lacking points or vectors: ingest would skip products it no longer holds."""
    if read_schema(store).empty:
        return
    health = check_health(store, full=False)
    if health.damaged:
        raise StoreDamagedError(f"the store {getattr(store, 'path', store)} is damaged ({'; '.join(health.problems())}): "
                                f"ingest would skip products it no longer holds; {REPAIR_HINT}")


def check_disk(store: Any, folder: Path | None, rows: Any) -> int:
    """The store's bytes per product, after refusing (DiskSpaceError) an ingest the free space cannot hold.

    Only products the store does not hold yet count: a re-run that resumes or skips needs no room.
    """
    if folder is None:  # a server keeps its own disk
        return 0
    from .store.base import point_id

    held = store.count()
    new = len(rows)
    if held:
        ids = [point_id(p, i) for p, i in zip(rows["platform"], rows["product_id"])]
        new -= sum(len(store.retrieve(ids[lo: lo + 1024])) for lo in range(0, len(ids), 1024))
    per_product = bytes_per_product(folder, held)
    if new:
        fresh = not (Path(folder) / "segments").exists()
        check_space(folder, new, per_product, NEW_STORE_BYTES if fresh else 0)
    return per_product


def record_source(store: Any, source: str | Path, options: CatalogOptions) -> None:
    """Remember the file and how it was read (and the store's default platform, from the first --platform)."""
    schema = read_schema(store)
    if options.platform and not schema.default_platform:
        schema.default_platform = options.platform
    entry = {
        "path": str(Path(source).resolve()),
        "columns": dict(options.columns),
        "sep": options.sep,
        "platform": options.platform,
        "mapping": options.mapping.source if options.mapping is not None else None,
        "mapping_target": options.mapping.target_name if options.mapping is not None else None,
        "on_bad_lines": options.on_bad_lines,
        "unsure": options.unsure,
    }
    schema.sources = [*[s for s in schema.sources if s.get("path") != entry["path"]], entry]
    write_schema(store, schema)
