"""What int8 scalar quantization and on-disk vectors do to memory, kNN recall@10 and classification, and what a
million products cost, by vector, measured on the real stored vectors of an embedded (Edge) store.

Copies every point of SOURCE (vectors, payloads, metadata) into fresh stores under a work folder, one
per layout (plain; int8; int8 with the originals on disk), builds their HNSW indexes, then per layout:
the resident memory of a fresh process that opened the store and answered the queries; recall@10 of
HNSW search against exact search on the plain store (queries: test-split products, neighbours from
train + val, as classify asks); hF1 of the kNN vote alone and of `classify_rows` (model + kNN
fallback where the model is unsure) on those products. SOURCE is only read (give a copy anyway:
opening an Edge store takes its lock file).

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


def copy_store(source: Path, work: Path) -> dict[str, Path]:
    """Every point of source into one fresh Edge store per layout (same ids, vectors, payloads, metadata)."""
    from hiercat.ingest import KEYWORD_INDEXES
    from hiercat.store import EdgeStore
    from hiercat.store.options import StorageOptions

    out = {name: work / name.replace(" ", "_").replace("+", "") for name in LAYOUTS}
    with EdgeStore(source) as src:
        dense, sparse = src.dense_vectors(), src.sparse_vectors()
        targets = {name: EdgeStore(path, storage=StorageOptions(**LAYOUTS[name])) for name, path in out.items()}
        try:
            for t in targets.values():
                t.ensure_schema(dense, sparse, indexed_keywords=KEYWORD_INDEXES)
                t.set_meta(src.get_meta())
            batch = []
            for p in src.scroll(with_vectors=True, batch_size=2048):
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
    for name in ("minilm_title", "simclr_image"):
        s.search_batch(name, list(queries[name]), k=10, filter={flt!r})
        s.search_batch(name, list(queries[name]), k=10, filter={flt!r})
    print(json.dumps(dict(rss=rss() - base)))
"""


def resident_bytes(store: Path, queries_file: Path) -> int:
    """Resident memory a fresh process gains by opening the store and answering the queries twice."""
    script = RSS_SCRIPT.format(root=str(ROOT), queries=str(queries_file), store=str(store), flt=NEIGHBOURS)
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return int(json.loads(proc.stdout.strip().splitlines()[-1])["rss"])


def recall_at_10(approx: list[list[Any]], exact: list[list[Any]]) -> float:
    """Share of the exact top-10 ids that the approximate search returned."""
    return float(np.mean([len({h.id for h in a} & {h.id for h in e}) / max(1, len(e)) for a, e in zip(approx, exact)]))


def main(argv: list[str] | None = None) -> None:
    """Build the layouts, measure them, print the tables."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", type=Path, required=True)
    ap.add_argument("--model", type=Path, default=None, help="[default: SOURCE/models/classifier]")
    ap.add_argument("--queries", type=int, default=2000, help="test-split products used as queries")
    ap.add_argument("--work", type=Path, default=Path("/tmp/bench-quantization"))
    ap.add_argument("--keep", action="store_true", help="keep the built stores")
    args = ap.parse_args(argv)
    from hiercat.classify import Classifier, classify_rows
    from hiercat.dataset import load_products
    from hiercat.knn import knn_classify
    from hiercat.metrics import hierarchical_prf
    from hiercat.model.inputs import CSRArrays, ModalityInputs
    from hiercat.store import EdgeStore

    model = args.model or args.source / "models" / "classifier"
    shutil.rmtree(args.work, ignore_errors=True)
    args.work.mkdir(parents=True)
    try:
        stores = copy_store(args.source, args.work)
        with EdgeStore(stores["plain"]) as plain:
            test = load_products(plain, {"split": "test"})
        rng = np.random.default_rng(0)
        pick = np.sort(rng.choice(len(test), size=min(args.queries, len(test)), replace=False))
        test = test.take(pick)
        qfile = args.work / "queries.npz"
        np.savez(qfile, minilm_title=test.dense["minilm_title"], simclr_image=test.dense["simclr_image"])
        truth = test.paths
        n_points = None
        exact: dict[str, list] = {}
        rows = test.payload[["product_id", "platform", "title", "path"]].copy()
        inputs = ModalityInputs(dict(test.dense), {k: CSRArrays.from_vectors(v) for k, v in test.sparse.items()})
        table = []
        for name, path in stores.items():
            with EdgeStore(path) as store:
                n_points = store.count()
                clf = Classifier.load(store, model)
                if not exact:
                    for vec in ("minilm_title", "simclr_image"):
                        exact[vec] = store.search_batch(vec, list(test.dense[vec]), k=10, filter=NEIGHBOURS, exact=True)
                recall = {}
                qps = {}
                for vec in ("minilm_title", "simclr_image"):
                    store.search_batch(vec, list(test.dense[vec][:200]), k=10, filter=NEIGHBOURS)  # warm
                    t0 = time.perf_counter()
                    got = store.search_batch(vec, list(test.dense[vec]), k=10, filter=NEIGHBOURS)
                    qps[vec] = len(got) / (time.perf_counter() - t0)
                    recall[vec] = recall_at_10(got, exact[vec])
                knn_vec = clf.knn_vector or "minilm_title"
                votes = knn_classify(store, knn_vec, list(test.dense[knn_vec]), k=10, filter=NEIGHBOURS)
                knn_hf1 = hierarchical_prf(truth, [v.path for v in votes])["hF1"]
                out = classify_rows(rows, inputs, clf, store)
                cls_hf1 = hierarchical_prf(truth, [tuple(p.split(" > ")) if p else () for p in out["predicted_path"]])["hF1"]
                knn_share = float((out["source"] == "knn").mean())
            rss = resident_bytes(path, qfile)
            table.append((name, rss, recall, qps, knn_hf1, cls_hf1, knn_share, folder_bytes(path)))
        print(f"\n# {n_points:,} points of {args.source}; {len(test):,} test-split queries, neighbours from train + val; "
              f"load {os.getloadavg()[0]:.1f}")
        print("\n| layout | RSS after queries | store on disk | recall@10 title | recall@10 image | QPS title | QPS image "
              "| kNN-vote hF1 | classify hF1 (model + kNN) | decided by kNN |\n|---|---|---|---|---|---|---|---|---|---|")
        for name, rss, recall, qps, knn_hf1, cls_hf1, share, disk in table:
            print(f"| {name} | {rss / 2**20:,.0f} MiB | {disk / 2**20:,.0f} MiB | {recall['minilm_title']:.4f} | "
                  f"{recall['simclr_image']:.4f} | {qps['minilm_title']:,.0f} | {qps['simclr_image']:,.0f} | "
                  f"{100 * knn_hf1:.2f} % | {100 * cls_hf1:.2f} % | {100 * share:.1f} % |")
        print("\n| vector | layout | storage B/point | index B/point | int8 copy B/point | per million products |"
              "\n|---|---|---|---|---|---|")
        for name in ("plain", "int8"):
            sizes = per_vector_bytes(stores[name])
            for vec, b in sorted(sizes.items()):
                total = b["storage"] + b["index"] + b["quantized"]
                print(f"| {vec} | {name} | {b['storage'] / n_points:,.0f} | {b['index'] / n_points:,.0f} | "
                      f"{b['quantized'] / n_points:,.0f} | {total / n_points * 1e6 / 2**30:,.2f} GiB |")
        with EdgeStore(stores["plain"]) as plain:
            nnz = {n: [] for n in plain.sparse_vectors()}
            for p in plain.scroll(with_vectors=list(nnz), batch_size=4096):
                for n in nnz:
                    nnz[n].append(len(p.sparse[n].indices) if n in p.sparse else 0)
        for n, v in nnz.items():
            print(f"# {n}: mean {np.mean(v):.1f} non-zeros per product (x 8 bytes: u32 index + f32 value)")
    finally:
        if not args.keep:
            shutil.rmtree(args.work, ignore_errors=True)


if __name__ == "__main__":
    main()
