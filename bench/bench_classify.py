"""Where the time of `hiercat classify` goes: each stage on the same products, the kNN vote one search per
product vs one batch query, and end-to-end products/s as a ratio of the encoders' own rate.

Needs a store with a trained model (e.g. a copy of runs/store3: the store is opened for writing, so
never point this at a folder others read). End-to-end runs are fresh processes (model loading not
timed) with every product's neighbours asked for (`explain=True`), so the kNN vote is in the rate;
`--before TREE` adds a run of another checkout's code.

    python bench/bench_classify.py --store /tmp/store3 [--n 2000] [--before /tmp/before]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from any folder, without installing hiercat
sys.path.insert(0, str(ROOT / "bench"))

from bench_ingest import CATALOG, Clock, subset_catalog  # noqa: E402


def time_stages(csv: Path, store_path: Path, model: Path, batch_size: int, k: int) -> tuple[dict[str, float], int]:
    """Each classify stage in turn on the same products."""
    from hiercat.catalog import CatalogOptions
    from hiercat.classify import embed_rows, load_classifier, read_for_classification
    from hiercat.encoders.base import open_images
    from hiercat.encoders.presets import TEXT_FIELDS
    from hiercat.product_words import product_words
    from hiercat.store import EdgeStore

    clock = Clock()
    with EdgeStore(store_path) as store:
        clf, preset = load_classifier(store, model)
        rows, _ = clock.time("read and validate", read_for_classification, csv, CatalogOptions())
        n = len(rows)
        for lo in range(0, n, batch_size):
            b = rows.iloc[lo: lo + batch_size]
            images, _ = clock.time("open and decode images", open_images, b["image_path"].tolist())
            titles, brands, descriptions = b["title"].tolist(), b["brand"].tolist(), b["description"].tolist()
            words = clock.time("product words (text prep)",
                               lambda t=titles, br=brands: [product_words(x, y) for x, y in zip(t, br)])
            fields = {"title": titles, "brand": brands, "words": words, "description": descriptions}
            clock.time("text encoding", preset.encode_text, [t for f in TEXT_FIELDS for t in fields[f]])
            clock.time("image encoding", preset.encode_images, images)
            clock.time("lexical vectors", lambda t=titles, d=descriptions: (preset.lexical.encode(t),
                                                                          preset.lexical.encode(d)))
        preset.text.clear()
        inputs, _ = embed_rows(rows, preset, batch_size)
        clock.time("model (predict)", clf.predict, inputs)
        name = clf.knn_vector or "minilm_title"
        queries = list(inputs.dense[name]) if name in inputs.dense else inputs.sparse[name].to_vectors()
        flt = {"split": ["train", "val"]} if store.count({"split": ["train", "val"]}) else None
        store.search_batch(name, queries[:50], k=k, filter=flt)  # index files load lazily: warm them once
        one = clock.time("kNN: one search per product (before)",
                         lambda: [store.search(name, q, k=k, filter=flt) for q in queries])
        many = clock.time("kNN: one batch query (after)", store.search_batch, name, queries, k=k, filter=flt)
        assert [[h.id for h in a] for a in one] == [[h.id for h in b] for b in many]
    return clock.seconds, n


E2E_SCRIPT = """
import json, sys, time
# The editable install's import hook would win over sys.path: drop it so `tree`'s code is the one imported.
sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
sys.path.insert(0, {tree!r})
import hiercat
assert hiercat.__file__.startswith({tree!r}), hiercat.__file__
from hiercat.catalog import CatalogOptions
from hiercat.classify import classify_catalog, load_classifier
from hiercat.store import EdgeStore
with EdgeStore({store!r}) as store:
    load_classifier(store, {model!r})  # load (and cache) the encoders before the clock starts
    t0 = time.perf_counter()
    r = classify_catalog({csv!r}, store, {model!r}, CatalogOptions(), explain=True)
    seconds = time.perf_counter() - t0
print(json.dumps(dict(seconds=seconds, rows=len(r.table))))
"""


def run_e2e(tree: Path, csv: Path, store: Path, model: Path) -> dict[str, Any]:
    """One classify_catalog call (every product explained by its neighbours) in a fresh process with tree's code."""
    script = E2E_SCRIPT.format(tree=str(tree), store=str(store), model=str(model), csv=str(csv))
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(tree)}
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False)
    if proc.returncode:
        raise RuntimeError(f"classify e2e in {tree} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> None:
    """Print the classify stage table and end-to-end rates with their ratio to the encoders' own rate."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--model", type=Path, default=None, help="[default: STORE/models/classifier]")
    ap.add_argument("--catalog", type=Path, default=CATALOG)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("-k", type=int, default=10)
    ap.add_argument("--before", type=Path, default=None)
    args = ap.parse_args(argv)
    model = args.model or args.store / "models" / "classifier"
    with tempfile.TemporaryDirectory(prefix="bench-classify-") as work:
        csv = subset_catalog(args.catalog, args.n, Path(work) / "catalog")
        seconds, n = time_stages(csv, args.store, model, args.batch_size, args.k)
        print(f"# {n} products of {args.catalog}, store {args.store}, {os.cpu_count()} CPUs, "
              f"load {os.getloadavg()[0]:.1f}")
        enc = seconds["text encoding"] + seconds["image encoding"]
        print("\n| stage | seconds | products/s |\n|---|---|---|")
        for name, s in seconds.items():
            print(f"| {name} | {s:.2f} | {n / s:,.0f} |")
        print(f"| **encoders' own rate** (text + image encoding) | {enc:.2f} | {n / enc:,.0f} |")
        runs = ([(f"before ({args.before})", args.before)] if args.before else []) + [("after", ROOT)]
        print("\n| end to end (explain: kNN for every product) | seconds | products/s | / encoders' rate |\n|---|---|---|---|")
        for label, tree in runs:
            t0 = time.perf_counter()
            r = run_e2e(tree, csv, args.store, model)
            rate = r["rows"] / r["seconds"]
            print(f"| {label} | {r['seconds']:.1f} | {rate:,.1f} | {rate / (n / enc):.2f} |  "
                  f"<!-- process {time.perf_counter() - t0:.0f} s -->", flush=True)


if __name__ == "__main__":
    main()
