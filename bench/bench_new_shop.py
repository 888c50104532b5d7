"""A shop hiercat has never seen: leave one shop out, hiercat's defaults beside a TF-IDF + LinearSVC on the same rows.

For every platform of the store: train on all the others (their train + test parts; validation part for
early stopping), score the left-out shop per product, with its breadcrumbs pooled, and by the mapping
proposed for its categories. The SVM (what a user would otherwise pick) is trained on the same rows, on
the same text hiercat reads (title + description), and gets the same pooling and proposal, fed with its
probabilities: softmax of the decision values of the same pipeline fitted on the training shops' train + test
parts, at the temperature with the best log-loss on their validation part.

    python bench/bench_new_shop.py --store runs/store
    python bench/bench_new_shop.py --store runs/store --text-only    # as a shop without images or descriptions
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from bench_baselines import tfidf_svm_pipeline
from rich.console import Console
from rich.table import Table

from hiercat.breadcrumbs import pool_by_breadcrumb
from hiercat.evaluate import leave_one_shop_out
from hiercat.experiment import Split, label_paths, load_training_data
from hiercat.metrics import evaluate_paths
from hiercat.model.predict import PathScores, predictions_from_scores
from hiercat.propose import mapping_accuracy, propose_mapping
from hiercat.store import open_store
from hiercat.taxonomy import Taxonomy, join_path, split_path


def calibrated_scores(fit_text, fit_labels, cal_text, cal_labels, test_text) -> PathScores:
    """The SVM's decision values as path probabilities: softmax(decision / T), the pipeline fitted on `fit_*` and
    the temperature T chosen for the best log-loss on `cal_*` (as hiercat early-stops on its validation part)."""
    from scipy.special import log_softmax

    pipe = tfidf_svm_pipeline().fit(fit_text, fit_labels)
    classes = list(pipe.classes_)
    col = {c: j for j, c in enumerate(classes)}
    known = [i for i, c in enumerate(cal_labels) if c in col]
    d_cal = pipe.decision_function([cal_text[i] for i in known])
    y_cal = np.array([col[cal_labels[i]] for i in known])
    temps = np.geomspace(0.01, 2.0, 40)
    loss = [-log_softmax(d_cal / t, axis=1)[np.arange(len(y_cal)), y_cal].mean() for t in temps]
    t_best = float(temps[int(np.argmin(loss))])
    logp = log_softmax(pipe.decision_function(test_text) / t_best, axis=1)
    return PathScores([split_path(c) for c in classes], logp.astype(np.float32))


def svm_rows(products, target: str, seed: int, text_only: bool) -> list[tuple[str, dict, dict]]:
    """The SVM's per-product and pooled metrics and its mapping accuracy on one left-out shop."""
    plat = products.payload["platform"].astype(str).to_numpy()
    src, dst = products.where(plat != target), products.where(plat == target)
    src_paths, dst_paths = label_paths(src, "path"), label_paths(dst, "path")
    split = Split.make(src_paths, seed)
    fit = np.concatenate([split.train, split.test, split.val])  # the SVM needs no early stopping: every row fits

    def text(p, drop_description=False):
        return [t if drop_description or not d else f"{t}. {d}"
                for t, d in zip(p.payload["title"].astype(str), p.payload["description"].astype(str))]

    src_text, dst_text = text(src), text(dst, text_only)
    pipe = tfidf_svm_pipeline()
    t0 = time.perf_counter()
    pipe.fit([src_text[i] for i in fit], [join_path(src_paths[i]) for i in fit])
    fit_s = time.perf_counter() - t0
    pred = list(pipe.predict(dst_text))
    levels = max(len(p) for p in src_paths + dst_paths)
    per_product = evaluate_paths(dst_paths, [split_path(p) for p in pred], levels=levels)
    tr = np.concatenate([split.train, split.test])
    scores = calibrated_scores([src_text[i] for i in tr], [join_path(src_paths[i]) for i in tr],
                               [src_text[i] for i in split.val], [join_path(src_paths[i]) for i in split.val], dst_text)
    natives = dst.payload["native_category"].astype(str).tolist()
    tax = Taxonomy.from_paths(scores.paths)
    pooled = predictions_from_scores(pool_by_breadcrumb(scores, natives), tax)
    proposal, _ = propose_mapping(scores, natives, dst.payload["title"].astype(str).tolist())
    mapping = mapping_accuracy(proposal, dict(zip(natives, dst.payload["path"].astype(str))))
    return [("TF-IDF + LinearSVC, per product", per_product, {"fit_s": fit_s}),
            ("TF-IDF + LinearSVC, breadcrumb pooling", evaluate_paths(dst_paths, pooled.paths, levels=levels), mapping)]


def floor_rows(products, target: str, model, floors: list[float], levels: int) -> list[tuple[str, dict, dict]]:
    """hiercat's breadcrumb pooling of one left-out shop at several sibling floors, from the same trained model."""
    from hiercat.model import inputs_from_stored
    from hiercat.model.predict import predict_path_scores

    dst = products.where(products.payload["platform"].astype(str).to_numpy() == target)
    paths = label_paths(dst, "path")
    scores = predict_path_scores(model, inputs_from_stored(dst))
    natives = dst.payload["native_category"].astype(str).tolist()
    return [(f"hiercat, pooling, floor {f:g}",
             evaluate_paths(paths, predictions_from_scores(pool_by_breadcrumb(scores, natives, floor=f),
                                                           model.taxonomy).paths, levels=levels), {})
            for f in floors]


def blank_text_only(products):
    """The store's products as a shop without images or descriptions would arrive: zero image and description vectors."""
    for name, arr in products.dense.items():
        if name.endswith("_image") or name.endswith("_description"):
            arr[:] = 0.0
    products.payload["description"] = ""
    return products


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--store", default="runs/store")
    ap.add_argument("--platforms", default=None, help="left-out shops (default: every platform)")
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--text-only", action="store_true", help="score the left-out shop without its images and descriptions")
    ap.add_argument("--modalities", default=None, help="hiercat modalities (default: hiercat train's)")
    ap.add_argument("--fusion", default=None)
    ap.add_argument("--floors", default="0.01,0.02,0.05,0.1",
                    help="also report breadcrumb pooling at these sibling floors (same model; default floor 0.01)")
    ap.add_argument("--zero-shot", action="store_true", help="also score with the zero-shot fallback (category names)")
    ap.add_argument("--drop", default=None, help="extra modality dropout, e.g. lex_title=0.5 (name=share, comma-separated)")
    args = ap.parse_args()
    console = Console(width=200)
    store = open_store(path=args.store)
    try:
        products = load_training_data(store)
        meta = store.get_meta()
    finally:
        store.close()
    plats = args.platforms.split(",") if args.platforms else sorted(set(products.payload["platform"]))
    extra: dict = {k: v for k, v in (("modalities", args.modalities), ("fusion", args.fusion)) if v}
    if args.zero_shot:
        from hiercat.experiment import category_names

        extra["category_names"] = category_names(meta)
    if args.drop:
        from hiercat.experiment import DEFAULT_MODALITIES, resolve_modalities, shops_model_kwargs
        from hiercat.model.inputs import inputs_from_stored

        inputs = inputs_from_stored(products)
        drop = shops_model_kwargs(inputs, resolve_modalities(args.modalities or DEFAULT_MODALITIES, inputs)).get(
            "modality_dropout", {})
        drop.update({k: float(v) for k, v in (kv.split("=") for kv in args.drop.split(","))})
        extra["modality_dropout"] = drop
    table = Table(title=f"leave one shop out{' (text only)' if args.text_only else ''}, Google labels")
    for col in ("left out", "method", "hF1", "exact", "L1 macro-F1", "deepest macro-F1", "mapping right (items)",
                "auto right", "auto share", "fit s"):
        table.add_column(col)
    for target in plats:
        plat = products.payload["platform"].astype(str).to_numpy()
        if args.text_only:
            # Only the left-out shop loses its images and descriptions; the training shops keep theirs.
            dst = blank_text_only(products.where(plat == target))
            src = products.where(plat != target)
            from hiercat.dataset import StoredProducts
            both = StoredProducts(src.ids + dst.ids, {k: np.concatenate([src.dense[k], dst.dense[k]]) for k in src.dense},
                                  {k: src.sparse[k] + dst.sparse[k] for k in src.sparse},
                                  __import__("pandas").concat([src.payload, dst.payload], ignore_index=True),
                                  vectors=src.vectors)
        else:
            both = products
        shop = leave_one_shop_out(both, seed=args.seed, platforms=[target], epochs=args.epochs, **extra)[0]
        levels = max(int(k.split("_")[0][1:]) for k in shop.rows[0].metrics if k.startswith("l") and k.endswith("_macro_f1"))
        rows = [("hiercat, per product", shop.rows[0].metrics, {"fit_s": shop.rows[0].fit_seconds}),
                ("hiercat, breadcrumb pooling", shop.rows[1].metrics, shop.mapping)]
        rows += [(f"hiercat, {r.name.split(', ', 1)[1]}", r.metrics, {}) for r in shop.rows[2:]]
        rows += svm_rows(both, target, args.seed, args.text_only)
        rows += floor_rows(both, target, shop.model, [float(f) for f in args.floors.split(",") if f.strip()], levels)
        for name, m, extra_m in rows:
            table.add_row(target, name, f"{100 * m['hF1']:.2f}", f"{100 * m['exact']:.2f}",
                          f"{100 * m['l1_macro_f1']:.2f}", f"{100 * m[f'l{levels}_macro_f1']:.2f}",
                          f"{100 * extra_m['item_accuracy']:.2f}" if "item_accuracy" in extra_m else "",
                          f"{100 * extra_m['auto_precision']:.2f}" if "auto_precision" in extra_m else "",
                          f"{100 * extra_m['auto_share']:.1f}" if "auto_share" in extra_m else "",
                          f"{extra_m.get('fit_s', ''):.0f}" if "fit_s" in extra_m else "")
        console.print(table)


if __name__ == "__main__":
    main()
