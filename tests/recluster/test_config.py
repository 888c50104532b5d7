"""recluster.config: one recluster run's options, validated once."""

from __future__ import annotations

import pytest

from hiercat.recluster.config import ReclusterConfig, platforms_of


@pytest.mark.parametrize("kwargs, message", [
    ({"method": "kmeans"}, "method must be one of agglomerative, hdbscan, got 'kmeans'"),
    ({"vectors": "colour"}, "vectors must be one of"),
    ({"levels": 0}, "levels must be >= 1"),
    ({"n_clusters": (8, 0)}, "n_clusters must be positive per level"),
    ({"image_weights": "nope.safetensors"}, "image_weights: no such file nope.safetensors"),
    ({"weights": {"smell": 1.0}}, "fused weights take roles"),
])
def test_bad_options_are_refused_by_name(kwargs, message) -> None:
    with pytest.raises(ValueError, match=message):
        ReclusterConfig(**kwargs)


def test_defaults_and_none_meaning_default() -> None:
    cfg = ReclusterConfig.from_options(method=None, n_clusters=[8, None], platform=["hm", "myntra"])
    assert cfg.method == "agglomerative" and cfg.vectors == "shared" and cfg.n_clusters == (8, None)
    assert platforms_of(cfg) == ["hm", "myntra"] and platforms_of(ReclusterConfig()) is None
