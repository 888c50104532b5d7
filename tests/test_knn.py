"""knn: the top-down weighted vote over neighbours' paths, and neighbours from store hits."""

from __future__ import annotations

import pytest

from hiercat.knn import Neighbour, vote
from hiercat.store.base import Hit


def n(path: str, score: float) -> Neighbour:
    return Neighbour("id", "shop", "title", path, score)


def test_vote_goes_down_level_by_level_hand_computed() -> None:
    # Level 1: Clothing 0.9 + 0.8 + 0.7 = 2.4 of 3.4; Shoes 1.0. Level 2 among Clothing: Tops 1.5 of 2.4.
    # Level 3 among Tops: Tees 0.9, Shirts 0.6 -> Tees 0.9 of 1.5; everyone under Tees ends there.
    neighbours = [n("Clothing > Tops > Tees", 0.9), n("Clothing > Pants", 0.8), n("Clothing > Tops > Shirts", 0.6),
                  n("Shoes", 1.0), n("Clothing > Pants", 0.1)]
    path, conf = vote(neighbours)
    assert path == ("Clothing", "Tops", "Tees")
    assert conf == pytest.approx((2.4 / 3.4) * (1.5 / 2.4) * (0.9 / 1.5))


def test_a_branch_outvotes_a_single_closer_leaf() -> None:
    # Whole-path voting would pick Shoes (1.0 vs 0.6 each); the level vote sees 1.8 for Clothing.
    path, _ = vote([n("Shoes", 1.0), n("Clothing > Pants", 0.6), n("Clothing > Tops", 0.6), n("Clothing > Tops", 0.6)])
    assert path == ("Clothing", "Tops")


def test_stopping_is_voted_and_scales_the_last_share() -> None:
    # Under Clothing: 1.0 of the mass ends at Clothing itself, 0.5 goes on to Pants: the vote stops.
    path, conf = vote([n("Clothing", 1.0), n("Clothing > Pants", 0.5)])
    assert path == ("Clothing",) and conf == pytest.approx(1.0 * (1.0 / 1.5))


def test_power_sharpens_the_weights() -> None:
    neighbours = [n("A", 0.9), n("B", 0.5), n("B", 0.5)]
    assert vote(neighbours)[0] == ("B",)  # 1.0 vs 0.9
    path, conf = vote(neighbours, power=4)  # 0.6561 vs 0.125
    assert path == ("A",) and conf == pytest.approx(0.9**4 / (0.9**4 + 2 * 0.5**4))


def test_no_usable_neighbours_give_an_empty_path_and_negative_scores_count_nothing() -> None:
    assert vote([]) == ((), 0.0)
    assert vote([n("", 0.9)]) == ((), 0.0)
    path, conf = vote([n("A", -0.5), n("B", 0.2)])
    assert path == ("B",) and conf == pytest.approx(1.0)
    assert vote([n("A", -0.5)]) == (("A",), 0.0)  # a label, but no similarity mass behind it


def test_ties_break_by_name_so_the_vote_is_deterministic() -> None:
    assert vote([n("B", 0.5), n("A", 0.5)]) == vote([n("A", 0.5), n("B", 0.5)])
    assert vote([n("A", 0.5), n("B", 0.5)])[0] == ("B",)


def test_neighbour_from_hit_reads_the_payload() -> None:
    hit = Hit("pid", 0.75, {"product_id": 12, "platform": "hm", "title": "Denim", "path": "Clothing > Pants"})
    got = Neighbour.from_hit(hit)
    assert got == Neighbour("12", "hm", "Denim", "Clothing > Pants", 0.75)
    bare = Neighbour.from_hit(Hit("pid", 1, {}))
    assert (bare.product_id, bare.platform, bare.title, bare.path, bare.score) == ("", "", "", "", 1.0)


def test_vote_levels_are_the_shares_whose_product_is_the_confidence() -> None:
    from hiercat.knn import vote_levels

    neighbours = [n("Clothing > Tops > Tees", 0.9), n("Clothing > Pants", 0.8), n("Clothing > Tops > Shirts", 0.6),
                  n("Shoes", 1.0), n("Clothing > Pants", 0.1)]
    path, levels = vote_levels(neighbours)
    assert path == ("Clothing", "Tops", "Tees")
    assert levels == pytest.approx((2.4 / 3.4, 1.5 / 2.4, 0.9 / 1.5))


class FakeStore:
    """Hits in a fixed order, each with both label fields; counts the hits asked for."""

    def __init__(self, n: int) -> None:
        self.hits = [Hit(f"p{i}", 1.0 - i / 100, {"product_id": str(i), "platform": "s", "title": f"t{i}",
                                                   "path": "Google > A" if i % 2 else "Google > B",
                                                   "native_category": "Shop > Tees"}) for i in range(n)]
        self.asked: list[int] = []

    def search_batch(self, name, queries, k=10, filter=None):
        self.asked.append(k)
        return [self.hits[:k] for _ in queries]


def test_knn_classify_reads_the_label_field_and_fetches_more_until_k_members_remain() -> None:
    import numpy as np

    from hiercat.knn import knn_classify

    store = FakeStore(100)
    members = {f"p{i}" for i in range(0, 100, 5)}  # one hit in five may vote
    votes = knn_classify(store, "v", [np.ones(3)], k=4, label_field="native_category",
                         members=lambda h: h.id in members)
    assert [nb.product_id for nb in votes[0].neighbours] == ["0", "5", "10", "15"]
    assert votes[0].path == ("Shop", "Tees") and votes[0].level_conf == (1.0, 1.0)
    assert store.asked == [8, 16]  # 2 members among the first 8 hits, 4 among the first 16
    assert knn_classify(FakeStore(10), "v", [np.ones(3)], k=3)[0].path == ("Google", "B")  # path by default


def test_knn_classify_arrays_votes_by_cosine_and_ignores_zero_rows() -> None:
    import numpy as np

    from hiercat.knn import knn_classify_arrays

    base = np.array([[1, 0], [0.9, 0.1], [0, 1], [0, 0]], dtype=np.float32)
    votes = knn_classify_arrays(base, ["A > X", "A > X", "B", "C"], np.array([[1, 0.05]], np.float32), k=3)
    assert votes[0].path == ("A", "X")
    assert [nb.path for nb in votes[0].neighbours] == ["A > X", "A > X", "B"]  # the zero row never a neighbour
