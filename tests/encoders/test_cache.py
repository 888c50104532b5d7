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
