"""Two-stage cascade: a cheap text model decides confident items, the multimodal model the rest."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np

from .model import ClassifierModel, ModalityInputs, Predictions, predict


def choose_threshold(confidence: np.ndarray, correct: np.ndarray, target_escalation: float | None = None,
                     target_accuracy: float | None = None) -> float:
    """Stage-1 confidence threshold from validation data.

    target_escalation: escalate (about) this share of items, the least confident ones.
    target_accuracy: the lowest threshold at which the items kept by stage 1 are at least this accurate.
    """
    conf = np.asarray(confidence, dtype=float)
    ok = np.asarray(correct, dtype=bool)
    if (target_escalation is None) == (target_accuracy is None):
        raise ValueError("give exactly one of target_escalation and target_accuracy")
    if target_escalation is not None:
        if not 0.0 <= target_escalation <= 1.0:
            raise ValueError("target_escalation is a share between 0 and 1")
        return float(np.quantile(conf, target_escalation)) if target_escalation > 0 else 0.0
    if target_accuracy is None:  # not reached: exactly one of the two was given (checked above)
        raise ValueError("give exactly one of target_escalation and target_accuracy")
    order = np.argsort(-conf)
    kept_acc = np.cumsum(ok[order]) / np.arange(1, len(order) + 1)
    # Walk from the most confident down; the threshold is the lowest confidence still meeting the target.
    meets = np.flatnonzero(kept_acc >= target_accuracy)
    if not len(meets):
        return float("inf")
    return float(conf[order][meets[-1]])


@dataclass
class CascadeResult:
    """Final predictions, which items were escalated, and the time spent per stage."""

    predictions: Predictions
    escalated: np.ndarray
    stage1_seconds: float
    stage2_seconds: float

    @property
    def escalated_share(self) -> float:
        """Share of items sent to the multimodal stage."""
        return float(self.escalated.mean()) if len(self.escalated) else 0.0

    @property
    def source(self) -> list[str]:
        """Which stage decided each item: 'text' or 'multimodal'."""
        return ["multimodal" if e else "text" for e in self.escalated]


def cascade_predict(text_model: ClassifierModel, full_model: ClassifierModel, inputs: ModalityInputs,
                    threshold: float, decode: str = "greedy", stage1: Predictions | None = None,
                    text_decode: str | None = None) -> CascadeResult:
    """Stage 1 on every item; stage 2 only on items whose stage-1 path confidence is below the threshold.

    `decode` is the multimodal stage's; `text_decode` the text stage's (None: the same). The threshold
    compares stage-1 path confidences, so stage 1 must decode as it did when the threshold was chosen.
    `stage1`: the text model's predictions when the caller already made them (to pick which images to embed).
    """
    t0 = time.perf_counter()
    first = stage1 if stage1 is not None else predict(text_model, inputs, decode=text_decode or decode)
    t1 = time.perf_counter()
    escalated = first.path_conf < threshold
    rows = np.flatnonzero(escalated)
    paths = list(first.paths)
    level_conf, path_conf = first.level_conf.copy(), first.path_conf.copy()
    indices = first.indices.copy()
    if len(rows):
        second = predict(full_model, inputs.take(rows), decode=decode)
        for j, i in enumerate(rows):
            paths[i] = second.paths[j]
        # Models may differ in depth: align their per-level arrays on the common levels.
        depth = min(level_conf.shape[1], second.level_conf.shape[1])
        level_conf[rows, :depth] = second.level_conf[:, :depth]
        level_conf[rows, depth:] = 1.0
        path_conf[rows] = second.path_conf
        indices[rows, :depth] = second.indices[:, :depth]
    t2 = time.perf_counter()
    return CascadeResult(Predictions(paths, level_conf, path_conf, indices), escalated, t1 - t0, t2 - t1)
