"""Confidences made comparable: each source's raw score mapped to how often it is right, learned on validation data.

The model's path probability and the kNN vote's weight share are different quantities: a vote of
0.6 may be right more often than a model probability of 0.6, or less. Classify decides between
them on calibrated values (isotonic regression of correctness on the raw score, fitted on the
validation split at training time), never on the raw numbers.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.isotonic import IsotonicRegression

MIN_ROWS = 20  # fewer validation rows than this leave the scores as they are


@dataclass(frozen=True)
class Calibration:
    """A monotone map from a raw confidence to the estimated probability of being right (identity if unfitted)."""

    x: tuple[float, ...] = ()
    y: tuple[float, ...] = ()

    @classmethod
    def fit(cls, scores: Sequence[float] | np.ndarray, correct: Sequence[bool] | np.ndarray) -> Calibration:
        """Isotonic fit of correctness on score; the identity when there are too few rows."""
        s = np.asarray(scores, dtype=float)
        ok = np.asarray(correct, dtype=float)
        if len(s) < MIN_ROWS or len(np.unique(ok)) < 2:
            return cls()
        iso = IsotonicRegression(y_min=0.0, y_max=1.0, out_of_bounds="clip").fit(s, ok)
        return cls(tuple(float(v) for v in iso.X_thresholds_), tuple(float(v) for v in iso.y_thresholds_))

    @property
    def fitted(self) -> bool:
        """False for the identity."""
        return bool(self.x)

    def __call__(self, scores: float | Sequence[float] | np.ndarray) -> np.ndarray:
        """Calibrated values of raw scores (piecewise linear between the fitted thresholds)."""
        s = np.asarray(scores, dtype=float)
        if not self.fitted:
            return s
        return np.interp(s, self.x, self.y)

    def to_dict(self) -> dict[str, list[float]]:
        """JSON-ready form, as the model's sidecar stores it."""
        return {"x": list(self.x), "y": list(self.y)}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> Calibration:
        """Read `to_dict`'s form; the identity for None (a model saved before calibration existed)."""
        if not d:
            return cls()
        return cls(tuple(float(v) for v in d.get("x", [])), tuple(float(v) for v in d.get("y", [])))


@dataclass(frozen=True)
class SourceCalibration:
    """The calibration of each deciding source: the model's path confidence and the kNN vote."""

    model: Calibration = Calibration()
    knn: Calibration = Calibration()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        return {"model": self.model.to_dict(), "knn": self.knn.to_dict()}

    @classmethod
    def from_dict(cls, d: Mapping[str, Any] | None) -> SourceCalibration:
        """Read `to_dict`'s form (identity maps where absent)."""
        d = d or {}
        return cls(Calibration.from_dict(d.get("model")), Calibration.from_dict(d.get("knn")))
