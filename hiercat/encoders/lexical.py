"""Sparse lexical encoder "lex": hashed word and character n-grams, no fitting needed.

Dense sentence vectors blur the few decisive words of a short product title ("kurta" vs "kurti",
"flip flops" vs "sandals"); a TF-IDF + linear SVM beats MiniLM on titles for that reason. This
encoder keeps those surface forms as a sparse vector Qdrant can search and the classifier can use.
Hashing instead of a fitted vocabulary keeps it streaming-friendly: a new shop's words need no
refit, and the vector of a product never changes once stored. There is no IDF (that would need
fitting); Qdrant's sparse-vector IDF modifier or the classifier can weight terms later.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from functools import partial

import numpy as np
import scipy.sparse as sp

from ..store.base import SparseVector

_TOKEN = re.compile(r"\w+", re.UNICODE)


def word_ngrams(text: str) -> list[str]:
    """Lowercased word unigrams and bigrams, prefixed so they never share a hash with char n-grams."""
    toks = _TOKEN.findall(text.lower())
    return [f"w {t}" for t in toks] + [f"w {a} {b}" for a, b in zip(toks, toks[1:])]


def char_ngrams(text: str, lo: int = 2, hi: int = 5) -> list[str]:
    """Character lo..hi-grams inside each space-padded word, like sklearn's char_wb analyzer."""
    out: list[str] = []
    for tok in _TOKEN.findall(text.lower()):
        padded = f" {tok} "
        n_chars = len(padded)
        for n in range(lo, min(hi, n_chars) + 1):
            out.extend(f"c{padded[i: i + n]}" for i in range(n_chars - n + 1))
    return out


def _l2_rows(m: sp.csr_matrix) -> sp.csr_matrix:
    norms = np.sqrt(np.asarray(m.multiply(m).sum(axis=1)).ravel())
    norms[norms == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / norms) @ m)


class LexicalEncoder:
    """Sparse encoder "lex": word 1-2-grams + char_wb 2-5-grams, hashed, sublinear tf, L2-normalized."""

    name = "lex"

    def __init__(self, n_features: int = 2**18, char_range: tuple[int, int] = (2, 5)) -> None:
        self.n_features = n_features
        self.char_range = char_range
        from sklearn.feature_extraction.text import HashingVectorizer  # slow import: only when used

        lo, hi = char_range
        opts = dict(n_features=n_features, alternate_sign=False, norm=None, dtype=np.float32, lowercase=False)
        self._words = HashingVectorizer(analyzer=word_ngrams, **opts)
        self._chars = HashingVectorizer(analyzer=partial(char_ngrams, lo=lo, hi=hi), **opts)

    def transform(self, texts: Sequence[str]) -> sp.csr_matrix:
        """[len(texts), n_features] CSR matrix of the lexical vectors (rows L2-normalized)."""
        texts = [t or "" for t in texts]
        blocks = []
        for vec in (self._words, self._chars):
            m = vec.transform(texts).tocsr()
            m.data = 1.0 + np.log(m.data)  # sublinear tf: a repeated word is evidence, not proof
            blocks.append(_l2_rows(m))
        # A title has ~10x more char n-grams than words; normalizing each block first gives
        # whole words and word pairs half of the weight instead of a tenth.
        combined = (blocks[0] + blocks[1]) * (1.0 / math.sqrt(2.0))
        out = _l2_rows(combined.tocsr())
        out.sort_indices()
        return out

    def encode(self, texts: Sequence[str]) -> list[SparseVector]:
        """One SparseVector per text (sorted uint32 indices, float32 values; empty text -> empty vector)."""
        return list(to_sparse_vectors(self.transform(texts)))


def to_sparse_vectors(m: sp.csr_matrix) -> Iterable[SparseVector]:
    """Rows of a CSR matrix as SparseVectors."""
    m = m.tocsr()
    m.sort_indices()
    for i in range(m.shape[0]):
        lo, hi = m.indptr[i], m.indptr[i + 1]
        yield SparseVector(indices=m.indices[lo:hi].astype(np.uint32), values=m.data[lo:hi].astype(np.float32))


def sparse_dot(a: SparseVector, b: SparseVector) -> float:
    """Dot product (cosine, since vectors are normalized) of two sparse vectors."""
    common, ia, ib = np.intersect1d(a.indices, b.indices, assume_unique=True, return_indices=True)
    return float(np.dot(a.values[ia], b.values[ib])) if len(common) else 0.0
