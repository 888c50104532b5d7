"""Ingest and classify on a Ray cluster: Ray Data streams the rows through an actor pool of encoders.

`pip install hiercat[ray]`. The driver (the machine running `hiercat ingest --ray`) reads and
validates the catalog, which needs the whole file (duplicate ids, the mapping) and is cheap, looks up
the content hashes already stored, and writes to the store. Everything that costs per product runs
on the cluster: blocks of rows go to a pool of encoder actors (one per GPU when the cluster has GPUs,
CPU actors otherwise), and each actor reads and hashes the images, skips unchanged products, decodes
and encodes the rest, using the same functions as the single-process ingest (`prepare_batch`,
`embed_batch`). So the points have the same deterministic ids, payloads and content hashes, and a
rerun or a resumed run duplicates nothing. Image paths must be readable from every node (a shared
file system or the same paths on each machine).
"""

from __future__ import annotations

import io
import json
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .catalog import CatalogOptions, read_table, validate
from .ingest import IngestReport, embed_batch, prepare_batch, prepare_store
from .pipeline import BackgroundWriter, cpu_count
from .store.base import PointData, SparseVector, VectorStore, point_id

INSTALL_HINT = "Ray is not installed: pip install 'hiercat[ray]' (or pip install 'ray[data]')"
# Stored-hash lookups per store call on the driver.
LOOKUP_CHUNK = 2048


class RayUnavailableError(RuntimeError):
    """Ray (the optional extra hiercat[ray]) is not installed."""


def ray_available() -> bool:
    """Whether `ray` and `ray.data` can be imported."""
    try:
        import ray  # noqa: F401
        import ray.data  # noqa: F401
    except ImportError:
        return False
    return True


def _ray() -> Any:
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError as exc:
        raise RayUnavailableError(INSTALL_HINT) from exc
    return ray


def connect(address: str | None = None, num_cpus: int | None = None) -> Any:
    """Join the Ray cluster at `address` ("auto": the running one), else start a local one; returns ray.

    A cluster already initialised in this process (a test's `ray.init(num_cpus=2)`) is used as it is.
    """
    ray = _ray()
    if not ray.is_initialized():
        if address in (None, "", "local"):
            ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
        else:
            ray.init(address=address, log_to_driver=False)
    return ray


@dataclass
class RayPlan:
    """How many encoder actors, and what each one asks of a node."""

    workers: int
    num_gpus: float
    num_cpus: float
    device: str

    @classmethod
    def for_cluster(cls, ray: Any, workers: int | None = None, threads_per_worker: int | None = None) -> RayPlan:
        """One actor per GPU when the cluster has GPUs; else CPU actors of `threads_per_worker` cores each."""
        resources = ray.cluster_resources()
        gpus = int(resources.get("GPU", 0))
        if gpus:
            return cls(workers=workers or gpus, num_gpus=1, num_cpus=float(threads_per_worker or 1), device="cuda")
        threads = threads_per_worker or 1
        cpus = int(resources.get("CPU", cpu_count()))
        return cls(workers=workers or max(1, cpus // threads), num_gpus=0, num_cpus=float(threads), device="cpu")


# -- what travels between the actors and the driver: plain columns, vectors as bytes ------------------

def _pack(points: Sequence[PointData]) -> dict[str, list[Any]]:
    cols: dict[str, list[Any]] = {"id": [p.id for p in points],
                                  "payload": [json.dumps(p.payload, ensure_ascii=False) for p in points]}
    for p in points[:1]:
        for name in p.vectors:
            cols[f"dense:{name}"] = [np.asarray(q.vectors[name], dtype=np.float32).tobytes() for q in points]
        for name in p.sparse:
            cols[f"idx:{name}"] = [np.asarray(q.sparse[name].indices, dtype=np.uint32).tobytes() for q in points]
            cols[f"val:{name}"] = [np.asarray(q.sparse[name].values, dtype=np.float32).tobytes() for q in points]
    return cols


def _unpack(frame: pd.DataFrame) -> list[PointData]:
    dense = [c.split(":", 1)[1] for c in frame.columns if c.startswith("dense:")]
    sparse = [c.split(":", 1)[1] for c in frame.columns if c.startswith("idx:")]
    out = []
    for _, r in frame.iterrows():
        out.append(PointData(
            id=r["id"],
            vectors={n: np.frombuffer(r[f"dense:{n}"], dtype=np.float32).copy() for n in dense},
            sparse={n: SparseVector(np.frombuffer(r[f"idx:{n}"], dtype=np.uint32).copy(),
                                    np.frombuffer(r[f"val:{n}"], dtype=np.float32).copy()) for n in sparse},
            payload=json.loads(r["payload"]),
        ))
    return out


class _StoredHashes:
    """The one store call `prepare_batch` makes, answered from the hashes the driver looked up."""

    def __init__(self, ids: Sequence[str], hashes: Sequence[str]) -> None:
        self._points = {i: PointData(i, payload={"content_hash": h}) for i, h in zip(ids, hashes) if h}

    def retrieve(self, ids: Sequence[str], with_vectors: bool | Sequence[str] = False) -> list[PointData]:
        return [self._points[i] for i in ids if i in self._points]


class IngestActor:
    """One encoder per actor: prepares (hashes, skips, decodes) and embeds blocks of validated rows."""

    def __init__(self, preset_name: str, preset_options: dict[str, Any], device: str, threads: int,
                 source: str) -> None:
        from .encoders import load_preset
        from .pipeline import set_torch_threads

        set_torch_threads(threads)
        options = {k: v for k, v in preset_options.items() if v is not None}
        self.preset = load_preset(preset_name, device=device, **options)
        # The same options as the driver's preset, so the content hashes match a single-process ingest.
        self.preset.options = dict(preset_options)
        self.source = source

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        hashes = batch.pop("stored_hash")
        ids = [point_id(p, i) for p, i in zip(batch["platform"], batch["product_id"])]
        prepared = prepare_batch(batch, _StoredHashes(ids, hashes.tolist()), self.preset, self.source)
        points = embed_batch(prepared, self.preset) if prepared.todo else []
        frame = pd.DataFrame(_pack(points)) if points else pd.DataFrame({"id": [], "payload": []})
        frame["kind"] = "point"
        extra = [{"kind": "skipped", "payload": str(prepared.skipped)}]
        if prepared.rejects is not None:
            extra.append({"kind": "rejects", "payload": prepared.rejects.to_json(orient="records")})
        return pd.concat([frame, pd.DataFrame(extra)], ignore_index=True)


def _stored_hashes(store: VectorStore, ids: Sequence[str]) -> list[str]:
    out: dict[str, str] = {}
    for lo in range(0, len(ids), LOOKUP_CHUNK):
        for p in store.retrieve(ids[lo: lo + LOOKUP_CHUNK]):
            out[p.id] = str(p.payload.get("content_hash") or "")
    return [out.get(i, "") for i in ids]


def _blocks(rows: pd.DataFrame, batch_size: int) -> list[pd.DataFrame]:
    return [rows.iloc[lo: lo + batch_size].copy() for lo in range(0, len(rows), batch_size)] or [rows.copy()]


def ingest_ray(
    source: str | Path,
    store: VectorStore,
    preset: Any,
    options: CatalogOptions,
    address: str | None = None,
    workers: int | None = None,
    threads_per_worker: int | None = None,
    batch_size: int = 256,
    on_progress: Callable[[int, int], None] | None = None,
) -> IngestReport:
    """`hiercat.ingest.ingest` with the per-product work on a Ray cluster; the same points, counts and rejects.

    address: a Ray cluster ("auto", "ray://host:10001"), None for a local one (or the one this
    process already started). workers: encoder actors (default: one per GPU, else one per
    `threads_per_worker` CPUs). The store is written from this process, batch by batch as the
    actors finish, so a killed run resumes like a single-process one.
    """
    start = time.perf_counter()
    if options.unsure == "classify":
        raise ValueError("--unsure classify is not supported with --ray: ingest those rows without --ray")
    ray = connect(address)
    plan = RayPlan.for_cluster(ray, workers, threads_per_worker)
    table = read_table(source, options.columns)
    checked = validate(table, source, options)
    report = IngestReport(source=str(source), rows=len(table))
    rejects = [checked.rejects]
    rows = checked.rows.copy()
    prepare_store(store, preset, rows["path"].tolist(),
                  options.mapping.target_name if options.mapping is not None else "")
    ids = [point_id(p, i) for p, i in zip(rows["platform"], rows["product_id"])]
    rows["stored_hash"] = _stored_hashes(store, ids)
    ds = ray.data.from_pandas(_blocks(rows, batch_size))
    embedded = ds.map_batches(
        IngestActor, batch_size=batch_size, batch_format="pandas",
        compute=ray.data.ActorPoolStrategy(size=plan.workers), num_gpus=plan.num_gpus or None,
        num_cpus=plan.num_cpus,
        fn_constructor_kwargs={"preset_name": preset.name, "preset_options": dict(preset.options),
                               "device": plan.device, "threads": int(plan.num_cpus), "source": str(source)})
    done = 0
    with BackgroundWriter(store.upsert) as writer:
        for frame in _iter_frames(embedded):
            points = frame[frame["kind"] == "point"]
            if len(points):
                writer.submit(_unpack(points.drop(columns=["kind"])))
                report.ingested += len(points)
            for _, r in frame[frame["kind"] != "point"].iterrows():
                if r["kind"] == "skipped":
                    report.skipped += int(r["payload"])
                elif r["kind"] == "rejects":
                    rejects.append(pd.read_json(io.StringIO(r["payload"]), orient="records", dtype=False))
            done = report.ingested + report.skipped + sum(len(x) for x in rejects[1:])
            if on_progress:
                on_progress(done, len(rows))
    if report.ingested and hasattr(store, "optimize"):
        store.optimize()
    report.rejects = pd.concat([r for r in rejects if len(r)], ignore_index=True) if any(len(r) for r in rejects) \
        else checked.rejects
    report.rejected = len(report.rejects)
    report.seconds = time.perf_counter() - start
    return report


def _iter_frames(ds: Any) -> Iterator[pd.DataFrame]:
    # batch_size=None: whole blocks as the actors made them, without re-batching on the driver.
    yield from ds.iter_batches(batch_format="pandas", batch_size=None)


# -- classify: embed on the cluster, decide (model + batched kNN) on the driver ------------------------

class EmbedActor:
    """One encoder per actor: the classify-time vectors of blocks of rows (`hiercat.classify.embed_rows`)."""

    def __init__(self, preset_name: str, preset_options: dict[str, Any], device: str, threads: int) -> None:
        from .encoders import load_preset
        from .pipeline import set_torch_threads

        set_torch_threads(threads)
        self.preset = load_preset(preset_name, device=device,
                                  **{k: v for k, v in preset_options.items() if v is not None})

    def __call__(self, batch: pd.DataFrame) -> pd.DataFrame:
        from .classify import embed_rows

        inputs, notes = embed_rows(batch, self.preset, batch_size=len(batch))
        out = pd.DataFrame({"position": batch["position"].to_numpy(), "note": notes})
        for name, arr in inputs.dense.items():
            out[f"dense:{name}"] = [row.astype(np.float32).tobytes() for row in arr]
        for name, csr in inputs.sparse.items():
            vecs = csr.to_vectors()
            out[f"idx:{name}"] = [np.asarray(v.indices, dtype=np.uint32).tobytes() for v in vecs]
            out[f"val:{name}"] = [np.asarray(v.values, dtype=np.float32).tobytes() for v in vecs]
        return out


def embed_rows_ray(rows: pd.DataFrame, preset: Any, address: str | None = None, workers: int | None = None,
                   threads_per_worker: int | None = None, batch_size: int = 256) -> tuple[Any, list[str]]:
    """`hiercat.classify.embed_rows` on a Ray cluster: (ModalityInputs, notes) in the rows' order."""
    from .model.inputs import CSRArrays, ModalityInputs

    ray = connect(address)
    plan = RayPlan.for_cluster(ray, workers, threads_per_worker)
    keep = [c for c in ("title", "brand", "description", "image_path") if c in rows.columns]
    frame = rows[keep].copy()
    frame["position"] = np.arange(len(rows))
    ds = ray.data.from_pandas(_blocks(frame, batch_size)).map_batches(
        EmbedActor, batch_size=batch_size, batch_format="pandas",
        compute=ray.data.ActorPoolStrategy(size=plan.workers), num_gpus=plan.num_gpus or None,
        num_cpus=plan.num_cpus,
        fn_constructor_kwargs={"preset_name": preset.name, "preset_options": dict(preset.options),
                               "device": plan.device, "threads": int(plan.num_cpus)})
    parts = list(_iter_frames(ds))
    out = pd.concat(parts, ignore_index=True).sort_values("position") if parts else frame.iloc[:0]
    dense = {c.split(":", 1)[1]: np.stack([np.frombuffer(b, dtype=np.float32) for b in out[c]])
             for c in out.columns if c.startswith("dense:")}
    sparse = {}
    for c in out.columns:
        if c.startswith("idx:"):
            name = c.split(":", 1)[1]
            sparse[name] = CSRArrays.from_vectors([
                SparseVector(np.frombuffer(i, dtype=np.uint32), np.frombuffer(v, dtype=np.float32))
                for i, v in zip(out[c], out[f"val:{name}"])])
    return ModalityInputs(dense, sparse), out["note"].tolist()


def classify_catalog_ray(source: str | Path, store: VectorStore, model_dir: str | Path,
                         options: CatalogOptions | None = None, address: str | None = None,
                         workers: int | None = None, threads_per_worker: int | None = None,
                         batch_size: int = 256, **classify_kwargs: Any) -> Any:
    """`hiercat.classify.classify_catalog` with the embedding on a Ray cluster (no cascade: it embeds in two steps).

    The model and the batched kNN vote run here, on the driver: they cost little per product next
    to the encoders, and the kNN vote needs the store.
    """
    from .classify import (
        CatalogPredictions,
        Embedded,
        classify_rows,
        drop_non_finite,
        load_classifier,
        read_for_classification,
    )

    native_category = bool(classify_kwargs.pop("native_category", False))
    clf, preset = load_classifier(store, model_dir, False, None)
    rows, rejects = read_for_classification(source, options or CatalogOptions(), need_category=native_category)
    t0 = time.perf_counter()
    inputs, notes = embed_rows_ray(rows, preset, address, workers, threads_per_worker, batch_size)
    emb = Embedded(inputs, notes, {"embed": time.perf_counter() - t0},
                   len(rows) if preset.image_vector is not None else 0)
    rows, rejects, emb = drop_non_finite(rows, rejects, emb)
    table = classify_rows(rows, emb.inputs, clf, store,
                          breadcrumbs=rows["native_path"].tolist() if native_category else None, **classify_kwargs)
    table["note"] = emb.notes
    return CatalogPredictions(table, rejects, emb, rows, clf)


def local_cluster(num_cpus: int = 2) -> AbstractContextManager:
    """A local Ray cluster for the duration of a with-block (tests, benches)."""
    from contextlib import contextmanager

    @contextmanager
    def _cluster() -> Iterator[Any]:
        ray = _ray()
        ray.init(num_cpus=num_cpus, include_dashboard=False, log_to_driver=False)
        try:
            yield ray
        finally:
            ray.shutdown()

    return _cluster()


__all__ = ["INSTALL_HINT", "RayPlan", "RayUnavailableError", "classify_catalog_ray", "connect", "embed_rows_ray",
           "ingest_ray", "local_cluster", "ray_available"]
