"""Zero-shot scores of the target taxonomy's own category names, for the categories no training shop has.

A model can only predict the categories it was trained on; a new shop may sell what no training shop
sold (perfume, nail polish). The taxonomy names every category, so a product whose text is close to
a category's name, while the model is unsure, can still be placed there. Measured on the shared data
(bench/RESULTS.md); it only ever proposes categories outside the model's own.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from safetensors.numpy import load_file, save_file

from .files import user_mode
from .taxonomy import GOOGLE_TAXONOMY as GOOGLE_TAXONOMY  # re-exported: where the category names come from
from .taxonomy import Taxonomy, join_path, split_path

FILE = "category_names.safetensors"
# Used only where the model's own confidence is below MAX_MODEL_CONFIDENCE and the category name nearest to
# the product's text lies outside the model's taxonomy, at a cosine of at least MIN_SIMILARITY.
MAX_MODEL_CONFIDENCE = 0.5
MIN_SIMILARITY = 0.6


@dataclass
class CategoryNames:
    """Every category of a taxonomy with the text encoder's vector of its own name (its last level)."""

    paths: list[tuple[str, ...]]
    vectors: np.ndarray  # [P, d], rows L2-normalized

    @classmethod
    def embed(cls, taxonomy: Taxonomy, encode: Any) -> CategoryNames:
        """`encode(list of str) -> [n, d]` vectors of each category's name ("Nail Polishes")."""
        paths = sorted(taxonomy.paths)
        vecs = np.asarray(encode([p[-1] for p in paths]), dtype=np.float32)
        vecs /= np.maximum(np.linalg.norm(vecs, axis=1, keepdims=True), 1e-9)
        return cls(paths, vecs)

    def save(self, folder: str | Path) -> Path:
        """Write FILE (the vectors, with the paths in its metadata) into a model folder."""
        file = Path(folder) / FILE
        save_file({"vectors": self.vectors}, str(file),
                  metadata={"paths": json.dumps([join_path(p) for p in self.paths], ensure_ascii=False)})
        return user_mode(file)  # safetensors writes 0600

    @classmethod
    def load(cls, folder: str | Path) -> CategoryNames | None:
        """The category names saved beside a model, None where the model has none."""
        file = Path(folder) / FILE
        if not file.exists():
            return None
        from safetensors import safe_open

        with safe_open(str(file), framework="np") as fh:
            paths = [split_path(p) for p in json.loads(fh.metadata()["paths"])]
        return cls(paths, load_file(str(file))["vectors"])

    def nearest(self, text: np.ndarray, exclude: set[tuple[str, ...]] | None = None) -> tuple[list[tuple[str, ...]], np.ndarray]:
        """For each row of `text` [N, d], the closest category not in `exclude`, and its cosine similarity."""
        allowed = np.array([p not in (exclude or set()) for p in self.paths])
        if not allowed.any() or not len(text):
            return [() for _ in range(len(text))], np.zeros(len(text), dtype=np.float32)
        norms = np.maximum(np.linalg.norm(text, axis=1, keepdims=True), 1e-9)
        sims = (text / norms) @ self.vectors[allowed].T
        best = sims.argmax(axis=1)
        paths = [p for p, ok in zip(self.paths, allowed) if ok]
        return [paths[i] for i in best], sims[np.arange(len(best)), best].astype(np.float32)


def text_vector(dense: dict[str, np.ndarray], names: Sequence[str]) -> np.ndarray | None:
    """The sum of the named dense vectors present in `dense` (the product words and description), None if none is."""
    parts = [dense[n] for n in names if n in dense]
    return np.sum(parts, axis=0) if parts else None


def zero_shot_override(model_conf: np.ndarray, text: np.ndarray, names: CategoryNames,
                       known: set[tuple[str, ...]], max_conf: float = MAX_MODEL_CONFIDENCE,
                       min_sim: float = MIN_SIMILARITY) -> tuple[np.ndarray, list[tuple[str, ...]], np.ndarray]:
    """(rows to override, their zero-shot paths, similarities): unsure rows whose text names a category the model lacks.

    The nearest of all category names must be one the model lacks: a text closest to a category the model
    knows ("Harem Pants" to Pants, not to Rain Pants) is the model's to decide.
    """
    paths, sims = names.nearest(text)
    novel = np.array([p not in known for p in paths], dtype=bool)
    use = (np.asarray(model_conf) < max_conf) & (sims >= min_sim) & novel
    return use, paths, sims
