"""Hierarchical and per-level classification metrics over label paths.

Conventions (used everywhere in hiercat, so numbers stay comparable):

* A label is a full path prefix: ``("Apparel", "Topwear")`` and ``("Footwear", "Topwear")`` are
  different labels although they share a name. The root and STOP are never labels.
* Hierarchical precision/recall/F1 are micro-averaged over ancestor sets: every product
  contributes its path's non-empty prefixes; an empty predicted path contributes nothing to
  the precision denominator (and so only lowers recall).
* Per-level metrics: a path shorter than the level counts as the STOP class at that level
  (it is what the classifier predicts there), so every product is scored at every level and
  a wrong early stop is an error, not a silently skipped item. Macro-F1 averages over the
  classes **with support** at that level (present in the true labels); a class that is only
  predicted costs the precision of the classes whose products it took, but is not a class of its
  own: one wrong prediction into an otherwise absent class would otherwise halve a two-class
  level's macro-F1. `l{k}_classes` is the number of classes averaged.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence

import numpy as np
from sklearn.metrics import f1_score

from .taxonomy import STOP, Taxonomy, join_path, split_path

PathLike = Sequence[str] | str


def as_path(path: PathLike) -> tuple[str, ...]:
    """A label path as a tuple of names ('A > B' strings are split)."""
    return split_path(path) if isinstance(path, str) else tuple(path)


def _prefixes(path: tuple[str, ...]) -> set[tuple[str, ...]]:
    return {path[:i] for i in range(1, len(path) + 1)}


def hierarchical_prf(true_paths: Iterable[PathLike], pred_paths: Iterable[PathLike]) -> dict[str, float]:
    """Micro-averaged hierarchical precision, recall and F1 over ancestor sets (keys hP, hR, hF1)."""
    inter = n_pred = n_true = 0
    for t, p in zip(true_paths, pred_paths, strict=True):
        ts, ps = _prefixes(as_path(t)), _prefixes(as_path(p))
        inter += len(ts & ps)
        n_pred += len(ps)
        n_true += len(ts)
    hp = inter / n_pred if n_pred else 0.0
    hr = inter / n_true if n_true else 0.0
    hf = 2 * hp * hr / (hp + hr) if hp + hr else 0.0
    return {"hP": hp, "hR": hr, "hF1": hf}


def level_labels(paths: Iterable[PathLike], level: int) -> list[str]:
    """Label of each path at 1-based `level`: the joined prefix, or STOP where the path is shorter."""
    out = []
    for p in paths:
        parts = as_path(p)
        out.append(join_path(parts[:level]) if len(parts) >= level else STOP)
    return out


def level_metrics(true_paths: Sequence[PathLike], pred_paths: Sequence[PathLike], level: int) -> dict[str, float]:
    """Accuracy, macro-F1 and weighted-F1 over the classes with support at one level, and their number.

    Short paths count as STOP there.
    """
    y_true = level_labels(true_paths, level)
    y_pred = level_labels(pred_paths, level)
    if not y_true:
        return {"accuracy": 0.0, "macro_f1": 0.0, "weighted_f1": 0.0}
    acc = float(np.mean([a == b for a, b in zip(y_true, y_pred)]))
    supported = sorted(set(y_true))
    with warnings.catch_warnings():  # labels= leaves out predicted-only classes on purpose: no warning for it
        warnings.simplefilter("ignore")
        return {
            "accuracy": acc,
            "macro_f1": float(f1_score(y_true, y_pred, labels=supported, average="macro", zero_division=0)),
            "weighted_f1": float(f1_score(y_true, y_pred, labels=supported, average="weighted", zero_division=0)),
            "classes": float(len(supported)),
        }


def path_validity(pred_paths: Iterable[PathLike], taxonomy: Taxonomy) -> float:
    """Share of predicted paths that are valid labels of the taxonomy (exist and may end there)."""
    valid = n = 0
    for p in pred_paths:
        parts = as_path(p)
        n += 1
        valid += bool(parts) and parts in taxonomy and taxonomy.can_stop(parts)
    return valid / n if n else 0.0


def exact_match(true_paths: Iterable[PathLike], pred_paths: Iterable[PathLike]) -> float:
    """Share of products whose whole predicted path equals the true path."""
    pairs = [(as_path(t), as_path(p)) for t, p in zip(true_paths, pred_paths, strict=True)]
    return sum(t == p for t, p in pairs) / len(pairs) if pairs else 0.0


def evaluate_paths(
    true_paths: Sequence[PathLike],
    pred_paths: Sequence[PathLike],
    taxonomy: Taxonomy | None = None,
    levels: int | None = None,
) -> dict[str, float]:
    """All metrics as one flat dict: hP, hR, hF1, exact, validity (if a taxonomy is given), l{k}_accuracy/macro_f1/weighted_f1."""
    true_paths = [as_path(p) for p in true_paths]
    pred_paths = [as_path(p) for p in pred_paths]
    if len(true_paths) != len(pred_paths):
        raise ValueError(f"{len(true_paths)} true paths but {len(pred_paths)} predicted paths")
    if levels is None:
        levels = taxonomy.depth if taxonomy is not None else max((len(p) for p in true_paths), default=0)
    out: dict[str, float] = {"n": float(len(true_paths))}
    out.update(hierarchical_prf(true_paths, pred_paths))
    out["exact"] = exact_match(true_paths, pred_paths)
    if taxonomy is not None:
        out["validity"] = path_validity(pred_paths, taxonomy)
    for level in range(1, levels + 1):
        for k, v in level_metrics(true_paths, pred_paths, level).items():
            out[f"l{level}_{k}"] = v
    return out
