"""hiercat.breadcrumbs: pooling a product's prediction with those of the products sharing its breadcrumb."""

from __future__ import annotations

import numpy as np
import pytest

from hiercat.breadcrumbs import group_codes, pool_by_breadcrumb, sibling_means
from hiercat.model.predict import PathScores

PATHS = [("Apparel", "Shirts"), ("Apparel", "Pants"), ("Watches",)]


def scores(rows: list[list[float]]) -> PathScores:
    return PathScores(PATHS, np.log(np.asarray(rows, dtype=np.float32)))


def test_group_codes_normalize_and_leave_blanks_out() -> None:
    codes = group_codes(["Tops > Tees", " tops > tees", "", "Bottoms"])
    assert codes[0] == codes[1] != codes[3]
    assert codes[2] == -1


def test_sibling_means_leave_the_product_itself_out() -> None:
    probs = np.array([[1.0, 0.0], [0.0, 1.0], [0.5, 0.5]])
    means, others = sibling_means(probs, np.array([0, 0, 1]))
    assert others.tolist() == [1, 1, 0]
    assert means[0].tolist() == [0.0, 1.0] and means[1].tolist() == [1.0, 0.0] and means[2].tolist() == [0.0, 0.0]


def test_an_unsure_odd_product_follows_its_siblings() -> None:
    s = scores([[0.95, 0.04, 0.01]] * 4 + [[0.30, 0.60, 0.10]])
    pooled, _ = pool_by_breadcrumb(s, ["Tops"] * 5).best()
    assert pooled[4] == ("Apparel", "Shirts")


def test_a_product_clearly_of_another_kind_keeps_its_prediction() -> None:
    s = scores([[0.95, 0.04, 0.01]] * 4 + [[1e-5, 1e-5, 0.99998]])
    pooled, conf = pool_by_breadcrumb(s, ["Tops"] * 5).best()
    assert pooled[4] == ("Watches",)
    assert pooled[:4] == [("Apparel", "Shirts")] * 4


def test_no_breadcrumb_or_a_breadcrumb_of_one_changes_nothing() -> None:
    s = scores([[0.3, 0.6, 0.1], [0.3, 0.6, 0.1], [0.9, 0.05, 0.05]])
    pooled = pool_by_breadcrumb(s, ["", "Alone", ""])
    np.testing.assert_allclose(np.exp(pooled.log_probs), np.exp(s.log_probs), atol=1e-6)


def test_pooled_rows_are_distributions_and_lengths_must_match() -> None:
    s = scores([[0.5, 0.3, 0.2], [0.2, 0.3, 0.5]])
    np.testing.assert_allclose(np.exp(pool_by_breadcrumb(s, ["a", "a"]).log_probs).sum(axis=1), 1.0, atol=1e-5)
    with pytest.raises(ValueError, match="2 predictions but 3 breadcrumbs"):
        pool_by_breadcrumb(s, ["a", "a", "b"])
