"""The encoder interface: text and image encoders producing named, L2-normalized vectors."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image


class ModelLoadError(RuntimeError):
    """A model that cannot be loaded offline; the message says how to point at a local copy."""


class TextEncoder(Protocol):
    """Encodes strings to L2-normalized float32 rows."""

    name: str  # short family name used in vector names, e.g. "minilm", "clip", "roberta"
    dim: int

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """[len(texts), dim] float32, rows L2-normalized (an empty string may map to a zero row)."""


class ImageEncoder(Protocol):
    """Encodes RGB PIL images to L2-normalized float32 rows."""

    name: str  # e.g. "simclr", "clip", "vit"

    @property
    def dim(self) -> int:  # read-only: an attribute or a property (VitImageEncoder's is known once its PCA is)
        """Output dimension."""

    def encode(self, images: Sequence[Image.Image]) -> np.ndarray:
        """[len(images), dim] float32, rows L2-normalized."""


def l2_normalize(x: np.ndarray, eps: float = 1e-12) -> np.ndarray:
    """Row-wise L2 normalization (zero rows stay zero)."""
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(n, eps)


def open_images(paths: Sequence[str]) -> tuple[list[Image.Image | None], list[str]]:
    """Decoded RGB images (None where missing or unreadable) and a note per unusable one."""
    images: list[Image.Image | None] = []
    notes: list[str] = []
    for p in paths:
        note, im = "", None
        if p and not Path(p).is_file():
            note = f"image not found ({p}); classified without it"
        elif p:
            from ..images import ImageRejected, open_rgb

            try:
                im = open_rgb(p)  # oversized images (decompression bombs) are refused, not decoded
            except ImageRejected as exc:
                note = f"image unusable ({exc.kind}); classified without it"
        images.append(im)
        notes.append(note)
    return images, notes
