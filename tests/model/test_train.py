"""model.train: stratified splits and training on real Myntra rows."""

from __future__ import annotations

import numpy as np
import pytest

from hiercat.metrics import evaluate_paths, path_validity
from hiercat.model import (
    predict,
    stratified_split,
    train_classifier,
)

from .conftest import HF1_FLOOR, TRAIN_SECONDS


def test_stratified_split_fractions_disjoint_and_rare_classes():
    paths = [("A", "x")] * 100 + [("B", "y")] * 50 + [("C",)] * 2 + [("D",)]
    tr, va, te = stratified_split(paths, (0.64, 0.16, 0.20), seed=0)
    assert sorted(np.concatenate([tr, va, te]).tolist()) == list(range(len(paths)))
    assert (len(tr), len(va), len(te)) == (64 + 32 + 1 + 1, 16 + 8, 20 + 10 + 1)
    assert 152 in tr  # a single-member class goes to training
    again = stratified_split(paths, seed=0)
    assert all(np.array_equal(a, b) for a, b in zip((tr, va, te), again))


def test_trains_quickly_with_valid_paths_above_floor(trained):
    model, history, seconds, test_inputs, test_paths, tax = trained
    assert seconds < TRAIN_SECONDS
    assert 1 <= history.best_epoch <= len(history.epochs) <= 15
    for decode in ("greedy", "path"):
        preds = predict(model, test_inputs, decode=decode)
        metrics = evaluate_paths(test_paths, preds.paths, tax)
        assert metrics["validity"] == 1.0
        assert metrics["hF1"] >= HF1_FLOOR, (decode, metrics["hF1"])
        assert preds.level_conf.shape == (len(test_paths), 3) and preds.path_conf.shape == (len(test_paths),)
        assert np.allclose(preds.path_conf, preds.level_conf.prod(axis=1), rtol=1e-4)


def test_every_fusion_trains_one_epoch(myntra_sample, one_thread):
    inputs, paths, tax = myntra_sample
    small = inputs.take(np.arange(600))
    for fusion in ("early", "attention"):
        model, history = train_classifier(small, paths[:600], tax, fusion=fusion, epochs=1, val_fraction=0.2,
                                          device="cpu", progress=False, parent_input="teacher")
        preds = predict(model, small, decode="path")
        assert path_validity(preds.paths, model.taxonomy) == 1.0
        assert len(history.epochs) == 1


def test_refit_without_validation_trains_fixed_epochs(myntra_sample, one_thread):
    inputs, paths, tax = myntra_sample
    model, history = train_classifier(inputs.take(np.arange(300)), paths[:300], tax, epochs=3, val_fraction=0,
                                      device="cpu", progress=False, lr_scales=[1.0, 0.2])
    assert [e["epoch"] for e in history.epochs] == [1, 2, 3] and history.best_epoch == 3
    assert [e["lr_scale"] for e in history.epochs] == pytest.approx([1.0, 0.2, 0.2])
    assert "val_hF1" not in history.epochs[0]
    assert path_validity(predict(model, inputs.take(np.arange(300, 400))).paths, model.taxonomy) == 1.0


def test_early_stopping_on_macro_f1_keeps_the_best_macro_epoch(myntra_sample, one_thread):
    inputs, paths, tax = myntra_sample
    tr, va, _ = stratified_split(paths, seed=0)
    model, history = train_classifier(
        inputs.take(tr), [paths[i] for i in tr], tax, fusion="early", epochs=6, patience=2, monitor="macro_f1",
        val=(inputs.take(va), [paths[i] for i in va]), device="cpu", progress=False)
    macro = [e["val_macro_f1"] for e in history.epochs]
    assert history.monitor == "macro_f1" and all(0.0 < m <= 1.0 for m in macro)
    assert history.best_epoch == 1 + int(np.argmax(macro))
    # The restored weights are the best epoch's: recomputing the validation macro-F1 gives its value.
    from hiercat.metrics import level_metrics

    pred = predict(model, inputs.take(va)).paths
    val_paths = [paths[i] for i in va]
    again = np.mean([level_metrics(val_paths, pred, k)["macro_f1"] for k in range(1, 4)])
    assert again == pytest.approx(max(macro), abs=1e-9)
    with pytest.raises(ValueError, match="monitor must be one of"):
        train_classifier(inputs.take(tr), [paths[i] for i in tr], tax, monitor="accuracy", epochs=1, progress=False)


def test_train_history_replays_learning_rate_scales_and_serialises():
    from hiercat.model import TrainHistory

    h = TrainHistory(epochs=[{"epoch": i, "lr_scale": s} for i, s in enumerate([1.0, 1.0, 0.5, 0.25], 1)],
                     best_epoch=3, monitor="macro_f1", seconds=2.5, stopped_early=True)
    assert h.lr_scales() == [1.0, 1.0, 0.5] and h.lr_scales(4) == [1.0, 1.0, 0.5, 0.25]
    assert h.to_dict() == {"epochs": h.epochs, "best_epoch": 3, "monitor": "macro_f1", "seconds": 2.5,
                           "stopped_early": True}


def test_stratified_split_accepts_string_paths_and_checks_fractions():
    tr, va, te = stratified_split(["A > B"] * 10 + ["C"] * 5, (0.6, 0.2, 0.2), seed=1)
    assert (len(tr), len(va), len(te)) == (6 + 3, 2 + 1, 2 + 1)
    assert stratified_split(["A"] * 4, (1, 0, 0))[1].tolist() == []
    with pytest.raises(ValueError, match="fractions must be non-negative with a positive sum"):
        stratified_split(["A"], (0.5, -0.1, 0.6))
