"""taxonomy: paths, the Google Product Taxonomy, per-level classes and masks, persistence."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from hiercat.taxonomy import GOOGLE_TAXONOMY, SEP, Taxonomy, join_path, split_path

from .conftest import GOOGLE

# One branch stops at depth 1, one at depth 2, one at depth 3; Clothing > Tops is also a label itself.
RAGGED = ["Shoes", "Clothing > Pants", "Clothing > Tops > Shirts", "Clothing > Tops > Tees", "Clothing > Tops"]


@pytest.fixture(scope="module")
def google() -> Taxonomy:
    return Taxonomy.from_google(GOOGLE)


def test_split_and_join_paths() -> None:
    assert split_path(" Apparel &  Accessories >Shoes > ") == ("Apparel &  Accessories", "Shoes")
    assert split_path("") == () and split_path("A") == ("A",)
    assert split_path("A / B", sep="/") == ("A", "B")
    assert join_path(("A", "B")) == "A > B" and SEP == " > "


def test_google_taxonomy_as_shipped(google: Taxonomy) -> None:
    # Counted in the file itself: 5,595 id lines, 21 top-level categories, at most 7 levels.
    assert len(google) == 5595 and google.depth == 7 and len(google.children()) == 21
    shoes = ("Apparel & Accessories", "Shoes")
    assert google.ids[shoes] == 187 and google.is_leaf(shoes) and google.can_stop(shoes)
    clothing = ("Apparel & Accessories", "Clothing")
    assert len(google.children(clothing)) == 18 and not google.can_stop(clothing)
    assert google.find("shirts & tops") == [clothing + ("Shirts & Tops",)]
    assert GOOGLE_TAXONOMY == GOOGLE and Taxonomy.load(GOOGLE_TAXONOMY).paths == google.paths


def test_a_bad_google_line_names_file_and_line(tmp_path: Path) -> None:
    f = tmp_path / "tax.txt"
    f.write_text("# header\n1 - Animals\n\nAnimals > Cats\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"tax.txt:4: not a taxonomy line 'id - A > B': 'Animals > Cats'"):
        Taxonomy.from_google(f)


def test_from_paths_builds_ancestors_and_marks_labels_terminal() -> None:
    tax = Taxonomy.from_paths(RAGGED + [("Bags",), ""])
    assert len(tax) == 7 and tax.depth == 3  # the empty path adds nothing
    assert "Clothing > Tops" in tax and ("Clothing",) in tax and "Hats" not in tax
    assert tax.children() == [("Bags",), ("Clothing",), ("Shoes",)]
    assert tax.children(("Clothing",)) == [("Clothing", "Pants"), ("Clothing", "Tops")]
    assert not tax.can_stop(("Clothing",)) and tax.can_stop(("Clothing", "Tops")) and tax.is_leaf(("Shoes",))
    assert tax.valid_label_paths() == [("Bags",), ("Clothing", "Pants"), ("Clothing", "Tops"),
                                       ("Clothing", "Tops", "Shirts"), ("Clothing", "Tops", "Tees"), ("Shoes",)]


def test_encode_decode_round_trip_with_stop_padding() -> None:
    tax = Taxonomy.from_paths(RAGGED)
    # Level classes are sorted full paths after STOP (0): L1 [Clothing, Shoes], L2 [Pants, Tops], L3 [Shirts, Tees].
    assert tax.encode("Shoes") == [2, 0, 0]
    assert tax.encode(("Clothing", "Tops", "Tees")) == [1, 2, 2]
    assert tax.encode("Clothing > Tops") == [1, 2, 0]
    for p in tax.valid_label_paths():
        assert tax.decode(tax.encode(p)) == p
    assert tax.decode([1, 0, 2]) == ("Clothing",)  # decoding stops at the first STOP
    with pytest.raises(KeyError):
        tax.encode("Hats")


def test_child_masks_allow_exactly_the_tree_and_its_stops() -> None:
    tax = Taxonomy.from_paths(RAGGED)
    np.testing.assert_array_equal(tax.child_mask(1), [[False, True, True]])
    # Rows: parent STOP, Clothing, Shoes; columns: STOP, Clothing > Pants, Clothing > Tops.
    np.testing.assert_array_equal(tax.child_mask(2), [[True, False, False], [False, True, True], [True, False, False]])
    # Rows: STOP, Pants (a leaf: must stop), Tops (a label with children: may stop or go on).
    np.testing.assert_array_equal(tax.child_mask(3), [[True, False, False], [True, False, False], [True, True, True]])


def test_add_path_after_use_refreshes_classes() -> None:
    tax = Taxonomy.from_paths(["A > B"])
    assert tax.depth == 2 and tax.encode("A > B") == [1, 1]
    assert tax.add_path("A > B > C", terminal=True) == ("A", "B", "C")
    assert tax.depth == 3 and tax.encode("A > B > C") == [1, 1, 1] and tax.child_mask(3).shape == (2, 2)


def test_restrict_keeps_the_spanned_subtree_and_refuses_unknown_paths(google: Taxonomy) -> None:
    sub = google.restrict(["Apparel & Accessories > Shoes", "Apparel & Accessories > Clothing > Dresses"])
    assert sub.paths == {("Apparel & Accessories",), ("Apparel & Accessories", "Shoes"),
                         ("Apparel & Accessories", "Clothing"), ("Apparel & Accessories", "Clothing", "Dresses")}
    with pytest.raises(KeyError, match="path not in taxonomy: 'Apparel & Accessories > Sneakers'"):
        google.restrict(["Apparel & Accessories > Sneakers"])


def test_dict_and_json_round_trips_keep_terminals(tmp_path: Path) -> None:
    tax = Taxonomy.from_paths(RAGGED)
    data = tax.to_dict()
    assert data["paths"][:2] == ["Clothing", "Clothing > Pants"] and "Clothing > Tops" in data["terminal"]
    again = Taxonomy.from_dict(data)
    assert again.paths == tax.paths and again.terminal == tax.terminal
    tax.save(tmp_path / "t.json")
    loaded = Taxonomy.load(tmp_path / "t.json")
    assert loaded.paths == tax.paths and loaded.terminal == tax.terminal and loaded.can_stop(("Clothing", "Tops"))
