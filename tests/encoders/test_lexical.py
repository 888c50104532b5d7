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


def test_word_and_char_ngrams_hand_listed() -> None:
    from hiercat.encoders.lexical import char_ngrams, word_ngrams

    assert word_ngrams("Flip-Flops, RED") == ["w flip", "w flops", "w red", "w flip flops", "w flops red"]
    assert char_ngrams("Tee", lo=2, hi=3) == ["c t", "cte", "cee", "ce ", "c te", "ctee", "cee "]
    assert char_ngrams("ab", lo=2, hi=5) == ["c a", "cab", "cb ", "c ab", "cab ", "c ab "]  # capped at the padded word


def test_transform_matches_encode_and_sublinear_tf() -> None:
    import scipy.sparse as sp

    from hiercat.encoders.lexical import to_sparse_vectors

    enc = LexicalEncoder(n_features=2**10, char_range=(3, 3))
    m = enc.transform(["red red red shoes", None, "red shoes"])
    assert isinstance(m, sp.csr_matrix) and m.shape == (3, 2**10) and m[1].nnz == 0
    np.testing.assert_allclose(np.asarray(m.multiply(m).sum(axis=1)).ravel(), [1.0, 0.0, 1.0], atol=1e-6)
    # Repeating "red" three times raises its weight by 1 + log 3, not 3: the rows stay close.
    assert 0.8 < _dot(*to_sparse_vectors(m[[0, 2]])) < 1.0
    vs = enc.encode(["red red red shoes", "", "red shoes"])
    np.testing.assert_array_equal(vs[0].indices, m[0].indices)
    np.testing.assert_allclose(vs[0].values, m[0].data)
    assert vs[2].indices.max() < 2**10
