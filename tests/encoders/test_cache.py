"""encoders.cache: the LRU text-vector cache."""

from __future__ import annotations

import numpy as np

from hiercat.encoders.cache import CachedTextEncoder


def test_cache_encodes_each_distinct_string_once(minilm) -> None:
    cached = CachedTextEncoder(minilm, maxsize=3)
    a = cached.encode(["Puma", "Nike", "Puma", "Nike"])
    assert cached.misses == 2 and cached.hits == 0
    np.testing.assert_array_equal(a[0], a[2])
    b = cached.encode(["Nike", "Roadster", "Titan", "HRX"])
    assert cached.hits == 1 and len(cached._rows) == 3  # LRU bound holds
    np.testing.assert_allclose(b[0], minilm.encode(["Nike"])[0], atol=1e-6)


class CountingEncoder:
    """A text encoder that records what it was asked to encode (each call's texts)."""

    name, dim = "count", 3

    def __init__(self) -> None:
        self.calls: list[list[str]] = []

    def encode(self, texts):
        self.calls.append(list(texts))
        return np.array([[len(t), 1.0, 0.0] for t in texts], dtype=np.float32)


def test_cache_asks_the_encoder_only_for_unseen_strings_and_clear_forgets() -> None:
    inner = CountingEncoder()
    cached = CachedTextEncoder(inner, maxsize=2)
    assert (cached.name, cached.dim) == ("count", 3)
    out = cached.encode(["ab", "c", "ab"])
    assert inner.calls == [["ab", "c"]] and out[:, 0].tolist() == [2, 1, 2]
    cached.encode(["c", "def"])  # "c" is a hit and becomes the most recent; "ab" is evicted by "def"
    assert inner.calls[-1] == ["def"] and list(cached._rows) == ["c", "def"]
    cached.encode(["ab"])
    # A string repeated inside one call is encoded once but is no hit: only "c" in the second call was.
    assert inner.calls[-1] == ["ab"] and (cached.hits, cached.misses) == (1, 4)
    cached.clear()
    assert (cached.hits, cached.misses) == (0, 0) and not cached._rows
    assert cached.encode([]).shape == (0, 3) and len(inner.calls) == 3
