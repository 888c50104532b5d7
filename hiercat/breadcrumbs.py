"""A shop's own breadcrumbs as evidence: each product's prediction pooled with those of the products sharing its breadcrumb.

A shop files its products under its own categories ("Garment Lower body > Trousers"). Those do not
name a target category, but products under one breadcrumb are mostly of one kind, so their
predictions back each other: one odd title ("Kelso") follows its siblings, while a product that is
clearly something else keeps its own prediction.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy.special import logsumexp

from .model.predict import PathScores

# The siblings' vote enters as SIBLING_WEIGHT x log(mean + SIBLING_FLOOR): a product must be about
# (1/SIBLING_FLOOR)**SIBLING_WEIGHT (100) times surer of its own path than of the one its siblings
# agree on to keep it. Leaving either shop out, a floor of 0.01 pooled better than 0.02, 0.05 or 0.1.
# A weight of 2 or 3 pools better still on those shops (bench/RESULTS.md) but then a watch filed among
# T-shirts becomes a T-shirt (tests/test_classify.py): a real exception would need a 10,000- or
# million-fold certainty, more than a model trained on other shops has.
SIBLING_FLOOR = 0.01
SIBLING_WEIGHT = 1.0


def group_codes(breadcrumbs: Sequence[str]) -> np.ndarray:
    """An integer per product for its breadcrumb (normalized: stripped, case-folded); -1 where there is none."""
    keys = pd.Series([str(b or "").strip().casefold() for b in breadcrumbs], dtype=object)
    codes, _ = pd.factorize(keys.where(keys != "", None), use_na_sentinel=True)
    return np.asarray(codes)


def sibling_means(probs: np.ndarray, codes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mean probabilities of each product's siblings (the others with its code), and how many there are."""
    n_groups = int(codes.max()) + 1 if len(codes) and codes.max() >= 0 else 0
    valid = codes >= 0
    sums = np.zeros((n_groups, probs.shape[1]), dtype=np.float64)
    np.add.at(sums, codes[valid], probs[valid])
    sizes = np.bincount(codes[valid], minlength=n_groups)
    others = np.zeros(len(codes), dtype=np.int64)
    others[valid] = sizes[codes[valid]] - 1
    means = np.zeros_like(probs, dtype=np.float64)
    has = others > 0
    means[has] = (sums[codes[has]] - probs[has]) / others[has, None]
    return means, others


def pool_by_breadcrumb(scores: PathScores, breadcrumbs: Sequence[str], weight: float = SIBLING_WEIGHT,
                       floor: float = SIBLING_FLOOR) -> PathScores:
    """Each product's path log-probabilities plus `weight` x log(its siblings' mean probability + `floor`), renormalized.

    The product's own probabilities are left out of its siblings' mean, so a breadcrumb holding one
    product changes nothing, and neither does a product without a breadcrumb.
    """
    if len(breadcrumbs) != len(scores):
        raise ValueError(f"{len(scores)} predictions but {len(breadcrumbs)} breadcrumbs")
    codes = group_codes(breadcrumbs)
    means, others = sibling_means(np.exp(scores.log_probs.astype(np.float64)), codes)
    pooled = scores.log_probs.astype(np.float64).copy()
    has = others > 0
    pooled[has] += weight * np.log(means[has] + floor)
    pooled -= logsumexp(pooled, axis=1, keepdims=True)
    return PathScores(scores.paths, pooled.astype(np.float32))
