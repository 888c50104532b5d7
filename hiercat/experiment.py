"""Training runs on stored products: labels, the seeded split, fitting, scoring and saving a classifier."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .dataset import StoredProducts, load_products
from .metrics import evaluate_paths
from .model import (
    ClassifierModel,
    EnsembleClassifier,
    ModalityInputs,
    inputs_from_stored,
    predict,
    save_model,
    stratified_split,
    train_classifier,
)
from .store.base import Filter, VectorStore
from .taxonomy import Taxonomy, split_path

LABEL_FIELDS = ("path", "native_category")
# `hiercat train` without options: the configuration recommended for shops the model has not seen
# (early fusion of pooled product words + description, title n-grams and image; bench/RESULTS.md).
DEFAULT_FUSION = "early"
DEFAULT_MODALITIES = "shops"
# The best whole valid path: leaving H&M out of training, 79.3 hF1 on Myntra against 77.2 level by level.
DEFAULT_DECODE = "path"
SPLIT_FRACTIONS = (0.64, 0.16, 0.20)


def label_paths(products: StoredProducts, labels: str = "path") -> list[tuple[str, ...]]:
    """Label path per product from a payload field: `path` (target taxonomy) or `native_category`."""
    if labels not in products.payload.columns:
        raise KeyError(f"no payload field {labels!r}; use one of {', '.join(LABEL_FIELDS)}")
    return [split_path(p) for p in products.payload[labels]]


def modality_groups(names: Sequence[str]) -> dict[str, list[str]]:
    """Named modality subsets of a store's vectors: text, lexical, image, text+lexical, words, shops, all.

    `shops` is the default for new shops: the title's product words and the description (pooled by
    `shops_model_kwargs`), the hashed title n-grams and the image; brand and raw-title vectors are left
    out because another shop's brands and wording never match them.
    """
    text = [n for n in names if n.endswith("_title") or n.endswith("_brand")]
    dense_text = [n for n in text if not n.startswith("lex_")]
    lex = [n for n in names if n.startswith("lex_")]
    image = [n for n in names if n.endswith("_image")]
    words = [n for n in names if n.endswith("_words")]
    description = [n for n in names if n.endswith("_description") and not n.startswith("lex_")]
    lex += [n for n in names if n.startswith("lex_") and n not in lex]
    groups = {"text": dense_text, "lexical": lex, "image": image, "text+lexical": dense_text + lex,
              "words": words + description, "shops": words + description + lex + image if words else [],
              "all": list(names)}
    return {k: v for k, v in groups.items() if v}


# Shares of training rows that see an image / a description missing. Leaving H&M out of training and
# scoring Myntra's title-only products, description dropout 0.6 gave hF1 77.2 where 0.3 gave 72.5
# (bench/RESULTS.md): the model must learn to classify from titles alone.
IMAGE_DROPOUT = 0.3
DESCRIPTION_DROPOUT = 0.6


def shops_model_kwargs(modalities: Sequence[str], image_dropout: float = IMAGE_DROPOUT,
                       description_dropout: float = DESCRIPTION_DROPOUT) -> dict[str, Any]:
    """Model keywords that make the chosen inputs transfer: pooled text, dropped image and description.

    The product-words and description vectors of one text encoder are pooled into one `text` input, and
    the title's and description's hashed n-grams into one `lex` bag, so a shop's descriptions are read
    by the weights that learned other shops' titles; images and descriptions are dropped from a share
    of the training rows (`image_dropout`, `description_dropout`), so a text-only shop is a case the
    model has seen. Empty for inputs without product-words vectors (a store of an older schema).
    """
    words = [n for n in modalities if n.endswith("_words")]
    description = [n for n in modalities if n.endswith("_description") and not n.startswith("lex_")]
    lex_title = [n for n in modalities if n.startswith("lex_") and n.endswith("_title")]
    lex_description = [n for n in modalities if n.startswith("lex_") and n.endswith("_description")]
    out: dict[str, Any] = {}
    pools = {}
    if words and description:
        pools["text"] = words[:1] + description[:1]
    if lex_title and lex_description:
        pools["lex"] = lex_title[:1] + lex_description[:1]
    if pools:
        out["pools"] = pools
    drop = {n: description_dropout for n in description + lex_description}
    drop.update({n: image_dropout for n in modalities if n.endswith("_image")})
    drop = {n: p for n, p in drop.items() if p > 0}
    if words and drop:
        out["modality_dropout"] = drop
    return out


def resolve_modalities(spec: str | Sequence[str] | None, names: Sequence[str]) -> list[str]:
    """Modalities from a group name ('text', 'image', 'all', ...) or comma-separated vector names."""
    if spec is None or spec == "all":
        return list(names)
    if isinstance(spec, str):
        groups = modality_groups(names)
        if spec == DEFAULT_MODALITIES and spec not in groups:  # a store ingested before product words existed
            return list(names)
        if spec in groups:
            return groups[spec]
        spec = [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [s for s in spec if s not in names]
    if unknown:
        raise KeyError(f"unknown modalities {unknown}; the store has {list(names)} "
                       f"and groups {list(modality_groups(names))}")
    return list(spec)


def token_dropout_members(spec: str | None) -> list[dict[str, float]] | None:
    """Ensemble members from '0.1,0.4' (one model per token dropout); None for None; ValueError on a bad list."""
    if spec is None:
        return None
    try:
        values = [float(v) for v in str(spec).split(",") if v.strip()]
    except ValueError:
        values = []
    if not values or any(not 0 <= v < 1 for v in values):
        raise ValueError(f"--token-dropout takes numbers in [0, 1) joined by commas, got {spec!r}")
    return [{"token_dropout": v} for v in values]


@dataclass
class Split:
    """Positions of the train / validation / test products (seeded, stratified on the label path)."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    seed: int = 0

    @classmethod
    def make(cls, paths: Sequence[Sequence[str]], seed: int = 0) -> Split:
        """64/16/20 stratified split of the given label paths."""
        tr, va, te = stratified_split(paths, SPLIT_FRACTIONS, seed)
        return cls(np.sort(tr), np.sort(va), np.sort(te), seed)


@dataclass
class RunResult:
    """A trained model (or ensemble) with its test metrics and timings; `history` has "members" for an ensemble."""

    model: ClassifierModel
    metrics: dict[str, float]
    fit_seconds: float
    predict_seconds: float
    history: dict[str, Any] = field(default_factory=dict)

    @property
    def best_epochs(self) -> list[int]:
        """The early-stopped epoch count of each member (one entry for a single classifier)."""
        return [int(h.get("best_epoch", 0)) for h in self.history.get("members", [self.history])]


def fit_and_score(
    inputs: ModalityInputs,
    paths: Sequence[tuple[str, ...]],
    train: np.ndarray,
    val: np.ndarray,
    test: np.ndarray,
    fusion: str = "late",
    modalities: Sequence[str] | None = None,
    test_inputs: ModalityInputs | None = None,
    test_paths: Sequence[tuple[str, ...]] | None = None,
    decode: str = "greedy",
    seed: int = 0,
    progress: bool = False,
    members: Sequence[Mapping[str, Any]] | None = None,
    refit: bool = False,
    **train_kwargs: Any,
) -> RunResult:
    """Train on `train` (early stopping on `val`) and score on `test` (or on other test inputs: cross-platform).

    members: per ensemble member, train_classifier keywords that override `train_kwargs` (e.g.
    [{"token_dropout": 0.1}, {"token_dropout": 0.4}]); two or more give an EnsembleClassifier.
    refit: retrain each member on train + val for the epochs and learning-rate schedule early
    stopping found, as the peers in bench/ are fit; the test rows stay unseen either way.
    """
    t0 = time.perf_counter()
    train_kwargs = {**shops_model_kwargs(list(modalities or inputs.names)), **train_kwargs}
    train_in, train_paths = inputs.take(train), [paths[i] for i in train]
    val_pair = (inputs.take(val), [paths[i] for i in val])
    both = np.concatenate([train, val])
    both_in, both_paths = (inputs.take(both), [paths[i] for i in both]) if refit else (None, None)
    tax = Taxonomy.from_paths([paths[i] for i in both])
    models, histories = [], []
    for extra in members or [{}]:
        kwargs = {**train_kwargs, **extra}
        model, history = train_classifier(train_in, train_paths, tax, fusion=fusion, modalities=modalities,
                                          val=val_pair, seed=seed, progress=progress, **kwargs)
        if refit:
            kwargs.update(epochs=history.best_epoch, val_fraction=0.0, lr_scales=history.lr_scales())
            model, _ = train_classifier(both_in, both_paths, model.taxonomy, fusion=fusion, modalities=modalities,
                                        seed=seed, progress=progress, **kwargs)
        models.append(model)
        histories.append({**history.to_dict(), "refit": refit, **extra})
    fit_s = time.perf_counter() - t0
    model = models[0] if len(models) == 1 else EnsembleClassifier(models)
    if test_inputs is None:
        test_inputs, test_paths = inputs.take(test), [paths[i] for i in test]
    t1 = time.perf_counter()
    pred = predict(model, test_inputs, decode=decode)
    pred_s = time.perf_counter() - t1
    metrics = evaluate_paths(test_paths, pred.paths, model.taxonomy, levels=max(len(p) for p in paths))
    return RunResult(model, metrics, fit_s, pred_s, histories[0] if len(histories) == 1 else {"members": histories})


def load_training_data(store: VectorStore, platforms: Sequence[str] | None = None,
                       filter: Filter | None = None) -> StoredProducts:
    """Every stored product (optionally of some platforms) with all its vectors."""
    flt = dict(filter or {})
    if platforms:
        flt["platform"] = list(platforms)
    products = load_products(store, flt or None)
    if not len(products):
        raise ValueError("no stored products match" + (f" platforms {list(platforms)}" if platforms else "")
                         + ": run `hiercat ingest` first")
    return products


def train_on_store(
    store: VectorStore,
    out: str | Path,
    fusion: str = DEFAULT_FUSION,
    modalities: str | Sequence[str] | None = DEFAULT_MODALITIES,
    platforms: Sequence[str] | None = None,
    labels: str = "path",
    seed: int = 0,
    decode: str = DEFAULT_DECODE,
    record_split: bool = True,
    progress: bool = True,
    zero_shot: bool = True,
    **train_kwargs: Any,
) -> RunResult:
    """Train a classifier on the store's products (64/16/20 split), save it to `out`, record the split in payloads.

    zero_shot: also save the target taxonomy's category names embedded by the store's text encoder
    (`hiercat.zero_shot`), which classify uses for categories the model was not trained on.
    """
    products = load_training_data(store, platforms)
    paths = label_paths(products, labels)
    split = Split.make(paths, seed)
    inputs = inputs_from_stored(products)
    mods = resolve_modalities(modalities, inputs.names)
    result = fit_and_score(inputs, paths, split.train, split.val, split.test, fusion=fusion, modalities=mods,
                           decode=decode, seed=seed, progress=progress, **train_kwargs)
    meta = store.get_meta()
    if record_split:
        store.ensure_schema({}, [], indexed_keywords=["split"])  # stores ingested before it was indexed
        for name, part in (("train", split.train), ("val", split.val), ("test", split.test)):
            store.set_payload([products.ids[i] for i in part], {"split": name, "split_seed": seed})
    save_model(result.model, out, {
        "preset": meta.get("preset"), "labels": labels, "platforms": list(platforms or []), "seed": seed,
        "metrics": result.metrics, "history": result.history, "decode": decode,
        "split_sizes": {"train": len(split.train), "val": len(split.val), "test": len(split.test)},
        "fit_seconds": result.fit_seconds,
    })
    if zero_shot and labels == "path" and any(n.endswith("_words") for n in mods):
        save_category_names(meta, out)
    return result


def save_category_names(meta: Mapping[str, Any], out: str | Path) -> Path:
    """`category_names(meta)` written beside the model in `out`."""
    return category_names(meta).save(out)


def category_names(meta: Mapping[str, Any]) -> Any:
    """The target taxonomy's category names embedded with the store's text encoder (hiercat.zero_shot.CategoryNames).

    The taxonomy is the shipped Google Product Taxonomy plus whatever the store holds beyond it
    (recategorized sub-categories).
    """
    from .encoders import preset_from_meta
    from .zero_shot import GOOGLE_TAXONOMY, CategoryNames

    taxonomy = Taxonomy.from_google(GOOGLE_TAXONOMY)
    for path in Taxonomy.from_dict(meta["taxonomy"]).paths if meta.get("taxonomy") else []:
        taxonomy.add_path(path)
    return CategoryNames.embed(taxonomy, preset_from_meta(meta).encode_text)
