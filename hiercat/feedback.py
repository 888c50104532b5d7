"""Human corrections: checked against the taxonomy, written into the stored products' payloads at once.

A correction replaces the product's label (`path`, `levels`, `level_k`, `depth`), so everything that
reads labels sees it at once: the kNN vote of the very next classification, search results, and the
next `hiercat train`. It is marked as reviewed (`label_source` "review", `reviewed_at`, `reviewed_path`)
and the label it replaced is kept (`path_before_review`, the first one only), so a review can be audited
or undone. `hiercat.experiment` gives `reviewed_path` precedence over the trained label field and keeps
reviewed products out of test splits (their selection by the model's doubt would bias the test).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .store.base import VectorStore, point_id
from .store.schema import read_schema
from .taxonomy import Taxonomy, join_path, split_path

COLUMNS = ("product_id", "platform", "path")
REVIEW_SOURCE = "review"
# The deepest level_k payload a store may hold; stale deeper levels of a shortened path are cleared.
MAX_LEVELS = 8


class FeedbackError(ValueError):
    """A corrections file that cannot be read at all (missing columns); bad rows are rejects instead."""


@dataclass
class FeedbackResult:
    """Corrections written (with the label each replaced) and rows rejected with their reason."""

    applied: pd.DataFrame  # product_id, platform, path, previous_path, reviewed_at
    rejects: pd.DataFrame  # row (1-based, as in the file), product_id, platform, path, reason
    skipped: int = 0  # rows with an empty path: not reviewed yet (a review page's corrections.csv starts so)


def read_corrections(file: str | Path) -> pd.DataFrame:
    """The corrections CSV (product_id, platform, path; other columns are kept and ignored)."""
    table = pd.read_csv(file, dtype=str, keep_default_na=False)
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise FeedbackError(f"{file}: missing column(s) {', '.join(missing)}; a corrections file has "
                            f"{', '.join(COLUMNS)} (path levels joined by ' > ')")
    return table


def store_taxonomy(store: VectorStore) -> Taxonomy:
    """The categories a correction may name: the store's taxonomy, with all of Google's where it was mapped onto it.

    The store records the paths it was ingested with; a store mapped onto the Google Product Taxonomy
    (its `taxonomy_sources`) also accepts any other Google category, since a correction is how a
    category no product had yet gets its first examples. A store of a shop's own tree accepts only it.
    """
    from .zero_shot import GOOGLE_TAXONOMY

    schema = read_schema(store)
    tax = schema.taxonomy or Taxonomy()
    sources = [str(s) for s in schema.taxonomy_sources]
    # ingest names the source by the taxonomy file or as "Google Product Taxonomy", depending on the version
    if schema.taxonomy is None or any("google" in s.lower() for s in sources):
        for path in Taxonomy.from_google(GOOGLE_TAXONOMY).paths:
            tax.add_path(path)
    return tax


def _why_not(path: tuple[str, ...], taxonomy: Taxonomy) -> str:
    if not path:
        return "path is empty"
    if path in taxonomy:
        return ""
    known = next((path[:k] for k in range(len(path) - 1, 0, -1) if path[:k] in taxonomy), ())
    hint = ""
    if known:
        kids = [c[-1] for c in taxonomy.children(known)][:6]
        hint = f"; {join_path(known)!r} exists" + (f", with children {', '.join(kids)}" if kids else "")
    elif taxonomy.find(path[-1]):
        hint = f"; did you mean {join_path(taxonomy.find(path[-1])[0])!r}?"
    return f"path {join_path(path)!r} is not a category of the store's taxonomy{hint}"


def check_corrections(rows: pd.DataFrame, store: VectorStore,
                      taxonomy: Taxonomy | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(good rows with their point `id` and `previous_path`, rejects with reasons); the later of two rows for a product wins."""
    taxonomy = taxonomy or store_taxonomy(store)
    good: list[dict[str, Any]] = []
    bad: list[dict[str, Any]] = []
    for n, (_, r) in enumerate(rows.iterrows(), start=1):
        pid, plat, path = (str(r.get(c, "") or "").strip() for c in COLUMNS)
        if not path:
            continue  # no decision on this row (yet)
        parts = split_path(path)
        entry = {"row": n, "product_id": pid, "platform": plat, "path": join_path(parts) if parts else path}
        reason = ("product_id is empty" if not pid else "platform is empty" if not plat else _why_not(parts, taxonomy))
        (bad if reason else good).append({**entry, "reason": reason} if reason else entry)
    found: dict[str, str] = {}
    if good:
        ids = [point_id(g["platform"], g["product_id"]) for g in good]
        found = {p.id: str(p.payload.get("path", "")) for p in store.retrieve(list(dict.fromkeys(ids)))}
        kept = []
        for g, pid in zip(good, ids):
            if pid in found:
                kept.append({**g, "id": pid, "previous_path": found[pid]})
            else:
                bad.append({**g, "reason": f"no stored product {g['platform']}/{g['product_id']}"})
        good = list({g["id"]: g for g in kept}.values())  # the last row for a product wins
    cols = ["row", "product_id", "platform", "path"]
    return (pd.DataFrame(good, columns=[*cols, "id", "previous_path"]),
            pd.DataFrame(sorted(bad, key=lambda b: b["row"]), columns=[*cols, "reason"]))


def review_payload(path: Iterable[str], previous: Mapping[str, Any], reviewed_at: str) -> dict[str, Any]:
    """The payload keys a correction sets: the new label, its review marks, and the label it replaced."""
    parts = tuple(path)
    out: dict[str, Any] = {"path": join_path(parts), "levels": list(parts), "depth": len(parts),
                           "reviewed_path": join_path(parts), "reviewed_at": reviewed_at,
                           "label_source": REVIEW_SOURCE}
    for k in range(1, MAX_LEVELS + 1):
        if k <= len(parts):
            out[f"level_{k}"] = join_path(parts[:k])
        elif f"level_{k}" in previous:
            out[f"level_{k}"] = None  # a shorter path must not keep the old deeper levels
    if "path_before_review" not in previous:
        out["path_before_review"] = previous.get("path", "")
    return out


def apply_corrections(store: VectorStore, rows: pd.DataFrame, taxonomy: Taxonomy | None = None,
                      now: datetime | None = None) -> FeedbackResult:
    """Check every row and write the good ones into the store; bad rows come back with their reason.

    Applied rows take effect at once: no retraining is needed for the kNN vote to use them.
    """
    good, rejects = check_corrections(rows, store, taxonomy)
    stamp = (now or datetime.now(timezone.utc)).isoformat(timespec="seconds")
    previous = {p.id: p.payload for p in store.retrieve(good["id"].tolist())} if len(good) else {}
    for _, g in good.iterrows():
        store.set_payload([g["id"]], review_payload(split_path(g["path"]), previous.get(g["id"], {}), stamp))
    applied = good[["product_id", "platform", "path", "previous_path"]].copy()
    applied["reviewed_at"] = stamp
    blank = int(sum(not str(v or "").strip() for v in rows["path"])) if "path" in rows else 0
    return FeedbackResult(applied.reset_index(drop=True), rejects, blank)


def apply_corrections_file(store: VectorStore, file: str | Path) -> FeedbackResult:
    """`apply_corrections` of a corrections CSV (what `hiercat feedback` runs)."""
    return apply_corrections(store, read_corrections(file))


def reviewed_mask(payload: pd.DataFrame) -> np.ndarray:
    """Which stored products (payload rows) carry a reviewed label."""
    if "reviewed_path" not in payload.columns:
        return np.zeros(len(payload), dtype=bool)
    return np.array([isinstance(v, str) and v != "" for v in payload["reviewed_path"]], dtype=bool)


def prefer_reviewed(payload: pd.DataFrame, labels: str, paths: list[tuple[str, ...]]) -> list[tuple[str, ...]]:
    """`paths` (read from the `labels` field) with each reviewed product's reviewed path instead.

    Only target-taxonomy labels (`path`) are replaced: a reviewed path names a category of that
    taxonomy, not of a shop's native tree, so a `native_category` model keeps its own labels.
    """
    if labels != "path":
        return paths
    mask = reviewed_mask(payload)
    if not mask.any():
        return paths
    reviewed = payload["reviewed_path"].tolist()
    return [split_path(reviewed[i]) if m else p for i, (p, m) in enumerate(zip(paths, mask))]


__all__ = ["COLUMNS", "FeedbackError", "FeedbackResult", "REVIEW_SOURCE", "apply_corrections",
           "apply_corrections_file", "check_corrections", "prefer_reviewed", "read_corrections", "review_payload",
           "reviewed_mask", "store_taxonomy"]
