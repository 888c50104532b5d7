"""Encoders: text (MiniLM, CLIP, RoBERTa), image (SimCLR, CLIP, ViT+PCA) and sparse lexical vectors, grouped in presets.

Heavy libraries (torch models, open_clip, transformers) are imported only when a preset or
encoder is built, so importing this package stays cheap.
"""

from __future__ import annotations

from .base import ImageEncoder, ModelLoadError, TextEncoder, l2_normalize
from .cache import CachedTextEncoder
from .lexical import LexicalEncoder
from .presets import PRESETS, Preset, load_preset, preset_from_meta

__all__ = [
    "PRESETS", "CachedTextEncoder", "ImageEncoder", "LexicalEncoder", "ModelLoadError", "Preset", "TextEncoder",
    "l2_normalize", "load_preset", "preset_from_meta",
]
