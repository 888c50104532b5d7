"""The ingest pipeline: catalog rows -> validated products -> vectors -> Qdrant points, idempotent and resumable."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, closing, nullcontext
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Protocol

import pandas as pd
from PIL import Image

from . import ingest_guard as guard
from .catalog import CatalogOptions, ValidatedCatalog, read_table, validate
from .diskspace import check_space
from .encoders.fingerprint import bind as bind_fingerprint
from .images import ImageRejected, open_rgb
from .pipeline import BackgroundWriter, prefetch, set_torch_threads
from .store.base import PointData, VectorStore, content_hash, point_id
from .store.health import record_count
from .store.schema import read_schema, write_schema
from .taxonomy import GOOGLE_TAXONOMY, Taxonomy, join_path, split_path

# Payload fields copied from the catalog as they are.
PRODUCT_FIELDS = ["product_id", "platform", "title", "brand", "description", "gender", "colour",
                  "season", "year", "usage", "price"]
# "split" and "eval_role" are written later (train, evaluate) and filter every kNN query: without an
# index Qdrant cannot plan a filtered HNSW search and scans (5 vs 226 queries/s on 43k products).
KEYWORD_INDEXES = ["platform", "path", "levels", "native_category", "level_1", "level_2", "level_3",
                   "level_4", "level_5", "product_id", "split", "eval_role"]


class StoreMismatchError(RuntimeError):
    """The store was built with other encoders than the ones asked for."""


@dataclass
class IngestReport:
    """What one ingest did: counts add up as ingested + skipped + rejected = rows."""

    source: str
    rows: int = 0
    ingested: int = 0
    skipped: int = 0
    rejected: int = 0
    seconds: float = 0.0
    rejects: pd.DataFrame = field(default_factory=pd.DataFrame)

    @property
    def per_second(self) -> float:
        """Products processed (ingested or skipped) per second."""
        return (self.ingested + self.skipped) / self.seconds if self.seconds else 0.0


def label_payload(path: Sequence[str]) -> dict[str, Any]:
    """Taxonomy payload of a label path: path, levels, level_k prefixes, depth."""
    parts = tuple(path)
    out: dict[str, Any] = {"path": join_path(parts), "levels": list(parts), "depth": len(parts)}
    for k in range(1, len(parts) + 1):
        out[f"level_{k}"] = join_path(parts[:k])
    return out


def product_payload(row: pd.Series) -> dict[str, Any]:
    """Payload of one validated catalog row (product fields + native category + taxonomy levels)."""
    payload = {k: str(row[k]) for k in PRODUCT_FIELDS}
    payload["image"] = str(Path(row["image_path"]).resolve()) if row["image_path"] else ""
    payload["native_category"] = row["native_path"]
    payload.update(label_payload(split_path(row["path"])))
    return payload


def _image_digest(path: str) -> bytes:
    if not path:
        return b""
    return hashlib.blake2b(Path(path).read_bytes(), digest_size=16).digest()


def _load_image(path: str) -> Image.Image:
    return open_rgb(path)


def prepare_store(store: VectorStore, preset: Any, label_paths: Sequence[str], taxonomy_source: str = "") -> None:
    """Create the schema for the preset's vectors, refusing a store built with other encoders.

    The label paths seen are merged into the taxonomy recorded in the store, so training later
    learns exactly the tree that was ingested (plus sub-categories added by recategorization).
    """
    schema = read_schema(store)
    record = preset.record()
    known = schema.preset
    if known and known.dense() == record.dense() and dict(known.options) != dict(record.options):
        raise StoreMismatchError(
            f"this store's vectors were made by preset {known.name!r} with options {dict(known.options)}, "
            f"not {dict(record.options)}: vectors of two different models cannot share a store; use another --store "
            "or the same model files"
        )
    if known and known.dense() != record.dense():
        raise StoreMismatchError(
            f"this store holds vectors {known.dense()} from preset {known.name!r}, "
            f"but preset {preset.name!r} makes {record.dense()}: ingest with --preset {known.name} "
            "or use another --store / collection"
        )
    store.ensure_schema(record.dense(), record.sparse_names(), indexed_keywords=KEYWORD_INDEXES)
    stored = schema.taxonomy or Taxonomy()
    for p in sorted(set(label_paths)):
        if p:
            stored.add_path(split_path(p), terminal=True)
    schema.preset, schema.taxonomy = record, stored
    schema.taxonomy_sources = sorted(set(schema.taxonomy_sources) | {taxonomy_source or "native categories"})
    write_schema(store, schema)
    bind_fingerprint(store)  # weight-file hashes: a model is bound to these encoders, not only to vector sizes


def _label_by_model(classifier: Any, payloads: list[dict[str, Any]], dense: dict[str, Any],
                    sparse: dict[str, list[Any]]) -> None:
    """Give payloads the classifier's path for their vectors (with its confidence)."""
    from .model.inputs import CSRArrays, ModalityInputs

    pred, _, _ = classifier.predict(ModalityInputs(dense, {k: CSRArrays.from_vectors(v) for k, v in sparse.items()}))
    for payload, path, conf in zip(payloads, pred.paths, pred.path_conf):
        payload.update(label_payload(path))
        payload["label_confidence"] = round(float(conf), 4)


class StoredPoints(Protocol):
    """The one store call `prepare_batch` makes: a VectorStore, or the hashes a distributed driver looked up."""

    def retrieve(self, ids: Sequence[str], with_vectors: bool | Sequence[str] = False) -> list[PointData]: ...


@dataclass
class PreparedBatch:
    """One batch ready for the encoders: what to embed (id, payload, decoded image), what was skipped or rejected."""

    batch: pd.DataFrame
    todo: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    images: list[Image.Image | None] = field(default_factory=list)
    to_classify: list[int] = field(default_factory=list)
    skipped: int = 0
    rejects: pd.DataFrame | None = None
    non_finite: pd.DataFrame | None = None  # rows whose vectors came out NaN / inf (set by embed_batch)


def prepare_batch(batch: pd.DataFrame, store: StoredPoints, preset: Any, source: str,
                  store_lock: AbstractContextManager | None = None) -> PreparedBatch:
    """Payloads and content hashes of a batch, skipping products stored unchanged; images read and decoded.

    Everything here is I/O or GIL-releasing work, so `ingest` runs it on worker threads ahead of the encoder.
    store_lock: held around the store lookup, so it never runs inside another thread's upsert
    (qdrant-client's local mode is plain Python objects, not safe across threads).
    """
    preset_options = dict(getattr(preset, "options", {}) or {})
    out = PreparedBatch(batch)
    ids = [point_id(p, i) for p, i in zip(batch["platform"], batch["product_id"])]
    with store_lock or nullcontext():
        found = store.retrieve(ids)
    stored = {p.id: p.payload.get("content_hash") for p in found}
    bad = []
    for (idx, row), pid in zip(batch.iterrows(), ids):
        payload = product_payload(row)
        try:
            digest = _image_digest(row["image_path"])
        except OSError as exc:
            bad.append((idx, f"image unreadable: {row['image']} ({exc.strerror or exc})"))
            continue
        h = content_hash({**payload, "preset": preset.name, "options": preset_options}, digest)
        if stored.get(pid) == h:
            out.skipped += 1
            continue
        image = None
        if row["image_path"]:
            try:
                image = open_rgb(row["image_path"])
            except ImageRejected as exc:  # every decoding failure (a bomb, a truncated file) rejects this row only
                bad.append((idx, str(exc)))
                continue
        payload["content_hash"] = h
        payload["has_image"] = image is not None
        payload["label_source"] = "model" if row["classify"] else "mapping"
        if row["classify"]:
            out.to_classify.append(len(out.todo))
        out.todo.append((pid, payload))
        out.images.append(image)
    if bad:
        rej = batch.loc[[i for i, _ in bad], ["row", "line", "product_id", "platform", "title", "category"]].copy()
        rej["reason"] = [r for _, r in bad]
        rej["source"] = source
        out.rejects = rej
    return out


def _drop_non_finite(prepared: PreparedBatch, dense: dict[str, Any], sparse: dict[str, list[Any]]
                     ) -> tuple[list[tuple[str, dict[str, Any]]], dict[str, Any], dict[str, list[Any]]]:
    """The batch without products whose vectors hold NaN / inf (an encoder failing on them), those set as rejects."""
    import numpy as np

    todo = prepared.todo
    bad: dict[int, str] = {}
    for name, arr in dense.items():
        for row in np.flatnonzero(~np.isfinite(np.asarray(arr)).all(axis=1)):
            bad.setdefault(int(row), f"the encoder produced non-finite values (NaN / inf) for vector {name}")
    for name, vecs in sparse.items():
        for j, v in enumerate(vecs):
            if not np.isfinite(np.asarray(v.values, dtype=np.float64)).all():
                bad.setdefault(j, f"the encoder produced non-finite values (NaN / inf) for vector {name}")
    if not bad:
        return todo, dense, sparse
    keep = [j for j in range(len(todo)) if j not in bad]
    by_id = {pid: j for j, (pid, _) in enumerate(todo)}
    ids = [point_id(p, i) for p, i in zip(prepared.batch["platform"], prepared.batch["product_id"])]
    where = [k for k, pid in enumerate(ids) if by_id.get(pid) in bad]
    rej = prepared.batch.iloc[where][["row", "line", "product_id", "platform", "title", "category"]].copy()
    rej["reason"] = [bad[by_id[ids[k]]] for k in where]
    prepared.non_finite = rej
    remap = {old: new for new, old in enumerate(keep)}
    prepared.to_classify = [remap[j] for j in prepared.to_classify if j in remap]
    prepared.todo = [todo[j] for j in keep]
    return (prepared.todo, {k: np.asarray(v)[keep] for k, v in dense.items()},
            {k: [v[j] for j in keep] for k, v in sparse.items()})


def embed_batch(prepared: PreparedBatch, preset: Any, classifier: Any = None) -> list[PointData]:
    """The points of a prepared batch: its products' vectors and payloads (model labels where asked)."""
    todo = prepared.todo
    titles = [p["title"] for _, p in todo]
    brands = [p["brand"] for _, p in todo]
    descriptions = [p["description"] for _, p in todo]
    dense, sparse = preset.encode(titles, brands, prepared.images, descriptions)
    todo, dense, sparse = _drop_non_finite(prepared, dense, sparse)
    if prepared.to_classify:
        sel = prepared.to_classify
        _label_by_model(classifier, [todo[j][1] for j in sel], {k: v[sel] for k, v in dense.items()},
                        {k: [v[j] for j in sel] for k, v in sparse.items()})
    return [
        PointData(
            id=pid,
            vectors={name: arr[j] for name, arr in dense.items()},
            sparse={name: vecs[j] for name, vecs in sparse.items()},
            payload=payload,
        )
        for j, (pid, payload) in enumerate(todo)
    ]


def ingest(
    source: str | Path,
    store: VectorStore,
    preset: Any,
    options: CatalogOptions,
    batch_size: int = 256,
    on_progress: Callable[[int, int], None] | None = None,
    classifier: Any = None,
    workers: int = 2,
    threads: int | None = None,
    overlap: bool = True,
) -> IngestReport:
    """Ingest one catalog file into the store and return the counts.

    Each batch is upserted as soon as it is embedded, and products whose content hash is already
    stored are skipped, so re-running after a kill resumes where it stopped and duplicates nothing.
    classifier: a `hiercat.classify.Classifier` labelling the products whose category a proposed
    mapping marks unsure, under `options.unsure == "classify"` (payload `label_source` "model").
    workers: threads preparing batches ahead of the encoder (image reads and decodes, hashes);
    threads: torch's thread count (default: every usable core); overlap=False runs each stage in
    turn, batch after batch (how ingest ran before; benchmarks compare the two).
    """
    start = time.perf_counter()
    if options.unsure == "classify" and classifier is None:
        raise ValueError("classifying the products of unsure categories (--unsure classify) needs a trained model")
    table = read_table(source, options.columns, on_bad_lines=options.on_bad_lines)
    options = guard.platform_options(store, options)
    checked: ValidatedCatalog = validate(table, source, options)
    report = IngestReport(source=str(source), rows=len(table))
    rejects = [checked.rejects]
    rows = checked.rows
    guard.refuse_damaged(store)
    folder = getattr(store, "path", None)
    per_product = guard.check_disk(store, folder, rows)
    prepare_store(store, preset, rows["path"].tolist(),
                  options.mapping.target_name if options.mapping is not None else "")
    guard.record_source(store, source, options)
    set_torch_threads(threads)
    batches = [rows.iloc[lo: lo + batch_size] for lo in range(0, len(rows), batch_size)]
    # overlap: the next batches' stored hashes, image bytes and decoded images are prepared on worker
    # threads while this one is encoded, and its upsert runs while the next one is (hiercat.pipeline).
    store_lock = threading.Lock()

    def upsert(job: tuple[list[PointData], int]) -> None:
        points, done = job
        if points:
            with store_lock:
                store.upsert(points)
                record_count(store)  # what `hiercat info` / `check` compare the store against
        # Progress counts durable products only: a run killed right after a report resumes after them.
        if on_progress:
            on_progress(done, len(rows))

    prepared_batches = prefetch(batches, lambda b: prepare_batch(b, store, preset, str(source), store_lock),
                                depth=max(2, workers) if overlap else 0, workers=workers)
    done = 0
    with closing(prepared_batches), BackgroundWriter(upsert) as writer:
        write = writer.submit if overlap else upsert
        for prepared in prepared_batches:
            report.skipped += prepared.skipped
            if prepared.rejects is not None:
                rejects.append(prepared.rejects)
            if prepared.todo and folder is not None:
                check_space(folder, len(prepared.todo), per_product)  # stop cleanly, never SIGBUS mid-write
            points = embed_batch(prepared, preset, classifier) if prepared.todo else []
            if prepared.non_finite is not None:
                rejects.append(prepared.non_finite)
            report.ingested += len(points)
            done += len(prepared.batch)
            write((points, done))
    if report.ingested and hasattr(store, "optimize"):
        # Qdrant Edge never builds its HNSW index by itself: without this, search stays brute force.
        store.optimize()
    report.rejects = pd.concat(rejects, ignore_index=True) if rejects else pd.DataFrame()
    report.rejected = len(report.rejects)
    report.seconds = time.perf_counter() - start
    return report


def ingest_catalogs(
    catalogs: Sequence[str | Path],
    store: VectorStore,
    preset: Any = "minilm",
    mapping: str | Path | Any = None,
    taxonomy: str | Path | None = None,
    options: CatalogOptions | None = None,
    batch_size: int = 256,
    classifier: Any = None,
    on_file: Callable[[Path], Callable[[int, int], None] | None] | None = None,
) -> list[IngestReport]:
    """Ingest catalog files (or folders holding `products.csv`) into a store; one report per file, in order.

    preset: an encoder preset or its name (`hiercat.encoders.load_preset`); mapping: a
    native-category -> target-taxonomy table (a CSV path, or a `CategoryMapping`), checked against
    `taxonomy` (the shipped Google taxonomy by default); options: how to read every file (column
    renames, platform, unsure categories). on_file: called with each file before it starts, it may
    return a progress callback for that file. A file that cannot be read at all raises
    `hiercat.catalog.CatalogError`; rows that fail validation are in each report's `rejects`.
    """
    from .encoders import load_preset
    from .mapping import CategoryMapping

    opts = options or CatalogOptions()
    if mapping is not None and not isinstance(mapping, CategoryMapping):
        tax_file = Path(taxonomy) if taxonomy is not None else GOOGLE_TAXONOMY
        mapping = CategoryMapping.load(mapping, Taxonomy.load(tax_file), sep=" > ")
        mapping.target_name = tax_file.name
    if mapping is not None:
        opts = replace(opts, mapping=mapping)
    enc = load_preset(preset) if isinstance(preset, str) else preset
    reports = []
    for catalog in catalogs:
        file = Path(catalog) / "products.csv" if Path(catalog).is_dir() else Path(catalog)
        progress = on_file(file) if on_file is not None else None
        reports.append(ingest(file, store, enc, opts, batch_size=batch_size, on_progress=progress,
                              classifier=classifier))
    return reports
