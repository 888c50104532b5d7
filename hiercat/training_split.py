"""The products a model was trained, validated and tested on, kept beside the model (not in the store).

A model records its own split: training one model never changes another's neighbours or test set,
and a deployed model's kNN vote draws only on the products it learned from (its neighbour set),
plus any product a reviewer has corrected since (payload `reviewed_path`, `hiercat.feedback`), which
counts at once.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from .store.base import Hit

SPLIT_FILE = "split.parquet"
PARTS = ("train", "val", "test")


@dataclass
class TrainingSplit:
    """Point ids per part; `test` is empty for a production fit, which learns from every labelled product."""

    train: list[str]
    val: list[str]
    test: list[str] = field(default_factory=list)
    seed: int = 0

    def __post_init__(self) -> None:
        self._neighbours = frozenset(self.train) | frozenset(self.val)

    @classmethod
    def from_positions(cls, ids: Sequence[str], train: Sequence[int] | np.ndarray, val: Sequence[int] | np.ndarray,
                       test: Sequence[int] | np.ndarray, seed: int = 0) -> TrainingSplit:
        """The split of `ids` at the given positions."""
        return cls([ids[i] for i in train], [ids[i] for i in val], [ids[i] for i in test], seed)

    @property
    def neighbour_ids(self) -> frozenset[str]:
        """The products kNN may draw on: those the model learned from (train + validation)."""
        return self._neighbours

    def is_neighbour(self, hit: Hit) -> bool:
        """A search hit the kNN vote may use: in the neighbour set, or corrected by a reviewer."""
        return hit.id in self._neighbours or bool(hit.payload.get("reviewed_path"))

    def part_of(self, point_id: str) -> str:
        """'train', 'val', 'test', or '' for a product the model never saw."""
        for part in PARTS:
            if point_id in set(getattr(self, part)):
                return part
        return ""

    def save(self, folder: str | Path) -> Path:
        """Write `split.parquet` (point_id, part, seed) into the model folder."""
        file = Path(folder) / SPLIT_FILE
        rows = [(pid, part) for part in PARTS for pid in getattr(self, part)]
        pd.DataFrame({"point_id": [r[0] for r in rows], "part": [r[1] for r in rows],
                      "seed": self.seed}).to_parquet(file, index=False)
        return file

    @classmethod
    def load(cls, folder: str | Path) -> TrainingSplit | None:
        """The split saved in a model folder; None for a model saved before models recorded one."""
        file = Path(folder) / SPLIT_FILE
        if not file.exists():
            return None
        df = pd.read_parquet(file)
        parts = {p: df.loc[df["part"] == p, "point_id"].astype(str).tolist() for p in PARTS}
        seed = int(df["seed"].iloc[0]) if len(df) else 0
        return cls(parts["train"], parts["val"], parts["test"], seed)
