"""The ingest pipeline: catalog rows -> validated products -> vectors -> Qdrant points, idempotent and resumable."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, closing, nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from PIL import Image, UnidentifiedImageError

from .catalog import CatalogOptions, ValidatedCatalog, read_table, validate
from .pipeline import BackgroundWriter, prefetch, set_torch_threads
from .store.base import PointData, VectorStore, content_hash, point_id
from .taxonomy import Taxonomy, join_path, split_path

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
    with Image.open(path) as im:
        return im.convert("RGB")


def prepare_store(store: VectorStore, preset: Any, label_paths: Sequence[str], taxonomy_source: str = "") -> None:
    """Create the schema for the preset's vectors, refusing a store built with other encoders.

    The label paths seen are merged into the taxonomy recorded in the store, so training later
    learns exactly the tree that was ingested (plus sub-categories added by recategorization).
    """
    dense = preset.vector_specs()
    sparse = list(preset.sparse_names())
    meta = dict(store.get_meta())
    known = meta.get("preset")
    options = dict(getattr(preset, "options", {}) or {})
    if known and known.get("vectors") == dense and known.get("options", {}) != options:
        raise StoreMismatchError(
            f"this store's vectors were made by preset {known.get('name')!r} with options {known.get('options')}, "
            f"not {options}: vectors of two different models cannot share a store; use another --store "
            "or the same model files"
        )
    if known and known.get("vectors") != dense:
        raise StoreMismatchError(
            f"this store holds vectors {known.get('vectors')} from preset {known.get('name')!r}, "
            f"but preset {preset.name!r} makes {dense}: ingest with --preset {known.get('name')} "
            "or use another --store / collection"
        )
    store.ensure_schema(dense, sparse, indexed_keywords=KEYWORD_INDEXES)
    stored = Taxonomy.from_dict(meta["taxonomy"]) if meta.get("taxonomy") else Taxonomy()
    for p in sorted(set(label_paths)):
        if p:
            stored.add_path(split_path(p), terminal=True)
    meta["preset"] = {"name": preset.name, "vectors": dense, "sparse": sparse, "options": options}
    meta["taxonomy"] = stored.to_dict()
    sources = set(meta.get("taxonomy_sources", []))
    sources.add(taxonomy_source or "native categories")
    meta["taxonomy_sources"] = sorted(sources)
    store.set_meta(meta)


def _label_by_model(classifier: Any, payloads: list[dict[str, Any]], dense: dict[str, Any],
                    sparse: dict[str, list[Any]]) -> None:
    """Give payloads the classifier's path for their vectors (with its confidence)."""
    from .model.inputs import CSRArrays, ModalityInputs

    pred, _, _ = classifier.predict(ModalityInputs(dense, {k: CSRArrays.from_vectors(v) for k, v in sparse.items()}))
    for payload, path, conf in zip(payloads, pred.paths, pred.path_conf):
        payload.update(label_payload(path))
        payload["label_confidence"] = round(float(conf), 4)


@dataclass
class PreparedBatch:
    """One batch ready for the encoders: what to embed (id, payload, decoded image), what was skipped or rejected."""

    batch: pd.DataFrame
    todo: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    images: list[Image.Image | None] = field(default_factory=list)
    to_classify: list[int] = field(default_factory=list)
    skipped: int = 0
    rejects: pd.DataFrame | None = None


def prepare_batch(batch: pd.DataFrame, store: VectorStore, preset: Any, source: str,
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
                image = _load_image(row["image_path"])
            except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
                bad.append((idx, f"corrupt image: {row['image']} ({type(exc).__name__}: {exc})"))
                continue
        payload["content_hash"] = h
        payload["has_image"] = image is not None
        payload["label_source"] = "model" if row["classify"] else "mapping"
        if row["classify"]:
            out.to_classify.append(len(out.todo))
        out.todo.append((pid, payload))
        out.images.append(image)
    if bad:
        rej = batch.loc[[i for i, _ in bad], ["row", "product_id", "platform", "title", "category"]].copy()
        rej["reason"] = [r for _, r in bad]
        rej["source"] = source
        out.rejects = rej
    return out


def embed_batch(prepared: PreparedBatch, preset: Any, classifier: Any = None) -> list[PointData]:
    """The points of a prepared batch: its products' vectors and payloads (model labels where asked)."""
    todo = prepared.todo
    titles = [p["title"] for _, p in todo]
    brands = [p["brand"] for _, p in todo]
    descriptions = [p["description"] for _, p in todo]
    dense, sparse = preset.encode(titles, brands, prepared.images, descriptions)
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
    table = read_table(source, options.columns)
    checked: ValidatedCatalog = validate(table, source, options)
    report = IngestReport(source=str(source), rows=len(table))
    rejects = [checked.rejects]
    rows = checked.rows
    prepare_store(store, preset, rows["path"].tolist(),
                  options.mapping.target_name if options.mapping is not None else "")
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
            points = embed_batch(prepared, preset, classifier) if prepared.todo else []
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
