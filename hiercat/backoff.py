"""Confidence back-off: stop at the deepest level the classifier is sure of, and what that trades.

A prediction's per-level confidences are conditional (level k's is the probability of its node given
the node above, as greedy and path decoding both report them), so the confidence that a prefix of
length k is right is their product up to k, which never grows with depth. Backing off to the deepest
prefix whose cumulative confidence is at least C therefore keeps a valid ancestor of the predicted
path ("Clothing > Dresses" instead of a guessed leaf), and raising C trades coverage for precision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

from .metrics import hierarchical_prf

Path = tuple[str, ...]


def cumulative_confidence(level_conf: Sequence[float], depth: int) -> np.ndarray:
    """Confidence of each prefix length 1..depth: the running product of the conditional level confidences."""
    conf = np.clip(np.asarray(level_conf, dtype=np.float64)[:depth], 0.0, 1.0)
    return np.cumprod(conf) if len(conf) else np.zeros(0)


@dataclass(frozen=True)
class BackedOff:
    """A path cut back to what the classifier is sure of."""

    path: Path  # the deepest prefix whose cumulative confidence is >= min_confidence (() if none is)
    confidence: float  # its cumulative confidence (1.0 for the empty path: nothing is claimed)
    stopped_early: bool  # the path is shorter than the prediction


def back_off(path: Sequence[str], level_conf: Sequence[float], min_confidence: float | None) -> BackedOff:
    """The deepest prefix of `path` whose cumulative confidence is at least `min_confidence`.

    `level_conf[k]` is level k+1's conditional confidence; entries beyond the path are ignored. None or 0
    keeps the whole path. Every result is a prefix of `path`, so it stays a node of the taxonomy.
    """
    path = tuple(path)
    cum = cumulative_confidence(level_conf, len(path))
    if len(cum) < len(path):
        raise ValueError(f"{len(path)}-level path with only {len(cum)} level confidences")
    if not min_confidence:
        return BackedOff(path, float(cum[-1]) if len(cum) else 1.0, False)
    # Cumulative confidence never rises with depth, so the kept levels are the leading run at or above C.
    keep = int(np.sum(cum >= min_confidence - 1e-12))
    return BackedOff(path[:keep], float(cum[keep - 1]) if keep else 1.0, keep < len(path))


def back_off_all(paths: Sequence[Sequence[str]], level_conf: np.ndarray,
                 min_confidence: float | None) -> list[BackedOff]:
    """`back_off` of every row: paths [N] with their level confidences [N, L]."""
    return [back_off(p, c, min_confidence) for p, c in zip(paths, np.asarray(level_conf))]


@dataclass(frozen=True)
class CurvePoint:
    """What one threshold gives on labelled data: coverage, precision and recall of the backed-off paths."""

    min_confidence: float
    coverage: float  # share of products given their whole predicted path (none stopped early)
    node_coverage: float  # share of the predicted paths' levels kept
    answered: float  # share given at least the first level
    hP: float
    hR: float
    hF1: float

    def to_dict(self) -> dict[str, float]:
        """Plain dict (for tables and JSON)."""
        return asdict(self)


DEFAULT_THRESHOLDS = tuple(np.round(np.concatenate([[0.0], np.arange(0.05, 0.9, 0.05), np.arange(0.9, 1.0, 0.01),
                                                    [0.995, 0.999]]), 4))


def curve_point(true_paths: Sequence[Sequence[str]], pred_paths: Sequence[Sequence[str]], level_conf: np.ndarray,
                min_confidence: float) -> CurvePoint:
    """Coverage, hP, hR and hF1 of the predictions backed off at one threshold."""
    cut = back_off_all(pred_paths, level_conf, min_confidence)
    n = max(len(cut), 1)
    full = sum(len(p) for p in pred_paths)
    prf = hierarchical_prf([tuple(t) for t in true_paths], [c.path for c in cut])
    return CurvePoint(float(min_confidence), sum(not c.stopped_early for c in cut) / n,
                      sum(len(c.path) for c in cut) / full if full else 0.0,
                      sum(bool(c.path) for c in cut) / n, prf["hP"], prf["hR"], prf["hF1"])


def coverage_curve(true_paths: Sequence[Sequence[str]], pred_paths: Sequence[Sequence[str]], level_conf: np.ndarray,
                   thresholds: Sequence[float] = DEFAULT_THRESHOLDS) -> list[CurvePoint]:
    """The coverage / precision curve: one point per threshold, lowest threshold (most coverage) first."""
    return [curve_point(true_paths, pred_paths, level_conf, float(t)) for t in sorted(thresholds)]


def choose_min_confidence(true_paths: Sequence[Sequence[str]], pred_paths: Sequence[Sequence[str]],
                          level_conf: np.ndarray, target_precision: float) -> float | None:
    """The lowest threshold whose hP on these (validation) predictions reaches `target_precision`.

    The lowest such threshold keeps the most coverage. The candidates are every prefix confidence
    that occurs, so the answer is exact for this data; None when even answering only the surest
    levels never reaches the target.
    """
    cums = [cumulative_confidence(c, len(p)) for p, c in zip(pred_paths, np.asarray(level_conf))]
    candidates = np.unique(np.concatenate([c for c in cums if len(c)] + [np.zeros(1)]))
    # hP is not monotone in the threshold in general, so every candidate is checked (a few thousand at most).
    if len(candidates) > 2000:
        candidates = np.unique(np.quantile(candidates, np.linspace(0, 1, 2001)))
    for c in candidates:
        if curve_point(true_paths, pred_paths, level_conf, float(c)).hP >= target_precision:
            return float(c)
    return None


def plot_curve(points: Sequence[CurvePoint], file, marks: Sequence[CurvePoint] = ()):
    """hP against coverage (products given their whole path); `marks` (e.g. chosen thresholds) drawn and labelled."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot([100 * p.coverage for p in points], [100 * p.hP for p in points], "-o", ms=3, label="hP")
    ax.plot([100 * p.coverage for p in points], [100 * p.hR for p in points], "--", label="hR")
    for p in marks:
        ax.plot([100 * p.coverage], [100 * p.hP], "s", color="crimson", ms=6)
        ax.annotate(f"C={p.min_confidence:.4g}", (100 * p.coverage, 100 * p.hP), textcoords="offset points",
                    xytext=(8, -14), fontsize=8, color="crimson")
    ax.set_xlabel("coverage: products given their whole predicted path (%)")
    ax.set_ylabel("%")
    ax.set_title("confidence back-off: precision against coverage")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(file, dpi=110)
    plt.close(fig)
    return file


def backoff_table(table, min_confidence: float | None):
    """A predictions table (`hiercat.classify.classify_rows`) backed off at `min_confidence`.

    `predicted_path` becomes the deepest prefix as sure as `min_confidence` (by the `level_k_confidence`
    columns), `confidence` that prefix's cumulative confidence where it was cut; `full_path` keeps the
    prediction and `stopped_early` says where it was cut. `correct` is rescored when present.
    """
    from .taxonomy import join_path, split_path

    out = table.copy()
    out["full_path"] = out["predicted_path"]
    depth = sum(1 for c in out.columns if c.startswith("level_") and c.endswith("_confidence"))
    conf = (out[[f"level_{k}_confidence" for k in range(1, depth + 1)]].apply(lambda col: col.astype(float))
            .fillna(1.0).to_numpy() if depth else np.ones((len(out), 0)))
    cuts = back_off_all([split_path(str(p)) for p in out["predicted_path"]], conf, min_confidence)
    out["predicted_path"] = [join_path(c.path) for c in cuts]
    out["confidence"] = [c.confidence if c.stopped_early else old for c, old in zip(cuts, out["confidence"])]
    out["stopped_early"] = [c.stopped_early for c in cuts]
    if "correct" in out and "true_path" in out:
        out["correct"] = [t == p for t, p in zip(out["true_path"], out["predicted_path"])]
    return out


__all__ = ["BackedOff", "backoff_table", "CurvePoint", "DEFAULT_THRESHOLDS", "back_off", "back_off_all", "choose_min_confidence",
           "coverage_curve", "cumulative_confidence", "curve_point", "plot_curve"]
