"""recluster.terms: title word vectors."""

from __future__ import annotations

import numpy as np

from hiercat.encoders.base import l2_normalize
from hiercat.recluster import (
    select_category,
)


def test_word_vectors_keep_type_words(built) -> None:
    from hiercat.recluster.terms import word_vectors

    store, _, _ = built
    sel = select_category(store, "Shoes")
    titles, ref = sel.column("title"), sel.column("native_category")
    X = word_vectors(titles, sel.column("brand"), sel.column("colour"))
    assert X.shape == (300, 64) and X.dtype == np.float32
    # Brand, colour and audience words are gone: the same shoe type in two colours of two brands
    # gets the same row, so nearest neighbours by words share the shop's own shoe type.
    Xn = l2_normalize(X - X.mean(axis=0))
    sims = Xn @ Xn.T
    np.fill_diagonal(sims, -np.inf)
    nearest = sims.argmax(axis=1)
    assert np.mean(ref[nearest] == ref) >= 0.7
    tiny = word_vectors(["Puma Men Black Flip Flops", "Nike Women Heels", "Adidas Men White"], ["Puma", "Nike", "Adidas"])
    assert tiny.shape == (3, 64) and tiny.any(axis=1).sum() >= 2
    assert not word_vectors(["Puma Black", ""], ["Puma"]).any()
