"""hiercat.zero_shot: the taxonomy's own category names place products of categories no training shop had."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hiercat.taxonomy import Taxonomy
from hiercat.zero_shot import CategoryNames, text_vector, zero_shot_override

NAIL = ("Health & Beauty", "Personal Care", "Cosmetics", "Nail Care", "Nail Polishes")
SHIRTS = ("Apparel & Accessories", "Clothing", "Shirts & Tops")


@pytest.fixture(scope="module")
def encoder():
    from hiercat.encoders import load_preset

    return load_preset("minilm").encode_text


@pytest.fixture(scope="module")
def names(encoder) -> CategoryNames:
    tax = Taxonomy.from_paths([NAIL, SHIRTS, ("Apparel & Accessories", "Shoes"),
                               ("Health & Beauty", "Personal Care", "Cosmetics", "Perfume & Cologne")])
    return CategoryNames.embed(tax, encoder)


def test_save_and_load_round_trip(names: CategoryNames, tmp_path: Path) -> None:
    names.save(tmp_path)
    again = CategoryNames.load(tmp_path)
    assert again is not None and again.paths == names.paths
    np.testing.assert_allclose(again.vectors, names.vectors)
    assert CategoryNames.load(tmp_path / "nothing") is None


def test_an_unsure_product_of_an_unknown_category_is_placed_by_its_name(names: CategoryNames, encoder) -> None:
    text = encoder(["Nail Polish", "Slim Fit Shirt", "Nail Polish"])
    known = set(Taxonomy.from_paths([SHIRTS, ("Apparel & Accessories", "Shoes")]).paths)
    use, paths, sims = zero_shot_override(np.array([0.3, 0.3, 0.9]), text, names, known)
    assert paths[0] == NAIL and sims[0] >= 0.6
    assert use.tolist() == [True, False, False]  # a shirt is the model's; a sure model keeps its answer
    assert paths[1] == SHIRTS  # the nearest name is a category the model knows: no override


def test_text_vector_sums_what_is_there() -> None:
    dense = {"minilm_words": np.ones((2, 3)), "minilm_description": np.ones((2, 3))}
    assert text_vector(dense, ["minilm_words", "minilm_description"]).tolist() == [[2, 2, 2]] * 2
    assert text_vector(dense, ["clip_words"]) is None
