"""The category tree: Google Product Taxonomy or paths seen in data, with per-level masks of valid children."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

SEP = " > "
# Class index 0 at every level means "the path ended above this level", so a model can
# predict a path that stops early (Shoes has no level 3) and still be masked consistently.
STOP = "<stop>"

_GOOGLE_LINE = re.compile(r"^\s*(\d+)\s+-\s+(.+?)\s*$")


def split_path(path: str, sep: str = SEP) -> tuple[str, ...]:
    """Split 'A > B > C' into ('A', 'B', 'C'), dropping empty parts and surrounding blanks."""
    return tuple(p.strip() for p in str(path).split(sep.strip()) if p.strip())


def join_path(parts: Sequence[str]) -> str:
    """Join path parts with the canonical ' > ' separator."""
    return SEP.join(parts)


@dataclass
class Taxonomy:
    """A rooted tree of categories addressed by full path, with class vocabularies per level."""

    paths: set[tuple[str, ...]] = field(default_factory=set)
    # Nodes that a product may be labelled with although they have children.
    terminal: set[tuple[str, ...]] = field(default_factory=set)
    ids: dict[tuple[str, ...], int] = field(default_factory=dict)

    # ---- construction -------------------------------------------------------------
    @classmethod
    def from_google(cls, file: str | Path) -> Taxonomy:
        """Parse the Google Product Taxonomy file (`id - A > B > C` lines)."""
        tax = cls()
        with open(file, encoding="utf-8") as fh:
            for lineno, line in enumerate(fh, 1):
                if not line.strip() or line.startswith("#"):
                    continue
                m = _GOOGLE_LINE.match(line)
                if not m:
                    raise ValueError(f"{file}:{lineno}: not a taxonomy line 'id - A > B': {line.strip()!r}")
                parts = split_path(m.group(2))
                tax.add_path(parts)
                tax.ids[parts] = int(m.group(1))
        return tax

    @classmethod
    def from_paths(cls, paths: Iterable[Sequence[str] | str]) -> Taxonomy:
        """Build the tree induced by label paths; every given path is a valid terminal."""
        tax = cls()
        for p in paths:
            parts = split_path(p) if isinstance(p, str) else tuple(p)
            if parts:
                tax.add_path(parts, terminal=True)
        return tax

    def add_path(self, path: Sequence[str] | str, terminal: bool = False) -> tuple[str, ...]:
        """Add a path and all its ancestors; mark it terminal (a valid label) if asked."""
        parts = split_path(path) if isinstance(path, str) else tuple(path)
        for i in range(1, len(parts) + 1):
            self.paths.add(parts[:i])
        if terminal:
            self.terminal.add(parts)
        self._invalidate()
        return parts

    def restrict(self, label_paths: Iterable[Sequence[str] | str]) -> Taxonomy:
        """The subtree spanned by the given label paths (the classes a model can learn)."""
        sub = Taxonomy.from_paths(label_paths)
        for p in sub.paths:
            if p not in self.paths:
                raise KeyError(f"path not in taxonomy: {join_path(p)!r}")
        return sub

    # ---- queries ------------------------------------------------------------------
    def __contains__(self, path: object) -> bool:
        parts = split_path(path) if isinstance(path, str) else tuple(path)  # type: ignore[arg-type]
        return parts in self.paths

    def __len__(self) -> int:
        return len(self.paths)

    @property
    def depth(self) -> int:
        """Number of levels (length of the longest path)."""
        return len(self._index()["levels"])  # cached: encode asks for it once per product

    def children(self, path: Sequence[str] = ()) -> list[tuple[str, ...]]:
        """Sorted direct children of a node (the root is the empty path)."""
        return self._index()["children"].get(tuple(path), [])

    def is_leaf(self, path: Sequence[str]) -> bool:
        """True if the node has no children."""
        return not self.children(path)

    def can_stop(self, path: Sequence[str]) -> bool:
        """True if a label path may end at this node (a leaf, or a node used as a label)."""
        p = tuple(path)
        return self.is_leaf(p) or p in self.terminal

    def find(self, name: str) -> list[tuple[str, ...]]:
        """Nodes whose full path or last part equals `name` (case-insensitive)."""
        want = split_path(name)
        low = [w.lower() for w in want]
        return sorted(
            p for p in self.paths
            if [x.lower() for x in p] == low or (len(want) == 1 and p[-1].lower() == low[0])
        )

    def encode(self, path: Sequence[str] | str) -> list[int]:
        """Per-level class indices of a label path (0 = STOP beyond its depth)."""
        parts = split_path(path) if isinstance(path, str) else tuple(path)
        idx = self._index()["class_index"]
        out = []
        for level in range(1, self.depth + 1):
            if level <= len(parts):
                out.append(idx[level - 1][parts[:level]])
            else:
                out.append(0)
        return out

    def decode(self, indices: Sequence[int]) -> tuple[str, ...]:
        """Inverse of `encode`: a path from per-level class indices (stops at the first STOP)."""
        levels = self._index()["levels"]
        path: tuple[str, ...] = ()
        for level, i in enumerate(indices):
            if i == 0:
                break
            path = levels[level][i - 1]
        return path

    def child_mask(self, level: int) -> np.ndarray:
        """Boolean [classes(level-1), classes(level)] matrix: which level classes may follow a parent class.

        Level 1's parent is the root (a single row). STOP may only follow STOP or a node where a
        path can end, so every masked decode yields a path that exists in the tree.
        """
        if level == 1:
            roots = self.children(())
            mask = np.zeros((1, len(roots) + 1), dtype=bool)
            mask[0, 1:] = True
            return mask
        parents = self._index()["levels"][level - 2]
        idx = self._index()["class_index"][level - 1]
        mask = np.zeros((len(parents) + 1, len(self._index()["levels"][level - 1]) + 1), dtype=bool)
        mask[0, 0] = True
        for r, p in enumerate(parents, start=1):
            for c in self.children(p):
                mask[r, idx[c]] = True
            if self.can_stop(p):
                mask[r, 0] = True
        return mask

    def valid_label_paths(self) -> list[tuple[str, ...]]:
        """Every path a product may be labelled with (leaves and terminal nodes), sorted."""
        return sorted(p for p in self.paths if self.can_stop(p))

    # ---- persistence --------------------------------------------------------------
    def to_dict(self) -> dict:
        """JSON-ready form (sorted paths, terminal paths)."""
        return {
            "paths": sorted(join_path(p) for p in self.paths),
            "terminal": sorted(join_path(p) for p in self.terminal),
        }

    @classmethod
    def from_dict(cls, data: dict) -> Taxonomy:
        """Inverse of `to_dict`."""
        tax = cls()
        for p in data.get("paths", []):
            tax.add_path(p)
        for p in data.get("terminal", []):
            tax.add_path(p, terminal=True)
        return tax

    def save(self, file: str | Path) -> None:
        """Write the taxonomy as JSON."""
        Path(file).write_text(json.dumps(self.to_dict(), indent=1), encoding="utf-8")

    @classmethod
    def load(cls, file: str | Path) -> Taxonomy:
        """Read a taxonomy JSON written by `save`, or a Google taxonomy text file."""
        file = Path(file)
        if file.suffix == ".json":
            return cls.from_dict(json.loads(file.read_text(encoding="utf-8")))
        return cls.from_google(file)

    # ---- internals ----------------------------------------------------------------
    def _invalidate(self) -> None:
        self.__dict__.pop("_cache", None)

    def _index(self) -> dict:
        cache = self.__dict__.get("_cache")
        if cache is None:
            children: dict[tuple[str, ...], list[tuple[str, ...]]] = {}
            for p in self.paths:
                children.setdefault(p[:-1], []).append(p)
            for v in children.values():
                v.sort()
            depth = max((len(p) for p in self.paths), default=0)
            levels = [sorted(p for p in self.paths if len(p) == d) for d in range(1, depth + 1)]
            class_index = [{p: i + 1 for i, p in enumerate(lv)} for lv in levels]
            cache = {"children": children, "levels": levels, "class_index": class_index}
            self.__dict__["_cache"] = cache
        return cache


GOOGLE_TAXONOMY = Path(__file__).parent / "assets" / "google-product-taxonomy-2021-09-21.txt"
"""The Google Product Taxonomy shipped with hiercat: the default target taxonomy."""
