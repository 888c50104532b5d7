"""recluster.purity: cluster purity against reference labels."""

from __future__ import annotations

import numpy as np
import pytest

from hiercat.recluster import (
    cluster_purity,
    purity,
)


def test_purity_on_a_hand_made_case() -> None:
    labels = [0, 0, 0, 1, 1, 1, 1, 2, 2, 3]
    ref = ["a", "a", "b", "b", "b", "c", "b", "c", "d", "e"]
    # cluster 0: a 2/3, cluster 1: b 3/4, cluster 2: tie c/d -> c 1/2, cluster 3: e 1/1
    assert purity(labels, ref) == pytest.approx(7 / 10)
    per = cluster_purity(labels, ref)
    assert (per[0].majority, per[0].count, per[0].size) == ("a", 2, 3)
    assert per[2].majority == "c" and per[2].purity == 0.5


def test_purity_ties_go_alphabetical_and_lengths_must_agree() -> None:
    per = cluster_purity(np.array(["x", "x", "y"]), ["b", "a", "c"])
    assert per["x"].majority == "a" and per["x"].purity == 0.5 and per["y"].purity == 1.0
    assert purity([], []) == 0.0
    with pytest.raises(ValueError, match="3 cluster labels but 2 reference labels"):
        cluster_purity([0, 1, 1], ["a", "b"])
