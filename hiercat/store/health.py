"""Is a store whole? Its point count against the count ingest recorded, and its vectors readable.

Damage met on disk: a lost id-tracker file or segment folder leaves Qdrant Edge loading fewer points
(only what its write-ahead log still holds), silently; a lost vector chunk leaves every point listed
but its vectors unreadable. `check_health` finds both; `hiercat.repair` rebuilds what is lacking.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import StoreError

COUNT_KEY = "point_count"  # store meta: the number of points after the last ingest batch
REPAIR_HINT = "run `hiercat check --repair` (it keeps a copy of the damaged folder)"


class StoreDamagedError(StoreError):
    """The store lacks points or vectors it is known to have held."""


@dataclass
class StoreHealth:
    """What a check found: points now, points recorded, and unreadable or non-finite points."""

    points: int
    expected: int | None
    unreadable: list[str] = field(default_factory=list)  # ids whose vectors cannot be read
    non_finite: list[str] = field(default_factory=list)  # ids holding NaN / inf vectors
    errors: list[str] = field(default_factory=list)  # what reading them said
    checked: int = 0  # points whose vectors were read

    @property
    def missing(self) -> int:
        """Points recorded by ingest that the store no longer lists."""
        return max(0, (self.expected or 0) - self.points)

    @property
    def damaged(self) -> bool:
        return bool(self.missing or self.unreadable or self.non_finite or self.errors)

    def problems(self) -> list[str]:
        """One phrase per kind of damage."""
        out = []
        if self.missing:
            out.append(f"{self.missing} of {self.expected} products are missing (an id tracker or segment was lost)")
        if self.unreadable or self.errors:
            n = len(self.unreadable)
            what = f"{n} products' vectors cannot be read" if n else "vectors cannot be read"
            out.append(f"{what} ({self.errors[0] if self.errors else 'vector storage damaged'})")
        if self.non_finite:
            out.append(f"{len(self.non_finite)} products hold NaN / infinite vectors")
        return out

    def summary(self, where: Any) -> str:
        """'healthy: ...' or 'damaged: ...' in one line."""
        if not self.damaged:
            return f"{where} is healthy: {self.points} products, vectors of {self.checked} read"
        return f"the store {where} is damaged: {'; '.join(self.problems())}; {REPAIR_HINT}"


def _vectors_ok(points: Sequence[Any], dense: Sequence[str]) -> tuple[list[str], list[str]]:
    """(ids lacking a dense vector, ids with a non-finite one) among retrieved points."""
    lacking, bad = [], []
    for p in points:
        if any(name not in p.vectors for name in dense):
            lacking.append(p.id)
        elif any(not np.isfinite(np.asarray(p.vectors[name], dtype=np.float32)).all() for name in dense):
            bad.append(p.id)
    return lacking, bad


def _read(store: Any, ids: Sequence[str], dense: Sequence[str], health: StoreHealth) -> None:
    """Read the vectors of ids, bisecting a failing batch down to the unreadable points."""
    try:
        got = store.retrieve(list(ids), with_vectors=True)
    except Exception as exc:  # noqa: BLE001 - the engine reports damage as a plain runtime error
        if len(ids) == 1:
            health.unreadable.append(ids[0])
            if not health.errors:
                health.errors.append(str(exc).strip().splitlines()[0][:200])
            return
        mid = len(ids) // 2
        _read(store, ids[:mid], dense, health)
        _read(store, ids[mid:], dense, health)
        return
    lacking, bad = _vectors_ok(got, dense)
    health.unreadable.extend(lacking)
    health.non_finite.extend(bad)
    health.checked += len(got)


def check_health(store: Any, full: bool = False, sample: int = 256) -> StoreHealth:
    """Count against the recorded count; read the vectors of every point (full) or of `sample` spread over the store."""
    from .schema import read_schema

    expected = read_schema(store).point_count
    try:
        points = store.count()
    except Exception as exc:  # noqa: BLE001
        raise StoreDamagedError(f"the store {store!r} cannot count its points ({exc}); {REPAIR_HINT}") from exc
    health = StoreHealth(points=points, expected=int(expected) if expected is not None else None)
    if points == 0:
        return health
    dense = list(store.dense_vectors())
    try:
        ids = [p.id for p in store.scroll()]
    except Exception as exc:  # noqa: BLE001
        health.errors.append(str(exc).strip().splitlines()[0][:200])
        return health
    if not full and len(ids) > sample:
        step = len(ids) / sample
        ids = [ids[math.floor(i * step)] for i in range(sample)]
    for lo in range(0, len(ids), 256):
        _read(store, ids[lo: lo + 256], dense, health)
    return health


def record_count(store: Any) -> None:
    """Write the store's point count into its meta (called by ingest after every batch)."""
    from .schema import read_schema, write_schema

    schema = read_schema(store)
    schema.point_count = int(store.count())
    write_schema(store, schema)
