"""Purity of clusters against a reference labelling (e.g. the shops' native categories)."""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass
class ClusterPurity:
    """One cluster's majority reference label, its count, the cluster size and their ratio."""

    majority: str
    count: int
    size: int

    @property
    def purity(self) -> float:
        """Share of the cluster carrying its majority label."""
        return self.count / self.size if self.size else 0.0


def cluster_purity(labels: Sequence[Hashable] | np.ndarray, reference: Sequence[str] | np.ndarray) -> dict[Any, ClusterPurity]:
    """Per cluster: majority reference label (ties: alphabetical first), its count and the size."""
    labels = np.asarray(labels)
    reference = np.asarray(reference, dtype=object)
    if len(labels) != len(reference):
        raise ValueError(f"{len(labels)} cluster labels but {len(reference)} reference labels")
    out: dict[Any, ClusterPurity] = {}
    for c in np.unique(labels):
        ref = reference[labels == c]
        values, counts = np.unique(ref.astype(str), return_counts=True)  # values come sorted
        best = int(np.argmax(counts))  # first maximum = alphabetically first among ties
        key = c.item() if isinstance(c, np.generic) else c
        out[key] = ClusterPurity(str(values[best]), int(counts[best]), int(len(ref)))
    return out


def purity(labels: Sequence[Hashable] | np.ndarray, reference: Sequence[str] | np.ndarray) -> float:
    """Size-weighted purity: share of points whose cluster's majority reference label is their own."""
    per = cluster_purity(labels, reference)
    total = sum(p.size for p in per.values())
    return sum(p.count for p in per.values()) / total if total else 0.0
