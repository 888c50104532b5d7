"""recluster.features: role vectors, 'shared' features on demo shoes, the spec for small selections."""

from __future__ import annotations

import numpy as np

from hiercat.recluster import (
    recluster,
    select_category,
)

from .conftest import TinyText


def test_shared_vectors_on_demo_shoes_and_small_selections(built) -> None:
    from hiercat.recluster.features import build_features, fused_weights, role_vectors, spec_for_size

    store, _, root = built
    sel = select_category(store, "Shoes")
    notes: list[str] = []
    vecs, spec, w = role_vectors(sel, "shared", fused_weights(), None, notes)
    # Keyed by role since the store schema records each vector's role (74dfdbb): the image role is tiny_image.
    assert sorted(vecs) == ["image", "words"] and spec == "shared"
    np.testing.assert_array_equal(vecs["image"], sel.vectors["tiny_image"])
    assert notes == ["no text encoder available to re-encode cleaned titles: 'shared' vectors use the "
                     "title words (TF-IDF) alone"]
    X = build_features(vecs, spec, w)
    half = X.shape[1] // 2
    assert X.shape[0] == 300 and 1 <= half <= 10
    # Real titles and real pictures of shoes agree on a direction (0.53 measured with the 8x8 thumbnails).
    assert np.corrcoef(X[:, 0], X[:, half])[0, 1] > 0.4
    # With a text encoder the title side is words beside encoded terms, and the agreement holds.
    vecs, spec, w = role_vectors(sel, "shared", fused_weights(), TinyText(), [])
    assert sorted(vecs) == ["image", "terms", "words"] and vecs["terms"].shape == (300, TinyText.dim)
    X = build_features(vecs, spec, w)
    half = X.shape[1] // 2
    assert X.shape[0] == 300 and 1 <= half <= 10 and np.corrcoef(X[:, 0], X[:, half])[0, 1] > 0.4
    notes = []
    assert spec_for_size("shared", 40, notes) == "fused"
    assert notes == ["only 40 products to cluster, too few for the image-title CCA of 'shared' vectors "
                     "(it needs 100): clustering 'fused' vectors (image + words)"]
    assert spec_for_size("shared", 100, []) == "shared" and spec_for_size("words", 5, []) == "words"
    report = recluster(store, "Shoes", root / "out-shared", n_clusters=(4, 2), reference="native_category",
                       seed=0, make_scatter=False, montage_size=0)
    assert report.params["vectors"] == "shared" and report.params["used"] == "shared"
    assert report.n_clustered == 289 and report.levels[0].purity >= 0.55


def test_centred_removes_the_shared_component_and_keeps_absent_rows_zero() -> None:
    from hiercat.recluster.features import centred

    x = np.array([[10.0, 1.0], [10.0, -1.0], [0.0, 0.0], [10.0, 3.0]])
    out = centred(x)
    # Mean of the present rows is (10, 1): the rows become (0, 0), (0, -2), (0, 2) before normalizing.
    np.testing.assert_allclose(out, [[0, 0], [0, -1], [0, 0], [0, 1]], atol=1e-6)
    np.testing.assert_allclose(centred(x, present=np.array([True, True, False, False])),
                               [[0, 1], [0, -1], [0, 0], [0, 0]], atol=1e-6)  # a row marked absent stays zero
    assert not centred(np.zeros((3, 2))).any()
