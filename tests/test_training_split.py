"""training_split: the split and neighbour set a model records beside itself."""

from __future__ import annotations

from hiercat.store.base import Hit
from hiercat.training_split import SPLIT_FILE, TrainingSplit


def test_positions_to_ids_save_load_and_the_neighbour_rule(tmp_path) -> None:
    ids = ["a", "b", "c", "d", "e"]
    split = TrainingSplit.from_positions(ids, [0, 1], [2], [3, 4], seed=7)
    assert (split.train, split.val, split.test) == (["a", "b"], ["c"], ["d", "e"])
    assert split.neighbour_ids == {"a", "b", "c"}
    assert split.is_neighbour(Hit("a", 1.0, {})) and not split.is_neighbour(Hit("d", 1.0, {}))
    assert split.is_neighbour(Hit("d", 1.0, {"reviewed_path": "A > B"}))  # a correction counts at once
    assert [split.part_of(i) for i in ("a", "c", "e", "zz")] == ["train", "val", "test", ""]
    split.save(tmp_path)
    back = TrainingSplit.load(tmp_path)
    assert (tmp_path / SPLIT_FILE).exists() and back is not None
    assert (back.train, back.val, back.test, back.seed) == (split.train, split.val, split.test, 7)
    assert TrainingSplit.load(tmp_path / "nothing") is None
