"""recluster.shared: image-title CCA vectors."""

from __future__ import annotations

import numpy as np
import pytest


def test_shared_vectors_keep_the_signal_both_views_carry() -> None:
    from hiercat.recluster.shared import shared_features

    rng = np.random.default_rng(0)
    n = 5000
    z = rng.normal(size=(n, 3))  # what the product is: seen by both views
    image = z @ rng.normal(size=(3, 96)) + 2.0 * rng.normal(size=(n, 96))  # plus view-only noise
    words = z @ rng.normal(size=(3, 64)) + 2.0 * rng.normal(size=(n, 64))
    X = shared_features(image, words)
    # Three shared directions and no more: the rest is within the noise edge of independent views.
    assert X.shape == (n, 6)
    np.testing.assert_allclose(np.linalg.norm(X, axis=1), 1.0, rtol=1e-5)
    # Each image-side variate is a near-copy of its word-side partner, and both recover z.
    for j in range(3):
        assert np.corrcoef(X[:, j], X[:, 3 + j])[0, 1] > 0.7
    r2 = 1 - np.linalg.lstsq(np.c_[X, np.ones(n)], z, rcond=None)[1].sum() / ((z - z.mean(0)) ** 2).sum()
    assert r2 > 0.8
    noise = shared_features(rng.normal(size=(n, 96)), rng.normal(size=(n, 64)))
    assert noise.shape == (n, 2)  # nothing shared: one direction kept, not ten

    # A product without an image is placed by its words alone, one without title words by its image.
    image[0] = 0
    words[1] = 0
    X = shared_features(image, words)
    assert not X[0, :3].any() and X[0, 3:].any()
    assert X[1, :3].any() and not X[1, 3:].any()
    with pytest.raises(ValueError, match="at least 50 products with both an image and title words, got 40"):
        shared_features(image[2:42], words[2:42])
