"""The paper's encoders: RoBERTa mean-pooled text vectors and ViT image vectors reduced by PCA.

Both load from a Hugging Face hub name (which then must be in the local cache, since hiercat runs
offline) or from a local folder written by `save_pretrained`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import numpy as np
import torch
from PIL import Image
from safetensors import safe_open
from safetensors.numpy import save_file

from .base import ModelLoadError, l2_normalize
from .device import autocast, batched, pick_device

ENV_ROBERTA = "HIERCAT_ROBERTA"
ENV_VIT = "HIERCAT_VIT"
ENV_VIT_PCA = "HIERCAT_VIT_PCA"
ENV_VIT_PCA_FIT = "HIERCAT_VIT_PCA_FIT"
T = TypeVar("T")


def _load_hf(kind: str, model: str, env: str, option: str, loader: Callable[[str], T]) -> T:
    """Call a from_pretrained loader, turning 'not found / offline' into a ModelLoadError that says what to do."""
    how = (f"hiercat runs offline: save the model with save_pretrained where the hub is reachable and pass "
           f"the folder as the {option} option or set {env}=/path/to/folder")
    local = Path(model).expanduser()
    if local.exists():
        model = str(local)
    elif model.startswith((".", "/", "~")) or model.count("/") > 1:
        raise ModelLoadError(f"{kind}: model folder {model} not found; {how}")
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()  # no "Loading weights" bar in every command
    try:
        return loader(model)
    except (OSError, ValueError, KeyError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise ModelLoadError(f"{kind}: cannot load {model!r} ({type(exc).__name__}: {first}); {how}") from exc


class RobertaTextEncoder:
    """Text encoder "roberta": attention-mask-weighted mean of RoBERTa's last hidden state, L2-normalized."""

    name = "roberta"

    def __init__(self, model: str = "roberta-base", device: str | torch.device | None = None,
                 batch_size: int = 64, max_length: int = 64) -> None:
        from transformers import AutoModel, AutoTokenizer

        self.model_name = model
        self.device = pick_device(device)
        self.batch_size = batch_size
        self.max_length = max_length
        self.tokenizer = _load_hf("RoBERTa text encoder", model, ENV_ROBERTA, "roberta", AutoTokenizer.from_pretrained)
        self.model = _load_hf("RoBERTa text encoder", model, ENV_ROBERTA, "roberta", AutoModel.from_pretrained)
        self.model.to(self.device).eval()
        self.dim = int(self.model.config.hidden_size)

    @torch.inference_mode()
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """[len(texts), hidden] float32, rows L2-normalized (empty strings -> zero rows)."""
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        keep = [i for i, t in enumerate(texts) if t and t.strip()]
        for idx in batched(keep, self.batch_size):
            enc = self.tokenizer([texts[i] for i in idx], padding=True, truncation=True,
                                 max_length=self.max_length, return_tensors="pt").to(self.device)
            with autocast(self.device):
                hidden = self.model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).last_hidden_state
            mask = enc["attention_mask"].unsqueeze(-1).float()
            mean = (hidden.float() * mask).sum(1) / mask.sum(1).clamp(min=1.0)
            out[list(idx)] = mean.cpu().numpy()
        return l2_normalize(out)


class PCAReducer:
    """A fitted PCA (components, mean, explained variance) that round-trips through safetensors."""

    def __init__(self, components: np.ndarray, mean: np.ndarray, explained_variance: np.ndarray,
                 explained_variance_ratio: np.ndarray, meta: dict | None = None) -> None:
        # C order: sklearn's components_ can be a Fortran-ordered view, which safetensors would write scrambled.
        self.components = np.ascontiguousarray(components, dtype=np.float32)
        self.mean = np.ascontiguousarray(mean, dtype=np.float32)
        self.explained_variance = np.ascontiguousarray(explained_variance, dtype=np.float32)
        self.explained_variance_ratio = np.ascontiguousarray(explained_variance_ratio, dtype=np.float32)
        self.meta = dict(meta or {})

    @property
    def dim(self) -> int:
        """Number of kept components."""
        return int(self.components.shape[0])

    @classmethod
    def fit(cls, x: np.ndarray, variance: float = 0.9, meta: dict | None = None) -> PCAReducer:
        """Fit sklearn's PCA keeping the smallest number of components that explain `variance`."""
        from sklearn.decomposition import PCA

        if len(x) < 2:
            raise ValueError(f"PCA needs at least 2 samples, got {len(x)}")
        pca = PCA(n_components=variance, svd_solver="full").fit(np.asarray(x, dtype=np.float64))
        return cls(pca.components_, pca.mean_, pca.explained_variance_, pca.explained_variance_ratio_,
                   {**(meta or {}), "variance_target": variance, "n_samples": len(x)})

    def transform(self, x: np.ndarray) -> np.ndarray:
        """Project rows onto the kept components."""
        return (np.asarray(x, dtype=np.float32) - self.mean) @ self.components.T

    def save(self, path: str | Path) -> None:
        """Write components, mean and explained variance as safetensors (config in the metadata)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        save_file({"components": self.components, "mean": self.mean, "explained_variance": self.explained_variance,
                   "explained_variance_ratio": self.explained_variance_ratio},
                  str(path), metadata={k: json.dumps(v) for k, v in self.meta.items()})

    @classmethod
    def load(cls, path: str | Path) -> PCAReducer:
        """Read a PCA written by `save`."""
        with safe_open(str(path), framework="np") as f:
            t = {k: f.get_tensor(k) for k in f.keys()}
            meta = {k: json.loads(v) for k, v in (f.metadata() or {}).items()}
        return cls(t["components"], t["mean"], t["explained_variance"], t["explained_variance_ratio"], meta)


class VitImageEncoder:
    """Image encoder "vit": ViT [CLS] features reduced by a PCA keeping 90 % of the variance.

    The PCA is read from `pca_path` when that file exists; otherwise it is fitted on the first
    images passed to `encode` (or explicitly with `fit_pca`) and saved to `pca_path`, then reused.
    `dim` is the number of kept components, so it is known only once the PCA is fitted: reading it
    before raises ModelLoadError (a RuntimeError). A store's schema needs `dim` before the first
    product is encoded, so ingest with a fitted PCA file or with images to fit it on (`vit_pca_fit`).
    """

    name = "vit"

    def __init__(self, model: str = "google/vit-base-patch16-224", pca_path: str | Path | None = None,
                 variance: float = 0.9, device: str | torch.device | None = None, batch_size: int = 64) -> None:
        from transformers import AutoImageProcessor, ViTModel

        self.model_name = model
        self.device = pick_device(device)
        self.batch_size = batch_size
        self.variance = variance
        self.pca_path = Path(pca_path) if pca_path else None
        self.processor = _load_hf("ViT image encoder", model, ENV_VIT, "vit", AutoImageProcessor.from_pretrained)
        # No pooling layer: the classification checkpoint has no pooler weights, the [CLS] state is the feature.
        self.model = _load_hf("ViT image encoder", model, ENV_VIT, "vit",
                              lambda m: ViTModel.from_pretrained(m, add_pooling_layer=False))
        # transformers wraps PreTrainedModel.to with functools.wraps(nn.Module.to), so its stub loses `self`
        self.model.to(self.device).eval()  # type: ignore[arg-type]
        self.feature_dim = int(self.model.config.hidden_size)
        self.pca: PCAReducer | None = None
        if self.pca_path is not None and self.pca_path.is_file():
            self.pca = PCAReducer.load(self.pca_path)
            if self.pca.components.shape[1] != self.feature_dim:
                raise ModelLoadError(f"ViT image encoder: PCA {self.pca_path} expects {self.pca.components.shape[1]}-d "
                                     f"features but {model} gives {self.feature_dim}-d; delete it to refit or set "
                                     f"{ENV_VIT_PCA} to the PCA fitted for this model")

    @property
    def fitted(self) -> bool:
        """Whether the PCA is available."""
        return self.pca is not None

    @property
    def dim(self) -> int:
        """Output dimension = kept PCA components (ModelLoadError, a RuntimeError, before the PCA is fitted)."""
        if self.pca is None:
            raise ModelLoadError(
                "the ViT+PCA image vector has no dimension until its PCA is fitted: point the vit_pca option / "
                f"{ENV_VIT_PCA} at a fitted PCA file, or give images to fit it on with the vit_pca_fit option / "
                f"{ENV_VIT_PCA_FIT}=IMAGES_DIR (or call fit_pca(images))")
        return self.pca.dim

    @torch.inference_mode()
    def features(self, images: Sequence[Image.Image]) -> np.ndarray:
        """[len(images), hidden] raw ViT [CLS] features (before PCA)."""
        out = np.zeros((len(images), self.feature_dim), dtype=np.float32)
        for lo, chunk in zip(range(0, len(images), self.batch_size), batched(list(images), self.batch_size)):
            pixels = self.processor(images=[im.convert("RGB") for im in chunk], return_tensors="pt")["pixel_values"]
            with autocast(self.device):
                hidden = self.model(pixel_values=pixels.to(self.device)).last_hidden_state
            out[lo: lo + len(chunk)] = hidden[:, 0].float().cpu().numpy()
        return out

    def fit_pca(self, images: Sequence[Image.Image]) -> int:
        """Fit the PCA on these images' features, save it to pca_path (when set) and return the kept dimension."""
        self.pca = PCAReducer.fit(self.features(images), self.variance, {"model": self.model_name})
        if self.pca_path is not None:
            self.pca.save(self.pca_path)
        return self.pca.dim

    def encode(self, images: Sequence[Image.Image]) -> np.ndarray:
        """[len(images), dim] float32, rows L2-normalized; fits the PCA on these images if none is fitted yet."""
        feats = self.features(images)
        if self.pca is None:
            self.pca = PCAReducer.fit(feats, self.variance, {"model": self.model_name})
            if self.pca_path is not None:
                self.pca.save(self.pca_path)
        return l2_normalize(self.pca.transform(feats))
