"""Benchmark the two embedded backends: Qdrant Edge (EdgeStore) and qdrant-client local mode.

    python bench/bench_store.py --synthetic 20000 --dim 384 [--queries 500]
    python bench/bench_store.py --store ./hiercat-store --vector minilm_title [--queries 500] [--limit N]

For each backend: upsert rate (batches of 256), kNN queries per second (k=10, default search, i.e.
HNSW where the engine has one) and its recall@10 against a numpy brute-force top-10 (tie-aware:
a result counts when it is as similar as the true 10th neighbour); the engine's exact search is
checked the same way. Queries are held out of the indexed points so no query finds itself.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hiercat.store import EdgeStore, PointData, ServerStore, VectorStore, point_id  # noqa: E402

BATCH = 256
K = 10
VECTOR = "v"


@dataclass
class Result:
    """One backend's numbers."""

    backend: str
    points: int
    upsert_rate: float
    index_s: float
    qps: float
    recall: float
    exact_vs_numpy: float


def load_store_vectors(path: str, name: str) -> np.ndarray:
    """Dense vectors of one name from an existing hiercat store (points without it are skipped)."""
    if not (Path(path) / "edge_config.json").exists():
        raise SystemExit(f"{path} is not a hiercat store (no edge_config.json)")
    with EdgeStore(path) as store:
        dims = store.dense_vectors()
        if name not in dims:
            raise SystemExit(f"{path} has no dense vector {name!r}; it has {sorted(dims)}")
        rows = [p.vectors[name] for p in store.scroll(with_vectors=[name]) if name in p.vectors]
    if not rows:
        raise SystemExit(f"{path} holds no points with vector {name!r}")
    return np.stack(rows).astype(np.float32)


def synthetic(n: int, dim: int, seed: int) -> np.ndarray:
    """Random unit vectors."""
    x = np.random.default_rng(seed).standard_normal((n, dim)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


TIE_EPS = 1e-5  # float32 cosines of tied vectors may differ in the last bits between engines


def fill(store: VectorStore, data: np.ndarray, ids: list[str], build_index: Callable[[], None]) -> tuple[float, float]:
    """Upsert every vector in batches, then build the index: (points per second, index seconds)."""
    store.ensure_schema({VECTOR: data.shape[1]})
    t0 = time.perf_counter()
    for i in range(0, len(data), BATCH):
        store.upsert([PointData(id=ids[j], vectors={VECTOR: data[j]}, payload={"i": j})
                      for j in range(i, min(i + BATCH, len(data)))])
    rate = len(data) / (time.perf_counter() - t0)
    t0 = time.perf_counter()
    build_index()
    return rate, time.perf_counter() - t0


def measure(name: str, store: VectorStore, queries: np.ndarray, truth: Truth, points: int,
            rate: float, index_s: float) -> Result:
    """Time the default search; score it and the engine's exact search against numpy's top-k."""
    for q in queries:  # one untimed pass: the index files are memory-mapped and load lazily on first touch
        store.search(VECTOR, q, k=K)
    t0 = time.perf_counter()
    approx = [[h.id for h in store.search(VECTOR, q, k=K)] for q in queries]
    qps = len(queries) / (time.perf_counter() - t0)
    exact = [[h.id for h in store.search(VECTOR, q, k=K, exact=True)] for q in queries]
    return Result(name, points, rate, index_s, qps, truth.recall(approx), truth.recall(exact))


@dataclass
class Truth:
    """numpy's cosine similarities of the queries to every point, for tie-aware recall@k."""

    sims: np.ndarray  # [queries, points]
    row_of: dict[str, int]

    @classmethod
    def build(cls, data: np.ndarray, queries: np.ndarray, ids: list[str]) -> Truth:
        """Similarities of normalized queries to normalized points."""
        d = data / np.linalg.norm(data, axis=1, keepdims=True)
        q = queries / np.linalg.norm(queries, axis=1, keepdims=True)
        return cls(q @ d.T, {pid: i for i, pid in enumerate(ids)})

    def recall(self, found: list[list[str]]) -> float:
        """Share of returned ids at least as similar as the true k-th neighbour.

        Real catalogs hold identical titles, hence identical vectors: which of several tied points
        fills the last places is arbitrary, so a set comparison would count correct answers as misses.
        """
        kth = -np.partition(-self.sims, K - 1, axis=1)[:, K - 1]
        hits = [sum(self.sims[qi, self.row_of[i]] >= kth[qi] - TIE_EPS for i in ids) for qi, ids in enumerate(found)]
        return float(np.mean(hits)) / K


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, run both backends, print the table."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--store", help="folder of an existing hiercat (Edge) store to take vectors from")
    src.add_argument("--synthetic", type=int, metavar="N", help="number of random unit vectors to index")
    ap.add_argument("--vector", help="dense vector name to read from --store")
    ap.add_argument("--dim", type=int, default=384, help="dimension of synthetic vectors")
    ap.add_argument("--queries", type=int, default=500, help="number of held-out query vectors")
    ap.add_argument("--limit", type=int, help="index at most this many of the store's vectors (a seeded sample)")
    ap.add_argument("--hnsw-ef", type=int, nargs="*", default=[], metavar="EF",
                    help="also measure the Edge store at these search beam widths (default: engine default only)")
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args(argv)
    console = Console()

    if args.store:
        if not args.vector:
            ap.error("--store needs --vector NAME")
        allv = load_store_vectors(args.store, args.vector)
        perm = np.random.default_rng(args.seed).permutation(len(allv))
        if len(allv) <= args.queries:
            ap.error(f"the store has only {len(allv)} vectors: fewer than --queries {args.queries} + 1")
        queries, data = allv[perm[:args.queries]], allv[perm[args.queries:]]
        if args.limit:
            data = data[:args.limit]
        source = f"{args.store} / {args.vector}"
    else:
        allv = synthetic(args.synthetic + args.queries, args.dim, args.seed)
        data, queries = allv[:args.synthetic], allv[args.synthetic:]
        source = f"synthetic unit vectors, seed {args.seed}"
    ids = [point_id("bench", str(i)) for i in range(len(data))]
    truth = Truth.build(data, queries, ids)
    console.print(f"{len(data)} x {data.shape[1]} vectors ({source}), {len(queries)} held-out queries, k={K}")

    results = []
    with tempfile.TemporaryDirectory(prefix="hiercat-bench-") as tmp:
        with EdgeStore(Path(tmp) / "edge") as edge:
            rate, index_s = fill(edge, data, ids, edge.optimize)
            results.append(measure("qdrant-edge (EdgeStore)", edge, queries, truth, len(data), rate, index_s))
            for ef in args.hnsw_ef:
                edge.hnsw_ef = ef
                results.append(measure(f"qdrant-edge, hnsw_ef={ef}", edge, queries, truth, len(data), rate, index_s))
        with warnings.catch_warnings():
            # local mode warns that it is brute force and not meant for large collections: that is what is measured
            warnings.simplefilter("ignore", UserWarning)
            with ServerStore(path=str(Path(tmp) / "local")) as local:
                rate, index_s = fill(local, data, ids, lambda: None)
                results.append(measure("qdrant-client local (path)", local, queries, truth, len(data), rate, index_s))

    table = Table(title=f"vector store benchmark: {len(data)} x {data.shape[1]}, k={K}")
    for col in ("backend", "points", "upsert pts/s", "QPS", "recall@10"):
        table.add_column(col, justify="left" if col == "backend" else "right")
    for r in results:
        table.add_row(r.backend, f"{r.points:,}", f"{r.upsert_rate:,.0f}", f"{r.qps:,.0f}", f"{r.recall:.4f}")
    console.print(table)
    for r in results:
        if "hnsw_ef=" in r.backend:
            continue  # same store as the row above it
        console.print(f"{r.backend}: index build {r.index_s:.1f} s after upsert; "
                      f"exact search vs numpy brute force top-{K}: {r.exact_vs_numpy:.4f}")
    bad = [r.backend for r in results if r.exact_vs_numpy < 0.999]
    if bad:
        console.print(f"[red]exact search disagrees with numpy on {', '.join(bad)}[/red]")
        raise SystemExit(1)


if __name__ == "__main__":
    main()
