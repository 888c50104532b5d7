"""Reading every stored product under one category (any level, any platform) with its vectors and payload."""

from __future__ import annotations

import difflib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..store.base import VectorStore
from ..store.schema import read_schema
from ..taxonomy import Taxonomy, join_path, split_path


class CategoryError(ValueError):
    """A category name that matches no node, or several; the message lists what to type instead."""


@dataclass
class Selection:
    """Products of one category: point ids, dense vectors per name (zero rows where missing), payloads."""

    category: tuple[str, ...]
    ids: list[str]
    vectors: dict[str, np.ndarray]
    payload: pd.DataFrame
    # Per vector name, which rows really have the vector (a product without image has a zero row).
    present: dict[str, np.ndarray] = field(default_factory=dict)
    # Role -> stored vector name ("image", "title", "brand"), as the store's schema declares them.
    roles: dict[str, str] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.ids)

    def take(self, index: Sequence[int] | np.ndarray) -> Selection:
        """The products at the given positions (or where a boolean mask is true)."""
        index = np.asarray(index)
        if index.dtype == bool:
            index = np.flatnonzero(index)
        index = index.astype(int)
        return Selection(
            category=self.category,
            ids=[self.ids[i] for i in index],
            vectors={k: v[index] for k, v in self.vectors.items()},
            payload=self.payload.iloc[index].reset_index(drop=True),
            present={k: v[index] for k, v in self.present.items()},
            roles=dict(self.roles),
        )

    def column(self, name: str, default: str = "") -> np.ndarray:
        """A payload column as strings ('' where absent)."""
        if name not in self.payload.columns:
            return np.full(len(self), default, dtype=object)
        return self.payload[name].map(lambda v: default if v is None or (isinstance(v, float) and np.isnan(v))
                                      else str(v)).to_numpy(dtype=object)


def store_taxonomy(store: VectorStore) -> Taxonomy:
    """The taxonomy recorded in the store's meta, else the tree of the stored label paths."""
    recorded = read_schema(store).taxonomy
    if recorded is not None:
        return recorded
    return Taxonomy.from_paths(store.facet("path", limit=1_000_000))


def resolve_category(taxonomy: Taxonomy, category: str | Sequence[str]) -> tuple[str, ...]:
    """The one taxonomy node a full path or bare name ('Shoes') designates; CategoryError otherwise."""
    text = category if isinstance(category, str) else join_path(category)
    found = taxonomy.find(text)
    if len(found) == 1:
        return found[0]
    # 'Shoes' after a recategorization may also name 'Shoes > Casual > Shoes'; the node holding all
    # the other matches is what a user typing the bare name means.
    top = min(found, key=len) if found else ()
    if found and all(p[: len(top)] == top for p in found) and sum(len(p) == len(top) for p in found) == 1:
        return top
    if not found:
        names = sorted({p[-1] for p in taxonomy.paths})
        close = difflib.get_close_matches(split_path(text)[-1] if split_path(text) else text, names, n=5)
        hint = f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
        raise CategoryError(f"no category {text!r} in the store's taxonomy{hint}")
    listing = "\n  ".join(join_path(p) for p in found[:30])
    more = f"\n  ... and {len(found) - 30} more" if len(found) > 30 else ""
    raise CategoryError(f"{text!r} is ambiguous, {len(found)} categories match; give the full path:\n  {listing}{more}")


def category_filter(category: Sequence[str], extra: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Store filter for every product at or below a node: its `level_k` prefix, plus extra conditions."""
    # level_k holds the full prefix, so 'Shoes' under two different parents can never be confused,
    # which matching the bare names in `levels` could not guarantee.
    flt: dict[str, Any] = {f"level_{len(category)}": join_path(category)}
    for key, value in (extra or {}).items():
        if key in flt and flt[key] != value:
            raise CategoryError(f"filter {key}={value!r} contradicts the category {join_path(category)!r}")
        flt[key] = value
    return flt


def select_category(
    store: VectorStore,
    category: str | Sequence[str],
    vectors: Sequence[str] | None = None,
    platform: str | Sequence[str] | None = None,
    filter: Mapping[str, Any] | None = None,
    taxonomy: Taxonomy | None = None,
) -> Selection:
    """Every product under `category` (name or path, any level) with the named dense vectors (default: all)."""
    tax = taxonomy or store_taxonomy(store)
    path = resolve_category(tax, category)
    extra = dict(filter or {})
    if platform:
        extra["platform"] = list(platform) if not isinstance(platform, str) else platform
    dims = store.dense_vectors()
    names = list(vectors) if vectors is not None else sorted(dims)
    unknown = [n for n in names if n not in dims]
    if unknown:
        raise ValueError(f"the store has no vector(s) {', '.join(unknown)}; it has {', '.join(sorted(dims))}")
    ids: list[str] = []
    rows: list[dict[str, Any]] = []
    cols: dict[str, list[np.ndarray | None]] = {n: [] for n in names}
    # Sorted by id: k-means and UMAP depend on row order, and the same products must give the same
    # proposal whichever store (or scroll order) they come from.
    for point in sorted(store.scroll(category_filter(path, extra), with_vectors=names), key=lambda p: p.id):
        ids.append(point.id)
        rows.append(point.payload)
        for n in names:
            v = point.vectors.get(n)
            cols[n].append(None if v is None else np.asarray(v, dtype=np.float32))
    vecs: dict[str, np.ndarray] = {}
    present: dict[str, np.ndarray] = {}
    for n in names:
        mat = np.zeros((len(ids), dims[n]), dtype=np.float32)
        has = np.zeros(len(ids), dtype=bool)
        for i, v in enumerate(cols[n]):
            if v is not None and v.size and np.any(v):
                mat[i] = v
                has[i] = True
        vecs[n], present[n] = mat, has
    payload = pd.DataFrame.from_records(rows) if rows else pd.DataFrame(columns=["path", "platform"])
    return Selection(category=path, ids=ids, vectors=vecs, payload=payload, present=present,
                     roles=stored_roles(store, names))


def stored_roles(store: VectorStore, names: Sequence[str]) -> dict[str, str]:
    """Recluster's roles ("image", "title", "brand") -> the store's vector of that field, among `names`."""
    record = read_schema(store).preset
    if record is None:
        return {}
    out = {}
    for role, fld, kind in (("image", "image", "image"), ("title", "title", "text"), ("brand", "brand", "text")):
        found = [n for n in record.names(field=fld, role=kind) if n in set(names)]  # type: ignore[arg-type]
        if found:
            out[role] = found[0]
    return out
