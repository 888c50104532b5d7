"""hiercat's classifier vs what a user would otherwise pick, on the same stored products and the same split.

Peers: a flat TF-IDF (word 1-2 + char 2-5 n-grams) + LinearSVC on titles, and HiClass
(LocalClassifierPerParentNode with logistic regression) on the same stored dense vectors.

    python bench/bench_baselines.py --store runs/store --platforms myntra --labels native_category
    python bench/bench_baselines.py --store runs/store --labels path
    python bench/bench_baselines.py --store runs/store --platforms myntra --labels native_category --seeds 0,1,2,3,4
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from rich.console import Console
from rich.table import Table

from hiercat.experiment import (
    Split,
    fit_and_score,
    label_paths,
    load_training_data,
    resolve_modalities,
    token_dropout_members,
)
from hiercat.metrics import evaluate_paths
from hiercat.model import inputs_from_stored, predict
from hiercat.store import open_store
from hiercat.taxonomy import join_path, split_path


def tfidf_svm_pipeline():
    """The peer: TF-IDF word 1-2-grams + char_wb 2-5-grams (sublinear tf) into a LinearSVC, unfitted."""
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.pipeline import make_pipeline, make_union
    from sklearn.svm import LinearSVC

    return make_pipeline(
        make_union(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=1),
                   TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True, min_df=2)),
        LinearSVC(C=1.0),
    )


def tfidf_svm(titles_train, y_train, titles_test):
    """Flat TF-IDF word+char n-grams + LinearSVC over whole paths; returns predictions and (fit, predict) seconds."""
    pipe = tfidf_svm_pipeline()
    t0 = time.perf_counter()
    pipe.fit(titles_train, y_train)
    t1 = time.perf_counter()
    pred = pipe.predict(titles_test)
    return list(pred), t1 - t0, time.perf_counter() - t1


def hiclass_lcppn(x_train, paths_train, x_test, depth):
    """HiClass LocalClassifierPerParentNode with logistic regression on dense vectors."""
    from hiclass import LocalClassifierPerParentNode
    from sklearn.linear_model import LogisticRegression

    y = np.array([list(p) + [""] * (depth - len(p)) for p in paths_train], dtype=object)
    clf = LocalClassifierPerParentNode(local_classifier=LogisticRegression(max_iter=300), n_jobs=2)
    t0 = time.perf_counter()
    clf.fit(x_train, y)
    t1 = time.perf_counter()
    pred = clf.predict(x_test)
    return [tuple(str(c) for c in row if str(c) not in ("", "nan")) for row in pred], t1 - t0, time.perf_counter() - t1


def run_seed(args, products, inputs, paths, depth, seed: int, console: Console) -> list[tuple[str, dict, float, float]]:
    """Every method on the split of one seed: (name, metrics, fit s, predict s) rows."""
    split = Split.make(paths, seed)
    fit_idx = np.concatenate([split.train, split.val])
    test_paths = [paths[i] for i in split.test]
    titles = products.payload["title"].tolist()
    rows = []

    def add(name, m, fit_s, pred_s):
        rows.append((name, m, fit_s, pred_s))
        console.print(f"seed {seed} {name}: hF1 {100 * m['hF1']:.2f}, L{depth} macro-F1 {100 * m[f'l{depth}_macro_f1']:.2f}")

    pred, f, p = tfidf_svm([titles[i] for i in fit_idx], [join_path(paths[i]) for i in fit_idx],
                           [titles[i] for i in split.test])
    add("TF-IDF word+char + LinearSVC (titles)", evaluate_paths(test_paths, [split_path(x) for x in pred], levels=depth),
        f, p)

    if not args.skip_hiclass:
        x = np.concatenate([inputs.dense[k] for k in inputs.dense], axis=1)
        pred, f, p = hiclass_lcppn(x[fit_idx], [paths[i] for i in fit_idx], x[split.test], depth)
        add(f"HiClass LCPPN + LogReg ({'+'.join(inputs.dense)})", evaluate_paths(test_paths, pred, levels=depth), f, p)

    mods = resolve_modalities(args.modalities, inputs)
    members = token_dropout_members(args.token_dropout)
    how = ""
    if members:
        how += (", token dropout " if len(members) == 1 else ", average of models at token dropout ") + \
            " + ".join(f"{m['token_dropout']:g}" for m in members)
    if args.refit:
        how += ", refit on train+val"
    decodes = args.decode.split(",")
    r = fit_and_score(inputs, paths, split.train, split.val, split.test, fusion=args.fusion, modalities=mods,
                      seed=seed, epochs=args.epochs, decode=decodes[0], members=members, refit=args.refit)
    for decode in decodes:  # one trained model, each decoding a row
        name = f"hiercat {args.fusion} fusion, {decode} decode ({'+'.join(mods)}){how}"
        if decode == decodes[0]:
            add(name, r.metrics, r.fit_seconds, r.predict_seconds)
            continue
        t0 = time.perf_counter()
        pred = predict(r.model, inputs.take(split.test), decode=decode).paths
        add(name, evaluate_paths(test_paths, pred, levels=depth), r.fit_seconds, time.perf_counter() - t0)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", default="hiercat-store")
    ap.add_argument("--platforms", default=None, help="comma-separated platforms")
    ap.add_argument("--labels", default="path", choices=["path", "native_category"])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--seeds", default=None,
                    help="comma-separated split seeds: every method on each split, then mean and spread")
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--fusion", default="late")
    ap.add_argument("--modalities", default="all", help="hiercat's inputs: a group (text+lexical, all, ...) or names")
    ap.add_argument("--skip-hiclass", action="store_true")
    ap.add_argument("--token-dropout", default=None,
                    help="hiercat: share of a title's n-grams dropped while training (default: the model's); "
                         "several, comma-separated, average one model per value (as `hiercat train`)")
    ap.add_argument("--decode", default="greedy",
                    help="hiercat's decoding: greedy, path, or both (greedy,path: one row each, same model)")
    ap.add_argument("--refit", action="store_true",
                    help="refit hiercat on train+val (as the peers are) for the early-stopped epoch count")
    args = ap.parse_args()
    console = Console(width=200)  # a wide table stays one line per row in a log file
    with open_store(args.store) as store:
        products = load_training_data(store, args.platforms.split(",") if args.platforms else None)
    paths = label_paths(products, args.labels)
    depth = max(len(p) for p in paths)
    seeds = [int(x) for x in args.seeds.split(",")] if args.seeds else [args.seed]
    inputs = inputs_from_stored(products)
    per_seed = {seed: run_seed(args, products, inputs, paths, depth, seed, console) for seed in seeds}
    cols = ["hP", "hR", "hF1"] + [f"l{k}_macro_f1" for k in range(1, depth + 1)]
    heads = ["hP", "hR", "hF1"] + [f"L{k} macro-F1" for k in range(1, depth + 1)]
    for seed, rows in per_seed.items():
        t = Table(title=f"{len(products)} products, labels `{args.labels}`, {depth} levels, split seed {seed}")
        for col in ["method"] + heads + ["fit s", "predict s"]:
            t.add_column(col, justify="left" if col == "method" else "right")
        for name, m, f, p in rows:
            t.add_row(name, *(f"{100 * m[k]:.2f}" for k in cols), f"{f:.1f}", f"{p:.2f}")
        console.print(t)
    if len(seeds) > 1:
        # Deepest-level macro-F1 moves by a point between splits (rare classes): compare means, and
        # count the splits on which each method beats the first (the SVM) there.
        t = Table(title=f"mean ± sd over split seeds {seeds}; 'wins' = splits where the method beats the SVM "
                        f"on L{depth} macro-F1")
        for col in ["method"] + heads + ["wins", "fit s"]:
            t.add_column(col, justify="left" if col == "method" else "right")
        names = [r[0] for r in per_seed[seeds[0]]]
        deep = f"l{depth}_macro_f1"
        for i, name in enumerate(names):
            ms = [per_seed[s][i][1] for s in seeds]
            wins = sum(per_seed[s][i][1][deep] > per_seed[s][0][1][deep] for s in seeds)
            t.add_row(name, *(f"{100 * np.mean([m[k] for m in ms]):.2f} ± {100 * np.std([m[k] for m in ms]):.2f}"
                              for k in cols),
                      "–" if i == 0 else f"{wins}/{len(seeds)}",
                      f"{np.mean([per_seed[s][i][2] for s in seeds]):.1f}")
        console.print(t)


if __name__ == "__main__":
    main()
