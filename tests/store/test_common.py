"""store._common: the filter checks, payload cleaning, facet counting and vector conversions both stores share."""

from __future__ import annotations

import uuid
from collections import Counter

import numpy as np
import pytest

from hiercat.store import SparseVector, point_id
from hiercat.store._common import (
    Condition,
    canonical_id,
    conditions,
    count_values,
    dense_list,
    in_order,
    plain,
    plain_payload,
    sparse_lists,
    to_dense,
    to_sparse,
    top_counts,
    values_at,
    vector_selector,
)


def test_conditions_keep_scalars_and_lists_and_unwrap_numpy() -> None:
    got = conditions({"platform": "hm", "year": np.int64(2001), "levels": ("Shoes", np.str_("Bags")),
                      "ids": np.array([1, 2])})
    assert got == [Condition("platform", "hm"), Condition("year", 2001), Condition("levels", ["Shoes", "Bags"]),
                   Condition("ids", [1, 2])]
    assert type(got[1].values) is int  # numpy scalars reach the engines as Python ints
    assert conditions(None) == [] and conditions({}) == []


@pytest.mark.parametrize(("flt", "message"), [
    ({"in_stock": True}, "filter on 'in_stock': boolean values are not supported"),
    ({"price": 1.5}, "filter on 'price': expected a string or integer .* got float"),
    ({"k": ["a", 1]}, r"filter on 'k': mixes strings and integers in \['a', 1\]"),
    ({"k": [None]}, "got NoneType"),
])
def test_conditions_refuse_what_an_engine_would_match_wrongly(flt, message) -> None:
    with pytest.raises(TypeError, match=message):
        conditions(flt)


def test_plain_makes_payloads_json_ready() -> None:
    payload = {"n": np.int32(3), "x": np.float32(0.5), "nan": float("nan"), "inf": float("inf"),
               "t": (1, "a"), "s": {2}, "arr": np.array([1.5, 2.0]), "nested": {1: {"b": np.bool_(True)}},
               "none": None, "flag": False}
    got = plain_payload(payload)
    assert got == {"n": 3, "x": 0.5, "nan": None, "inf": None, "t": [1, "a"], "s": [2], "arr": [1.5, 2.0],
                   "nested": {"1": {"b": True}}, "none": None, "flag": False}
    assert type(got["n"]) is int and type(got["arr"][0]) is float
    with pytest.raises(TypeError, match=r"payload\.meta\[\]: object cannot be stored as JSON payload"):
        plain({"meta": [object()]})


def test_values_at_follows_dotted_keys_and_flattens_lists() -> None:
    payload = {"levels": ["A", "B"], "meta": {"shop": {"name": "hm"}, "tags": ["x", 1, True, None, 2.5]}}
    assert values_at(payload, "levels") == ["A", "B"]
    assert values_at(payload, "meta.shop.name") == ["hm"]
    assert values_at(payload, "meta.tags") == ["x", 1]  # booleans, None and floats are not facet values
    assert values_at(payload, "meta.nope") == [] and values_at(None, "levels") == []


def test_count_values_counts_a_point_once_per_value_and_top_counts_break_ties_by_value() -> None:
    counts = count_values([{"levels": ["A", "A", "B"]}, {"levels": ["B"]}, {"levels": "C"}, None], "levels")
    assert counts == Counter({"A": 1, "B": 2, "C": 1})
    assert top_counts(counts.items(), 2) == {"B": 2, "A": 1}
    assert list(top_counts([(3, 1), ("10", 1), ("2", 5)], 10)) == ["2", "10", "3"]


def test_vector_conversions_check_shapes_and_ranges() -> None:
    assert dense_list(np.array([1, 2], dtype=np.int64), "t") == [1.0, 2.0]
    with pytest.raises(ValueError, match=r"vector 't' must be 1-d, got shape \(1, 2\)"):
        dense_list(np.ones((1, 2)), "t")
    assert sparse_lists(SparseVector(np.array([3, 7]), np.array([0.5, 1.0])), "s") == ([3, 7], [0.5, 1.0])
    with pytest.raises(ValueError, match="sparse vector 's': 2 indices but 1 values"):
        sparse_lists(SparseVector(np.array([3, 7]), np.array([0.5])), "s")
    with pytest.raises(ValueError, match="indices must fit in uint32"):
        sparse_lists(SparseVector(np.array([-1]), np.array([0.5])), "s")
    with pytest.raises(ValueError, match="indices must fit in uint32"):
        sparse_lists(SparseVector(np.array([2**32]), np.array([0.5])), "s")
    sv = to_sparse([1, 4], [0.25, 0.75])
    assert sv.indices.dtype == np.uint32 and sv.values.dtype == np.float32 and sv.indices.tolist() == [1, 4]
    assert to_dense([1, 2]).dtype == np.float32


def test_vector_selector_normalises_every_spelling() -> None:
    assert vector_selector(True) is True and vector_selector(np.bool_(False)) is False
    assert vector_selector("text") == ["text"] and vector_selector(("a", "b")) == ["a", "b"]
    assert vector_selector([]) is False  # no names means no vectors, not "all"


def test_canonical_id_and_in_order() -> None:
    pid = point_id("hm", "1")
    assert canonical_id(pid.upper()) == pid and canonical_id(uuid.UUID(pid)) == pid
    with pytest.raises(ValueError, match="point id 'hm-1' is not a UUID string"):
        canonical_id("hm-1")
    found = [{"id": "b"}, {"id": "a"}]
    assert in_order(["a", "x", "b", "a"], found, lambda r: r["id"]) == [{"id": "a"}, {"id": "b"}]
