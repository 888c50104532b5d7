"""Text and image encoders "clip" from one open_clip model (shared embedding space)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from .base import ModelLoadError, l2_normalize
from .device import autocast, batched, pick_device

ENV_MODEL = "HIERCAT_CLIP_MODEL"
ENV_PRETRAINED = "HIERCAT_CLIP_PRETRAINED"
_HOW_TO = (f"offline, download the checkpoint elsewhere (open_clip_pytorch_model.bin or .safetensors) and pass it "
           f"as the clip_pretrained option / set {ENV_PRETRAINED}=/path/to/checkpoint; a custom architecture can be "
           f"given as a model-config JSON via the clip_model option / {ENV_MODEL}=/path/to/config.json")
log = logging.getLogger(__name__)


def resolve_model_name(model_name: str) -> str:
    """An open_clip model id for a built-in name, 'hf-hub:'/'local-dir:' id, config JSON file or local folder."""
    path = Path(model_name)
    if model_name.endswith(".json"):
        if not path.is_file():
            raise ModelLoadError(f"CLIP: model config {model_name} not found; {_HOW_TO}")
        import open_clip

        # open_clip registers configs under their file stem.
        open_clip.add_model_config(path)
        return path.stem
    if ":" not in model_name and path.is_dir():
        return f"local-dir:{path}"
    return model_name


def _looks_like_path(value: str) -> bool:
    return "/" in value or "\\" in value or value.endswith((".bin", ".pt", ".pth", ".safetensors", ".npz"))


class _ClipText:
    """The text tower as a TextEncoder."""

    name = "clip"

    def __init__(self, owner: ClipEncoders) -> None:
        self._owner = owner
        self.dim = owner.dim

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """[len(texts), dim] float32, rows L2-normalized (empty strings -> zero rows)."""
        return self._owner.encode_text(texts)


class _ClipImage:
    """The image tower as an ImageEncoder."""

    name = "clip"

    def __init__(self, owner: ClipEncoders) -> None:
        self._owner = owner
        self.dim = owner.dim

    def encode(self, images: Sequence[Image.Image]) -> np.ndarray:
        """[len(images), dim] float32, rows L2-normalized."""
        return self._owner.encode_images(images)


class ClipEncoders:
    """One open_clip model; `.text` and `.image` are its TextEncoder and ImageEncoder (both named "clip").

    `model_name`: a built-in open_clip name ("ViT-B-32"), "hf-hub:org/repo", a local folder with
    open_clip_config.json, or a model-config JSON file. `pretrained`: None (random weights), a tag
    such as "openai" (needs the hub or its cache), or a local checkpoint file.
    """

    def __init__(self, model_name: str = "ViT-B-32", pretrained: str | None = None,
                 device: str | torch.device | None = None, batch_size: int = 256) -> None:
        import open_clip

        self.model_name = model_name
        self.pretrained = pretrained or None
        self.device = pick_device(device)
        self.batch_size = batch_size
        if self.pretrained and _looks_like_path(self.pretrained) and not Path(self.pretrained).is_file():
            raise ModelLoadError(f"CLIP {model_name}: checkpoint {self.pretrained} not found; {_HOW_TO}")
        name = resolve_model_name(model_name)
        if not self.pretrained and not name.startswith(("hf-hub:", "local-dir:")):
            log.warning("CLIP %s has no pretrained weights: embeddings are random projections", name)
        try:
            self.model, _, self.preprocess = open_clip.create_model_and_transforms(
                name, pretrained=self.pretrained, device=self.device)
            self.tokenizer = open_clip.get_tokenizer(name)
        except (RuntimeError, OSError, ValueError, KeyError) as exc:
            raise ModelLoadError(f"CLIP {model_name} (pretrained={self.pretrained!r}) could not be loaded: "
                                 f"{str(exc).rstrip('. ')}; {_HOW_TO}") from exc
        self.model.eval()
        with torch.inference_mode():
            self.dim = int(self.model.encode_text(self.tokenizer(["x"]).to(self.device)).shape[-1])
        self.text = _ClipText(self)
        self.image = _ClipImage(self)

    @torch.inference_mode()
    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """[len(texts), dim] float32 text embeddings, L2-normalized (empty strings -> zero rows)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        keep = [i for i, t in enumerate(texts) if t and t.strip()]
        for idx in batched(keep, self.batch_size):
            tokens = self.tokenizer([texts[i] for i in idx]).to(self.device)
            with autocast(self.device):
                out[list(idx)] = self.model.encode_text(tokens).float().cpu().numpy()
        return l2_normalize(out)

    @torch.inference_mode()
    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        """[len(images), dim] float32 image embeddings, L2-normalized."""
        out = np.zeros((len(images), self.dim), dtype=np.float32)
        for lo, chunk in zip(range(0, len(images), self.batch_size), batched(list(images), self.batch_size)):
            x = torch.stack([self.preprocess(im.convert("RGB")) for im in chunk]).to(self.device)
            with autocast(self.device):
                out[lo: lo + len(chunk)] = self.model.encode_image(x).float().cpu().numpy()
        return l2_normalize(out)
