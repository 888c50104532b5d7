"""encoders.lexical: hashed word and char n-gram vectors."""

from __future__ import annotations

import numpy as np

from hiercat.encoders import LexicalEncoder


def _dot(a, b) -> float:
    from hiercat.encoders.lexical import sparse_dot

    return sparse_dot(a, b)


def test_lexical_vectors() -> None:
    enc = LexicalEncoder()
    a, b, c, empty = enc.encode(["Nike Men Black Running Shoes", "nike men running shoe", "Fabindia Kurta", ""])
    for v in (a, b, c):
        assert v.indices.dtype == np.uint32 and v.values.dtype == np.float32
        assert np.all(np.diff(v.indices.astype(np.int64)) > 0) and v.indices.max() < 2**18
        assert abs(float(v.values @ v.values) - 1.0) < 1e-5
    assert len(empty.indices) == 0
    assert _dot(a, b) > 0.5 > 0.1 > _dot(a, c)
    # No fitting: a fresh encoder gives identical vectors (stable across processes and shops).
    again = LexicalEncoder().encode(["Nike Men Black Running Shoes"])[0]
    np.testing.assert_array_equal(again.indices, a.indices)
    np.testing.assert_allclose(again.values, a.values)
    # Char n-grams match near-spellings that share no word.
    kurta, kurti = enc.encode(["kurta", "kurti"])
    assert _dot(kurta, kurti) > 0.2  # 10 of 18 char n-grams shared; the word half differs
