"""Training runs on stored products: labels, the seeded split, fitting, scoring and saving a classifier."""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .config import (
    DEFAULT_DECODE,
    DEFAULT_FUSION,
    DEFAULT_MODALITIES,
    DESCRIPTION_DROPOUT,
    IMAGE_DROPOUT,
    parse_token_dropout,
)
from .dataset import StoredProducts, load_products
from .metrics import evaluate_paths
from .model import (
    ClassifierModel,
    EnsembleClassifier,
    HierarchicalClassifier,
    ModalityInputs,
    predict,
    stratified_split,
    train_classifier,
)
from .store.base import Filter, VectorStore
from .store.schema import LABEL_FIELDS, Role
from .taxonomy import Taxonomy, split_path

SPLIT_FRACTIONS = (0.64, 0.16, 0.20)


def label_paths(products: StoredProducts, labels: str = "path") -> list[tuple[str, ...]]:
    """Label path per product from a payload field: `path` (target taxonomy) or `native_category`."""
    if labels not in products.payload.columns:
        raise KeyError(f"no payload field {labels!r}; use one of {', '.join(LABEL_FIELDS)}")
    from .feedback import prefer_reviewed  # a human correction (`hiercat feedback`) outranks the stored label

    return prefer_reviewed(products.payload, labels, [split_path(p) for p in products.payload[labels]])


def modality_groups(inputs: ModalityInputs) -> dict[str, list[str]]:
    """Named modality subsets of the inputs, by the roles the store records: text, lexical, image, text+lexical,
    words, shops, all.

    `shops` is the default for new shops: the title's product words and the description (pooled by
    `shops_model_kwargs`), the hashed n-grams and the image; brand and raw-title vectors are left
    out because another shop's brands and wording never match them.
    """
    text = inputs.names_of(field=("title", "brand"), role="text")
    lex = inputs.names_of(role="lexical")
    image = inputs.names_of(role="image")
    words = inputs.names_of(field="words", role="text")
    description = inputs.names_of(field="description", role="text")
    groups = {"text": text, "lexical": lex, "image": image, "text+lexical": text + lex,
              "words": words + description, "shops": words + description + lex + image if words else [],
              "all": list(inputs.names)}
    return {k: v for k, v in groups.items() if v}


def shops_model_kwargs(inputs: ModalityInputs, modalities: Sequence[str] | None = None,
                       image_dropout: float = IMAGE_DROPOUT,
                       description_dropout: float = DESCRIPTION_DROPOUT) -> dict[str, Any]:
    """Model keywords that make the chosen inputs transfer: pooled text, dropped image and description.

    The product-words and description vectors of one text encoder are pooled into one `text` input, and
    the title's and description's hashed n-grams into one `lex` bag, so a shop's descriptions are read
    by the weights that learned other shops' titles; images and descriptions are dropped from a share
    of the training rows (`image_dropout`, `description_dropout`), so a text-only shop is a case the
    model has seen. Empty for inputs without product-words vectors (a store of an older schema) or
    without a record of their roles.
    """
    chosen = set(modalities if modalities is not None else inputs.names)

    def of(field: str, role: Role) -> list[str]:
        return [n for n in inputs.names_of(field=field, role=role) if n in chosen]

    words, description = of("words", "text"), of("description", "text")
    lex_title, lex_description = of("title", "lexical"), of("description", "lexical")
    out: dict[str, Any] = {}
    pools = {}
    if words and description:
        pools["text"] = words[:1] + description[:1]
    if lex_title and lex_description:
        pools["lex"] = lex_title[:1] + lex_description[:1]
    if pools:
        out["pools"] = pools
    drop = {n: description_dropout for n in description + lex_description}
    drop.update({n: image_dropout for n in inputs.names_of(role="image") if n in chosen})
    drop = {n: p for n, p in drop.items() if p > 0}
    if words and drop:
        out["modality_dropout"] = drop
    return out


def resolve_modalities(spec: str | Sequence[str] | None, inputs: ModalityInputs) -> list[str]:
    """Modalities from a group name ('text', 'image', 'all', ...) or comma-separated vector names."""
    names = inputs.names
    if spec is None or spec == "all":
        return list(names)
    if isinstance(spec, str):
        groups = modality_groups(inputs)
        if spec == DEFAULT_MODALITIES and spec not in groups:  # a store ingested before product words existed
            return list(names)
        if spec in groups:
            return groups[spec]
        spec = [s.strip() for s in spec.split(",") if s.strip()]
    unknown = [s for s in spec if s not in names]
    if unknown:
        raise KeyError(f"unknown modalities {unknown}; the store has {list(names)} "
                       f"and groups {list(modality_groups(inputs))}")
    return list(spec)


def token_dropout_members(spec: str | None) -> list[dict[str, float]] | None:
    """Ensemble members from '0.1,0.4' (one model per token dropout); None for None; ValueError on a bad list."""
    values = parse_token_dropout(spec)
    return [{"token_dropout": v} for v in values] or None


@dataclass
class Split:
    """Positions of the train / validation / test products (seeded, stratified on the label path)."""

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    seed: int = 0

    @classmethod
    def make(cls, paths: Sequence[Sequence[str]], seed: int = 0, keep_out_of_test: np.ndarray | None = None,
             fractions: Sequence[float] = SPLIT_FRACTIONS) -> Split:
        """Stratified split of the given label paths (64/16/20 by default).

        keep_out_of_test: a mask of positions that train instead of landing in the test part (reviewed
        products: chosen for review by the model's doubt, they would bias the test; the split of the
        others is unchanged).
        """
        tr, va, te = stratified_split(paths, fractions, seed)
        if keep_out_of_test is not None and len(te):
            out = np.asarray(keep_out_of_test, dtype=bool)[te]
            tr, te = np.concatenate([tr, te[out]]), te[~out]
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
    taxonomy: Taxonomy | None = None,
    **train_kwargs: Any,
) -> RunResult:
    """Train on `train` (early stopping on `val`) and score on `test` (or on other test inputs: cross-platform).

    members: per ensemble member, train_classifier keywords that override `train_kwargs` (e.g.
    [{"token_dropout": 0.1}, {"token_dropout": 0.4}]); two or more give an EnsembleClassifier.
    refit: retrain each member on train + val for the epochs and learning-rate schedule early
    stopping found, as the peers in bench/ are fit; the test rows stay unseen either way.
    taxonomy: the tree the labels come from (the store's recorded one); the model learns the part
    of it the training labels span, and a label outside it is refused. None: the labels' own tree.
    An empty `test` gives empty metrics (a production fit).
    """
    t0 = time.perf_counter()
    train_kwargs = {**shops_model_kwargs(inputs, modalities), **train_kwargs}
    if fusion == "attention" and "fusion_kwargs" not in train_kwargs:  # which inputs are images, by their role
        chosen = set(modalities if modalities is not None else inputs.names)
        train_kwargs["fusion_kwargs"] = {"images": [n for n in inputs.names_of(role="image") if n in chosen]}
    train_in, train_paths = inputs.take(train), [paths[i] for i in train]
    val_pair = (inputs.take(val), [paths[i] for i in val])
    both = np.concatenate([train, val])
    both_in, both_paths = (inputs.take(both), [paths[i] for i in both]) if refit else (None, None)
    learned = [paths[i] for i in both]
    tax = taxonomy.restrict(learned) if taxonomy is not None else Taxonomy.from_paths(learned)
    models: list[HierarchicalClassifier] = []
    histories = []
    for extra in members or [{}]:
        kwargs = {**train_kwargs, **extra}
        model, history = train_classifier(train_in, train_paths, tax, fusion=fusion, modalities=modalities,
                                          val=val_pair, seed=seed, progress=progress, **kwargs)
        if refit and both_in is not None and both_paths is not None:
            kwargs.update(epochs=history.best_epoch, val_fraction=0.0, lr_scales=history.lr_scales())
            model, _ = train_classifier(both_in, both_paths, model.taxonomy, fusion=fusion, modalities=modalities,
                                        seed=seed, progress=progress, **kwargs)
        models.append(model)
        histories.append({**history.to_dict(), "refit": refit, **extra})
    fit_s = time.perf_counter() - t0
    fitted: ClassifierModel = models[0] if len(models) == 1 else EnsembleClassifier(models)
    if test_inputs is None or test_paths is None:
        test_inputs, test_paths = inputs.take(test), [paths[i] for i in test]
    t1 = time.perf_counter()
    metrics: dict[str, float] = {}
    if len(test_inputs):
        pred = predict(fitted, test_inputs, decode=decode)
        metrics = evaluate_paths(test_paths, pred.paths, fitted.taxonomy, levels=max(len(p) for p in paths))
    pred_s = time.perf_counter() - t1
    return RunResult(fitted, metrics, fit_s, pred_s, histories[0] if len(histories) == 1 else {"members": histories})


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
    progress: bool = True,
    zero_shot: bool = True,
    reviewed_in_test: bool = False,
    members: Sequence[Mapping[str, Any]] | None = None,
    refit: bool = False,
    epochs: int = 60,
    holdout: float = 0.2,
    **model_options: Any,
) -> RunResult:
    """Train a classifier on the store's products and save it to `out` (`hiercat.Categorizer` fit + save).

    The model folder records its split (`split.parquet`); the store is not written. zero_shot: also
    save the target taxonomy's category names (`hiercat.zero_shot`). Reviewed products
    (`hiercat feedback`) train with their reviewed label and stay out of the test part unless
    `reviewed_in_test`. members: ensemble members as {"token_dropout": v} (`--token-dropout`).
    """
    from .categorizer import Categorizer
    from .config import TrainConfig

    mods = modalities if isinstance(modalities, str) else tuple(modalities) if modalities is not None else "all"
    config = TrainConfig(fusion=fusion, modalities=mods, labels=labels,
                         epochs=epochs, seed=seed, decode=decode, holdout=holdout, refit=refit, zero_shot=zero_shot,
                         token_dropout=tuple(float(m["token_dropout"]) for m in members or []),
                         model_options=model_options, reviewed_in_test=reviewed_in_test)
    est = Categorizer(progress=progress).fit(store, platforms=platforms, config=config)
    est.save(out)
    return est.result_


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
