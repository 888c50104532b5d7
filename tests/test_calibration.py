"""calibration: raw confidences mapped to how often they are right, so model and kNN compare fairly."""

from __future__ import annotations

import numpy as np

from hiercat.calibration import MIN_ROWS, Calibration, SourceCalibration


def test_isotonic_fit_maps_scores_to_their_accuracy() -> None:
    rng = np.random.default_rng(0)
    scores = rng.uniform(0, 1, 4000)
    correct = rng.uniform(0, 1, 4000) < scores ** 2  # an over-confident source: right at s**2
    cal = Calibration.fit(scores, correct)
    got = cal(np.array([0.3, 0.6, 0.9]))
    assert np.all(np.abs(got - np.array([0.09, 0.36, 0.81])) < 0.07)
    assert np.all(np.diff(cal(np.linspace(0, 1, 50))) >= 0)  # monotone
    assert Calibration.from_dict(cal.to_dict()) == cal


def test_too_few_rows_or_one_outcome_leave_the_identity() -> None:
    assert not Calibration.fit([0.2] * (MIN_ROWS - 1), [True] * (MIN_ROWS - 1)).fitted
    assert not Calibration.fit(np.linspace(0, 1, 100), np.ones(100, bool)).fitted
    assert list(Calibration()([0.25, 0.75])) == [0.25, 0.75]
    both = SourceCalibration.from_dict(None)
    assert not both.model.fitted and not both.knn.fitted
    assert SourceCalibration.from_dict(both.to_dict()) == both
