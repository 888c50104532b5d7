"""`ingest_ray` with 1 vs 2 CPU encoder actors on a local Ray cluster, beside the single-process ingest.

Each actor gets one CPU and one torch thread; the single-process rows use 1 and 2 torch threads. Every
run ingests the same products into a fresh Edge store under /tmp (deleted afterwards) and must end with
the same point ids. Model loading inside the actors is part of the Ray rows (it is part of a real run);
the single-process rows load the encoders before the clock starts.

    python bench/bench_ray.py [--n 1500] [--batch-size 256]
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # run as a script from any folder, without installing hiercat
sys.path.insert(0, str(ROOT / "bench"))

from bench_ingest import CATALOG, MAPPING, subset_catalog  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    """Run the four ingests and print products/s."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=1500)
    ap.add_argument("--batch-size", type=int, default=256)
    args = ap.parse_args(argv)
    import ray

    from hiercat.catalog import CatalogOptions
    from hiercat.distributed import ingest_ray
    from hiercat.encoders import load_preset
    from hiercat.ingest import ingest
    from hiercat.mapping import CategoryMapping
    from hiercat.pipeline import set_torch_threads
    from hiercat.store import EdgeStore

    work = Path(tempfile.mkdtemp(prefix="bench-ray-"))
    try:
        csv = subset_catalog(CATALOG, args.n, work / "catalog")
        options = CatalogOptions(mapping=CategoryMapping.load(MAPPING))
        preset = load_preset("minilm")
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
        rows, ids = [], {}
        runs = [("single process, 1 torch thread", "single", 1), ("single process, 2 torch threads", "single", 2),
                ("Ray, 1 CPU actor (1 thread)", "ray", 1), ("Ray, 2 CPU actors (1 thread each)", "ray", 2)]
        for label, kind, n in runs:
            folder = work / f"store-{kind}-{n}"
            with EdgeStore(folder) as store:
                if kind == "single":
                    set_torch_threads(n)
                    preset.text.clear()
                    t0 = time.perf_counter()
                    report = ingest(csv, store, preset, options, batch_size=args.batch_size, threads=n)
                else:
                    set_torch_threads(2)
                    t0 = time.perf_counter()
                    report = ingest_ray(csv, store, preset, options, workers=n, threads_per_worker=1,
                                        batch_size=args.batch_size)
                seconds = time.perf_counter() - t0
                ids[label] = sorted(p.id for p in store.scroll())
            shutil.rmtree(folder, ignore_errors=True)
            rows.append((label, report.ingested, seconds))
            print(f"# {label}: {report.ingested} in {seconds:.1f} s", flush=True)
        ray.shutdown()
        first = next(iter(ids.values()))
        assert all(v == first for v in ids.values()), "runs disagree on the point ids"
        print(f"\n# {args.n} Myntra products, batch {args.batch_size}, {os.cpu_count()} CPUs, "
              f"load {os.getloadavg()[0]:.1f}; every run ended with the same {len(first):,} point ids")
        print("\n| run | ingested | seconds | products/s |\n|---|---|---|---|")
        for label, n, s in rows:
            print(f"| {label} | {n:,} | {s:.1f} | {n / s:,.1f} |")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
