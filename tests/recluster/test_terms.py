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


def test_cleaned_titles_drop_brand_colour_audience_and_stop_words() -> None:
    from hiercat.recluster.terms import clean_titles, titles_or_cleaned, tokens

    assert tokens("Puma Men's 2-in-1 Black Flip-Flops") == ["puma", "men", "in", "black", "flip", "flops"]
    titles = ["Puma Men Black Running Shoes", "Nike Women White Running Shoes", "Puma Black", "Sports Men Sandals",
              "Nike Sports Shoes", "Puma Sports Shoes", "Nike Unisex Sports Shoes"]
    brands = ["Puma", "Nike", "Puma", "Sports", "Nike", "Puma", "Nike"]
    colours = ["Black", "White", "Black", "", "", "", ""]
    # 'sports' is the brand of one product but in 4 titles (more than twice its brand's count): a word kept.
    assert clean_titles(titles, brands, colours) == ["running shoes", "running shoes", "", "sports sandals",
                                                     "sports shoes", "sports shoes", "sports shoes"]
    assert titles_or_cleaned(titles, brands, colours)[2] == "puma black"  # nothing left: the whole title
    # A brand word in no more than twice as many titles as its brand's products is a brand word.
    assert clean_titles(["Sports Men Sandals", "Sports Shoes"], ["Sports", "Sports"]) == ["sandals", "shoes"]
