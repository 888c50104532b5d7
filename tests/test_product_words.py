"""hiercat.product_words: what is left of a title for another shop to recognise."""

from __future__ import annotations

import pandas as pd

from hiercat.catalog import derive_brands
from hiercat.product_words import product_words


def test_brand_colour_audience_and_codes_go() -> None:
    assert product_words("Peter England Men Party Blue Jeans", "Peter England") == "Party Jeans"
    assert product_words("ROY 3PK SLIM RN T-SHIRT", "H&M") == "ROY SLIM RN T-SHIRT"
    assert product_words("Printed Regular Hood B2 24.99:") == "Printed Regular Hood"
    assert product_words("Puma Men Black Running Shoes", "puma") == "Running Shoes"


def test_a_title_with_nothing_left_is_kept_whole() -> None:
    assert product_words("H&M Black", "H&M") == "H&M Black"
    assert product_words("", "") == ""


def test_real_titles_keep_their_product_type(shared_data) -> None:
    titles = pd.read_csv(shared_data / "myntra" / "products.csv", dtype=str, keep_default_na=False)["title"].head(300)
    brands = derive_brands(titles)
    words = [product_words(t, b) for t, b in zip(titles, brands)]
    # The article type (the title's last word without a digit, on Myntra) survives in every title but one
    # ("Kalenji Ekiden 200 Wn Purple 2011" names no type at all).
    def type_word(title: str) -> str:
        return [w for w in title.split() if not any(c.isdigit() for c in w) and w != "#"][-1].lower()

    lost = [t for w, t in zip(words, titles) if t.strip() and w.split()[-1].lower() != type_word(t)]
    assert lost == ["Kalenji Ekiden 200 Wn Purple 2011"]
    assert all(len(w) < len(t) for w, t in zip(words, titles))  # and every title lost its brand
