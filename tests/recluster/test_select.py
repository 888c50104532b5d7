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
