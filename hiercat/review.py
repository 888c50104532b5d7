"""The review queue: which predictions a person should look at first, as an HTML page and a corrections file.

A page lists the least confident predictions and those where the evidence disagrees (the model
alone, the kNN vote of the stored neighbours, the shop's breadcrumb), each with its image, title,
proposed path, runner-up and neighbours, sorted by how much a correction would help:

    help = P(wrong) x reach

P(wrong) is 1 - confidence, and at least 0.5 where two of model / kNN / breadcrumb name different
paths (at most one of them is right). reach is 1 + the number of other predictions in the file
sharing the same predicted path and runner-up: one correction of that confusion also moves their kNN
vote at once and teaches the next model the boundary, so a correction there helps several products.

`corrections.csv` beside the page has one row per listed product with an empty `path`: fill in the
right path (copy `proposed_path` or `runner_up`, or write another) and run `hiercat feedback` on it.
Rows left empty are skipped.
"""

from __future__ import annotations

import html
import json
import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .knn import Neighbour, vote
from .taxonomy import join_path

if TYPE_CHECKING:
    from .classify import CatalogPredictions

LOW_CONFIDENCE = 0.6
DISAGREE_FLOOR = 0.5
DEFAULT_LIMIT = 200


def review_columns(result: CatalogPredictions) -> pd.DataFrame:
    """Columns `hiercat review` reads, for a classified catalog (index aligned with `result.table`).

    `image` (the file read), `model_path` (the model alone), `runner_up` / `runner_up_confidence`
    (the model's best other path), `breadcrumb_path` (pooled with the shop's breadcrumb, where the
    input has one), `knn_path` / `knn_confidence` (the neighbours' vote, where they were looked up).
    """
    from .breadcrumbs import pool_by_breadcrumb
    from .model.predict import predict_path_scores

    table, rows = result.table, result.rows
    scores = predict_path_scores(result.classifier.model, result.embedded.inputs)
    probs = np.exp(scores.log_probs.astype(np.float64))
    order = np.argsort(-probs, axis=1)[:, :2] if len(probs) else np.zeros((0, 2), int)
    out = pd.DataFrame(index=table.index)
    out["image"] = rows["image_path"].values if "image_path" in rows else ""
    out["model_path"] = [join_path(scores.paths[o[0]]) for o in order]
    predicted = table["predicted_path"].tolist()
    runner, runner_conf = [], []
    for i, o in enumerate(order):
        # the runner-up is the best path that is not the answer (the answer may be kNN's or zero-shot's)
        best = join_path(scores.paths[o[0]])
        j = o[1] if best == predicted[i] and len(o) > 1 else o[0]
        runner.append(join_path(scores.paths[j]))
        runner_conf.append(round(float(probs[i, j]), 4))
    out["runner_up"], out["runner_up_confidence"] = runner, runner_conf
    natives = rows["native_path"].tolist() if "native_path" in rows else []
    if any(natives):
        pooled, _ = pool_by_breadcrumb(scores, natives).best()
        out["breadcrumb_path"] = [join_path(p) if n else "" for p, n in zip(pooled, natives)]
    if "neighbours" in table:
        votes = [vote([Neighbour(**n) for n in json.loads(cell)]) for cell in table["neighbours"]]
        out["knn_path"] = [join_path(p) for p, _ in votes]
        out["knn_confidence"] = [round(c, 4) for _, c in votes]
    return out


def annotate_predictions(result: CatalogPredictions, min_confidence: float | None = None) -> pd.DataFrame:
    """`result.table` with the review columns (`review_columns`) and, given `min_confidence`, backed off.

    What `hiercat classify` writes before formatting: the review columns describe the full prediction,
    so they are computed before the back-off cuts `predicted_path`.
    """
    from .backoff import backoff_table

    table = pd.concat([result.table, review_columns(result)], axis=1)
    return backoff_table(table, min_confidence) if min_confidence is not None else table


def _text(v: Any) -> str:
    s = "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)
    return s[1:] if s[:2] in ("'=", "'+", "'-", "'@") else s  # predictions.csv's spreadsheet guard


def _neighbours(row: pd.Series) -> list[dict[str, Any]]:
    """Neighbours of a prediction row: the `neighbours` JSON cell or the `neighbour_i_*` columns."""
    if "neighbours" in row and _text(row["neighbours"]).startswith("["):
        return list(json.loads(_text(row["neighbours"])))
    out, i = [], 1
    while f"neighbour_{i}_path" in row and _text(row[f"neighbour_{i}_path"]):
        out.append({"product_id": _text(row.get(f"neighbour_{i}_id")), "title": _text(row.get(f"neighbour_{i}_title")),
                    "path": _text(row[f"neighbour_{i}_path"]), "score": float(row.get(f"neighbour_{i}_score") or 0)})
        i += 1
    return out


@dataclass
class ReviewItem:
    """One prediction worth a person's look."""

    product_id: str
    platform: str
    title: str
    image: str
    proposed: str
    confidence: float
    source: str
    runner_up: str
    runner_up_confidence: float | None
    views: dict[str, str]  # model / kNN / breadcrumb -> path, where known
    neighbours: list[dict[str, Any]]
    reasons: list[str]
    help: float


def review_queue(predictions: pd.DataFrame, low: float = LOW_CONFIDENCE, limit: int = DEFAULT_LIMIT) -> list[ReviewItem]:
    """The predictions below `low` confidence or whose model / kNN / breadcrumb paths disagree, most helpful first."""
    table = predictions
    if "status" in table:  # rejected rows have nothing to review
        table = table[table["status"].astype(str).str.startswith("ok") | (table["status"].astype(str) == "")]
    items = []
    keys = [(_text(r.get("predicted_path")), _text(r.get("runner_up"))) for _, r in table.iterrows()]
    reach = pd.Series(keys).value_counts().to_dict() if keys else {}
    for key, (_, r) in zip(keys, table.iterrows()):
        conf = float(np.nan_to_num(float(r.get("confidence") or 0.0)))
        neighbours = _neighbours(r)
        views = {}
        for name, col in (("model", "model_path"), ("kNN", "knn_path"), ("breadcrumb", "breadcrumb_path")):
            if _text(r.get(col)):
                views[name] = _text(r.get(col))
        if "kNN" not in views and neighbours:
            views["kNN"] = join_path(vote([Neighbour(str(n.get("product_id", "")), str(n.get("platform", "")),
                                                     str(n.get("title", "")), str(n["path"]), float(n["score"]))
                                           for n in neighbours])[0])
        distinct = sorted(set(views.values()) | {key[0]})
        reasons = []
        if conf < low:
            reasons.append(f"confidence {conf:.2f} < {low:g}")
        if len(distinct) > 1:
            reasons.append("disagree: " + "; ".join(f"{k} says {v}" for k, v in views.items() if v != key[0]))
        if not reasons:
            continue
        p_wrong = max(1.0 - conf, DISAGREE_FLOOR if len(distinct) > 1 else 0.0)
        rc = r.get("runner_up_confidence")
        items.append(ReviewItem(_text(r.get("product_id")), _text(r.get("platform")), _text(r.get("title")),
                                _text(r.get("image")), key[0], conf, _text(r.get("source")), key[1],
                                None if rc is None or _text(rc) == "" else float(rc), views, neighbours, reasons,
                                round(p_wrong * reach.get(key, 1), 4)))
    items.sort(key=lambda it: (-it.help, it.confidence, it.product_id))
    return items[:limit]


STYLE = """body{font-family:sans-serif;max-width:1100px;margin:auto;color:#222}
.item{display:flex;gap:14px;border-bottom:1px solid #ddd;padding:10px 0}
.item img{width:90px;height:120px;object-fit:contain;background:#f4f4f4;border:1px solid #ddd}
.noimg{width:90px;height:120px;background:#f4f4f4;border:1px solid #ddd;font-size:11px;color:#888;
display:flex;align-items:center;justify-content:center;text-align:center}
.path{font-weight:bold}.why{color:#a33;font-size:13px}.help{float:right;color:#555;font-size:13px}
table{border-collapse:collapse;font-size:12px;margin-top:4px}td,th{border:1px solid #ddd;padding:2px 6px;text-align:left}"""


def _card(n: int, it: ReviewItem, image_src: str) -> str:
    e = html.escape
    img = (f"<img src='{e(image_src)}' alt='{e(it.title)}'>" if image_src
           else "<div class='noimg'>no image</div>")
    views = "".join(f"<tr><th>{e(k)}</th><td>{e(v)}</td></tr>" for k, v in it.views.items())
    runner = (f"{e(it.runner_up)}" + (f" ({it.runner_up_confidence:.2f})" if it.runner_up_confidence is not None else "")
              if it.runner_up else "–")
    nb = "".join(f"<tr><td>{e(str(x.get('title', '')))}</td><td>{e(str(x.get('path', '')))}</td>"
                 f"<td>{float(x.get('score', 0)):.3f}</td></tr>" for x in it.neighbours)
    nb_table = (f"<table><tr><th>neighbour</th><th>its path</th><th>similarity</th></tr>{nb}</table>" if nb
                else "<p class='why'>no neighbours (classify with --explain)</p>")
    return (f"<div class='item' id='item-{n}'>{img}<div style='flex:1'><span class='help'>#{n} · help {it.help:.2f}"
            f"</span><div>{e(it.title)} <small>({e(it.platform)}/{e(it.product_id)})</small></div>"
            f"<div>proposed: <span class='path'>{e(it.proposed)}</span> ({it.confidence:.2f}, {e(it.source)})</div>"
            f"<div>runner-up: {runner}</div><div class='why'>{e(' · '.join(it.reasons))}</div>"
            f"<table>{views}</table>{nb_table}</div></div>")


def write_review(items: Sequence[ReviewItem], out: str | Path, title: str = "hiercat review queue",
                 base: str | Path | None = None) -> tuple[Path, Path]:
    """index.html (images copied into images/) and corrections.csv in `out`; `base`: folder relative image paths start from."""
    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    cards = []
    for n, it in enumerate(items, start=1):
        src = ""
        file = Path(it.image) if it.image else None
        if file is not None and not file.is_absolute() and base is not None:
            file = Path(base) / file
        if file is not None and file.is_file():
            # a copy beside the page, so the page opens anywhere and never points into the catalog's folders
            src = f"images/{n}{file.suffix.lower() or '.img'}"
            shutil.copyfile(file, out / src)
        cards.append(_card(n, it, src))
    intro = (f"{len(items)} predictions to review, most helpful first (help = P(wrong) × reach: see hiercat.review). "
             "Fill in the `path` column of corrections.csv beside this page and run `hiercat feedback corrections.csv`.")
    page = out / "index.html"
    page.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
                    f"<style>{STYLE}</style></head><body><h1>{html.escape(title)}</h1><p>{html.escape(intro)}</p>"
                    f"{''.join(cards)}</body></html>", encoding="utf-8")
    corrections = out / "corrections.csv"
    pd.DataFrame([{"product_id": it.product_id, "platform": it.platform, "path": "", "proposed_path": it.proposed,
                   "runner_up": it.runner_up, "confidence": round(it.confidence, 4), "help": it.help,
                   "title": it.title} for it in items],
                 columns=["product_id", "platform", "path", "proposed_path", "runner_up", "confidence", "help",
                          "title"]).to_csv(corrections, index=False)
    return page, corrections


def review_predictions_file(predictions: str | Path, out: str | Path, low: float = LOW_CONFIDENCE,
                            limit: int = DEFAULT_LIMIT) -> tuple[list[ReviewItem], Path, Path]:
    """What `hiercat review` runs: read predictions.csv, pick and sort the queue, write the page and corrections.csv."""
    table = pd.read_csv(predictions, dtype=str, keep_default_na=False)
    for col in ("confidence", "runner_up_confidence"):
        if col in table:
            table[col] = pd.to_numeric(table[col], errors="coerce")
    if "confidence" not in table or "predicted_path" not in table:
        raise ValueError(f"{predictions}: not a predictions file (needs predicted_path and confidence columns)")
    items = review_queue(table, low, limit)
    page, corrections = write_review(items, out, base=Path(predictions).parent)
    return items, page, corrections


__all__ = ["ReviewItem", "annotate_predictions", "review_columns", "review_predictions_file", "review_queue", "write_review"]
