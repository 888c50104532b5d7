"""Adopting a (possibly edited) proposal: new sub-categories in the taxonomy, rewritten payloads, no product left behind."""

from __future__ import annotations

import datetime as _dt
import json
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..encoders.base import TextEncoder, l2_normalize
from ..store.base import VectorStore
from ..store.schema import read_schema, write_schema
from ..taxonomy import join_path, split_path
from .features import (
    DEFAULT_SPEC,
    build_features,
    fused_weights,
    needed_roles,
    role_vectors,
    spec_for_size,
    store_text_encoder,
    usable_rows,
)
from .proposal import Proposal, ProposalError
from .select import category_filter, select_category, store_taxonomy


@dataclass
class ApplyResult:
    """What applying a proposal changed."""

    category: str
    added_paths: list[str]
    updated: int  # products whose label path was rewritten from the proposal
    assigned: int  # products placed by nearest centroid (not in the proposal; set aside only if asked)
    kept_at_category: int  # products kept at the category itself (the user's drops, the set-aside ones)
    path_counts: dict[str, int] = field(default_factory=dict)  # products per label path under the category now
    removed_paths: list[str] = field(default_factory=list)  # sub-categories of earlier runs no product uses now
    set_aside_kept: int = 0  # of kept_at_category: products the image filter set aside (see proposal.py)


def label_fields(path: Sequence[str], clear_from: int = 0) -> dict[str, Any]:
    """Payload keys of a label path (path, levels, level_k, depth); level_k beyond it up to clear_from set to None."""
    parts = tuple(path)
    out: dict[str, Any] = {"path": join_path(parts), "levels": list(parts), "depth": len(parts)}
    for k in range(1, max(len(parts), clear_from) + 1):
        # A product moved up a level must not keep a stale deeper prefix that filters would match.
        out[f"level_{k}"] = join_path(parts[:k]) if k <= len(parts) else None
    return out


def _write_paths(store: VectorStore, paths: Mapping[str, tuple[str, ...]], clear_from: int) -> None:
    by_path: dict[tuple[str, ...], list[str]] = defaultdict(list)
    for pid, path in paths.items():
        by_path[path].append(pid)
    for path, ids in sorted(by_path.items()):
        # One call per distinct path: a category has a handful of new paths and thousands of products.
        store.set_payload(ids, label_fields(path, clear_from))


def _record(store: VectorStore, category: tuple[str, ...], new_paths: Sequence[tuple[str, ...]],
            entry: dict[str, Any]) -> list[str]:
    """Add new label paths to the store taxonomy and append the change to meta['recategorizations']."""
    schema = read_schema(store)
    tax = schema.taxonomy or store_taxonomy(store)
    nodes = {p[:k] for p in new_paths for k in range(len(category) + 1, len(p) + 1)}
    added = [join_path(p) for p in sorted(nodes) if p not in tax.paths]
    for p in sorted(set(new_paths)):
        tax.add_path(p, terminal=True)
    schema.taxonomy = tax
    schema.recategorizations.append({**entry, "added_paths": added})
    write_schema(store, schema)
    return added


def _settle_taxonomy(store: VectorStore, category: tuple[str, ...]) -> list[str]:
    """Tidy the tree under a recategorized category; returns the paths removed.

    The category stays a valid label only while products remain directly on it: with every product
    in a sub-category, the classifier should learn to go down, not stop there. Sub-categories that
    an earlier recategorization added and that no product uses any more (renamed or re-clustered
    since) are removed; nodes that did not come from a recategorization are never touched.
    """
    schema = read_schema(store)
    tax = schema.taxonomy or store_taxonomy(store)
    cat = join_path(category)
    ours = {split_path(p) for r in schema.recategorizations if r.get("category") == cat
            for p in r.get("added_paths", [])}
    removed = []
    for p in sorted(ours, key=len, reverse=True):
        if p in tax.paths and store.count({f"level_{len(p)}": join_path(p)}) == 0:
            tax.paths.discard(p)
            tax.terminal.discard(p)
            removed.append(join_path(p))
    if store.count({"path": cat}) > 0:
        tax.terminal.add(category)
    else:
        tax.terminal.discard(category)
    schema.taxonomy = tax
    write_schema(store, schema)
    return removed


def recategorized(store: VectorStore, category: str | Sequence[str]) -> list[dict[str, Any]]:
    """The meta records of earlier recategorizations of a category (oldest first)."""
    cat = join_path(split_path(category) if isinstance(category, str) else tuple(category))
    return [r for r in read_schema(store).recategorizations if r.get("category") == cat]


def assign_to_nearest(
    store: VectorStore,
    category: str | Sequence[str],
    vectors: str | None = None,
    weights: Mapping[str, float] | None = None,
    exclude: Sequence[str] = (),
    text_encoder: TextEncoder | None = None,
) -> dict[str, tuple[str, ...]]:
    """Give every product still labelled exactly `category` the sub-category of the nearest centroid, top-down.

    Centroids are the mean vectors of products already in each sub-category. At each node the
    products directly on it (kept there by a drop) compete as a 'stop here' centroid, so a new
    product resembling dropped ones stays where the user put those (and is recorded as kept, so a
    later call does not move it). Products in `exclude` and those kept at the category by earlier
    drops are left alone. Returns the path chosen per product considered: a sub-category (written
    to the store), or the category itself for a product that joined the dropped ones.
    """
    tax = store_taxonomy(store)
    sel = select_category(store, category, taxonomy=tax)
    cat = sel.category
    history = recategorized(store, cat)
    last = history[-1] if history else {}
    spec = vectors or last.get("vectors", DEFAULT_SPEC)
    w = fused_weights(weights if weights is not None else last.get("weights"))
    kept = set(exclude) | {pid for r in history for pid in r.get("kept_at_category", [])}
    if len(sel) == 0:
        return {}
    if text_encoder is None and "terms" in needed_roles(spec, w):
        text_encoder = store_text_encoder(store)
    vecs, spec, w = role_vectors(sel, spec, w, text_encoder, [])
    usable = usable_rows(vecs, spec, w)
    X = build_features(vecs, spec_for_size(spec, int(usable.sum()), []), w)
    paths = [tuple(split_path(p)) for p in sel.column("path")]
    depth = len(cat)
    todo = [i for i, p in enumerate(paths) if p == cat and sel.ids[i] not in kept and usable[i]]
    placed = [i for i, p in enumerate(paths) if len(p) > depth and usable[i]]
    if not todo or not placed:
        return {}
    stayers = [i for i, p in enumerate(paths) if p == cat and sel.ids[i] in kept and usable[i]]
    cache: dict[tuple[str, ...], tuple[list[tuple[str, ...] | None], np.ndarray] | None] = {}

    def choices(node: tuple[str, ...]) -> tuple[list[tuple[str, ...] | None], np.ndarray] | None:
        """Children of a node (and None = stop here) with their centroids, computed once per node."""
        if node not in cache:
            members: dict[tuple[str, ...] | None, list[int]] = defaultdict(list)
            for j in placed:
                if len(paths[j]) > len(node) and paths[j][: len(node)] == node:
                    members[paths[j][: len(node) + 1]].append(j)
            here = [j for j in placed if paths[j] == node] if node != cat else stayers
            if members and here:
                members[None] = here
            keys = list(members)
            cache[node] = (keys, l2_normalize(np.stack([X[members[k]].mean(axis=0) for k in keys]))) if keys else None
        return cache[node]

    result: dict[str, tuple[str, ...]] = {}
    for i in todo:
        node = cat
        while (got := choices(node)) is not None:
            keys, cents = got
            best = keys[int(np.argmax(cents @ X[i]))]
            if best is None:
                break
            node = best
        result[sel.ids[i]] = node
    moved = {pid: p for pid, p in result.items() if p != cat}
    if moved:
        _write_paths(store, moved, clear_from=max(len(p) for p in paths))
    stayed = sorted(pid for pid, p in result.items() if p == cat)
    if stayed and history:
        schema = read_schema(store)
        mine = [r for r in schema.recategorizations if r.get("category") == join_path(cat)]
        mine[-1]["kept_at_category"] = sorted(set(mine[-1].get("kept_at_category", [])) | set(stayed))
        write_schema(store, schema)
    return result


@contextmanager
def all_or_nothing(store: VectorStore, category: Sequence[str]) -> Iterator[None]:
    """Restore the store's metadata and the label payloads under `category` if the block does not complete.

    Adopting a proposal writes payloads and metadata in several steps; an error or an interrupt
    between them would leave products in sub-categories the taxonomy does not record (or the
    reverse). Only label fields change under the category, so they are what is kept to put back.
    """
    schema = read_schema(store)
    before: dict[str, dict[str, Any]] = {}
    for point in store.scroll(category_filter(tuple(category))):
        before[point.id] = {k: v for k, v in point.payload.items() if k in ("path", "levels", "depth")
                            or k.startswith("level_")}
    try:
        yield
    except BaseException:
        deepest = max([len(v.get("levels") or []) for v in before.values()] + [0]) + MAX_NEW_LEVELS
        groups: dict[str, list[str]] = defaultdict(list)
        for pid, fields in before.items():
            full = {**{f"level_{k}": None for k in range(1, deepest + 1)}, **fields}
            groups[json.dumps(full, sort_keys=True, default=str)].append(pid)
        for key, ids in groups.items():
            store.set_payload(ids, json.loads(key))
        write_schema(store, schema)
        raise


MAX_NEW_LEVELS = 4  # levels a proposal may add below a category (a cascade has 2 or 3)


def apply_proposal(
    store: VectorStore,
    proposal: str | Path | Mapping[str, Any] | Proposal,
    assign_rest: bool = True,
    text_encoder: TextEncoder | None = None,
) -> ApplyResult:
    """Adopt a proposal (see `adopt`), all or nothing: on any error the store is left as it was."""
    prop = proposal if isinstance(proposal, Proposal) else (
        Proposal.from_dict(proposal) if isinstance(proposal, Mapping) else Proposal.load(proposal))
    tax = store_taxonomy(store)
    cat = split_path(prop.category)
    if cat not in tax.paths:
        raise ProposalError(f"category {prop.category!r} of the proposal is not in the store's taxonomy")
    with all_or_nothing(store, cat):
        return adopt(store, prop, assign_rest, text_encoder)


def adopt(
    store: VectorStore,
    prop: Proposal,
    assign_rest: bool = True,
    text_encoder: TextEncoder | None = None,
) -> ApplyResult:
    """Adopt a proposal: add its sub-categories under the category, rewrite members' payloads, record it in meta.

    Edits in the file are honoured (see proposal.py: name, merge_into, drop). Products under the
    category that the proposal does not place (set aside by the image filter, ingested since, or
    placed by an earlier recategorization into a sub-category this one no longer has) are, with
    assign_rest, given the nearest new sub-category, except those the user kept at the category
    by a drop. Sub-categories of earlier runs that no product uses any more leave the taxonomy.
    """
    tax = store_taxonomy(store)
    cat = split_path(prop.category)
    sub = prop.member_paths()
    # Only products still under the category are rewritten: one moved elsewhere since the proposal
    # was made (re-ingested with another mapping) is not pulled back.
    sel = select_category(store, cat, vectors=[], taxonomy=tax)
    current = dict(zip(sel.ids, sel.column("path")))
    deepest = max([len(split_path(p)) for p in current.values()] + [len(cat)])
    paths = {pid: cat + rel for pid, rel in sub.items() if pid in current}
    kept = sorted(pid for pid, rel in sub.items() if pid in current and not rel)
    # Products the image filter set aside are odd shots, often misfiled (a dress among shoes): the
    # nearest sub-category would only hide them, so they stay at the category unless the file asks.
    aside = [] if prop.set_aside.get("assign_nearest") else \
        sorted(pid for pid in prop.set_aside.get("point_ids", []) if pid in current and pid not in paths)
    # Products the proposal does not place keep their sub-category only if it is still in the new
    # tree; one from an earlier recategorization goes back to the category (then to the nearest).
    tree = {p[:k] for p in paths.values() for k in range(len(cat) + 1, len(p) + 1)}
    stale = {pid: cat for pid, p in current.items()
             if pid not in paths and len(split_path(p)) > len(cat) and split_path(p) not in tree}
    _write_paths(store, {**paths, **stale}, clear_from=deepest)
    new_paths = sorted({p for p in paths.values() if p != cat})
    entry = {
        "category": join_path(cat),
        "applied_at": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "proposal_created": prop.created,
        "vectors": prop.params.get("vectors", DEFAULT_SPEC),
        "weights": prop.params.get("weights"),
        "method": prop.params.get("method"),
        "clusters": [{"id": c.id, "name": c.name, "path": join_path(cat + prop.node(c.id)[0]), "size": c.size,
                      **({"merge_into": c.merge_into} if c.merge_into else {}), **({"drop": True} if c.drop else {})}
                     for c in prop.clusters],
        "updated": len(paths),
        "returned_to_category": len(stale),
        "kept_at_category": kept + aside,  # later assign_to_nearest calls leave these alone too
        "set_aside_kept_at_category": aside,
    }
    added = _record(store, cat, new_paths, entry)
    assigned: dict[str, tuple[str, ...]] = {}
    if assign_rest:
        assigned = assign_to_nearest(store, cat, entry["vectors"], entry["weights"], exclude=kept + aside,
                                     text_encoder=text_encoder)
        if assigned:
            schema = read_schema(store)
            schema.recategorizations[-1]["assigned_nearest"] = sum(p != cat for p in assigned.values())
            write_schema(store, schema)
    removed = _settle_taxonomy(store, cat)
    counts = store.facet("path", category_filter(cat), limit=100_000)
    stayed = sum(p == cat for p in assigned.values())
    return ApplyResult(category=join_path(cat), added_paths=added, updated=len(paths),
                       assigned=len(assigned) - stayed, kept_at_category=len(kept) + len(aside) + stayed,
                       set_aside_kept=len(aside),
                       path_counts=dict(sorted(counts.items())), removed_paths=removed)
