"""recluster.select: a category by name, path and platform."""

from __future__ import annotations

import pytest

from hiercat.recluster import (
    CategoryError,
    select_category,
)
from hiercat.recluster.memstore import MemoryStore
from hiercat.taxonomy import Taxonomy

from .conftest import SHOES


def test_select_by_name_path_and_platform(built) -> None:
    store, _, _ = built
    by_name = select_category(store, "shoes")
    by_path = select_category(store, SHOES)
    assert len(by_name) == len(by_path) == 300
    assert set(by_name.ids) == set(by_path.ids)
    assert (by_name.payload["level_2"] == SHOES).all()
    assert set(by_name.vectors) == {"tiny_title", "tiny_brand", "tiny_words", "tiny_description", "tiny_image"}
    assert by_name.vectors["tiny_image"].shape == (300, 192)
    assert len(select_category(store, "Apparel & Accessories")) == 340  # a level-1 node holds everything
    assert len(select_category(store, "Shoes", platform="myntra")) == 300
    assert len(select_category(store, "Shoes", platform="hm")) == 0
    with pytest.raises(CategoryError, match="did you mean"):
        select_category(store, "Shoess")


def test_ambiguous_name_lists_candidates() -> None:
    store = MemoryStore()
    store.set_meta({"taxonomy": Taxonomy.from_paths(["Men > Shoes", "Women > Shoes"]).to_dict()})
    with pytest.raises(CategoryError) as err:
        select_category(store, "Shoes")
    assert "Men > Shoes" in str(err.value) and "Women > Shoes" in str(err.value)


def test_resolve_category_by_path_bare_name_and_nested_repeat() -> None:
    from hiercat.recluster.select import category_filter, resolve_category

    tax = Taxonomy.from_paths(["A > Shoes > Casual > Shoes", "A > Shoes > Boots", "B > Bags"])
    assert resolve_category(tax, "A > Shoes > Boots") == ("A", "Shoes", "Boots")
    assert resolve_category(tax, ["B", "Bags"]) == ("B", "Bags")
    # After a recategorization 'Shoes' also names A > Shoes > Casual > Shoes; the bare name means the top one.
    assert resolve_category(tax, "shoes") == ("A", "Shoes")
    with pytest.raises(CategoryError, match="no category 'Boot' in the store's taxonomy; did you mean 'Boots'"):
        resolve_category(tax, "Boot")
    assert category_filter(("A", "Shoes"), {"platform": "hm"}) == {"level_2": "A > Shoes", "platform": "hm"}
    with pytest.raises(CategoryError, match="filter level_2='B > Bags' contradicts the category 'A > Shoes'"):
        category_filter(("A", "Shoes"), {"level_2": "B > Bags"})
