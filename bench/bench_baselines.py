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
import torch
from rich.console import Console
from rich.table import Table

from hiercat.experiment import Split, fit_and_score, label_paths, load_training_data, resolve_modalities
from hiercat.metrics import evaluate_paths
from hiercat.model import inputs_from_stored, predict, train_classifier
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


def refit(args, inputs, paths, fit_idx, r, mods, seed: int, model_kw: dict):
    """Refit on train+val (as the peers are fit) for the epochs and LR schedule early stopping found; (model, s)."""
    best = int(r.history["best_epoch"])
    scales = [e["lr_scale"] for e in r.history["epochs"]][:best]
    t0 = time.perf_counter()
    model, _ = train_classifier(inputs.take(fit_idx), [paths[i] for i in fit_idx], r.model.taxonomy,
                                fusion=args.fusion, modalities=mods, epochs=best, val_fraction=0.0,
                                lr_scales=scales, seed=seed, progress=False, **model_kw)
    return model, time.perf_counter() - t0


@torch.no_grad()
def level_probs(model, inputs, batch_size: int = 2048) -> list[torch.Tensor]:
    """Per-level softmax probabilities [N, C_k] (float64) of a model on the inputs."""
    model.eval()
    data = inputs.select([sp.name for sp in model.specs]).to_tensors("cpu")
    model.to("cpu")
    out: list[list[torch.Tensor]] = [[] for _ in range(model.levels)]
    for lo in range(0, len(data), batch_size):
        rows = torch.arange(lo, min(lo + batch_size, len(data)))
        for k, z in enumerate(model(data.batch(rows))):
            out[k].append(torch.softmax(z.double(), dim=1))
    return [torch.cat(o) for o in out]


def run_seed(args, products, inputs, paths, depth, seed: int, console: Console) -> list[tuple[str, dict, float, float]]:
    """Every method on the split of one seed: (name, metrics, fit s, predict s) rows."""
    split = Split.make(paths, seed)
    fit_idx = np.concatenate([split.train, split.val])
    test_paths = [paths[i] for i in split.test]
    titles = products.payload["title"].tolist()
    rows = []

    def add(name, pred, fit_s, pred_s):
        m = evaluate_paths(test_paths, pred, levels=depth)
        rows.append((name, m, fit_s, pred_s))
        console.print(f"seed {seed} {name}: hF1 {100 * m['hF1']:.2f}, L{depth} macro-F1 {100 * m[f'l{depth}_macro_f1']:.2f}")

    pred, f, p = tfidf_svm([titles[i] for i in fit_idx], [join_path(paths[i]) for i in fit_idx],
                           [titles[i] for i in split.test])
    add("TF-IDF word+char + LinearSVC (titles)", [split_path(x) for x in pred], f, p)

    if not args.skip_hiclass:
        x = np.concatenate([inputs.dense[k] for k in inputs.dense], axis=1)
        pred, f, p = hiclass_lcppn(x[fit_idx], [paths[i] for i in fit_idx], x[split.test], depth)
        add(f"HiClass LCPPN + LogReg ({'+'.join(inputs.dense)})", pred, f, p)

    mods = resolve_modalities(args.modalities, inputs.names)
    name = f"hiercat {args.fusion} fusion, {args.decode} decode ({'+'.join(mods)})"
    if args.token_dropout is not None:
        name += f", token dropout {args.token_dropout:g}"
    model_kw = {} if args.token_dropout is None else {"token_dropout": args.token_dropout}
    r = fit_and_score(inputs, paths, split.train, split.val, split.test, fusion=args.fusion, modalities=mods,
                      seed=seed, epochs=args.epochs, decode=args.decode, **model_kw)
    rows.append((name, r.metrics, r.fit_seconds, r.predict_seconds))
    console.print(f"seed {seed} hiercat: hF1 {100 * r.metrics['hF1']:.2f}, "
                  f"L{depth} macro-F1 {100 * r.metrics[f'l{depth}_macro_f1']:.2f}")
    if args.refit:
        model, fit_s = refit(args, inputs, paths, fit_idx, r, mods, seed, model_kw)
        t0 = time.perf_counter()
        pred = predict(model, inputs.take(split.test), decode=args.decode).paths
        add(f"{name}, refit on train+val", pred, fit_s, time.perf_counter() - t0)
        if args.ensemble_with is not None:
            # Not in the product yet: does averaging with a model of another token dropout win on both metrics?
            other_kw = {"token_dropout": args.ensemble_with}
            r2 = fit_and_score(inputs, paths, split.train, split.val, split.test, fusion=args.fusion,
                               modalities=mods, seed=seed, epochs=args.epochs, decode=args.decode, **other_kw)
            model2, fit2 = refit(args, inputs, paths, fit_idx, r2, mods, seed, other_kw)
            test_in = inputs.take(split.test)
            avg = [(a + b) / 2 for a, b in zip(level_probs(model, test_in), level_probs(model2, test_in))]
            idx = model.decode([torch.log(q.clamp_min(1e-30)) for q in avg], args.decode).indices.numpy()
            add(f"{name}, refit, averaged with token dropout {args.ensemble_with:g}",
                [model.taxonomy.decode(row.tolist()) for row in idx], fit_s + fit2, 0.0)
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
    ap.add_argument("--ensemble-with", type=float, default=None,
                    help="with --refit: also average the refit model with one trained at this token dropout")
    ap.add_argument("--token-dropout", type=float, default=None,
                    help="hiercat: share of a title's n-grams dropped while training (default: the model's)")
    ap.add_argument("--decode", default="greedy", choices=["greedy", "path"], help="hiercat's decoding")
    ap.add_argument("--refit", action="store_true",
                    help="also refit hiercat on train+val (as the peers are) for the early-stopped epoch count")
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
