"""Encoders: text (MiniLM, CLIP, RoBERTa), image (SimCLR, CLIP, ViT+PCA) and sparse lexical vectors, grouped in presets.

Heavy libraries (torch models, open_clip, transformers) are imported only when a preset or
encoder is built, so importing this package stays cheap.
"""

from __future__ import annotations

import os

# Every model loads from a local path or the local hub cache; never wait on an unreachable hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from .base import ImageEncoder, ModelLoadError, TextEncoder, l2_normalize  # noqa: E402
from .cache import CachedTextEncoder  # noqa: E402
from .lexical import LexicalEncoder  # noqa: E402
from .presets import PRESETS, Preset, load_preset, preset_from_meta  # noqa: E402

__all__ = [
    "PRESETS", "CachedTextEncoder", "ImageEncoder", "LexicalEncoder", "ModelLoadError", "Preset", "TextEncoder",
    "l2_normalize", "load_preset", "preset_from_meta",
]
