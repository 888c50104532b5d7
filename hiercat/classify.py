"""Classifying new products: embed them like the store, predict valid paths, fall back to and explain with kNN."""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .breadcrumbs import pool_by_breadcrumb
from .calibration import SourceCalibration
from .cascade import CascadeResult, cascade_predict
from .catalog import CatalogError, CatalogOptions, read_table, validate
from .encoders.base import open_images
from .encoders.fingerprint import check_model_encoders
from .knn import KnnVote, knn_classify
from .model import ClassifierModel, ModalityInputs, Predictions, load_model, predict, predict_path_scores
from .model.inputs import CSRArrays
from .model.predict import predictions_from_scores
from .store.base import VectorStore
from .store.schema import read_schema
from .taxonomy import Taxonomy, join_path, split_path
from .training_split import TrainingSplit
from .zero_shot import CategoryNames, text_vector, zero_shot_override


def _sidecar_decode(sidecar: dict[str, Any]) -> str:
    """The decoding a sidecar records (`train --decode`, or what a text stage's threshold was chosen with)."""
    return str(sidecar.get("decode") or "greedy")


@dataclass
class Classifier:
    """A trained model (optionally with a cheap text-only first stage) bound to the store it was trained on.

    labels: the payload field the model learned (`path` or `native_category`), which the kNN vote
    reads too; split: the products it was trained on (its kNN neighbour set), None for a model
    saved before models recorded one; calibration: how often each source is right at a given raw
    confidence; knn_vector: the stored vector the kNN vote searches.
    """

    model: ClassifierModel
    sidecar: dict[str, Any]
    text_model: ClassifierModel | None = None
    threshold: float | None = None
    text_decode: str = "greedy"  # how the text stage decoded when its threshold was chosen
    names: CategoryNames | None = None  # the taxonomy's category names, for categories the model lacks
    labels: str = "path"
    split: TrainingSplit | None = None
    calibration: SourceCalibration = field(default_factory=SourceCalibration)
    knn_vector: str | None = None

    @classmethod
    def load(cls, store: VectorStore, model_path: str | Path, text_model_path: str | Path | None = None,
             threshold: float | None = None) -> Classifier:
        """Load model(s), refusing ones whose vectors do not match the store's, or a folder holding no model."""
        if not (Path(model_path) / "model.safetensors").exists():
            raise FileNotFoundError(f"no model at {model_path}: run `hiercat train` first")
        record = read_schema(store).preset
        vectors, sparse = (record.dense(), record.sparse_names()) if record else (None, None)
        model, sidecar = load_model(model_path, vectors, sparse)
        check_model_encoders(sidecar, store.get_meta(), model_path)  # same vector sizes is not the same encoders
        text_model, text_decode = None, "greedy"
        if text_model_path is not None:
            text_model, text_meta = load_model(text_model_path, vectors, sparse)
            if threshold is None:
                threshold = float(text_meta.get("cascade_threshold", 0.9))
            text_decode = _sidecar_decode(text_meta)
        titles = record.names(field="title", role="text") if record else []
        return cls(model, sidecar, text_model, threshold, text_decode, CategoryNames.load(model_path),
                   labels=str(sidecar.get("labels") or "path"), split=TrainingSplit.load(model_path),
                   calibration=SourceCalibration.from_dict(sidecar.get("calibration")),
                   knn_vector=sidecar.get("knn_vector") or (titles[0] if titles else None))

    def output_taxonomy(self) -> Taxonomy:
        """Every path this classifier may output: the model's labels, and each category name zero-shot may pick."""
        tax = Taxonomy.from_dict(self.model.taxonomy.to_dict())
        for path in self.names.paths if self.names is not None else []:
            tax.add_path(path, terminal=True)
        return tax

    @property
    def decode(self) -> str:
        """The decoding the model was trained and scored with (`hiercat train --decode`)."""
        return _sidecar_decode(self.sidecar)

    def predict(self, inputs: ModalityInputs, decode: str | None = None,
                stage1: Predictions | None = None) -> tuple[Predictions, list[str], CascadeResult | None]:
        """Predictions, the deciding stage per item, and the cascade details when a text stage is set.

        `decode`: greedy or path; None = the model's own (`decode`); it applies to the model, while a text
        stage always decodes as its threshold was chosen (`text_decode`). `stage1`: the text stage's
        predictions if already made (see `embed_for`), so they are not made twice.
        """
        decode = decode or self.decode
        if self.text_model is None:
            pred = predict(self.model, inputs, decode=decode)
            return pred, ["model"] * len(pred), None
        result = cascade_predict(self.text_model, self.model, inputs, float(self.threshold or 0.0), decode, stage1,
                                 self.text_decode)
        return result.predictions, result.source, result


def embed_rows(rows: pd.DataFrame, preset: Any, batch_size: int = 256,
               with_images: bool = True) -> tuple[ModalityInputs, list[str]]:
    """Vectors of catalog rows exactly as ingest makes them; a corrupt image leaves a zero image row and a note.

    with_images=False leaves every image vector zero without opening a file (the cascade's first stage).
    """
    dense_parts: dict[str, list[np.ndarray]] = {}
    sparse_parts: dict[str, list] = {}
    notes: list[str] = []
    for lo in range(0, len(rows), batch_size):
        batch = rows.iloc[lo: lo + batch_size]
        images, batch_notes = open_images(batch["image_path"].tolist()) if with_images else (None, [""] * len(batch))
        notes.extend(batch_notes)
        dense, sparse = preset.encode(batch["title"].tolist(), batch["brand"].tolist(), images,
                                      batch["description"].tolist())
        for k, v in dense.items():
            dense_parts.setdefault(k, []).append(v)
        for k, v in sparse.items():
            sparse_parts.setdefault(k, []).extend(v)
    inputs = ModalityInputs({k: np.concatenate(v) for k, v in dense_parts.items()},
                            {k: CSRArrays.from_vectors(v) for k, v in sparse_parts.items()},
                            preset.record() if hasattr(preset, "record") else None)
    return inputs, notes


def embed_images_into(inputs: ModalityInputs, notes: list[str], rows: pd.DataFrame, positions: np.ndarray,
                      preset: Any, batch_size: int = 256) -> None:
    """Fill the image vectors (and notes) of the given row positions in place."""
    name = preset.image_vector
    if name is None:
        return
    for lo in range(0, len(positions), batch_size):
        pos = positions[lo: lo + batch_size]
        images, batch_notes = open_images(rows["image_path"].iloc[pos].tolist())
        inputs.dense[name][pos] = preset.encode_images(images)
        for i, note in zip(pos, batch_notes):
            notes[i] = note


@dataclass
class Embedded:
    """Vectors of the rows to classify, a note per row, seconds spent per stage, and the text stage's predictions."""

    inputs: ModalityInputs
    notes: list[str]
    seconds: dict[str, float]
    images_embedded: int
    stage1: Predictions | None = None


def embed_for(rows: pd.DataFrame, preset: Any, classifier: Classifier, batch_size: int = 256) -> Embedded:
    """Embed what the classifier needs: with a text stage, images only of the items that stage escalates.

    Image decoding and the image encoder are most of the cost of a product; a cascade that embedded
    every image first would save nothing, so confident items never have their image opened. Pass the
    returned `stage1` on to `classify_rows`, so the cascade escalates exactly the items whose images
    were embedded.
    """
    t0 = time.perf_counter()
    has_images = preset.image_vector is not None
    if classifier.text_model is None:
        inputs, notes = embed_rows(rows, preset, batch_size)
        return Embedded(inputs, notes, {"embed": time.perf_counter() - t0}, len(rows) if has_images else 0)
    inputs, notes = embed_rows(rows, preset, batch_size, with_images=False)
    t1 = time.perf_counter()
    first = predict(classifier.text_model, inputs, decode=classifier.text_decode)
    escalate = np.flatnonzero(first.path_conf < float(classifier.threshold or 0.0))
    t2 = time.perf_counter()
    embed_images_into(inputs, notes, rows, escalate, preset, batch_size)
    return Embedded(inputs, notes, {"embed_text": t1 - t0, "text_stage": t2 - t1,
                                    "embed_escalated_images": time.perf_counter() - t2},
                    len(escalate) if has_images else 0, first)


def knn_fallback(rows: pd.DataFrame, inputs: ModalityInputs, classifier: Classifier, store: VectorStore,
                 pred: Predictions, source: list[str], explain: bool = False, knn_k: int = 10,
                 knn_threshold: float = 0.5) -> tuple[list[tuple[str, ...]], np.ndarray, np.ndarray, dict[int, KnnVote]]:
    """Paths, path and per-level confidences after the kNN fallback, and the vote of every row that has one.

    The store's neighbours vote (in the label field the model learned, among the model's neighbour
    set) for the rows whose calibrated model confidence is below `knn_threshold`, and for every row
    with `explain`. A vote decides a row when its calibrated confidence beats the model's; the row
    then carries the vote's own per-level confidences and source `knn` (`source` is updated in place).
    """
    paths = list(pred.paths)
    conf = pred.path_conf.astype(float).copy()
    level_conf = pred.level_conf.astype(float).copy()
    model_cal = classifier.calibration.model(conf)
    low = np.flatnonzero(model_cal < knn_threshold)
    need = np.arange(len(paths)) if explain else low
    votes: dict[int, KnnVote] = {}
    name = classifier.knn_vector
    if len(need) and name is not None and name in inputs.names:
        queries = inputs.dense[name][need] if name in inputs.dense else inputs.sparse[name].take(need).to_vectors()
        members = classifier.split.is_neighbour if classifier.split is not None else None
        legacy = {"split": ["train", "val"]} if members is None and _has_split(store) else None
        for i, got in zip(need, knn_classify(store, name, list(queries), k=knn_k, filter=legacy,
                                             label_field=classifier.labels, members=members)):
            votes[int(i)] = got
    for i in low:
        vote = votes.get(int(i))
        if vote is None or not vote.path or vote.confidence <= 0:
            continue
        if float(classifier.calibration.knn(vote.confidence)) > float(model_cal[i]):
            paths[i], conf[i] = vote.path, vote.confidence
            level_conf[i] = [vote.level_conf[k] if k < len(vote.level_conf) else 1.0
                             for k in range(level_conf.shape[1])]
            source[i] = "knn"
    return paths, conf, level_conf, votes


def classify_rows(
    rows: pd.DataFrame,
    inputs: ModalityInputs,
    classifier: Classifier,
    store: VectorStore,
    explain: bool = False,
    knn_k: int = 10,
    knn_threshold: float = 0.5,
    decode: str | None = None,
    stage1: Predictions | None = None,
    breadcrumbs: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Predictions table: path, per-level confidence, deciding source, and kNN neighbours when asked or needed.

    Items whose model confidence is below `knn_threshold` take the kNN vote if it is more confident.
    breadcrumbs: the shop's own category of each row; the model's path probabilities are then pooled
    with those of the rows sharing it (`hiercat.breadcrumbs.pool_by_breadcrumb`, source `breadcrumb`
    where that changed the path).
    """
    pred, source, stages = classifier.predict(inputs, decode, stage1)
    source = list(source)
    if breadcrumbs is not None:
        pred, source = pooled_predictions(classifier.model, inputs, breadcrumbs, pred, source)
    if classifier.names is not None:
        pred, source = zero_shot_predictions(classifier.names, classifier.model, inputs, pred, source)
    paths, conf, level_conf, votes = knn_fallback(rows, inputs, classifier, store, pred, source, explain=explain,
                                                  knn_k=knn_k, knn_threshold=knn_threshold)
    depth = pred.level_conf.shape[1]
    out = pd.DataFrame({
        "product_id": rows["product_id"].values,
        "platform": rows["platform"].values,
        "title": rows["title"].values,
        "predicted_path": [join_path(p) for p in paths],
        "confidence": conf,
        "source": source,
    })
    if stages is not None:  # which items the cascade escalated, whoever decided them in the end
        out["escalated"] = stages.escalated
    for k in range(depth):
        out[f"level_{k + 1}"] = [join_path(p[: k + 1]) if len(p) > k else "" for p in paths]
        out[f"level_{k + 1}_confidence"] = level_conf[:, k]
    if explain:
        out["neighbours"] = [
            json.dumps([{"product_id": n.product_id, "platform": n.platform, "title": n.title, "path": n.path,
                         "score": round(n.score, 4)} for n in votes[i].neighbours], ensure_ascii=False)
            for i in range(len(paths))
        ]
    if "path" in rows.columns and (rows["path"] != "").any():
        out["true_path"] = rows["path"].values
        out["correct"] = [t == p for t, p in zip(out["true_path"], out["predicted_path"])]
    return out


def pooled_predictions(model: ClassifierModel, inputs: ModalityInputs, breadcrumbs: Sequence[str],
                       pred: Predictions, source: list[str]) -> tuple[Predictions, list[str]]:
    """`pred` with every path replaced by its breadcrumb-pooled best; `source` becomes `breadcrumb` where the path changed."""
    pooled = predictions_from_scores(pool_by_breadcrumb(predict_path_scores(model, inputs), breadcrumbs), model.taxonomy)
    changed = [a != b for a, b in zip(pooled.paths, pred.paths)]
    return pooled, ["breadcrumb" if c else s for c, s in zip(changed, source)]


def zero_shot_predictions(names: CategoryNames, model: ClassifierModel, inputs: ModalityInputs, pred: Predictions,
                          source: list[str]) -> tuple[Predictions, list[str]]:
    """`pred` where the model is unsure and the product's text names a category the model lacks: that category.

    Such rows get source `zero-shot` and the name's cosine similarity as their confidence at each level.
    """
    text = text_vector(inputs.dense, inputs.names_of(field=("words", "description"), role="text"))
    if text is None:
        return pred, source
    use, zs_paths, sims = zero_shot_override(pred.path_conf, text, names, set(model.taxonomy.paths))
    if not use.any():
        return pred, source
    paths, level_conf, path_conf = list(pred.paths), pred.level_conf.copy(), pred.path_conf.copy()
    source = list(source)
    for i in np.flatnonzero(use):
        paths[i], path_conf[i] = zs_paths[i], sims[i]
        level_conf[i] = [sims[i] if k < len(zs_paths[i]) else 1.0 for k in range(level_conf.shape[1])]
        source[i] = "zero-shot"
    # Indices index the model's taxonomy, which has no class for a zero-shot category: -1 marks that.
    indices = pred.indices.copy()
    indices[use] = -1
    return Predictions(paths, level_conf, path_conf, indices), source


def drop_non_finite(rows: pd.DataFrame, rejects: pd.DataFrame, emb: Embedded
                    ) -> tuple[pd.DataFrame, pd.DataFrame, Embedded]:
    """Rows whose vectors hold NaN / inf (an encoder failing on them) moved to the rejects: never classified."""
    bad = np.zeros(len(rows), dtype=bool)
    why: dict[int, str] = {}
    for name, arr in emb.inputs.dense.items():
        rows_bad = ~np.isfinite(np.asarray(arr)).all(axis=1)
        for i in np.flatnonzero(rows_bad & ~bad):
            why[int(i)] = f"the encoder produced non-finite values (NaN / inf) for vector {name}"
        bad |= rows_bad
    if not bad.any():
        return rows, rejects, emb
    keep = np.flatnonzero(~bad)
    out = rows.iloc[np.flatnonzero(bad)][[c for c in ("row", "line", "product_id", "platform", "title", "category")
                                          if c in rows.columns]].copy()
    out["reason"] = [why[int(i)] for i in np.flatnonzero(bad)]
    emb.inputs = emb.inputs.take(keep)
    emb.notes = [emb.notes[i] for i in keep]
    if emb.stage1 is not None:
        emb.stage1 = emb.stage1.take(keep) if hasattr(emb.stage1, "take") else None
    return rows.iloc[keep].reset_index(drop=True), pd.concat([rejects, out], ignore_index=True), emb


def _has_split(store: VectorStore) -> bool:
    # Neighbours come from training products only once a split is recorded, so test items never explain themselves.
    return store.count({"split": ["train", "val"]}) > 0


def read_for_classification(source: str | Path, options: CatalogOptions,
                            need_category: bool = False) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows to classify and rejected rows with reasons; the category column is optional unless `need_category`.

    need_category: the shop's breadcrumbs are used as evidence (`--native-category`, propose-mapping),
    so a file without a category column is refused, naming the column.
    """
    options.require_category = False
    # A missing image file is classified without it, as a corrupt one is (embed_rows notes it), not rejected.
    options.check_images = False
    try:
        table = read_table(source, options.columns,
                           required=("product_id", "title", "category") if need_category else ("product_id", "title"))
    except CatalogError as exc:
        if need_category and "category" in str(exc):
            raise CatalogError(f"{exc} The shop's breadcrumbs are read from the `category` column "
                               "(levels joined by ' > ').") from exc
        raise
    checked = validate(table, source, options)
    rows = checked.rows
    if "path" in rows.columns:
        rows["path"] = [join_path(split_path(p)) if p else "" for p in rows["path"]]
    return rows, checked.rejects


@dataclass
class CatalogPredictions:
    """What classifying one catalog file gave: the predictions table, the rows that could not be read, the vectors."""

    table: pd.DataFrame
    rejects: pd.DataFrame
    embedded: Embedded
    rows: pd.DataFrame
    classifier: Classifier


def load_classifier(store: VectorStore, model_dir: str | Path, cascade: bool = False,
                    threshold: float | None = None) -> tuple[Classifier, Any]:
    """The classifier saved in `model_dir` (with its text stage `../text` for a cascade) and the store's encoders."""
    from .encoders import preset_from_meta

    clf = Classifier.load(store, model_dir, (Path(model_dir).parent / "text") if cascade else None, threshold)
    return clf, preset_from_meta(store.get_meta())


def classify_catalog(source: str | Path, store: VectorStore, model_dir: str | Path,
                     options: CatalogOptions | None = None, native_category: bool = False, cascade: bool = False,
                     threshold: float | None = None, explain: bool = False, knn_k: int = 10,
                     knn_threshold: float = 0.5, decode: str | None = None) -> CatalogPredictions:
    """Read, embed and classify a catalog file with a saved model (what `hiercat classify` prints).

    native_category: pool each product's prediction with those sharing its `category` (the shop's
    breadcrumb); a file without that column is refused.
    """
    # The file first: a wrong path or a malformed file is reported before any model loads.
    rows, rejects = read_for_classification(source, options or CatalogOptions(), need_category=native_category)
    clf, preset = load_classifier(store, model_dir, cascade, threshold)
    emb = embed_for(rows, preset, clf)
    rows, rejects, emb = drop_non_finite(rows, rejects, emb)
    table = classify_rows(rows, emb.inputs, clf, store, explain=explain, knn_k=knn_k, knn_threshold=knn_threshold,
                          decode=decode, stage1=emb.stage1,
                          breadcrumbs=rows["native_path"].tolist() if native_category else None)
    table["note"] = emb.notes
    return CatalogPredictions(table, rejects, emb, rows, clf)
