"""Repairing a damaged embedded store: keep every readable point, re-embed what the store lacks.

Three sources, in order: (1) points whose vectors still read are copied as they are (payloads set
later by train, evaluate or recluster included); (2) points listed but with unreadable vectors are
re-embedded from their own payload (title, brand, description, image path); (3) points the store lost
entirely are re-ingested from the catalog files ingest recorded (or the ones given), where the content
hashes skip every product already restored. The repaired store replaces the damaged folder, which is
kept beside it as FOLDER.damaged-<time>.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .store.base import PointData
from .store.edge import EdgeStore
from .store.health import StoreHealth, check_health, record_count
from .store.schema import read_schema, write_schema

# What the Qdrant Edge shard itself keeps in the folder; everything else (models, rejects, PCA files) moves over.
_SHARD_FILES = {"wal", "segments", "temp_segments", "edge_config.json", "hiercat.lock", "hiercat.json", "snapshots"}


@dataclass
class RepairReport:
    """What a repair did."""

    before: StoreHealth
    kept: int = 0  # points copied with their vectors
    re_embedded: int = 0  # points re-embedded from their stored payload
    re_ingested: int = 0  # points re-ingested from catalog files
    points: int = 0  # points in the repaired store
    expected: int | None = None
    damaged_copy: Path | None = None
    sources: list[str] = field(default_factory=list)
    missing_sources: list[str] = field(default_factory=list)

    @property
    def complete(self) -> bool:
        """Whether the repaired store holds every product ingest had recorded."""
        return self.expected is None or self.points >= self.expected


def _readable(store: EdgeStore, ids: Sequence[str]) -> tuple[list[PointData], list[str]]:
    """(points read with vectors, ids whose vectors cannot be read), bisecting failing batches."""
    try:
        return store.retrieve(list(ids), with_vectors=True), []
    except Exception:  # noqa: BLE001 - a damaged vector storage raises a plain runtime error
        if len(ids) == 1:
            return [], list(ids)
        mid = len(ids) // 2
        a, bad_a = _readable(store, ids[:mid])
        b, bad_b = _readable(store, ids[mid:])
        return a + b, bad_a + bad_b


def _re_embed(payloads: list[PointData], preset: Any) -> list[PointData]:
    """Points rebuilt from their payloads with the store's encoders (an unusable image leaves a zero image vector)."""
    from .images import ImageRejected, open_rgb

    images = []
    for p in payloads:
        path = p.payload.get("image") or ""
        try:
            images.append(open_rgb(path) if path else None)
        except ImageRejected:
            images.append(None)
    dense, sparse = preset.encode([p.payload.get("title", "") for p in payloads],
                                  [p.payload.get("brand", "") for p in payloads], images,
                                  [p.payload.get("description", "") for p in payloads])
    return [PointData(id=p.id, vectors={k: v[j] for k, v in dense.items()},
                      sparse={k: v[j] for k, v in sparse.items()}, payload=p.payload) for j, p in enumerate(payloads)]


def _options_of(entry: dict[str, Any]) -> Any:
    from .catalog import CatalogOptions
    from .mapping import CategoryMapping

    mapping = None
    if entry.get("mapping"):
        mapping = CategoryMapping.load(entry["mapping"])
        mapping.target_name = entry.get("mapping_target") or mapping.target_name
    return CatalogOptions(columns=dict(entry.get("columns") or {}), sep=entry.get("sep") or " > ",
                          platform=entry.get("platform"), mapping=mapping,
                          on_bad_lines=entry.get("on_bad_lines") or "error")


def repair_store(path: str | Path, catalogs: Sequence[str | Path] = (),
                 load_preset: Callable[[dict[str, Any]], Any] | None = None, batch_size: int = 256) -> RepairReport:
    """Rebuild a damaged embedded store in place (see the module doc); a healthy store is left as it is.

    catalogs: files to re-ingest lost products from, besides (or, for a store that recorded none,
    instead of) the ones ingest recorded. load_preset: builds the store's encoders from its metadata
    (default `hiercat.encoders.preset_from_meta`); called only when something must be re-embedded.
    """
    from .catalog import CatalogOptions
    from .ingest import KEYWORD_INDEXES, ingest

    path = Path(path)
    if load_preset is None:
        from .encoders import preset_from_meta

        load_preset = preset_from_meta
    tmp = path.with_name(path.name + ".repairing")
    if tmp.exists():
        shutil.rmtree(tmp)  # a repair killed before its swap
    with EdgeStore(path) as old:
        health = check_health(old, full=True)
        report = RepairReport(before=health, expected=health.expected)
        if not health.damaged:
            report.points = health.points
            return report
        schema = read_schema(old)
        schema.point_count = None  # the new store counts what it really holds; the old count is `expected`
        meta = schema.to_meta()
        dense, sparse = old.dense_vectors(), old.sparse_vectors()
        ids = [p.id for p in old.scroll()]
        preset = None
        with EdgeStore(tmp) as new:
            new.ensure_schema(dense, sparse, indexed_keywords=KEYWORD_INDEXES)
            write_schema(new, schema)
            for lo in range(0, len(ids), batch_size):
                chunk = ids[lo: lo + batch_size]
                good, bad = _readable(old, chunk)
                good = [p for p in good if all(n in p.vectors for n in dense)]
                lacking = [i for i in chunk if i not in {p.id for p in good}]
                if good:
                    new.upsert(good)
                    report.kept += len(good)
                if lacking:
                    preset = preset or load_preset(meta)
                    new.upsert(_re_embed(old.retrieve(lacking), preset))
                    report.re_embedded += len(lacking)
            sources = [dict(s) for s in schema.sources]
            given = {str(Path(c).resolve()) for c in catalogs}
            sources += [{"path": c} for c in sorted(given - {s["path"] for s in sources})]
            for entry in sources:
                if not Path(entry["path"]).is_file():
                    report.missing_sources.append(entry["path"])
                    continue
                preset = preset or load_preset(meta)
                options = _options_of(entry) if entry.get("sep") else CatalogOptions()
                r = ingest(entry["path"], new, preset, options, batch_size=batch_size)
                report.re_ingested += r.ingested
                report.sources.append(entry["path"])
            record_count(new)
            report.points = new.count()
            if hasattr(new, "optimize"):
                new.optimize()
        for item in path.iterdir():
            if item.name not in _SHARD_FILES and not (tmp / item.name).exists():
                shutil.copytree(item, tmp / item.name) if item.is_dir() else shutil.copy2(item, tmp / item.name)
    report.damaged_copy = path.with_name(f"{path.name}.damaged-{time.strftime('%Y%m%d-%H%M%S')}")
    path.rename(report.damaged_copy)
    tmp.rename(path)
    (path / "hiercat.lock").unlink(missing_ok=True)
    return report
