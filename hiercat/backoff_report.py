"""A saved model's coverage / precision curve on its recorded split, the chosen thresholds, and the report page."""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .backoff import DEFAULT_THRESHOLDS, CurvePoint, back_off_all, choose_min_confidence, coverage_curve, plot_curve
from .metrics import evaluate_paths
from .report import html_table, markdown_table
from .store.base import VectorStore
from .taxonomy import split_path

DEFAULT_TARGETS = (0.995, 0.999)


@dataclass
class BackoffEvaluation:
    """The curve on the test part, each target precision's threshold chosen on validation, and its test result."""

    curve: list[CurvePoint]
    chosen: dict[float, float | None]  # target hP -> threshold chosen on the validation part (None: unreachable)
    at_chosen: dict[float, CurvePoint]  # target hP -> the test part backed off at that threshold
    n_val: int
    n_test: int
    full_metrics: dict[str, float]  # the test part without back-off
    notes: list[str] = field(default_factory=list)


def backoff_evaluation(val: tuple[Sequence, Sequence, np.ndarray], test: tuple[Sequence, Sequence, np.ndarray],
                       targets: Sequence[float] = DEFAULT_TARGETS,
                       thresholds: Sequence[float] = DEFAULT_THRESHOLDS) -> BackoffEvaluation:
    """Curve on `test`, thresholds chosen on `val`; each is (true paths, predicted paths, level confidences [N, L])."""
    true_t, pred_t, conf_t = test
    curve = coverage_curve(true_t, pred_t, conf_t, thresholds)
    chosen = {float(t): choose_min_confidence(*val, target_precision=t) for t in targets}
    at = {t: coverage_curve(true_t, pred_t, conf_t, [c])[0] for t, c in chosen.items() if c is not None}
    levels = max((len(p) for p in true_t), default=0)
    return BackoffEvaluation(curve, chosen, at, len(val[0]), len(true_t),
                             evaluate_paths(true_t, pred_t, levels=levels))


def evaluate_saved_model(store: VectorStore, model_dir: str | Path, targets: Sequence[float] = DEFAULT_TARGETS,
                         thresholds: Sequence[float] = DEFAULT_THRESHOLDS) -> BackoffEvaluation:
    """Back-off curve of the model in `model_dir` on the test split `hiercat train` recorded in the store's payloads.

    The model's own predictions and level confidences are scored (no kNN, no breadcrumbs), against the
    label field it was trained on; thresholds are chosen on the recorded validation split, so the test
    figures are what a threshold chosen before deployment gives.
    """
    from .classify import Classifier
    from .dataset import load_products
    from .model import inputs_from_stored, predict

    clf = Classifier.load(store, model_dir)
    labels = str(clf.sidecar.get("labels") or "path")
    recorded = _model_split(model_dir)
    everything = load_products(store) if recorded is not None else None
    parts = {}
    for part in ("val", "test"):
        if everything is not None and recorded is not None:  # both set, or neither
            wanted = set(recorded.get(part, []))
            products = everything.where([i in wanted for i in everything.ids])
        else:  # a model from before models kept their split: the split `hiercat train` wrote into the payloads
            products = load_products(store, {"split": part})
        if not len(products):
            raise ValueError(f"no {part!r} products recorded for {model_dir}: train it with `hiercat train` "
                             "on this store first")
        pred = predict(clf.model, inputs_from_stored(products), decode=clf.decode)
        truth = [split_path(p) for p in products.payload[labels]]
        parts[part] = (truth, pred.paths, pred.level_conf)
    ev = backoff_evaluation(parts["val"], parts["test"], targets, thresholds)
    ev.notes.append(f"Model {model_dir} (labels `{labels}`, decode {clf.decode}); validation {ev.n_val} products, "
                    f"test {ev.n_test} products, as recorded by `hiercat train`.")
    return ev


def _model_split(model_dir: str | Path) -> dict[str, list[str]] | None:
    """Point ids per part of the split saved beside the model (`hiercat.training_split`), None without one."""
    try:
        from .training_split import TrainingSplit
    except ImportError:  # a tree without per-model splits
        return None
    split = TrainingSplit.load(model_dir)
    return None if split is None else {"train": split.train, "val": split.val, "test": split.test}


def _curve_cells(points: Sequence[CurvePoint], levels_kept: bool = True) -> tuple[list[str], list[list[str]]]:
    head = ["min confidence C", "coverage (whole path) %", "levels kept %", "answered %", "hP %", "hR %", "hF1 %"]
    body = [[f"{p.min_confidence:g}", f"{100 * p.coverage:.2f}", f"{100 * p.node_coverage:.2f}",
             f"{100 * p.answered:.2f}", f"{100 * p.hP:.2f}", f"{100 * p.hR:.2f}", f"{100 * p.hF1:.2f}"]
            for p in points]
    return head, body


def _chosen_cells(ev: BackoffEvaluation) -> tuple[list[str], list[list[str]]]:
    head = ["target hP (validation)", "C chosen on validation", "test coverage %", "test hP %", "test hR %"]
    body = []
    for t, c in ev.chosen.items():
        p = ev.at_chosen.get(t)
        body.append([f"{100 * t:g} %", "unreachable" if c is None else f"{c:.4f}",
                     *(["–"] * 3 if p is None else [f"{100 * p.coverage:.2f}", f"{100 * p.hP:.2f}",
                                                    f"{100 * p.hR:.2f}"])])
    return head, body


INTRO = ("Each product's path is cut back to its deepest prefix whose cumulative confidence (the product of the "
         "per-level confidences) is at least C, as `classify --min-confidence C` and the API's `min_confidence` do. "
         "Coverage: products given their whole predicted path; levels kept: share of the predicted levels returned; "
         "answered: products given at least level 1. hP/hR over ancestor sets (an empty answer adds nothing to hP).")


def write_backoff_report(ev: BackoffEvaluation, out: str | Path, title: str = "hiercat: confidence back-off",
                         extra: Sequence[tuple[str, str]] = ()) -> tuple[Path, Path]:
    """report.md, report.html and backoff_curve.png in `out`; `extra`: (heading, html) sections appended."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    png = plot_curve(ev.curve, out / "backoff_curve.png", marks=list(ev.at_chosen.values()))
    full = ev.full_metrics
    summary = (f"Without back-off the test part scores hP {100 * full['hP']:.2f} %, hR {100 * full['hR']:.2f} %, "
               f"exact {100 * full['exact']:.2f} %.")
    ch, cb = _chosen_cells(ev)
    head, body = _curve_cells(ev.curve)
    md = [f"# {title}", "", *ev.notes, "", summary, "", "## Thresholds chosen for a target precision", "",
          markdown_table(ch, cb), "", "## Coverage / precision curve (test part)", "", INTRO, "",
          markdown_table(head, body), "", f"![precision against coverage]({png.name})", ""]
    parts = [f"<h1>{html.escape(title)}</h1>", *(f"<p>{html.escape(n)}</p>" for n in ev.notes),
             f"<p>{html.escape(summary)}</p>", "<h2>Thresholds chosen for a target precision</h2>", html_table(ch, cb),
             "<h2>Coverage / precision curve (test part)</h2>", f"<p>{html.escape(INTRO)}</p>",
             f"<figure><img src='{html.escape(png.name)}' alt='precision against coverage'>"
             "<figcaption>hP and hR against coverage; red squares: the thresholds chosen on validation</figcaption>"
             "</figure>", html_table(head, body)]
    for heading, fragment in extra:
        parts += [f"<h2>{html.escape(heading)}</h2>", fragment]
    style = ("body{font-family:sans-serif;max-width:1100px;margin:auto}table{border-collapse:collapse;font-size:13px}"
             "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}td:first-child{text-align:left}")
    md_file, html_file = out / "report.md", out / "report.html"
    md_file.write_text("\n".join(md), encoding="utf-8")
    html_file.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
                         f"<style>{style}</style></head><body>{''.join(parts)}</body></html>", encoding="utf-8")
    return md_file, html_file


def cut_paths(paths: Sequence[Sequence[str]], level_conf: np.ndarray, min_confidence: float) -> list[tuple[str, ...]]:
    """Only the backed-off paths (for metrics of one threshold)."""
    return [b.path for b in back_off_all(paths, level_conf, min_confidence)]


def summary_dict(ev: BackoffEvaluation) -> dict[str, Any]:
    """JSON-ready figures: the chosen thresholds and their test coverage / hP."""
    return {"chosen": {str(t): c for t, c in ev.chosen.items()},
            "at_chosen": {str(t): p.to_dict() for t, p in ev.at_chosen.items()},
            "curve": [p.to_dict() for p in ev.curve], "n_val": ev.n_val, "n_test": ev.n_test}
