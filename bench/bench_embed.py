"""Embedding throughput: the `minilm` preset's title path vs sentence-transformers called directly.

Both embed the same Myntra titles with the same model, batch size and normalization; runs are
interleaved and the best of several repeats is kept, so load from other processes hurts both alike.

    python bench/bench_embed.py [--n 5000] [--batch-size 256] [--repeats 3] [--threads N]
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("HIERCAT_SHARED_DATA", ROOT.parent / "shared" / "data"))


def load_titles(n: int) -> list[str]:
    """The first n non-empty Myntra titles (shared data, else the bundled demo sample)."""
    csv = SHARED / "myntra" / "products.csv"
    if not csv.exists():
        csv = ROOT / "demo" / "myntra" / "products.csv"
    df = pd.read_csv(csv, dtype=str, keep_default_na=False)
    titles = [t for t in df["title"] if t.strip()]
    return titles[:n]


def timed(fn: Callable[[], np.ndarray], before: Callable[[], None] = lambda: None) -> tuple[float, np.ndarray]:
    """Wall time of one call (after `before`, untimed) and its result."""
    before()
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def main() -> None:
    """Run the benchmark and print a table of products/s."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=5000)
    ap.add_argument("--batch-size", type=int, default=256)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--threads", type=int, default=0, help="torch threads (0 = torch default)")
    args = ap.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from sentence_transformers import SentenceTransformer

    from hiercat.encoders import load_preset
    from hiercat.encoders.minilm import packaged_model_dir

    titles = load_titles(args.n)
    preset = load_preset("minilm", batch_size=args.batch_size)
    cache = preset.text  # CachedTextEncoder around MiniLMEncoder
    direct_model = SentenceTransformer(str(packaged_model_dir()), device=str(cache.encoder.device))

    def direct() -> np.ndarray:
        return direct_model.encode(titles, batch_size=args.batch_size, normalize_embeddings=True,
                                   convert_to_numpy=True, show_progress_bar=False)

    runs: dict[str, tuple[Callable[[], np.ndarray], Callable[[], None]]] = {
        "SentenceTransformer.encode (direct)": (direct, lambda: None),
        "preset minilm: encode_text (cold LRU cache)": (lambda: preset.encode_text(titles), cache.clear),
        "preset minilm: MiniLMEncoder.encode (no cache)": (lambda: cache.encoder.encode(titles), lambda: None),
    }
    # Warm-up: first calls pay for lazy initialisation and allocator growth.
    direct_model.encode(titles[:args.batch_size], batch_size=args.batch_size, normalize_embeddings=True)
    cache.encoder.encode(titles[:args.batch_size])

    times: dict[str, list[float]] = {k: [] for k in runs}
    outputs: dict[str, np.ndarray] = {}
    for _ in range(args.repeats):
        for name, (fn, before) in runs.items():
            seconds, outputs[name] = timed(fn, before)
            times[name].append(seconds)

    base_name = next(iter(runs))
    base = min(times[base_name])
    table = Table(title=f"embedding {len(titles)} Myntra titles, all-MiniLM-L6-v2, batch {args.batch_size}, "
                        f"{torch.get_num_threads()} threads, {cache.encoder.device}, best of {args.repeats}")
    for col, justify in (("path", "left"), ("seconds", "right"), ("products/s", "right"),
                         ("ratio vs direct", "right"), ("overhead", "right"), ("max |diff|", "right")):
        table.add_column(col, justify=justify)
    for name in runs:
        t = min(times[name])
        diff = float(np.abs(outputs[name] - outputs[base_name]).max())
        table.add_row(name, f"{t:.2f}", f"{len(titles) / t:,.0f}", f"{base / t:.3f}",
                      f"{(t / base - 1) * 100:+.1f} %", f"{diff:.1e}")
    console = Console(width=max(Console().width, 130))  # a narrow pipe would wrap the table
    console.print(table)
    console.print(f"distinct titles: {len(set(titles))} of {len(titles)} (the preset's cache encodes each once)")


if __name__ == "__main__":
    main()
