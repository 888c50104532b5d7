"""predictions.csv as a catalog engineer reads it in a spreadsheet: one line per input row, rounded, flagged.

`classify_rows` (hiercat.classify) returns the raw predictions (float confidences, neighbours as
JSON); this module turns a `CatalogPredictions` into the file `hiercat classify` writes:

* every input row appears, in file order, with `status` `ok` or `rejected: <reason>`;
* confidences have 4 decimals, and a level the path does not reach is empty, confidence included;
* `needs_review` (`yes`/`no`) with `review_reason`, by the rule in `review_reasons`;
* with `--explain` the 3 nearest stored products as columns (`neighbour_1_title` ...), the full
  list of neighbours in an optional JSON Lines sidecar (`write_neighbours`), never JSON in a cell;
* cells starting with `=`, `+`, `-`, `@` (or a tab / carriage return) are written with a leading `'`,
  so a spreadsheet shows them as text instead of running them as formulas.

Columns that other steps add to the raw table (for example a confidence back-off's) pass through
after the known ones, so they need no change here. The README documents every column.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from .classify import CatalogPredictions
    from .taxonomy import Taxonomy

REVIEW_BELOW = 0.6  # below this path confidence a prediction is flagged for a person to look at
NEIGHBOURS_SHOWN = 3
DECIMALS = 4
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

# The columns in the order they are written; any other column of the raw table follows them.
HEAD = ["row", "product_id", "platform", "title", "status", "needs_review", "review_reason",
        "predicted_path", "confidence", "source"]
TAIL = ["escalated", "true_path", "correct", "note"]


def review_reasons(confidence: float, source: str, review_below: float = REVIEW_BELOW) -> list[str]:
    """Why a classified row needs a person's look: an unsure path, or a category no training product had.

    `zero-shot` rows name a category the model was never trained on (matched by its name), so even
    a confident one is a guess about a category hiercat has no example of.
    """
    reasons = []
    if confidence < review_below:
        reasons.append(f"confidence {confidence:.2f} < {review_below:g}")
    if source == "zero-shot":
        reasons.append("category no training product had (zero-shot)")
    return reasons


def _neighbour_columns(raw: pd.DataFrame, shown: int) -> pd.DataFrame:
    """neighbour_i_{id,title,path,score} of the `shown` nearest stored products, from the raw JSON cells."""
    cols: dict[str, list[Any]] = {f"neighbour_{i}_{f}": [] for i in range(1, shown + 1)
                                  for f in ("id", "title", "path", "score")}
    for cell in raw["neighbours"]:
        found = json.loads(cell) if cell else []
        for i in range(1, shown + 1):
            n = found[i - 1] if len(found) >= i else {}
            cols[f"neighbour_{i}_id"].append(n.get("product_id", ""))
            cols[f"neighbour_{i}_title"].append(n.get("title", ""))
            cols[f"neighbour_{i}_path"].append(n.get("path", ""))
            cols[f"neighbour_{i}_score"].append(round(float(n["score"]), DECIMALS) if "score" in n else None)
    return pd.DataFrame(cols, index=raw.index)


def predictions_table(result: CatalogPredictions, review_below: float = REVIEW_BELOW,
                      neighbours_shown: int = NEIGHBOURS_SHOWN) -> pd.DataFrame:
    """The table `hiercat classify` writes: classified and rejected rows together, in the input's row order."""
    raw = result.table.copy()
    raw.insert(0, "row", result.rows["row"].to_numpy())
    depth = sum(1 for c in raw.columns if c.startswith("level_") and c.endswith("_confidence"))
    conf = raw["confidence"].astype(float)
    reasons = [review_reasons(c, s, review_below) for c, s in zip(conf, raw["source"])]
    raw["status"] = "ok"
    raw["needs_review"] = ["yes" if r else "no" for r in reasons]
    raw["review_reason"] = ["; ".join(r) for r in reasons]
    raw["confidence"] = conf.round(DECIMALS)
    levels: list[str] = []
    for k in range(1, depth + 1):
        name, cname = f"level_{k}", f"level_{k}_confidence"
        reached = raw[name].astype(str) != ""
        raw[cname] = raw[cname].astype(float).round(DECIMALS).where(reached, None)
        levels += [name, cname]
    neighbours = None
    if "neighbours" in raw.columns:
        neighbours = _neighbour_columns(raw, neighbours_shown)
        raw = raw.drop(columns=["neighbours"])
    if "correct" in raw.columns:  # no given category, or one outside the taxonomy: nothing to be right about
        from .taxonomy import split_path

        tax = result.classifier.output_taxonomy()
        given = raw["true_path"].astype(str).map(lambda p: bool(p) and split_path(p) in tax)
        raw["correct"] = raw["correct"].map({True: "yes", False: "no"}).where(given, "")
    if "note" in raw.columns and not (raw["note"].astype(str) != "").any():
        raw = raw.drop(columns=["note"])  # only when some image could not be used
    if neighbours is not None:
        raw = pd.concat([raw, neighbours], axis=1)
    rejected = _rejected_rows(result.rejects)
    table = pd.concat([raw, rejected], ignore_index=True) if len(rejected) else raw
    table = table.sort_values("row", kind="stable").reset_index(drop=True)
    known = HEAD + levels + [c for c in TAIL if c in table.columns]
    ncols = list(neighbours.columns) if neighbours is not None else []
    rest = [c for c in table.columns if c not in known and c not in ncols]
    return table[known + rest + ncols]


def _rejected_rows(rejects: pd.DataFrame) -> pd.DataFrame:
    """Rows that could not be classified: their identity, `rejected: reason`, flagged for review."""
    if not len(rejects):
        return pd.DataFrame()
    return pd.DataFrame({
        "row": rejects["row"].to_numpy(),
        "product_id": rejects["product_id"].to_numpy(),
        "platform": rejects["platform"].to_numpy(),
        "title": rejects["title"].to_numpy(),
        "status": ["rejected: " + str(r) for r in rejects["reason"]],
        "needs_review": "yes",
        "review_reason": "not classified",
    })


def escape_formulas(table: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells starting with = + - @ (or tab / CR) get a leading `'` (CSV formula injection)."""
    out = table.copy()
    for col in out.columns:
        if not pd.api.types.is_numeric_dtype(out[col]):  # object or pandas' string dtype
            out[col] = [f"'{v}" if isinstance(v, str) and v.startswith(FORMULA_START) else v for v in out[col]]
    return out


def write_predictions(table: pd.DataFrame, file: str | Path) -> Path:
    """Write the table as CSV (formula-escaped), creating the folder; returns the file."""
    file = Path(file)
    file.parent.mkdir(parents=True, exist_ok=True)
    escape_formulas(table).to_csv(file, index=False)
    return file


def write_neighbours(result: CatalogPredictions, file: str | Path) -> Path:
    """A JSON Lines sidecar: per classified row its row number, product_id and every neighbour (id, title, path, score)."""
    if "neighbours" not in result.table.columns:
        raise ValueError("the predictions hold no neighbours: classify with explain=True (--explain)")
    file = Path(file)
    file.parent.mkdir(parents=True, exist_ok=True)
    with open(file, "w", encoding="utf-8") as fh:
        for row, pid, cell in zip(result.rows["row"], result.table["product_id"], result.table["neighbours"]):
            fh.write(json.dumps({"row": int(row), "product_id": pid, "neighbours": json.loads(cell or "[]")},
                                ensure_ascii=False) + "\n")
    return file


@dataclass
class GivenScore:
    """How the predictions compare with the input's own categories, and what could not be compared."""

    metrics: dict[str, float] | None  # None when no row's given category is a path of the model's taxonomy
    scored: int
    not_in_taxonomy: int
    missing: int
    examples: list[str]  # a few given categories outside the taxonomy

    def message(self) -> str:
        """One line for the console about the rows left out of the score."""
        parts = []
        if self.not_in_taxonomy:
            parts.append(f"{self.not_in_taxonomy} rows have a category that is not a path of the model's taxonomy "
                         f"(e.g. {', '.join(repr(e) for e in self.examples)}): not scored; map the shop's own "
                         "categories with --mapping to score them")
        if self.missing:
            parts.append(f"{self.missing} rows have no (mapped) category: not scored")
        return "; ".join(parts)


def score_against_given(table: pd.DataFrame, taxonomy: Taxonomy, examples: int = 3) -> GivenScore:
    """Metrics of the classified rows whose given `true_path` is a path of `taxonomy`; the others counted apart.

    A shop's own tree ('Men > Shoes') or an unmapped row (empty path) is not a wrong answer of the model,
    so such rows are left out of the score instead of being scored as a class of their own.
    """
    from .metrics import evaluate_paths
    from .taxonomy import split_path

    ok = table[table["status"] == "ok"] if "status" in table.columns else table
    given = ok["true_path"].astype(str)
    missing = given == ""
    inside = given.map(lambda p: bool(p) and split_path(p) in taxonomy)
    outside = ~missing & ~inside
    sample = list(dict.fromkeys(given[outside]))[:examples]
    metrics = None
    if inside.any():
        metrics = evaluate_paths(given[inside].tolist(), ok.loc[inside, "predicted_path"].astype(str).tolist(), taxonomy)
    return GivenScore(metrics, int(inside.sum()), int(outside.sum()), int(missing.sum()), sample)


def summary(table: pd.DataFrame) -> dict[str, Any]:
    """Counts for the console: rows, ok, rejected (by reason), needing review, share decided per source."""
    ok = table["status"] == "ok"
    reasons = table.loc[~ok, "status"].str.replace(r"^rejected: ", "", regex=True).str.replace(r"[:(].*$", "",
                                                                                             regex=True).str.strip()
    return {"rows": len(table), "ok": int(ok.sum()), "rejected": int((~ok).sum()),
            "rejected_by_reason": reasons.value_counts().to_dict(),
            "needs_review": int((table["needs_review"] == "yes").sum()),
            "sources": table.loc[ok, "source"].value_counts(normalize=True).to_dict()}


def column_names(depth: int, explain: bool, extra: Sequence[str] = ()) -> list[str]:
    """The columns of a predictions table for a taxonomy of `depth` levels (for documentation and tests)."""
    levels = [c for k in range(1, depth + 1) for c in (f"level_{k}", f"level_{k}_confidence")]
    ncols = [f"neighbour_{i}_{f}" for i in range(1, NEIGHBOURS_SHOWN + 1) for f in ("id", "title", "path", "score")]
    return HEAD + levels + list(extra) + (ncols if explain else [])
