"""An LRU cache in front of a text encoder: brands (and duplicate titles) repeat across a catalog."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence

import numpy as np

from .base import TextEncoder


class CachedTextEncoder:
    """A TextEncoder that encodes each distinct string once and remembers the last `maxsize` rows."""

    def __init__(self, encoder: TextEncoder, maxsize: int = 20_000) -> None:
        self.encoder = encoder
        self.name = encoder.name
        self.dim = encoder.dim
        self.maxsize = maxsize
        self._rows: OrderedDict[str, np.ndarray] = OrderedDict()
        self.hits = 0
        self.misses = 0

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """[len(texts), dim] float32 rows, encoding only strings not seen recently (each once per call)."""
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        todo: dict[str, list[int]] = {}
        for i, t in enumerate(texts):
            row = self._rows.get(t)
            if row is None:
                todo.setdefault(t, []).append(i)
            else:
                self._rows.move_to_end(t)
                out[i] = row
                self.hits += 1
        if todo:
            new = list(todo)
            vecs = self.encoder.encode(new)
            self.misses += len(new)
            for t, vec in zip(new, vecs):
                out[todo[t]] = vec
                self._rows[t] = vec.copy()  # a view would pin the whole batch array in memory
            while len(self._rows) > self.maxsize:
                self._rows.popitem(last=False)
        return out

    def clear(self) -> None:
        """Forget every cached row."""
        self._rows.clear()
        self.hits = self.misses = 0
