"""Honest evaluation on stored products: the Table-II grid (modalities x fusion), kNN, cross-platform, cascade."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .cascade import cascade_predict, choose_threshold
from .dataset import StoredProducts
from .experiment import (
    DEFAULT_DECODE,
    DEFAULT_FUSION,
    DEFAULT_MODALITIES,
    Split,
    fit_and_score,
    label_paths,
    modality_groups,
    resolve_modalities,
)
from .knn import knn_classify
from .metrics import evaluate_paths
from .model import ModalityInputs, inputs_from_stored, predict
from .store.base import VectorStore

FUSIONS = ("early", "late", "attention")


@dataclass
class Row:
    """One line of a results table: what was trained on what, its metrics and timings."""

    name: str
    modalities: list[str]
    fusion: str
    metrics: dict[str, float]
    fit_seconds: float = 0.0
    predict_seconds: float = 0.0
    extra: dict[str, Any] = field(default_factory=dict)


def grid_rows(inputs: ModalityInputs) -> list[tuple[str, list[str], str]]:
    """(row name, modalities, fusion) of the Table-II grid: unimodal rows, then each fusion over all modalities."""
    groups = modality_groups(inputs)
    rows = []
    for g in ("text", "lexical", "image"):
        if g in groups:
            rows.append((f"{g} only", groups[g], "early"))
    if "text+lexical" in groups and "lexical" in groups and "text" in groups:
        rows.append(("text + lexical (late)", groups["text+lexical"], "late"))
    for f in FUSIONS:
        rows.append((f"all, {f} fusion", groups["all"], f))
    return rows


def run_grid(products: StoredProducts, labels: str = "path", seed: int = 0, epochs: int = 60,
             rows: Sequence[tuple[str, list[str], str]] | None = None,
             on_row: Callable[[Row], None] | None = None,
             on_start: Callable[[int, int, str], None] | None = None, **train_kwargs: Any) -> tuple[list[Row], Split]:
    """Train and test every grid row on one seeded 64/16/20 split of the products (reviewed ones never in test).

    on_start(i, n, name) is called before the i-th of n rows is trained (1-based), on_row after it.
    """
    from .feedback import reviewed_mask

    paths = label_paths(products, labels)
    split = Split.make(paths, seed, reviewed_mask(products.payload))
    inputs = inputs_from_stored(products)
    out = []
    todo = list(rows or grid_rows(inputs))
    for i, (name, mods, fusion) in enumerate(todo, start=1):
        if on_start:
            on_start(i, len(todo), name)
        r = fit_and_score(inputs, paths, split.train, split.val, split.test, fusion=fusion, modalities=mods,
                          seed=seed, epochs=epochs, **train_kwargs)
        row = Row(name, list(mods), fusion, r.metrics, r.fit_seconds, r.predict_seconds,
                  {"best_epoch": r.best_epochs, "model": r.model})
        out.append(row)
        if on_row:
            on_row(row)
    return out, split


def knn_row(store: VectorStore, products: StoredProducts, split: Split, labels: str, vector: str,
            k: int = 10) -> Row:
    """Qdrant kNN vote on the test products, neighbours restricted to the training + validation products."""
    paths = label_paths(products, labels)
    fit_ids = frozenset(products.ids[i] for i in np.concatenate([split.train, split.val]))
    queries = products.dense[vector][split.test] if vector in products.dense else \
        [products.sparse[vector][i] for i in split.test]
    t0 = time.perf_counter()
    votes = knn_classify(store, vector, list(queries), k=k, label_field=labels, members=lambda h: h.id in fit_ids)
    seconds = time.perf_counter() - t0
    metrics = evaluate_paths([paths[i] for i in split.test], [v.path for v in votes],
                             levels=max(len(p) for p in paths))
    return Row(f"kNN vote (k={k}, {vector})", [vector], "knn", metrics, 0.0, seconds)


def cross_platform(products: StoredProducts, train_platform: str, test_platform: str, labels: str = "path",
                   seed: int = 0, fusions: Sequence[str] = FUSIONS, epochs: int = 60,
                   modalities: Sequence[str] | None = None, **train_kwargs: Any) -> list[Row]:
    """Train on one platform (its own train/val split), test on every product of another, per fusion."""
    plat = products.payload["platform"].to_numpy()
    src = products.where(plat == train_platform)
    dst = products.where(plat == test_platform)
    if not len(src) or not len(dst):
        raise ValueError(f"need products of both {train_platform!r} and {test_platform!r}")
    src_paths, dst_paths = label_paths(src, labels), label_paths(dst, labels)
    split = Split.make(src_paths, seed)
    tr, va = np.concatenate([split.train, split.test]), split.val
    src_inputs, dst_inputs = inputs_from_stored(src), inputs_from_stored(dst)
    seen = set(src_paths)
    covered = float(np.mean([p in seen for p in dst_paths]))
    rows = []
    for f in fusions:
        r = fit_and_score(src_inputs, src_paths, tr, va, np.zeros(0, int), fusion=f, modalities=modalities,
                          test_inputs=dst_inputs, test_paths=dst_paths, seed=seed, epochs=epochs, **train_kwargs)
        rows.append(Row(f"{train_platform} → {test_platform}, {f} fusion", list(modalities or src_inputs.names), f,
                        r.metrics, r.fit_seconds, r.predict_seconds, {"label_coverage": covered}))
    return rows


def cascade_rows(text_model, full_model, products: StoredProducts, split: Split, labels: str = "path",
                 targets: Sequence[float] = (0.1, 0.3)) -> list[Row]:
    """Cascade at thresholds chosen on validation data for target escalation shares; time per 1,000 products."""
    paths = label_paths(products, labels)
    inputs = inputs_from_stored(products)
    val_in, test_in = inputs.take(split.val), inputs.take(split.test)
    val_pred = predict(text_model, val_in)
    val_ok = np.array([p == paths[i] for p, i in zip(val_pred.paths, split.val)])
    test_paths = [paths[i] for i in split.test]
    levels = max(len(p) for p in paths)
    rows = []
    for share in targets:
        thr = choose_threshold(val_pred.path_conf, val_ok, target_escalation=share)
        res = cascade_predict(text_model, full_model, test_in, thr)
        m = evaluate_paths(test_paths, res.predictions.paths, levels=levels)
        n = len(split.test)
        t_all = time.perf_counter()
        predict(full_model, test_in)
        full_s = time.perf_counter() - t_all
        rows.append(Row(f"cascade, escalate {share:.0%} (threshold {thr:.3f})", [], "cascade", m,
                        0.0, res.stage1_seconds + res.stage2_seconds,
                        {"threshold": thr, "escalated": res.escalated_share,
                         "stage1_ms_per_1000": 1e6 * res.stage1_seconds / n,
                         "stage2_ms_per_1000": 1e6 * res.stage2_seconds / n,
                         "multimodal_only_ms_per_1000": 1e6 * full_s / n}))
    return rows


@dataclass
class ShopOut:
    """One platform left out: the rows scoring it per product and with breadcrumb pooling, and its mapping proposal."""

    platform: str
    rows: list[Row]
    proposal: Any  # pandas.DataFrame (hiercat.propose.MAPPING_COLUMNS)
    mapping: dict[str, float]
    model: Any


def leave_one_shop_out(products: StoredProducts, seed: int = 0, platforms: Sequence[str] | None = None,
                       fusion: str = DEFAULT_FUSION, modalities: str | Sequence[str] | None = DEFAULT_MODALITIES,
                       on_row: Callable[[Row], None] | None = None, category_names: Any = None,
                       **train_kwargs: Any) -> list[ShopOut]:
    """For every platform (or those named): train on all the others, score it as a shop never seen.

    Training uses the other platforms' train + test parts with their validation part for early
    stopping. The left-out shop is scored per product, with its breadcrumbs pooled (its
    `native_category`, as `hiercat classify --native-category` does), and by the mapping that
    `hiercat propose-mapping` would propose for its categories, against the mapping it was ingested
    with (each native category's stored target path). Labels are always the target taxonomy's `path`:
    the shops' native trees are not comparable.
    """
    from .breadcrumbs import pool_by_breadcrumb
    from .model.predict import predict_path_scores, predictions_from_scores
    from .propose import mapping_accuracy, propose_mapping

    plat = products.payload["platform"].astype(str).to_numpy()
    names = sorted(set(plat))
    if len(names) < 2:
        raise ValueError(f"leave-one-shop-out needs products of two platforms or more; the store has {names}")
    chosen = list(platforms or names)
    unknown = [p for p in chosen if p not in names]
    if unknown:
        raise ValueError(f"no products of platform(s) {', '.join(unknown)}; the store has {', '.join(names)}")
    out = []
    for target in chosen:
        src, dst = products.where(plat != target), products.where(plat == target)
        src_paths, dst_paths = label_paths(src, "path"), label_paths(dst, "path")
        split = Split.make(src_paths, seed)
        tr = np.concatenate([split.train, split.test])
        dst_inputs = inputs_from_stored(dst)
        levels = max(len(p) for p in src_paths + dst_paths)
        src_inputs = inputs_from_stored(src)
        mods = resolve_modalities(modalities, src_inputs)
        r = fit_and_score(src_inputs, src_paths, tr, split.val, np.zeros(0, int), fusion=fusion, modalities=mods,
                          test_inputs=dst_inputs, test_paths=dst_paths, seed=seed,
                          **{"decode": DEFAULT_DECODE, **train_kwargs})
        seen = set(src_paths)
        coverage = {"label_coverage": float(np.mean([p in seen for p in dst_paths]))}
        t0 = time.perf_counter()
        scores = predict_path_scores(r.model, dst_inputs)
        natives = dst.payload["native_category"].astype(str).tolist()
        pooled = predictions_from_scores(pool_by_breadcrumb(scores, natives), r.model.taxonomy)
        pool_s = time.perf_counter() - t0
        pooled_metrics = evaluate_paths(dst_paths, pooled.paths, r.model.taxonomy, levels=levels)
        proposal, _ = propose_mapping(scores, natives, dst.payload["title"].astype(str).tolist())
        truth = dict(zip(natives, dst.payload["path"].astype(str)))
        mapping = mapping_accuracy(proposal, truth)
        others = "+".join(p for p in names if p != target)
        rows = [Row(f"{others} → {target}, per product", mods, fusion, r.metrics, r.fit_seconds, r.predict_seconds,
                    coverage),
                Row(f"{others} → {target}, breadcrumb pooling", mods, fusion, pooled_metrics, r.fit_seconds, pool_s,
                    {**coverage, "mapping_item_accuracy": mapping["item_accuracy"],
                     "mapping_auto_precision": mapping["auto_precision"], "mapping_auto_share": mapping["auto_share"]})]
        if category_names is not None:
            from .classify import zero_shot_predictions

            decode = train_kwargs.get("decode", DEFAULT_DECODE)
            for name, base in (("per product", predict(r.model, dst_inputs, decode=decode)),
                               ("breadcrumb pooling", pooled)):
                zs, decided = zero_shot_predictions(category_names, r.model, dst_inputs, base, ["model"] * len(base))
                rows.append(Row(f"{others} → {target}, {name} + zero-shot", mods, fusion,
                                evaluate_paths(dst_paths, zs.paths, levels=levels), r.fit_seconds, 0.0,
                                {**coverage, "zero_shot_share": float(np.mean([s == "zero-shot" for s in decided]))}))
        for row in rows:
            if on_row:
                on_row(row)
        out.append(ShopOut(target, rows, proposal, mapping, r.model))
    return out
