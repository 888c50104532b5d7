"""`hiercat.Categorizer`: the whole classifier as one scikit-learn-style estimator.

    from hiercat import Categorizer, open_store

    store = open_store("hiercat-store")
    cat = Categorizer().fit(store)            # trains on the stored vectors; test metrics in cat.metrics_
    table = cat.predict("new_products.csv")   # path, per-level confidence, source, per product
    cat.save("models/classifier")
    cat = Categorizer.load("models/classifier", store)

`__init__` only stores hyper-parameters; `fit` returns the estimator with its fitted attributes
(ending in `_`). The model records its own split and neighbour set: fitting never writes into the
store, so one model's training never changes another's predictions.
"""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TypeAlias

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator

from .calibration import Calibration, SourceCalibration
from .catalog import COLUMNS, CatalogOptions, validate
from .classify import Classifier, classify_rows, embed_for, read_for_classification
from .config import (
    DEFAULT_DECODE,
    DEFAULT_FUSION,
    DEFAULT_MODALITIES,
    DESCRIPTION_DROPOUT,
    HOLDOUT,
    IMAGE_DROPOUT,
    ClassifyConfig,
    TrainConfig,
)
from .dataset import StoredProducts
from .experiment import (
    RunResult,
    Split,
    category_names,
    fit_and_score,
    label_paths,
    load_training_data,
    resolve_modalities,
    shops_model_kwargs,
)
from .knn import knn_classify_arrays
from .model import ModalityInputs, Predictions, inputs_from_stored, predict, predict_path_scores, save_model
from .store.base import VectorStore
from .store.schema import PresetRecord, read_schema
from .taxonomy import join_path
from .training_split import TrainingSplit

Products: TypeAlias = "pd.DataFrame | str | Path | Sequence[dict[str, Any]]"
"""Products to classify: a DataFrame or records with hiercat's columns, or a catalog file."""
CATALOG_SUFFIXES = (".csv", ".parquet", ".pq", ".jsonl", ".ndjson", ".json")


def as_store(source: VectorStore | str | Path) -> VectorStore:
    """A store from a store object, a folder of an embedded store, or a Qdrant server URL."""
    from .store import open_store

    if not isinstance(source, (str, Path)):
        return source
    text = str(source)
    if text.startswith(("http://", "https://")):
        return open_store(url=text)
    return open_store(Path(text))


def fit_split(products: StoredProducts, paths: Sequence[tuple[str, ...]], config: TrainConfig) -> Split:
    """The seeded stratified split a fit uses; reviewed products stay out of the test part unless asked."""
    from .feedback import reviewed_mask

    keep = None if config.reviewed_in_test else reviewed_mask(products.payload)
    return Split.make(paths, config.seed, keep, fractions=config.split_fractions)


def calibrate(val_pred: Predictions | None, inputs: ModalityInputs, paths: Sequence[tuple[str, ...]], split: Split,
              knn_vector: str | None) -> SourceCalibration:
    """How often the model and the kNN vote are right at each raw confidence, on the validation products.

    val_pred: the model's predictions of the validation products (None without any). The vote of a
    validation product draws on the training products only, as a new product's vote draws on the
    model's neighbour set.
    """
    if val_pred is None:
        return SourceCalibration()
    truth = [paths[i] for i in split.val]
    model_cal = Calibration.fit(val_pred.path_conf, [p == t for p, t in zip(val_pred.paths, truth)])
    knn_cal = Calibration()
    if knn_vector is not None and knn_vector in inputs.dense:
        labels = [join_path(paths[i]) for i in split.train]
        votes = knn_classify_arrays(inputs.dense[knn_vector][split.train], labels, inputs.dense[knn_vector][split.val])
        knn_cal = Calibration.fit([v.confidence for v in votes], [v.path == t for v, t in zip(votes, truth)])
    return SourceCalibration(model_cal, knn_cal)


def rows_for_classification(products: Products, options: CatalogOptions | None = None,
                            need_category: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Validated rows and rejected rows of products given as a catalog file, a DataFrame or records."""
    options = options or CatalogOptions()
    if isinstance(products, (str, Path)):
        return read_for_classification(products, options, need_category=need_category)
    df = pd.DataFrame(products if isinstance(products, pd.DataFrame) else list(products)).copy()
    df = df.rename(columns=options.columns)
    required = ["product_id", "title"] + (["category"] if need_category else [])
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise ValueError(f"products lack column(s) {', '.join(missing)}; they have {', '.join(map(str, df.columns))}")
    for c in COLUMNS:
        if c not in df.columns:
            df[c] = ""
    df = df.astype(object).where(df.notna(), "").map(str)
    df.insert(0, "row", range(1, len(df) + 1))
    options.require_category = False
    checked = validate(df, Path("products"), options)
    return checked.rows, checked.rejects


class Categorizer(BaseEstimator):
    """Hierarchical product categorizer: masked multi-level classifier on stored vectors, kNN fallback, zero-shot.

    Hyper-parameters (see `hiercat.config.TrainConfig` and `ClassifyConfig` for each one's meaning)
    are stored as given and validated when `fit` or `predict` starts.

    Fitted attributes: `model_` (the torch module), `taxonomy_` (the label tree it learned),
    `split_` (`TrainingSplit`: its train/val/test point ids, the kNN neighbour set), `metrics_`
    (test-split metrics; empty with holdout=0), `history_`, `calibration_`, `category_names_`
    (None without zero-shot), `vectors_` (the store's `PresetRecord`), `modalities_`,
    `knn_vector_`, `store_`, `fit_seconds_`.
    """

    def __init__(self, fusion: str = DEFAULT_FUSION, modalities: str | tuple[str, ...] = DEFAULT_MODALITIES,
                 labels: str = "path", epochs: int = 60, seed: int = 0, decode: str = DEFAULT_DECODE,
                 holdout: float = HOLDOUT, token_dropout: tuple[float, ...] = (), refit: bool = False,
                 zero_shot: bool = True, image_dropout: float = IMAGE_DROPOUT,
                 description_dropout: float = DESCRIPTION_DROPOUT, knn_k: int = 10, knn_threshold: float = 0.5,
                 progress: bool = False) -> None:
        self.fusion = fusion
        self.modalities = modalities
        self.labels = labels
        self.epochs = epochs
        self.seed = seed
        self.decode = decode
        self.holdout = holdout
        self.token_dropout = token_dropout
        self.refit = refit
        self.zero_shot = zero_shot
        self.image_dropout = image_dropout
        self.description_dropout = description_dropout
        self.knn_k = knn_k
        self.knn_threshold = knn_threshold
        self.progress = progress

    # ---- configuration -----------------------------------------------------------------------
    def train_config(self) -> TrainConfig:
        """The training hyper-parameters as one validated object."""
        return TrainConfig(fusion=self.fusion, modalities=self.modalities, labels=self.labels, epochs=self.epochs,
                           seed=self.seed, decode=self.decode, holdout=self.holdout,
                           token_dropout=tuple(self.token_dropout), refit=self.refit, zero_shot=self.zero_shot,
                           image_dropout=self.image_dropout, description_dropout=self.description_dropout)

    def classify_config(self, **overrides: Any) -> ClassifyConfig:
        """The classification options as one validated object (keyword overrides for one call)."""
        return replace(ClassifyConfig(knn_k=self.knn_k, knn_threshold=self.knn_threshold), **overrides)

    # ---- fitting -------------------------------------------------------------------------------
    def fit(self, X: VectorStore | str | Path, y: None = None, platforms: Sequence[str] | None = None,
            config: TrainConfig | None = None) -> Categorizer:
        """Train on the labelled products of a store (or of a catalog file, ingested into a new temporary store).

        platforms: only these shops' products. config: a ready `TrainConfig` instead of the
        estimator's hyper-parameters (what `hiercat train` passes). Returns self.
        """
        cfg = config or self.train_config()
        self.store_ = self._store_for(X)
        t0 = time.perf_counter()
        products = load_training_data(self.store_, platforms)
        paths = label_paths(products, cfg.labels)
        split = fit_split(products, paths, cfg)
        inputs = inputs_from_stored(products)
        mods = resolve_modalities(cfg.modalities, inputs)
        schema = read_schema(self.store_)
        recorded = schema.taxonomy if cfg.labels == "path" else None
        transfer = shops_model_kwargs(inputs, mods, cfg.image_dropout, cfg.description_dropout)
        result = fit_and_score(inputs, paths, split.train, split.val, split.test, fusion=cfg.fusion, modalities=mods,
                               decode=cfg.decode, seed=cfg.seed, progress=self.progress, members=cfg.members,
                               refit=cfg.refit, taxonomy=recorded, epochs=cfg.epochs,
                               **{**transfer, **dict(cfg.model_options)})
        titles = inputs.names_of(field="title", role="text")
        self.knn_vector_ = titles[0] if titles else None
        # Predicted once: calibration and the cascade's threshold (fit_text_stage) both read them.
        self.validation_ = (predict(result.model, inputs.take(split.val), decode=cfg.decode) if len(split.val)
                            else None, [paths[i] for i in split.val])
        self.calibration_ = calibrate(self.validation_[0], inputs, paths, split, self.knn_vector_)
        self.model_ = result.model
        self.taxonomy_ = result.model.taxonomy
        self.split_: TrainingSplit | None = TrainingSplit.from_positions(products.ids, split.train, split.val, split.test, cfg.seed)
        self.metrics_ = result.metrics
        self.history_ = result.history
        self.result_ = result
        self.fit_positions_ = split
        self.vectors_: PresetRecord | None = products.vectors
        self.modalities_ = mods
        self.platforms_ = list(platforms or [])
        self.config_ = cfg
        words = inputs.names_of(field="words", role="text")
        use_names = cfg.zero_shot and cfg.labels == "path" and any(n in mods for n in words)
        self.category_names_ = category_names(self.store_.get_meta()) if use_names else None
        self.fit_seconds_ = time.perf_counter() - t0
        self.classifier_ = Classifier(self.model_, self._sidecar(), names=self.category_names_, labels=cfg.labels,
                                      split=self.split_, calibration=self.calibration_, knn_vector=self.knn_vector_)
        return self

    def _store_for(self, source: VectorStore | str | Path) -> VectorStore:
        path = Path(str(source)) if isinstance(source, (str, Path)) else None
        if path is not None and path.suffix.lower() in CATALOG_SUFFIXES and path.is_file():
            from .ingest import ingest_catalogs

            store = as_store(Path(tempfile.mkdtemp(prefix="hiercat-store-")))
            ingest_catalogs([path], store)
            return store
        return as_store(source)

    def _sidecar(self) -> dict[str, Any]:
        split = self.split_
        assert split is not None  # a fit always records its split
        return {
            "preset": self.vectors_.to_meta() if self.vectors_ is not None else None,
            # which weight files made the vectors (hiercat.encoders.fingerprint): classify refuses other encoders
            "encoder_fingerprint": self.store_.get_meta().get("encoder_fingerprint")
            if getattr(self, "store_", None) is not None else None,
            "labels": self.config_.labels, "platforms": self.platforms_, "seed": self.config_.seed,
            "metrics": self.metrics_, "history": self.history_, "decode": self.config_.decode,
            "split_sizes": {"train": len(split.train), "val": len(split.val), "test": len(split.test)},
            "fit_seconds": self.result_.fit_seconds, "calibration": self.calibration_.to_dict(),
            "knn_vector": self.knn_vector_, "modalities_used": list(self.modalities_),
            "config": self.config_.to_dict(),
        }

    # ---- persistence ---------------------------------------------------------------------------
    def save(self, folder: str | Path) -> Path:
        """Write the model (safetensors + JSON sidecar), its split and its category names into `folder`."""
        self._check_fitted()
        folder = Path(folder)
        save_model(self.model_, folder, self.classifier_.sidecar)
        if self.split_ is not None:  # a model loaded from before models recorded their split has none
            self.split_.save(folder)
        if self.category_names_ is not None:
            self.category_names_.save(folder)
        return folder

    @classmethod
    def load(cls, folder: str | Path, store: VectorStore | str | Path) -> Categorizer:
        """A fitted categorizer from a model folder, bound to the store it classifies against."""
        vs = as_store(store)
        clf = Classifier.load(vs, folder)
        cfg = dict(clf.sidecar.get("config") or {})
        est = cls(**{k: v for k, v in cfg.items() if k in cls._get_param_names()})
        est.store_, est.classifier_, est.model_ = vs, clf, clf.model
        est.taxonomy_, est.split_, est.calibration_ = clf.model.taxonomy, clf.split, clf.calibration
        est.metrics_ = dict(clf.sidecar.get("metrics") or {})
        est.history_ = dict(clf.sidecar.get("history") or {})
        est.category_names_, est.knn_vector_ = clf.names, clf.knn_vector
        est.vectors_ = read_schema(vs).preset
        est.modalities_ = [s.name for s in clf.model.specs]
        est.labels = clf.labels
        return est

    # ---- prediction ----------------------------------------------------------------------------
    def _check_fitted(self) -> None:
        if not hasattr(self, "classifier_"):
            raise ValueError("this Categorizer is not fitted: call fit(store) or Categorizer.load(folder, store)")

    def _embedded(self, products: Products, need_category: bool = False):
        self._check_fitted()
        rows, rejects = rows_for_classification(products, need_category=need_category)
        return rows, rejects, embed_for(rows, self.encoders(), self.classifier_)

    def encoders(self) -> Any:
        """The store's encoder preset (loaded once, on first use)."""
        from .encoders import preset_from_meta

        if not hasattr(self, "preset_"):
            self.preset_ = preset_from_meta(read_schema(self.store_))
        return self.preset_

    def predict(self, products: Products, explain: bool = False, native_category: bool = False) -> pd.DataFrame:
        """One row per valid product: `predicted_path`, `confidence`, `source`, `level_k`, `level_k_confidence`.

        explain: attach the k nearest stored products. native_category: use the products'
        `category` (the shop's breadcrumb) as evidence. Products that fail validation are left
        out here; `rows_for_classification` returns them with their reasons.
        """
        cfg = self.classify_config(explain=explain, native_category=native_category)
        rows, _, emb = self._embedded(products, need_category=native_category)
        table = classify_rows(rows, emb.inputs, self.classifier_, self.store_, explain=cfg.explain, knn_k=cfg.knn_k,
                              knn_threshold=cfg.knn_threshold, decode=cfg.decode, stage1=emb.stage1,
                              breadcrumbs=rows["native_path"].tolist() if native_category else None)
        table["note"] = emb.notes
        return table

    def predict_proba(self, products: Products) -> pd.DataFrame:
        """The probability of every label path the model knows, per product (rows: product ids; columns: paths)."""
        rows, _, emb = self._embedded(products)
        scores = predict_path_scores(self.model_, emb.inputs)
        return pd.DataFrame(np.exp(scores.log_probs.astype(np.float64)), columns=[join_path(p) for p in scores.paths],
                            index=pd.Index(rows["product_id"].tolist(), name="product_id"))

    def explain(self, products: Products, k: int = 10) -> pd.DataFrame:
        """The k stored neighbours of each product in the model's neighbour set, one row per (product, neighbour).

        Columns: product_id, rank, neighbour_id, neighbour_platform, neighbour_title, neighbour_label, score.
        """
        from .knn import knn_classify

        rows, _, emb = self._embedded(products)
        name = self.knn_vector_
        if name is None:
            raise ValueError("the store records no title text vector to find neighbours by")
        queries = emb.inputs.dense[name] if name in emb.inputs.dense else emb.inputs.sparse[name].to_vectors()
        votes = knn_classify(self.store_, name, list(queries), k=k, label_field=self.classifier_.labels,
                             members=self.split_.is_neighbour if self.split_ is not None else None)
        out = [{"product_id": pid, "rank": r, "neighbour_id": n.product_id, "neighbour_platform": n.platform,
                "neighbour_title": n.title, "neighbour_label": n.path, "score": round(n.score, 4)}
               for pid, v in zip(rows["product_id"], votes) for r, n in enumerate(v.neighbours, 1)]
        return pd.DataFrame(out, columns=["product_id", "rank", "neighbour_id", "neighbour_platform",
                                          "neighbour_title", "neighbour_label", "score"])

    def propose_mapping(self, products: Products, n_examples: int = 3, options: CatalogOptions | None = None,
                        ) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
        """A new shop's native categories mapped onto the taxonomy: (mapping table, disagreeing products, rejects).

        Every product of a native category votes with its most probable path (`hiercat.propose`);
        the table is what `hiercat ingest --mapping` accepts, with a status per category (auto /
        review / mixed). Products without a category are rejects. options: how to read a catalog
        file (column renames, platform).
        """
        from .propose import propose_mapping

        self._check_fitted()
        rows, rejects = rows_for_classification(products, options, need_category=True)
        missing = rows["native_path"] == ""
        if missing.any():  # a product without a breadcrumb says nothing about any category's mapping
            extra = rows.loc[missing, ["row", "product_id", "platform", "title", "category"]].assign(
                reason="missing category", source=str(products) if isinstance(products, (str, Path)) else "products")
            rejects = pd.concat([rejects, extra], ignore_index=True)
            rows = rows[~missing].reset_index(drop=True)
        emb = embed_for(rows, self.encoders(), self.classifier_)
        table, disagree = propose_mapping(predict_path_scores(self.model_, emb.inputs), rows["native_path"].tolist(),
                                          rows["title"].tolist(), n_examples)
        return table, disagree, rejects

    def score(self, products: Products, y: None = None) -> float:
        """hF1 of `predict` against the products' own `category` paths (in the model's label field)."""
        from .metrics import evaluate_paths

        table = self.predict(products)
        if "true_path" not in table:
            raise ValueError("the products carry no category to score against")
        return float(evaluate_paths(table["true_path"].tolist(), table["predicted_path"].tolist(),
                                    self.classifier_.output_taxonomy())["hF1"])


__all__ = ["Categorizer", "Products", "RunResult", "as_store", "calibrate", "fit_split", "fit_text_stage",
           "rows_for_classification"]


def fit_text_stage(store: VectorStore, folder: str | Path, config: TrainConfig, share: float = 0.2,
                   platforms: Sequence[str] | None = None, progress: bool = False) -> float:
    """Train and save the cascade's cheap first stage (late fusion of text + n-grams); returns its threshold.

    The threshold is chosen on the validation products so that about `share` of them escalate to
    the multimodal model; it is saved with the greedy decoding it was chosen with.
    """
    from .cascade import choose_threshold

    cfg = replace(config, fusion="late", modalities="text+lexical", zero_shot=False, decode="greedy")
    est = Categorizer(progress=progress).fit(store, platforms=platforms, config=cfg)
    pred, truth = est.validation_  # greedy, as cfg decodes: the decoding the threshold is chosen with
    if pred is None:
        raise ValueError("the text stage has no validation products to choose its threshold on")
    thr = choose_threshold(pred.path_conf, np.array([p == t for p, t in zip(pred.paths, truth)]),
                           target_escalation=share)
    est.classifier_.sidecar["cascade_threshold"] = thr
    est.save(folder)
    return float(thr)
