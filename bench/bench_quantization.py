"""What int8 scalar quantization and on-disk vectors do to memory, kNN recall@10 and classification, and what a
million products cost, by vector, measured on the real stored vectors of an embedded (Edge) store.

Copies every point of SOURCE with the vectors kNN searches (`--vectors`, default the title and image
vectors) and its payload into fresh stores under a work folder, one per layout (plain; int8; int8 with
the originals on disk), builds their HNSW indexes, then per layout: the resident memory of a fresh
process that opened the store and answered the queries; recall@10 of HNSW search against exact search on
the plain store (queries: test-split products, neighbours from train + val, as classify asks); hF1 of the
kNN vote (the part of classify that reads the store: the model reads the vectors classify computes for
the new products, never the stored ones). Bytes per point by vector are read from SOURCE's own files.
SOURCE is only read (give a copy anyway: opening an Edge store takes its lock file).

    python bench/bench_quantization.py --source /tmp/store3 [--queries 2000] [--work /tmp/bench-q]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from any folder, without installing hiercat

LAYOUTS = {"plain": {}, "int8": {"quantization": "int8"}, "int8 + on-disk originals": {"quantization": "int8",
                                                                                          "on_disk": True}}
NEIGHBOURS = {"split": ["train", "val"]}


def copy_store(source: Path, work: Path, vectors: list[str]) -> dict[str, Path]:
    """Every point of source into one fresh Edge store per layout (same ids, payloads, the named vectors)."""
    from hiercat.ingest import KEYWORD_INDEXES
    from hiercat.store import EdgeStore
    from hiercat.store.options import StorageOptions

    out = {name: work / name.replace(" ", "_").replace("+", "") for name in LAYOUTS}
    with EdgeStore(source) as src:
        dense, sparse = {n: d for n, d in src.dense_vectors().items() if n in vectors}, []
        targets = {name: EdgeStore(path, storage=StorageOptions(**LAYOUTS[name])) for name, path in out.items()}
        try:
            for t in targets.values():
                t.ensure_schema(dense, sparse, indexed_keywords=KEYWORD_INDEXES)
                t.set_meta(src.get_meta())
            batch = []
            for p in src.scroll(with_vectors=vectors, batch_size=2048):
                batch.append(p)
                if len(batch) == 2048:
                    for t in targets.values():
                        t.upsert(batch)
                    batch = []
            for t in targets.values():
                t.upsert(batch)
            for name, t in targets.items():
                t0 = time.perf_counter()
                t.optimize()
                print(f"# {name}: {t.count():,} points, HNSW build {time.perf_counter() - t0:.0f} s", flush=True)
        finally:
            for t in targets.values():
                t.close()
    return out


def folder_bytes(path: Path) -> int:
    """Bytes of the files under a folder (allocated blocks, so sparse preallocation is not counted)."""
    return sum(f.stat().st_blocks * 512 for f in path.rglob("*") if f.is_file())


def per_vector_bytes(store: Path) -> dict[str, dict[str, int]]:
    """Bytes on disk per named vector: its storage, its index (HNSW graph or sparse inverted index), quantized copy."""
    out: dict[str, dict[str, int]] = {}
    for seg in (store / "segments").iterdir():
        for d in seg.iterdir():
            if not d.is_dir():
                continue
            for kind in ("vector_storage-", "vector_index-"):
                if d.name.startswith(kind):
                    name = d.name[len(kind):]
                    slot = out.setdefault(name, {"storage": 0, "index": 0, "quantized": 0})
                    quant = sum(f.stat().st_blocks * 512 for f in d.rglob("*") if f.is_file() and "quant" in f.name)
                    slot["quantized"] += quant
                    slot["storage" if kind == "vector_storage-" else "index"] += folder_bytes(d) - quant
            if d.name == "payload_storage":
                out.setdefault("(payload)", {"storage": 0, "index": 0, "quantized": 0})["storage"] += folder_bytes(d)
            if d.name.startswith("payload_index"):
                out.setdefault("(payload)", {"storage": 0, "index": 0, "quantized": 0})["index"] += folder_bytes(d)
    return out


RSS_SCRIPT = """
import json, sys, numpy as np
sys.path.insert(0, {root!r})
def rss():
    for line in open("/proc/self/status"):
        if line.startswith("VmRSS"):
            return int(line.split()[1]) * 1024
from hiercat.store import EdgeStore
queries = np.load({queries!r})
base = rss()
with EdgeStore({store!r}) as s:
    for name in {vectors!r}:
        s.search_batch(name, list(queries[name]), k=10, filter={flt!r})
        s.search_batch(name, list(queries[name]), k=10, filter={flt!r})
    print(json.dumps(dict(rss=rss() - base)))
"""


def resident_bytes(store: Path, queries_file: Path, vectors: list[str]) -> int:
    """Resident memory a fresh process gains by opening the store and answering the queries twice."""
    script = RSS_SCRIPT.format(root=str(ROOT), queries=str(queries_file), store=str(store), flt=NEIGHBOURS,
                               vectors=vectors)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return int(json.loads(proc.stdout.strip().splitlines()[-1])["rss"])


def recall_at_10(approx: list[list[Any]], exact: list[list[Any]]) -> float:
    """Share of the exact top-10 ids that the approximate search returned."""
    return float(np.mean([len({h.id for h in a} & {h.id for h in e}) / max(1, len(e)) for a, e in zip(approx, exact)]))


def main(argv: list[str] | None = None) -> None:
    """Build the layouts, measure them, print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, required=True)
    ap.add_argument("--vectors", default="minilm_title,simclr_image", help="dense vectors to copy and search")
    ap.add_argument("--queries", type=int, default=2000, help="test-split products used as queries")
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench-quantization"))
    ap.add_argument("--keep", action="store_true", help="keep the built stores")
    args = ap.parse_args(argv)
    from hiercat.dataset import load_products
    from hiercat.knn import knn_classify
    from hiercat.metrics import hierarchical_prf
    from hiercat.store import EdgeStore

    vectors = args.vectors.split(",")
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    try:
        sizes = per_vector_bytes(args.source)
        with EdgeStore(args.source) as src:
            n_source = src.count()
            nnz = {n: [] for n in src.sparse_vectors()}
            for p in src.scroll(with_vectors=list(nnz), batch_size=4096):
                for n in nnz:
                    nnz[n].append(len(p.sparse[n].indices) if n in p.sparse else 0)
        stores = copy_store(args.source, args.work, vectors)
        with EdgeStore(stores["plain"]) as plain:
            test = load_products(plain, {"split": "test"}, vectors=vectors, sparse=[])
        rng = np.random.default_rng(0)
        pick = np.sort(rng.choice(len(test), size=min(args.queries, len(test)), replace=False))
        test = test.take(pick)
        qfile = args.work / "queries.npz"
        np.savez(qfile, **{v: test.dense[v] for v in vectors})
        truth = test.paths
        n_points = None
        exact: dict[str, list] = {}
        table = []
        for name, path in stores.items():
            with EdgeStore(path) as store:
                n_points = store.count()
                if not exact:
                    for vec in vectors:
                        exact[vec] = store.search_batch(vec, list(test.dense[vec]), k=10, filter=NEIGHBOURS, exact=True)
                recall = {}
                qps = {}
                for vec in vectors:
                    store.search_batch(vec, list(test.dense[vec][:200]), k=10, filter=NEIGHBOURS)  # warm
                    t0 = time.perf_counter()
                    got = store.search_batch(vec, list(test.dense[vec]), k=10, filter=NEIGHBOURS)
                    qps[vec] = len(got) / (time.perf_counter() - t0)
                    recall[vec] = recall_at_10(got, exact[vec])
                knn_hf1 = {}
                for vec in vectors:
                    votes = knn_classify(store, vec, list(test.dense[vec]), k=10, filter=NEIGHBOURS)
                    knn_hf1[vec] = hierarchical_prf(truth, [v.path for v in votes])["hF1"]
            rss = resident_bytes(path, qfile, vectors)
            table.append((name, rss, recall, qps, knn_hf1, folder_bytes(path)))
        print(f"\n# {n_points:,} points of {args.source}; {len(test):,} test-split queries, neighbours from train + val; "
              f"load {os.getloadavg()[0]:.1f}")
        print("\n| layout | RSS after queries | store on disk | "
              + " | ".join(f"recall@10 {v} | QPS {v} | kNN-vote hF1 {v}" for v in vectors)
              + " |\n|---|---|---|" + "---|---|---|" * len(vectors))
        for name, rss, recall, qps, knn_hf1, disk in table:
            print(f"| {name} | {rss / 2**20:,.0f} MiB | {disk / 2**20:,.0f} MiB | "
                  + " | ".join(f"{recall[v]:.4f} | {qps[v]:,.0f} | {100 * knn_hf1[v]:.2f} %" for v in vectors) + " |")
        for name in ("int8",):
            for vec, b in sorted(per_vector_bytes(stores[name]).items()):
                if b["quantized"]:
                    print(f"# {name} copy of {vec}: {b['quantized'] / n_points:,.0f} B/point")
        print(f"\n# bytes per point in {args.source} ({n_source:,} points, every vector):")
        print("\n| vector | storage B/point | index B/point | per million products |\n|---|---|---|---|")
        for vec, b in sorted(sizes.items()):
            total = b["storage"] + b["index"] + b["quantized"]
            print(f"| {vec} | {b['storage'] / n_source:,.0f} | {b['index'] / n_source:,.0f} | "
                  f"{total / n_source * 1e6 / 2**30:,.2f} GiB |")
        for n, v in nnz.items():
            print(f"# {n}: mean {np.mean(v):.1f} non-zeros per product (x 8 bytes: u32 index + f32 value)")
    finally:
        if not args.keep:
            shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
