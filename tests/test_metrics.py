"""Hierarchical and per-level metrics on small hand-computed cases."""

from __future__ import annotations

import pytest

from hiercat.metrics import (
    evaluate_paths,
    exact_match,
    hierarchical_prf,
    level_labels,
    level_metrics,
    path_validity,
)
from hiercat.taxonomy import STOP, Taxonomy

TRUE = [("A", "B", "C"), ("A", "D"), ("E",)]
PRED = [("A", "B", "X"), ("E",), ("E",)]


def test_hierarchical_prf_hand_computed():
    # Ancestor sets: {A, AB, ABC} vs {A, AB, ABX} -> 2 shared; {A, AD} vs {E} -> 0; {E} vs {E} -> 1.
    # hP = 3/5, hR = 3/6, hF = 2 * .6 * .5 / 1.1 = 6/11.
    r = hierarchical_prf(TRUE, PRED)
    assert r["hP"] == pytest.approx(3 / 5)
    assert r["hR"] == pytest.approx(1 / 2)
    assert r["hF1"] == pytest.approx(6 / 11)


def test_same_name_in_other_branch_is_a_different_label():
    r = hierarchical_prf([("Men", "Shoes")], [("Women", "Shoes")])
    assert r == {"hP": 0.0, "hR": 0.0, "hF1": 0.0}
    assert level_metrics([("Men", "Shoes")], [("Women", "Shoes")], 2)["accuracy"] == 0.0


def test_strings_and_tuples_agree_and_empty_prediction_only_costs_recall():
    assert hierarchical_prf(["A > B"], [("A", "B")])["hF1"] == 1.0
    r = hierarchical_prf([("A", "B"), ("C",)], [(), ("C",)])
    assert r["hP"] == pytest.approx(1.0)  # the empty path adds nothing to the precision denominator
    assert r["hR"] == pytest.approx(1 / 3)
    assert r["hF1"] == pytest.approx(0.5)


def test_short_paths_count_as_stop_per_level():
    assert level_labels(TRUE, 2) == ["A > B", "A > D", STOP]
    assert level_labels(TRUE, 3) == ["A > B > C", STOP, STOP]


def test_level_metrics_hand_computed():
    # Level 1: true [A, A, E], pred [A, E, E]: F1(A) = F1(E) = 2/3.
    l1 = level_metrics(TRUE, PRED, 1)
    assert l1["accuracy"] == pytest.approx(2 / 3)
    assert l1["macro_f1"] == pytest.approx(2 / 3)
    assert l1["weighted_f1"] == pytest.approx(2 / 3)
    # Level 2: true [A>B, A>D, STOP], pred [A>B, STOP, STOP]: F1 = 1, 0, 2/3 (support 1 each).
    l2 = level_metrics(TRUE, PRED, 2)
    assert l2["accuracy"] == pytest.approx(2 / 3)
    assert l2["macro_f1"] == pytest.approx(5 / 9)
    assert l2["weighted_f1"] == pytest.approx(5 / 9)
    # Level 3: true [A>B>C, STOP, STOP], pred [A>B>X, STOP, STOP]: F1(A>B>C) = 0, F1(STOP) = 1; A>B>X has no
    # support and is not averaged (it would make 1/3).
    l3 = level_metrics(TRUE, PRED, 3)
    assert l3["accuracy"] == pytest.approx(2 / 3)
    assert l3["macro_f1"] == pytest.approx(1 / 2)
    assert l3["weighted_f1"] == pytest.approx(2 / 3)
    assert l3["classes"] == 2


def test_a_predicted_only_class_does_not_halve_macro_f1():
    # 9 products of one class, one predicted into a class no product has: the level is 90 % right.
    true, pred = [("A",)] * 10, [("A",)] * 9 + [("B",)]
    m = level_metrics(true, pred, 1)
    assert m["macro_f1"] == pytest.approx(2 * 0.9 / 1.9)  # F1(A), not (F1(A) + 0) / 2
    assert m["classes"] == 1


def test_path_validity_against_taxonomy():
    tax = Taxonomy.from_paths([("A", "B", "C"), ("A", "D"), ("E",)])
    # A>B>X does not exist; A alone is an inner node that is no label; the empty path is never valid.
    assert path_validity(PRED, tax) == pytest.approx(2 / 3)
    assert path_validity([("A",), (), ("A", "D"), ("A", "B", "C")], tax) == pytest.approx(2 / 4)


def test_evaluate_paths_summary():
    tax = Taxonomy.from_paths(TRUE)
    r = evaluate_paths(TRUE, PRED, tax)
    assert r["n"] == 3
    assert r["hF1"] == pytest.approx(6 / 11)
    assert r["exact"] == pytest.approx(1 / 3) == exact_match(TRUE, PRED)
    assert r["validity"] == pytest.approx(2 / 3)
    assert r["l2_macro_f1"] == pytest.approx(5 / 9)
    assert r["l3_weighted_f1"] == pytest.approx(2 / 3)
    assert "l4_accuracy" not in r
    with pytest.raises(ValueError):
        evaluate_paths(TRUE, PRED[:2])


def test_as_path_splits_strings_and_keeps_tuples():
    from hiercat.metrics import as_path

    assert as_path("A > B") == ("A", "B") and as_path(["A", "B"]) == ("A", "B") and as_path("") == ()


def test_empty_inputs_score_zero_and_unequal_lengths_are_refused():
    assert hierarchical_prf([], []) == {"hP": 0.0, "hR": 0.0, "hF1": 0.0}
    assert level_metrics([], [], 1) == {"accuracy": 0.0, "macro_f1": 0.0, "weighted_f1": 0.0}
    assert exact_match([], []) == 0.0 and path_validity([], Taxonomy.from_paths(TRUE)) == 0.0
    assert evaluate_paths([], []) == {"n": 0.0, "hP": 0.0, "hR": 0.0, "hF1": 0.0, "exact": 0.0}
    with pytest.raises(ValueError, match="3 true paths but 2 predicted paths"):
        evaluate_paths(TRUE, PRED[:2])
    with pytest.raises(ValueError):
        hierarchical_prf(TRUE, PRED[:2])  # zip(strict=True): a silently shorter score would look better
    with pytest.raises(ValueError):
        exact_match(TRUE, PRED[:2])


def test_levels_default_to_the_taxonomy_depth_or_the_longest_true_path():
    deep = Taxonomy.from_paths(TRUE + [("A", "B", "C", "D")])
    assert "l4_accuracy" in evaluate_paths(TRUE, PRED, deep) and "l4_accuracy" not in evaluate_paths(TRUE, PRED)
    two = evaluate_paths(TRUE, PRED, levels=2)
    assert "l2_accuracy" in two and "l3_accuracy" not in two and "validity" not in two
