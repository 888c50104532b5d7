"""Reference labels to judge clusters by: a payload column, optionally cut to its first path levels."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..taxonomy import join_path, split_path


def parse_reference(spec: str) -> tuple[str, int | None]:
    """'native_category' -> (column, None); 'native_category:2' -> (column, first 2 path levels)."""
    column, _, depth = spec.partition(":")
    if not column:
        raise ValueError(f"reference must name a payload column, got {spec!r}")
    if depth and (not depth.isdigit() or int(depth) < 1):
        raise ValueError(f"reference depth must be a positive integer ('{column}:2'), got {depth!r}")
    return column, int(depth) if depth else None


def reference_labels(payload: pd.DataFrame, spec: str) -> np.ndarray:
    """The reference label of every row ('' where the column is missing)."""
    column, depth = parse_reference(spec)
    if column not in payload.columns:
        raise ValueError(f"no payload column {column!r} for the reference; have {', '.join(map(str, payload.columns))}")
    values = payload[column].map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else
                                 (join_path(v) if isinstance(v, (list, tuple)) else str(v)))
    if depth:
        values = values.map(lambda v: join_path(split_path(v)[:depth]))
    return values.to_numpy(dtype=object)
