"""Mapping tables from a shop's native category path to a target-taxonomy path."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .taxonomy import Taxonomy, join_path, split_path


class MappingError(ValueError):
    """A mapping table that is malformed or points outside the target taxonomy."""


@dataclass
class CategoryMapping:
    """native path -> target path; a native path mapped to nothing is 'not a product type'."""

    table: dict[tuple[str, ...], tuple[str, ...] | None]
    source: str = ""
    target_name: str = "Google Product Taxonomy"

    @classmethod
    def load(cls, file: str | Path, taxonomy: Taxonomy | None = None, sep: str = " > ") -> "CategoryMapping":
        """Read a CSV with columns native_category, gpt_category (or target_category).

        Every non-empty target must exist in `taxonomy`; the error names the mapping row.
        """
        file = Path(file)
        if not file.exists():
            raise MappingError(f"{file}: mapping file not found")
        df = pd.read_csv(file, dtype=str, keep_default_na=False)
        target_col = next((c for c in ("gpt_category", "target_category", "target") if c in df.columns), None)
        if "native_category" not in df.columns or target_col is None:
            raise MappingError(f"{file}: needs columns native_category and gpt_category (or target_category)")
        table: dict[tuple[str, ...], tuple[str, ...] | None] = {}
        for i, (native, target) in enumerate(zip(df["native_category"], df[target_col]), start=2):
            n = split_path(native, sep)
            t = split_path(target) if target.strip() else None
            if t is not None and taxonomy is not None and t not in taxonomy:
                raise MappingError(f"{file}:{i}: target {join_path(t)!r} is not in the taxonomy")
            table[n] = t
        return cls(table=table, source=str(file))

    def lookup(self, native: tuple[str, ...]) -> tuple[str, ...] | None:
        """The target path of a native path, or None if unmapped or mapped to nothing."""
        return self.table.get(tuple(native))
