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


def test_feature_words_keep_every_native_type_word_of_the_shops(shared_data) -> None:
    """The clustering's default vocabulary was tuned on shoes; no shop's type word may be lost to it.

    sklearn's English list holds 'top' and 'bottom' (H&M's 'Vest top', 'Pyjama bottom', Myntra's
    '... Crop Top' titles): cleaned for the features, such titles lost their type.
    """
    import pandas as pd

    from hiercat.recluster.terms import FEATURE_STOP_WORDS, PRODUCT_STOP_WORDS, clean_titles, stop_terms, tokens

    stop = stop_terms([], [], english=FEATURE_STOP_WORDS)
    assert not PRODUCT_STOP_WORDS & stop
    # Words of a type's name that are fine to drop: conjunctions, audience, 'other', a colour word (Eye Cream).
    allowed = {"and", "other", "baby", "kids", "mens", "cream"}
    for shop in ("myntra", "hm"):
        native = pd.read_csv(shared_data / shop / "products.csv", usecols=["category"], dtype=str)["category"]
        words = {w for leaf in native.dropna().str.split(" > ").str[-1].unique() for w in tokens(leaf)}
        assert words & stop <= allowed, (shop, sorted(words & stop - allowed))
    titles = ["Roadster Women Black Crop Top", "H&M Vest top", "H&M Pyjama bottoms", "Nike Men Hi-Top Sneakers",
              "Roadster Men Navy T-Shirt", "Women V-Neck Tshirts"]
    # A one-letter prefix stays with its word: a T-shirt is no 'shirt' (and matches Myntra's 'Tshirt').
    assert clean_titles(titles, ["Roadster", "H&M", "H&M", "Nike", "Roadster", ""], ["Black", "", "", "", "Navy", ""]) == [
        "crop top", "vest top", "pyjama bottoms", "hi top sneakers", "tshirt", "vneck tshirts"]
    # Names keep sklearn's full list: 'Hi-Top Sneakers' is named by its compound, not 'Hi Top'.
    assert "top" in stop_terms([], [])
