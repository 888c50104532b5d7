"""After recategorization: how well does a retrained classifier predict the new sub-categories?

    python bench/bench_recategorize.py --store runs/store2 --work runs/recat --k 8 --epochs 30

Copies an ingested store (Myntra + H&M with Google paths), reclusters `Apparel & Accessories > Shoes`
(level 1 only, k clusters, the proposal adopted unedited with its c-TF-IDF names), applies it, then

* within shops: trains on the seeded 64/16/20 split of all products and scores the held-out 20 % of
  each shop's shoes (exact path accuracy, accuracy of the sub-category among products predicted as
  shoes, macro-F1 over the new sub-categories, the majority-class share for scale, and the purity of
  the predicted sub-categories against the shop's own shoe types);
* across shops: trains on one shop only and classifies every shoe of the other shop.

The sub-category labels of held-out products come from the same clustering that made the
sub-categories (as in the paper): the numbers say how learnable the proposal is, not whether its
clusters are the "true" shoe types (purity in bench_recluster.py measures that). The last column
does judge the predictions against each shop's native types: across shops it says whether the new
sub-categories sort the other shop's boots, sandals and pumps apart.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from sklearn.metrics import f1_score

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hiercat.experiment import Split, fit_and_score, label_paths, load_training_data  # noqa: E402
from hiercat.model import inputs_from_stored, predict  # noqa: E402
from hiercat.recluster.apply import apply_proposal  # noqa: E402
from hiercat.recluster.command import recluster_command  # noqa: E402
from hiercat.recluster.features import DEFAULT_SPEC  # noqa: E402
from hiercat.recluster.purity import purity  # noqa: E402
from hiercat.recluster.reference import reference_labels  # noqa: E402
from hiercat.store import EdgeStore  # noqa: E402
from hiercat.taxonomy import split_path  # noqa: E402

SHOES = split_path("Apparel & Accessories > Shoes")


def shoe_scores(true: list[tuple[str, ...]], pred: list[tuple[str, ...]], native: list[str]) -> dict[str, float]:
    """Accuracy on products whose true path lies under a new shoe sub-category; purity against `native` types."""
    keep = [i for i, t in enumerate(true) if t[:len(SHOES)] == SHOES and len(t) > len(SHOES)]
    rows = [(true[i], pred[i]) for i in keep]
    if not rows:
        return {"n": 0}
    t_sub = [t[len(SHOES)] for t, _ in rows]
    p_sub = [p[len(SHOES)] if p[:len(SHOES)] == SHOES and len(p) > len(SHOES) else "(not a sub-category)"
             for _, p in rows]
    as_shoes = [i for i, (_, p) in enumerate(rows) if p[:len(SHOES)] == SHOES]
    return {
        "n": len(rows),
        "exact": float(np.mean([t == p for t, p in rows])),
        "predicted_shoes": len(as_shoes) / len(rows),
        "sub_given_shoes": float(np.mean([t_sub[i] == p_sub[i] for i in as_shoes])) if as_shoes else 0.0,
        "macro_f1": float(f1_score(t_sub, p_sub, labels=sorted(set(t_sub)), average="macro", zero_division=0)),
        "majority": Counter(t_sub).most_common(1)[0][1] / len(t_sub),
        "native_purity": purity([p_sub[i] for i in as_shoes], [native[keep[i]] for i in as_shoes]) if as_shoes else 0.0,
    }


def fmt(name: str, s: dict[str, float]) -> str:
    """One Markdown table row."""
    if not s.get("n"):
        return f"| {name} | 0 | | | | | | |"
    return (f"| {name} | {s['n']:,} | {100 * s['exact']:.2f} | {100 * s['predicted_shoes']:.2f} | "
            f"{100 * s['sub_given_shoes']:.2f} | {100 * s['macro_f1']:.2f} | {100 * s['majority']:.2f} | "
            f"{100 * s['native_purity']:.2f} |")


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", required=True, help="An ingested store of Myntra + H&M (left untouched).")
    ap.add_argument("--work", default="runs/recat", help="Where the copy, the report and the proposal go.")
    ap.add_argument("--k", default="8", help="Clusters at level 1 (one level).")
    ap.add_argument("--vectors", default=DEFAULT_SPEC)
    ap.add_argument("--fusion", default="late")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--cross", default="myntra:hm,hm:myntra", help="TRAIN:TEST shop pairs.")
    ap.add_argument("--keep-apart", action="store_true", help="Recluster without placing a shop that clusters by "
                                                               "itself into the other shop's clusters.")
    ap.add_argument("--image-weights", default=None, help="Recluster with the shoes' images re-embedded by these "
                                                          "SimCLR weights (the classifier keeps the stored vectors).")
    args = ap.parse_args(argv)

    work = Path(args.work)
    if work.exists():
        shutil.rmtree(work)
    shutil.copytree(args.store, work / "store", ignore=shutil.ignore_patterns("hiercat.lock", "models"))
    lines = [f"`python bench/bench_recategorize.py {' '.join(argv or sys.argv[1:])}`", ""]
    with EdgeStore(work / "store") as vs:
        t0 = time.perf_counter()
        report = recluster_command(vs, "Shoes", out=work / "shoes", vectors=args.vectors, reference="native_category",
                                   levels=1, n_clusters=args.k, seed=args.seed, image_weights=args.image_weights,
                                   place_apart=not args.keep_apart)
        result = apply_proposal(vs, work / "shoes" / "proposal.json")
        lines.append(f"recluster + apply: {time.perf_counter() - t0:.0f} s; purity L1 "
                     f"{100 * report.purity('native_category', 1):.1f} %; "
                     f"{len(result.added_paths)} new sub-categories: "
                     + ", ".join(f"{p.split(' > ')[-1]} ({n:,})" for p, n in result.path_counts.items()))
        products = load_training_data(vs)
    paths = label_paths(products, "path")
    platforms = products.payload["platform"].to_numpy()
    native = reference_labels(products.payload, "native_category").tolist()
    inputs = inputs_from_stored(products)
    header = ["", "| setting | shoes tested | exact path % | predicted as shoes % | sub-category given shoes % | "
              "macro-F1 new sub-categories % | majority share % | purity vs native types % |", "|---|---|---|---|---|---|---|---|"]
    lines += header

    split = Split.make(paths, args.seed)
    r = fit_and_score(inputs, paths, split.train, split.val, split.test, fusion=args.fusion, seed=args.seed,
                      epochs=args.epochs)
    pred = predict(r.model, inputs.take(split.test)).paths
    true = [paths[i] for i in split.test]
    for shop in sorted(set(platforms)):
        keep = [j for j, i in enumerate(split.test) if platforms[i] == shop]
        lines.append(fmt(f"within shops, held-out 20 % of {shop} (hF1 all products {100 * r.metrics['hF1']:.2f})",
                         shoe_scores([true[j] for j in keep], [pred[j] for j in keep],
                                     [native[split.test[j]] for j in keep])))
    print("\n".join(lines), flush=True)

    for pair in filter(None, args.cross.split(",")):
        src, dst = pair.split(":")
        src_idx = np.flatnonzero(platforms == src)
        dst_idx = np.flatnonzero(platforms == dst)
        sub = Split.make([paths[i] for i in src_idx], args.seed)
        r = fit_and_score(inputs, paths, src_idx[sub.train], src_idx[sub.val], dst_idx, fusion=args.fusion,
                          seed=args.seed, epochs=args.epochs)
        pred = predict(r.model, inputs.take(dst_idx)).paths
        lines.append(fmt(f"trained on {src}, all shoes of {dst}", shoe_scores([paths[i] for i in dst_idx], pred,
                                                                       [native[i] for i in dst_idx])))
        print(lines[-1], flush=True)
    (work / "RESULTS.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
