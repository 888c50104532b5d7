"""Encoder presets: which text, image and lexical encoders make a store's named vectors.

Vector names are `{encoder.name}_{field}`: e.g. the `minilm` preset makes dense `minilm_title`,
`minilm_brand`, `minilm_words` (the title's product words, see `hiercat.product_words`),
`minilm_description` (zero where a shop has none), `simclr_image` and sparse `lex_title` and
`lex_description` (empty where a shop has none). The resolved options (model names, local
paths) are recorded in the store's metadata so `preset_from_meta` rebuilds the same encoders at
classify time.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, overload

import numpy as np
from PIL import Image

from ..product_words import product_words
from ..store.base import SparseVector
from ..store.schema import PresetRecord, StoreSchema, VectorSpec
from .base import ImageEncoder, ModelLoadError, TextEncoder
from .cache import CachedTextEncoder
from .lexical import LexicalEncoder

TEXT_FIELDS = ("title", "brand", "words", "description")
SPARSE_FIELDS = ("title", "description")
PRESETS = ("minilm", "clip", "paper", "simclr")
DEFAULT_STORE = "hiercat-store"

# Options each preset accepts (besides the common ones); values may also come from env vars.
_COMMON = {"device", "batch_size", "lex_features", "cache_size"}
_OPTIONS = {
    "minilm": {"minilm_path", "simclr_weights", "simclr_output"},
    "clip": {"clip_model", "clip_pretrained"},
    "paper": {"roberta", "vit", "vit_pca", "vit_pca_fit", "store_path"},
    "simclr": {"simclr_weights", "simclr_output"},
}


@dataclass
class Preset:
    """A text encoder for title and brand, an optional image encoder and the lexical encoder."""

    name: str
    text: TextEncoder | None
    image: ImageEncoder | None
    lexical: LexicalEncoder | None
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def image_vector(self) -> str | None:
        """Name of the image vector ("simclr_image"), None without an image encoder."""
        names = self.record().names(role="image")
        return names[0] if names else None

    def vectors(self) -> tuple[VectorSpec, ...]:
        """Every vector the preset makes, each with the field it encodes and its encoder's role.

        The store records these (`hiercat.store.schema`), so no reader ever works out a vector's
        meaning from its name.
        """
        specs: list[VectorSpec] = []
        if self.text is not None:
            specs += [VectorSpec(f"{self.text.name}_{f}", f, "text", int(self.text.dim)) for f in TEXT_FIELDS]
        if self.image is not None:
            specs.append(VectorSpec(f"{self.image.name}_image", "image", "image", int(self.image.dim)))
        if self.lexical is not None:
            specs += [VectorSpec(f"{self.lexical.name}_{f}", f, "lexical") for f in SPARSE_FIELDS]
        return tuple(specs)

    def record(self) -> PresetRecord:
        """What the store records of this preset: name, resolved options, vectors with fields and roles."""
        return PresetRecord(self.name, dict(self.options), self.vectors())

    def vector_specs(self) -> dict[str, int]:
        """Dense vector names -> dimensions, e.g. {"minilm_title": 384, "minilm_brand": 384, "simclr_image": 512}."""
        return self.record().dense()

    def sparse_names(self) -> list[str]:
        """Sparse vector names: ["lex_title", "lex_description"] when the lexical encoder is on."""
        return self.record().sparse_names()

    def encode_text(self, texts: Sequence[str]) -> np.ndarray:
        """Text vectors of free strings (titles, brands or a search query); empty strings give zero rows."""
        if self.text is None:
            raise ValueError(f"preset {self.name!r} has no text encoder")
        out = self.text.encode(list(texts))
        # Some encoders embed "" as a real vector; a zero row consistently means "field missing".
        empty = [i for i, t in enumerate(texts) if not (t and t.strip())]
        if empty:
            out = out.copy()
            out[empty] = 0.0
        return out

    def encode_images(self, images: Sequence[Image.Image | None]) -> np.ndarray:
        """Image vectors; products without an image (None) get a zero row."""
        if self.image is None:
            raise ValueError(f"preset {self.name!r} has no image encoder")
        present = [i for i, im in enumerate(images) if im is not None]
        if not present:  # (an unfitted ViT PCA raises here, saying how to fit it)
            return np.zeros((len(images), self.image.dim), dtype=np.float32)
        vecs = self.image.encode([im for im in images if im is not None])
        out = np.zeros((len(images), vecs.shape[1]), dtype=np.float32)
        out[present] = vecs
        return out

    def encode(self, titles: Sequence[str], brands: Sequence[str], images: Sequence[Image.Image | None] | None,
               descriptions: Sequence[str] | None = None,
               ) -> tuple[dict[str, np.ndarray], dict[str, list[SparseVector]]]:
        """Dense vectors by name ([n, dim] float32 each) and sparse vectors by name (n each) for n products.

        descriptions: None or "" where a product has none (a zero `*_description` row).
        """
        n = len(titles)
        descriptions = list(descriptions) if descriptions is not None else [""] * n
        if len(brands) != n or len(descriptions) != n or (images is not None and len(images) != n):
            raise ValueError(f"titles, brands, descriptions and images differ in length: {n}, {len(brands)}, "
                             f"{len(descriptions)}, {len(images) if images is not None else '-'}")
        dense: dict[str, np.ndarray] = {}
        if self.text is not None:
            fields = {"title": list(titles), "brand": list(brands),
                      "words": [product_words(t, b) for t, b in zip(titles, brands)],
                      "description": [d or "" for d in descriptions]}
            # One call for every field: the cache and the model batch see them together.
            allv = self.encode_text([t for f in TEXT_FIELDS for t in fields[f]])
            for k, f in enumerate(TEXT_FIELDS):
                dense[f"{self.text.name}_{f}"] = allv[k * n:(k + 1) * n]
        image_name = self.image_vector
        if image_name is not None:
            dense[image_name] = self.encode_images(images if images is not None else [None] * n)
        sparse: dict[str, list[SparseVector]] = {}
        if self.lexical is not None:
            texts = {"title": list(titles), "description": [d or "" for d in descriptions]}
            for f in SPARSE_FIELDS:
                sparse[f"{self.lexical.name}_{f}"] = self.lexical.encode(texts[f])
        return dense, sparse


def _opt(overrides: Mapping[str, Any], key: str, env: str | None, default: Any = None) -> Any:
    """An option from the overrides, else the environment, else the default (None/"" count as unset)."""
    value = overrides.get(key)
    if value in (None, "") and env:
        value = os.environ.get(env)
    return default if value in (None, "") else value


@overload
def _abs_if_local(value: str) -> str: ...


@overload
def _abs_if_local(value: None) -> None: ...


def _abs_if_local(value: str | None) -> str | None:
    """Absolute path for an existing local file or folder (so the store's record works from any cwd)."""
    if value and Path(value).expanduser().exists():
        return str(Path(value).expanduser().resolve())
    return value


def load_preset(name: str, **overrides: Any) -> Preset:
    """Build a preset by name: minilm (offline default), clip, paper, simclr; options override env vars.

    Options: device, batch_size, lex_features, cache_size; minilm: minilm_path, simclr_weights,
    simclr_output; clip: clip_model, clip_pretrained ("none" = random weights); paper: roberta,
    vit, vit_pca (PCA file, default STORE/vit_pca.safetensors), vit_pca_fit (images folder or paths to fit
    a missing PCA on; env HIERCAT_VIT_PCA_FIT), store_path (default ./hiercat-store).
    """
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; choose one of {', '.join(PRESETS)}")
    unknown = set(overrides) - _OPTIONS[name] - _COMMON
    if unknown:
        raise ValueError(f"preset {name!r} has no option(s) {', '.join(sorted(unknown))}; "
                         f"it accepts {', '.join(sorted(_OPTIONS[name] | _COMMON))}")
    device = overrides.get("device")
    batch_size = int(overrides.get("batch_size") or 0)
    lexical = LexicalEncoder(n_features=int(overrides.get("lex_features") or 2**18))
    options: dict[str, Any] = {"lex_features": lexical.n_features}
    text: TextEncoder | None = None
    image: ImageEncoder | None = None

    if name in ("minilm", "simclr"):
        from .simclr import ENV_WEIGHTS, SimCLRImageEncoder

        weights = _abs_if_local(_opt(overrides, "simclr_weights", ENV_WEIGHTS))
        image = SimCLRImageEncoder(weights=weights, device=device, output=overrides.get("simclr_output"),
                                   **({"batch_size": batch_size} if batch_size else {}))
        # Record the shipped default as None so a store stays valid when the package moves.
        options.update(simclr_weights=weights, simclr_output=image.output)
    if name == "minilm":
        from .minilm import ENV_MODEL, MiniLMEncoder

        path = _abs_if_local(_opt(overrides, "minilm_path", ENV_MODEL))
        text = MiniLMEncoder(model_path=path, device=device, **({"batch_size": batch_size} if batch_size else {}))
        options["minilm_path"] = path
    elif name == "clip":
        from .clip import ENV_MODEL, ENV_PRETRAINED, ClipEncoders

        model = _abs_if_local(_opt(overrides, "clip_model", ENV_MODEL, "ViT-B-32"))
        pretrained = _abs_if_local(_opt(overrides, "clip_pretrained", ENV_PRETRAINED, "openai"))
        clip = ClipEncoders(model, None if str(pretrained).lower() == "none" else pretrained, device=device,
                            **({"batch_size": batch_size} if batch_size else {}))
        text, image = clip.text, clip.image
        options.update(clip_model=model, clip_pretrained=pretrained)
    elif name == "paper":
        from .paper import ENV_ROBERTA, ENV_VIT, ENV_VIT_PCA, ENV_VIT_PCA_FIT, RobertaTextEncoder, VitImageEncoder

        roberta = _abs_if_local(_opt(overrides, "roberta", ENV_ROBERTA, "roberta-base"))
        vit = _abs_if_local(_opt(overrides, "vit", ENV_VIT, "google/vit-base-patch16-224"))
        store = Path(_opt(overrides, "store_path", None, DEFAULT_STORE))
        pca = Path(_opt(overrides, "vit_pca", ENV_VIT_PCA, store / "vit_pca.safetensors")).expanduser().resolve()
        text = RobertaTextEncoder(roberta, device=device, **({"batch_size": batch_size} if batch_size else {}))
        vit_enc = VitImageEncoder(vit, pca_path=pca, device=device, **({"batch_size": batch_size} if batch_size else {}))
        fit_from = _opt(overrides, "vit_pca_fit", ENV_VIT_PCA_FIT)
        if not vit_enc.fitted and fit_from:
            vit_enc.fit_pca(_sample_images(fit_from))
        image = vit_enc
        options.update(roberta=roberta, vit=vit, vit_pca=str(pca))

    if text is not None:
        text = CachedTextEncoder(text, maxsize=int(overrides.get("cache_size") or 20_000))
    return Preset(name=name, text=text, image=image, lexical=lexical, options=options)


def _sample_images(source: str | Path | Sequence[str | Path], limit: int = 2000) -> list[Image.Image]:
    """Up to `limit` RGB images from a folder (spread evenly over its sorted files) or a list of paths."""
    from .simclr import find_images

    paths = find_images([source] if isinstance(source, (str, Path)) else list(source))
    if not paths:
        raise ModelLoadError(f"no images under {source} to fit the ViT PCA on")
    step = max(1, len(paths) // limit)
    out = []
    for p in paths[::step][:limit]:
        with Image.open(p) as im:
            out.append(im.convert("RGB"))
    return out


def preset_from_meta(meta: Mapping[str, Any] | StoreSchema | PresetRecord, **overrides: Any) -> Preset:
    """Rebuild the encoders a store was ingested with, from its schema, its preset record or its metadata dict."""
    if isinstance(meta, StoreSchema):
        record = meta.require_preset()
    elif isinstance(meta, PresetRecord):
        record = meta
    else:
        entry = meta.get("preset", meta) if isinstance(meta.get("preset"), Mapping) else meta
        if not entry or "name" not in entry:
            raise ValueError("the store records no encoder preset: ingest into it first")
        record = PresetRecord.from_meta(entry)
        from .fingerprint import check_store_files

        check_store_files(meta)  # the weight files the store recorded, by hash, before loading them
    options = {k: v for k, v in dict(record.options).items() if v is not None}
    options.update(overrides)
    preset = load_preset(record.name, **options)
    if record.dense() != preset.vector_specs():
        raise ModelLoadError(f"preset {record.name!r} now makes vectors {preset.vector_specs()} but the store holds "
                             f"{record.dense()}: the models behind the options {options} changed; point them at the "
                             "models the store was built with")
    return preset
