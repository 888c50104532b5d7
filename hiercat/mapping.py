"""Mapping tables from a shop's native category path to a target-taxonomy path."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from .taxonomy import Taxonomy, join_path, split_path

UNSURE = ("review", "mixed")  # proposal statuses whose target ingest does not apply


class MappingError(ValueError):
    """A mapping table that is malformed or points outside the target taxonomy."""


@dataclass
class CategoryMapping:
    """native path -> target path; a native path mapped to nothing is 'not a product type'."""

    table: dict[tuple[str, ...], tuple[str, ...] | None]
    source: str = ""
    target_name: str = "Google Product Taxonomy"
    # native path -> 'review' or 'mixed' for the rows of a proposed mapping (hiercat propose-mapping)
    # that were not accepted: their target is a guess that ingest must not apply.
    unsure: dict[tuple[str, ...], str] = field(default_factory=dict)

    @classmethod
    def load(cls, file: str | Path, taxonomy: Taxonomy | None = None, sep: str = " > ") -> CategoryMapping:
        """Read a CSV with columns native_category, gpt_category (or target_category).

        Every non-empty target must exist in `taxonomy`; the error names the mapping row.
        """
        file = Path(file)
        if not file.exists():
            raise MappingError(f"{file}: mapping file not found")
        import io

        from .catalog_read import CatalogError, decode_utf8

        try:
            text = decode_utf8(file, file.read_bytes())
            df = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)
        except CatalogError as exc:
            raise MappingError(str(exc)) from None
        except (pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise MappingError(f"{file}: cannot read the mapping CSV: {' '.join(str(exc).split())}") from None
        target_col = next((c for c in ("gpt_category", "target_category", "target") if c in df.columns), None)
        if "native_category" not in df.columns or target_col is None:
            raise MappingError(f"{file}: needs columns native_category and gpt_category (or target_category)")
        table: dict[tuple[str, ...], tuple[str, ...] | None] = {}
        unsure: dict[tuple[str, ...], str] = {}
        statuses = df["status"].str.strip().str.lower() if "status" in df.columns else pd.Series("", index=df.index)
        for i, (native, target, status) in enumerate(zip(df["native_category"], df[target_col], statuses), start=2):
            n = split_path(native, sep)
            t = split_path(target) if target.strip() else None
            if t is not None and taxonomy is not None and t not in taxonomy:
                raise MappingError(f"{file}:{i}: target {join_path(t)!r} is not in the taxonomy")
            if status not in ("", "auto", "ok", *UNSURE):
                raise MappingError(f"{file}:{i}: status {status!r} is not one of auto, review, mixed (or empty)")
            table[n] = t
            if status in UNSURE:
                unsure[n] = status
        return cls(table=table, source=str(file), unsure=unsure)

    def lookup(self, native: tuple[str, ...]) -> tuple[str, ...] | None:
        """The target path of a native path, or None if unmapped, mapped to nothing or marked unsure."""
        if tuple(native) in self.unsure:
            return None
        return self.table.get(tuple(native))
