"""Proposing a mapping of a new shop's native categories onto the target taxonomy, from its products' predictions."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from .model.predict import PathScores
from .taxonomy import join_path

STATUSES = ("auto", "review", "mixed")
AUTO_SHARE = 0.6    # the proposed target backed by at least this share of the category's products ...
FEW_ITEMS = 3       # ... and, for a category of fewer products, a mean confidence of at least SURE
SURE = 0.9
MIXED_SHARE = 0.25  # a second product type holding this share makes the breadcrumb mixed
MAPPING_COLUMNS = ["native_category", "gpt_category", "n_items", "share", "status", "runner_up", "runner_up_share",
                   "mean_confidence", "examples"]


def _related(a: tuple[str, ...], b: tuple[str, ...]) -> bool:
    """One path is a prefix of the other (a parent and its child are one kind of product, not two)."""
    n = min(len(a), len(b))
    return a[:n] == b[:n]


def category_status(share: float, runner: tuple[str, ...] | None, runner_share: float, target: tuple[str, ...],
                    n_items: int, confidence: float) -> str:
    """auto (a clear majority), mixed (a second product type of its own), or review (a weak vote)."""
    if runner is not None and runner_share >= MIXED_SHARE and not _related(runner, target):
        return "mixed"
    if share >= AUTO_SHARE and (n_items >= FEW_ITEMS or confidence >= SURE):
        return "auto"
    return "review"


def propose_mapping(scores: PathScores, native_categories: Sequence[str], titles: Sequence[str] | np.ndarray,
                    n_examples: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The proposed mapping (one row per native category, MAPPING_COLUMNS) and the products disagreeing with it.

    Each product votes for its most probable path; a category's target is the path with most votes
    (ties: the higher mean probability), and `share` is the fraction of its products voting for it.
    """
    if not (len(scores) == len(native_categories) == len(titles)):
        raise ValueError(f"{len(scores)} predictions, {len(native_categories)} categories, {len(titles)} titles")
    probs = np.exp(scores.log_probs.astype(np.float64))
    votes = probs.argmax(axis=1) if len(probs) else np.zeros(0, int)
    conf = probs[np.arange(len(votes)), votes]
    natives = np.asarray([str(c or "").strip() for c in native_categories], dtype=object)
    titles = np.asarray([str(t) for t in titles], dtype=object)
    rows, disagree = [], []
    for native in sorted(set(natives)):
        members = np.flatnonzero(natives == native)
        counts = np.bincount(votes[members], minlength=probs.shape[1]).astype(float)
        order = np.lexsort((-probs[members].mean(axis=0), -counts))
        top, second = order[0], (order[1] if counts[order[1]] > 0 else None) if len(order) > 1 else None
        share = counts[top] / len(members)
        target = scores.paths[top]
        runner = scores.paths[second] if second is not None else None
        runner_share = counts[second] / len(members) if second is not None else 0.0
        backing = members[votes[members] == top]
        status = category_status(share, runner, runner_share, target, len(members), float(conf[backing].mean()))
        rows.append({
            "native_category": native, "gpt_category": join_path(target), "n_items": len(members),
            "share": round(share, 4), "status": status, "runner_up": join_path(runner) if runner else "",
            "runner_up_share": round(runner_share, 4), "mean_confidence": round(float(conf[backing].mean()), 4),
            "examples": " | ".join(titles[backing[:n_examples]]),
        })
        for i in members[votes[members] != top]:
            disagree.append({"native_category": native, "title": titles[i], "predicted": join_path(scores.paths[votes[i]]),
                             "confidence": round(float(conf[i]), 4), "proposed": join_path(target), "position": int(i)})
    table = pd.DataFrame(rows, columns=MAPPING_COLUMNS)
    return table, pd.DataFrame(disagree, columns=["native_category", "title", "predicted", "confidence", "proposed",
                                                  "position"])


def propose_for_catalog(source: str | Path, store, model_dir: str | Path, options=None,
                        n_examples: int = 3) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    """`propose_mapping` for a catalog file with a saved model: (mapping table, disagreeing products, rejected rows)."""
    from .categorizer import Categorizer

    return Categorizer.load(model_dir, store).propose_mapping(source, n_examples, options)


def mapping_accuracy(table: pd.DataFrame, truth: dict[str, str]) -> dict[str, float]:
    """Against a known mapping (native -> target): the share of items and of categories proposed right, and of `auto` ones."""
    known = table[table["native_category"].isin(truth)]
    right = known["gpt_category"] == known["native_category"].map(truth)
    auto = known["status"] == "auto"
    items = known["n_items"].astype(float)
    return {
        "item_accuracy": float((items * right).sum() / max(items.sum(), 1)),
        "category_accuracy": float(right.mean()) if len(known) else float("nan"),
        "auto_share": float(auto.mean()) if len(known) else float("nan"),
        "auto_item_share": float(items[auto].sum() / max(items.sum(), 1)),
        "auto_precision": float(right[auto].mean()) if auto.any() else float("nan"),
        "categories": float(len(known)),
    }


def write_review_page(table: pd.DataFrame, disagree: pd.DataFrame, file: str | Path, title: str = "Proposed mapping") -> Path:
    """An HTML page of the proposal grouped by status (mixed, review, auto), each category with its dissenting products."""
    esc = html.escape
    by_native = {k: g for k, g in disagree.groupby("native_category")} if len(disagree) else {}
    parts = [f"<!doctype html><html><head><meta charset='utf-8'><title>{esc(title)}</title><style>"
             "body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}table{border-collapse:collapse;width:100%}"
             "td,th{border-bottom:1px solid #ddd;padding:4px 8px;text-align:left;vertical-align:top}"
             ".auto{color:#176617}.review{color:#9a6700}.mixed{color:#b3261e}details{margin:2px 0}small{color:#555}"
             f"</style></head><body><h1>{esc(title)}</h1>"]
    counts = table["status"].value_counts()
    parts.append("<p>" + ", ".join(f"<b class='{s}'>{s}</b>: {int(counts.get(s, 0))} categories "
                                   f"({int(table.loc[table['status'] == s, 'n_items'].sum())} products)" for s in STATUSES)
                 + ". <i>auto</i>: a clear majority; <i>review</i>: a weak vote; <i>mixed</i>: the breadcrumb holds "
                   "several product types. Ingest maps only what the table says; mixed and review rows are "
                   "classified one by one or rejected (<code>hiercat ingest --unsure</code>).</p>")
    for status in ("mixed", "review", "auto"):
        part = table[table["status"] == status]
        if not len(part):
            continue
        parts.append(f"<h2 class='{status}'>{status} ({len(part)})</h2><table><tr><th>native category</th>"
                     "<th>proposed target</th><th>products</th><th>share</th><th>runner-up</th><th>examples</th></tr>")
        for r in part.itertuples():
            dissent = by_native.get(r.native_category)
            extra = ""
            if dissent is not None:
                items = "".join(f"<li>{esc(d.title)} <small>→ {esc(d.predicted)} ({100 * d.confidence:.0f} %)</small></li>"
                                for d in dissent.head(20).itertuples())
                extra = f"<details><summary>{len(dissent)} products disagree</summary><ul>{items}</ul></details>"
            parts.append(f"<tr><td>{esc(r.native_category)}</td><td>{esc(r.gpt_category)}</td><td>{r.n_items}</td>"
                         f"<td>{100 * r.share:.0f} %</td><td>{esc(r.runner_up)}"
                         f"{f' ({100 * r.runner_up_share:.0f} %)' if r.runner_up else ''}</td>"
                         f"<td><small>{esc(r.examples)}</small>{extra}</td></tr>")
        parts.append("</table>")
    parts.append("</body></html>")
    file = Path(file)
    file.parent.mkdir(parents=True, exist_ok=True)
    file.write_text("".join(parts), encoding="utf-8")
    return file
