"""Cross-platform rows (Table III shape) and the kNN row, printed as Markdown rows as each finishes.

    python bench/bench_cross_platform.py --store STORE --train myntra --test hm --fusions early,late,attention

The same library calls as `hiercat evaluate --cross`, without the within-shop grid, for when only the
cross-platform table (or one fusion of it) is wanted.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hiercat.evaluate import Row, cross_platform, knn_row  # noqa: E402
from hiercat.experiment import Split, label_paths, load_training_data, token_dropout_members  # noqa: E402
from hiercat.store import open_store  # noqa: E402


def markdown_row(r: Row, levels: int, tail: str) -> str:
    """hP, hR, hF1 and per-level macro-F1 of a result row, in percent."""
    m = r.metrics
    return (f"| {r.name} | {100 * m['hP']:.2f} | {100 * m['hR']:.2f} | {100 * m['hF1']:.2f} | "
            + " | ".join(f"{100 * m.get(f'l{k}_macro_f1', float('nan')):.2f}" for k in range(1, levels + 1))
            + f" | {tail} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", required=True)
    ap.add_argument("--train", default="myntra")
    ap.add_argument("--test", default="hm")
    ap.add_argument("--labels", default="path")
    ap.add_argument("--fusions", default="early,late,attention")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--knn-vector", default="minilm_title", help="also the kNN row on the within-shop split ('' = skip)")
    ap.add_argument("--token-dropout", default=None,
                    help="share of lexical n-grams dropped in training; several, comma-separated, average one model each")
    args = ap.parse_args()
    with open_store(args.store) as store:
        products = load_training_data(store)
        levels = max(len(p) for p in label_paths(products, args.labels))
        members = token_dropout_members(args.token_dropout)
        extra = {"members": members} if members else {}
        for fusion in args.fusions.split(","):
            for r in cross_platform(products, args.train, args.test, args.labels, 0, fusions=(fusion,),
                                    epochs=args.epochs, **extra):
                print(markdown_row(r, levels, f"{100 * r.metrics['validity']:.1f} % valid, label coverage "
                                              f"{100 * r.extra['label_coverage']:.1f} %, fit {r.fit_seconds:.0f} s"),
                      flush=True)
        if args.knn_vector:
            split = Split.make(label_paths(products, args.labels), 0)
            r = knn_row(store, products, split, args.labels, args.knn_vector)
            print(markdown_row(r, levels, f"{r.predict_seconds:.1f} s for {len(split.test)} queries"), flush=True)


if __name__ == "__main__":
    main()
