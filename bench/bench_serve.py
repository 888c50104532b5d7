"""Load test of `hiercat serve` over loopback, beside the same products through `hiercat classify`, in one run.

    python bench/bench_serve.py --store COPY_OF_runs/store3 --model COPY/models/classifier \
        [--singles 200] [--batches 20] [--batch-size 64] [--out bench/reports/serve.json]

Starts `hiercat serve` on a free loopback port (a real uvicorn process), sends requests one after
another over one keep-alive connection: `--singles` one-product requests and `--batches` requests of
`--batch-size` products, each text-only and with images (paths under the shared data folder). Every
phase sends products no earlier phase sent, so the text encoder's in-memory cache never flatters one. Prints
p50 / p95 / p99 latency and products/s per phase, then stops the server (an embedded store allows one
process) and runs `hiercat classify` on the batch products, text-only and with images. Bounded: every
phase stops after `--phase-seconds`. Products are a seeded sample of ../shared/data (Myntra + H&M).
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HIERCAT_SHARED_DATA", ROOT.parent / "shared" / "data"))


def sample_products(n: int, seed: int = 0) -> pd.DataFrame:
    """n products of Myntra + H&M with absolute image paths (seeded)."""
    parts = []
    for shop in ("myntra", "hm"):
        df = pd.read_csv(SHARED / shop / "products.csv", dtype=str, keep_default_na=False)
        df["image"] = [str((SHARED / shop / p).resolve()) if p else "" for p in df["image"]]
        parts.append(df[(df["title"] != "") & (df["image"] != "")])
    all_rows = pd.concat(parts, ignore_index=True)
    return all_rows.sample(n=n, random_state=seed).reset_index(drop=True)


def body(rows: pd.DataFrame, images: bool) -> dict:
    """A /classify request for the rows."""
    products = []
    for _, r in rows.iterrows():
        p = {"product_id": r["product_id"], "platform": r["platform"], "title": r["title"], "brand": r["brand"],
             "description": r["description"]}
        if images:
            p["image"] = {"path": r["image"]}
        products.append(p)
    return {"products": products}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def percentiles(lat: list[float]) -> dict[str, float]:
    a = np.asarray(lat) * 1000
    return {"p50_ms": float(np.percentile(a, 50)), "p95_ms": float(np.percentile(a, 95)),
            "p99_ms": float(np.percentile(a, 99))}


def phase(client: httpx.Client, requests: list[dict], limit_s: float) -> dict:
    """Send the requests one after another; latency of each, products per second over the phase."""
    lat, products, t0 = [], 0, time.perf_counter()
    for req in requests:
        t = time.perf_counter()
        res = client.post("/classify", json=req)
        lat.append(time.perf_counter() - t)
        if res.status_code != 200:
            raise RuntimeError(f"{res.status_code}: {res.text[:300]}")
        products += len(req["products"])
        if time.perf_counter() - t0 > limit_s:
            break
    wall = time.perf_counter() - t0
    return {"requests": len(lat), "products": products, "seconds": wall, "products_per_s": products / wall,
            **percentiles(lat)}


def run_classify(csv: Path, store: Path, model: Path, out: Path) -> dict:
    """`hiercat classify` of a CSV as a user runs it (a new process: import, model load, embedding, kNN)."""
    t0 = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "hiercat", "classify", str(csv), "--store", str(store), "--model",
                          str(model), "-o", str(out)], capture_output=True, text=True, timeout=1800)
    wall = time.perf_counter() - t0
    if res.returncode != 0:
        raise RuntimeError(res.stdout[-2000:] + res.stderr[-2000:])
    n = len(pd.read_csv(csv))
    return {"products": n, "seconds": wall, "products_per_s": n / wall}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--model", type=Path, required=True)
    ap.add_argument("--singles", type=int, default=200)
    ap.add_argument("--batches", type=int, default=20)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--phase-seconds", type=float, default=300.0)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "reports" / "serve.json")
    args = ap.parse_args()
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    n_batch = args.batches * args.batch_size
    rows = sample_products(2 * args.singles + 2 * n_batch)
    # disjoint products per phase: [singles text | singles images | batches text | batches images]
    start = {("single", False): 0, ("single", True): args.singles,
             ("batch", False): 2 * args.singles, ("batch", True): 2 * args.singles + n_batch}
    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "hiercat", "serve", "--store", str(args.store), "--model",
                               str(args.model), "--port", str(port), "--image-root", str(SHARED),
                               "--max-products", str(args.batch_size)],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    results: dict[str, dict] = {}
    try:
        client = httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=300)
        t0 = time.perf_counter()
        while True:
            try:
                if client.get("/health").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if server.poll() is not None or time.perf_counter() - t0 > 300:
                raise RuntimeError("hiercat serve did not start: " + (server.stdout.read() if server.stdout else ""))
            time.sleep(0.5)
        results["server_start_s"] = {"seconds": time.perf_counter() - t0}
        warm = sample_products(5, seed=1)
        for i in range(5):  # warm-up: first calls pay for lazy imports and allocator growth
            client.post("/classify", json=body(warm.iloc[i: i + 1], True))
        for images in (False, True):
            kind = "with images" if images else "text only"
            lo = start[("single", images)]
            singles = [body(rows.iloc[lo + i: lo + i + 1], images) for i in range(args.singles)]
            results[f"single, {kind}"] = phase(client, singles, args.phase_seconds)
            print(f"single, {kind}: {results[f'single, {kind}']}", flush=True)
            lo = start[("batch", images)]
            batches = [body(rows.iloc[lo + b * args.batch_size: lo + (b + 1) * args.batch_size], images)
                       for b in range(args.batches)]
            results[f"batch of {args.batch_size}, {kind}"] = phase(client, batches, args.phase_seconds)
            print(f"batch, {kind}: {results[f'batch of {args.batch_size}, {kind}']}", flush=True)
        client.close()
    finally:
        server.terminate()
        server.wait(30)
    work = Path(tempfile.mkdtemp(prefix="hiercat-bench-serve-"))  # the CSVs and predictions: not worth keeping
    # the very products of the batch phases, through the CLI (a fresh process: nothing cached)
    text_rows = rows.iloc[start[("batch", False)]: start[("batch", False)] + n_batch]
    image_rows = rows.iloc[start[("batch", True)]: start[("batch", True)] + n_batch]
    text_rows.assign(image="").to_csv(work / "text-only.csv", index=False)
    image_rows.to_csv(work / "with-images.csv", index=False)
    for kind, file in (("text only", "text-only.csv"), ("with images", "with-images.csv")):
        results[f"hiercat classify, {kind}"] = run_classify(work / file, args.store, args.model,
                                                           work / f"pred-{file}")
        print(f"classify, {kind}: {results[f'hiercat classify, {kind}']}", flush=True)
    args.out.write_text(json.dumps(results, indent=1))
    print("\n| run | requests | products | p50 ms | p95 ms | p99 ms | products/s |\n|---|---|---|---|---|---|---|")
    for name, r in results.items():
        if "p50_ms" in r:
            print(f"| {name} | {r['requests']} | {r['products']} | {r['p50_ms']:.1f} | {r['p95_ms']:.1f} | "
                  f"{r['p99_ms']:.1f} | {r['products_per_s']:.1f} |")
        elif "products" in r:
            print(f"| {name} (one process, {r['seconds']:.1f} s in all) | 1 | {r['products']} | – | – | – | "
                  f"{r['products_per_s']:.1f} |")
    print(f"\nserver start (model load) {results['server_start_s']['seconds']:.1f} s")


if __name__ == "__main__":
    main()
