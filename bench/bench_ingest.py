"""Where the time of `hiercat ingest` goes: each stage timed on the same products, beside end-to-end runs.

The encoders' own forward rate (text + image encoding of those products, nothing else) is the
ceiling; the pipeline's products/s end to end is printed as a ratio of it. End-to-end runs are
fresh processes on a fresh store under /tmp (model loading not timed), so the overlapped pipeline,
the serial loop of the same code (`overlap=False`) and, with `--before TREE`, another checkout's
code (e.g. `git worktree add /tmp/before <commit>`) are measured alike, one after the other.

    python bench/bench_ingest.py [--n 3000] [--batch-size 512] [--before /tmp/before] [--threads N]
    python bench/bench_ingest.py --n 0 --skip-stages --before /tmp/before      # the full catalog, e2e only
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HIERCAT_SHARED_DATA", ROOT.parent / "shared" / "data"))
CATALOG = SHARED / "myntra" / "products.csv"
sys.path.insert(0, str(ROOT))  # run as a script from any folder, without installing hiercat
MAPPING = SHARED / "mappings" / "myntra_to_gpt.csv"


def subset_catalog(csv: Path, n: int, out_dir: Path) -> Path:
    """The first n rows of a catalog (all with n=0) as a CSV with absolute image paths."""
    df = pd.read_csv(csv, dtype=str, keep_default_na=False)
    if n:
        df = df.head(n)
    df["image"] = [str((csv.parent / p).resolve()) if p else "" for p in df["image"]]
    out_dir.mkdir(parents=True, exist_ok=True)
    df.to_csv(out_dir / "products.csv", index=False)
    return out_dir / "products.csv"


class Clock:
    """Seconds per named stage, accumulated."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    def time(self, name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        out = fn(*args, **kwargs)
        self.seconds[name] = self.seconds.get(name, 0.0) + time.perf_counter() - t0
        return out


def time_stages(csv: Path, mapping: Path, batch_size: int, work: Path) -> tuple[dict[str, float], int]:
    """Each ingest stage in turn on the same products (batch by batch, as ingest cuts them)."""
    from hiercat.catalog import CatalogOptions, read_table, validate
    from hiercat.encoders import load_preset
    from hiercat.encoders.presets import TEXT_FIELDS
    from hiercat.ingest import KEYWORD_INDEXES, _image_digest, _load_image, product_payload
    from hiercat.mapping import CategoryMapping
    from hiercat.product_words import product_words
    from hiercat.store import EdgeStore, PointData, content_hash, point_id

    preset = load_preset("minilm")
    clock = Clock()
    options = CatalogOptions(mapping=CategoryMapping.load(mapping))
    rows = clock.time("read and validate", lambda: validate(read_table(csv, options.columns), csv, options).rows)
    store = EdgeStore(work / "stages-store")
    store.ensure_schema(preset.vector_specs(), preset.sparse_names(), indexed_keywords=KEYWORD_INDEXES)
    n = 0
    for lo in range(0, len(rows), batch_size):
        batch = rows.iloc[lo: lo + batch_size]
        n += len(batch)

        def hashes(batch: pd.DataFrame = batch) -> list[tuple[str, dict[str, Any]]]:
            out = []
            for _, row in batch.iterrows():
                payload = product_payload(row)
                payload["content_hash"] = content_hash({**payload, "preset": preset.name, "options": preset.options},
                                                       _image_digest(row["image_path"]))
                out.append((point_id(row["platform"], row["product_id"]), payload))
            return out

        todo = clock.time("hashing (payload, image bytes, content hash)", hashes)
        images = clock.time("open and decode images",
                            lambda b=batch: [_load_image(p) if p else None for p in b["image_path"]])
        titles, brands = batch["title"].tolist(), batch["brand"].tolist()
        descriptions = batch["description"].tolist()
        words = clock.time("product words (text prep)", lambda t=titles, b=brands: [product_words(x, y) for x, y in zip(t, b)])
        fields = {"title": titles, "brand": brands, "words": words, "description": descriptions}
        allv = clock.time("text encoding", preset.encode_text, [t for f in TEXT_FIELDS for t in fields[f]])
        img = clock.time("image encoding", preset.encode_images, images)
        lex = clock.time("lexical vectors", lambda t=titles, d=descriptions: (preset.lexical.encode(t),
                                                                            preset.lexical.encode(d)))
        k = len(batch)
        dense = {f"{preset.text.name}_{f}": allv[i * k:(i + 1) * k] for i, f in enumerate(TEXT_FIELDS)}
        dense[preset.image_vector] = img
        sparse = dict(zip(preset.sparse_names(), lex))
        points = [PointData(pid, {m: a[j] for m, a in dense.items()}, {m: v[j] for m, v in sparse.items()}, p)
                  for j, (pid, p) in enumerate(todo)]
        clock.time("upsert", store.upsert, points)
    clock.time("index build (optimize)", store.optimize)
    store.close()
    return clock.seconds, n


E2E_SCRIPT = """
import json, sys, time
# The editable install's import hook would win over sys.path: drop it so `tree`'s code is the one imported.
sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in getattr(f, "__module__", "")]
sys.path.insert(0, {tree!r})
from hiercat.catalog import CatalogOptions
from hiercat.encoders import load_preset
from hiercat.ingest import ingest
from hiercat.mapping import CategoryMapping
from hiercat.store import EdgeStore
import hiercat
assert hiercat.__file__.startswith({tree!r}), hiercat.__file__
preset = load_preset("minilm")
mapping = CategoryMapping.load({mapping!r})
with EdgeStore({store!r}) as store:
    t0 = time.perf_counter()
    r = ingest({csv!r}, store, preset, CatalogOptions(mapping=mapping), batch_size={batch_size}, **{kwargs!r})
    seconds = time.perf_counter() - t0
print(json.dumps(dict(seconds=seconds, ingested=r.ingested, rejected=r.rejected, rows=r.rows)))
"""


def run_e2e(tree: Path, csv: Path, mapping: Path, batch_size: int, work: Path, threads: int,
            **kwargs: Any) -> dict[str, Any]:
    """One `ingest()` call in a fresh process with `tree`'s code, on a fresh store (deleted afterwards)."""
    store = Path(tempfile.mkdtemp(dir=work, prefix="e2e-"))
    script = E2E_SCRIPT.format(tree=str(tree), mapping=str(mapping), store=str(store), csv=str(csv),
                               batch_size=batch_size, kwargs=kwargs)
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONPATH": str(tree)}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    try:
        proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=False)
        if proc.returncode:
            raise RuntimeError(f"e2e run in {tree} failed:\n{proc.stderr[-3000:]}")
        return json.loads(proc.stdout.strip().splitlines()[-1])
    finally:
        shutil.rmtree(store, ignore_errors=True)


def main(argv: list[str] | None = None) -> None:
    """Print the stage table and the end-to-end rates with their ratio to the encoders' own rate."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--catalog", type=Path, default=CATALOG)
    ap.add_argument("--mapping", type=Path, default=MAPPING)
    ap.add_argument("--n", type=int, default=3000, help="first n products (0: all)")
    ap.add_argument("--batch-size", type=int, default=512)
    ap.add_argument("--before", type=Path, default=None, help="a checkout of the code to compare with")
    ap.add_argument("--threads", type=int, default=0, help="OMP threads of the e2e processes (0: default)")
    ap.add_argument("--skip-stages", action="store_true", help="end-to-end runs only")
    ap.add_argument("--workdir", type=Path, default=None)
    args = ap.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="bench-ingest-", dir=args.workdir))
    try:
        csv = subset_catalog(args.catalog, args.n, work / "catalog")
        n_rows = len(pd.read_csv(csv, dtype=str, keep_default_na=False))
        print(f"# {n_rows} products of {args.catalog}, batch {args.batch_size}, {os.cpu_count()} CPUs, "
              f"load {os.getloadavg()[0]:.1f}")
        encoder_rate = None
        if not args.skip_stages:
            seconds, n = time_stages(csv, args.mapping, args.batch_size, work)
            enc = seconds["text encoding"] + seconds["image encoding"]
            encoder_rate = n / enc
            total = sum(seconds.values())
            print("\n| stage | seconds | share | products/s |\n|---|---|---|---|")
            for name, s in seconds.items():
                print(f"| {name} | {s:.2f} | {100 * s / total:.1f} % | {n / s:,.0f} |")
            print(f"| **sum of stages** | {total:.2f} | 100 % | {n / total:,.0f} |")
            print(f"| **encoders' own rate** (text + image encoding) | {enc:.2f} | | {encoder_rate:,.0f} |")
        runs: list[tuple[str, Path, dict[str, Any]]] = []
        if args.before is not None:
            runs.append((f"before ({args.before})", args.before, {}))
        runs += [("serial (overlap=False)", ROOT, {"overlap": False}), ("overlapped (default)", ROOT, {})]
        print("\n| end to end | products | seconds | products/s | / encoders' rate |\n|---|---|---|---|---|")
        for label, tree, kwargs in runs:
            r = run_e2e(tree, csv, args.mapping, args.batch_size, work, args.threads, **kwargs)
            rate = (r["ingested"]) / r["seconds"]
            ratio = f"{rate / encoder_rate:.2f}" if encoder_rate else "-"
            print(f"| {label} | {r['ingested']:,} (+{r['rejected']} rejected) | {r['seconds']:.1f} | {rate:,.1f} "
                  f"| {ratio} |", flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
