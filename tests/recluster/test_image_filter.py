"""recluster.image_filter: off-mode pictures set aside, per platform."""

from __future__ import annotations

import numpy as np
import pytest

from hiercat.encoders.base import l2_normalize
from hiercat.recluster.image_filter import filter_images, filter_images_by_platform


def test_image_filter_sets_aside_the_off_mode_cluster_exactly() -> None:
    # Six variants of one look (the category's usual packshot) and one different kind of picture.
    rng = np.random.default_rng(0)
    base = l2_normalize(rng.normal(size=(1, 32)))
    modes = l2_normalize(base + 0.6 * l2_normalize(rng.normal(size=(6, 32))))
    odd = l2_normalize(rng.normal(size=(1, 32)))
    X = np.vstack([m + 0.08 * rng.normal(size=(50, 32)) for m in modes] + [odd + 0.08 * rng.normal(size=(20, 32))])
    res = filter_images(l2_normalize(X), n_clusters=7, seed=0, max_share=0.1)
    assert res.n_set_aside == 20
    assert not res.keep[300:].any() and res.keep[:300].all()
    assert [c.size for c in res.clusters if c.flagged] == [20]
    assert [c.reason for c in res.clusters if c.flagged] == ["far from the dominant looks"]
    capped = filter_images(l2_normalize(X), n_clusters=7, seed=0, max_share=0.05)
    assert capped.n_set_aside == 0  # the odd cluster (6 %) is above the cap, so nothing is set aside


def test_image_filter_judges_each_platform_by_its_own_photo_style() -> None:
    # Shop a: six variants of its packshot and one odd mode; shop b: a few products in a style of its own.
    rng = np.random.default_rng(0)
    base, other = l2_normalize(rng.normal(size=(2, 32)))
    modes = l2_normalize(base + 0.6 * l2_normalize(rng.normal(size=(6, 32))))
    odd = l2_normalize(rng.normal(size=(1, 32)))
    shop_b = l2_normalize(other + 0.6 * l2_normalize(rng.normal(size=(3, 32))))
    X = l2_normalize(np.vstack([m + 0.08 * rng.normal(size=(50, 32)) for m in modes]
                               + [odd + 0.08 * rng.normal(size=(20, 32))]
                               + [m + 0.08 * rng.normal(size=(12, 32)) for m in shop_b]))
    platforms = ["a"] * 320 + ["b"] * 36
    pooled = filter_images(X, n_clusters=8, seed=0, max_share=0.2)
    assert not pooled.keep[320:].all()  # pooled, shop b's ordinary pictures look odd
    res = filter_images_by_platform(X, platforms, n_clusters=8, seed=0, max_share=0.1)
    assert np.flatnonzero(~res.keep).tolist() == list(range(300, 320))
    assert [(c.platform, c.size) for c in res.clusters if c.flagged] == [("a", 20)]
    assert sorted(set(res.labels[:320])) == list(range(8)) and set(res.labels[320:]) <= set(range(8, 16))
    assert all(300 <= i < 320 for pos in res.samples.values() for i in pos)
    with pytest.raises(ValueError, match="356 image vectors but 3 platforms"):
        filter_images_by_platform(X, ["a", "b", "a"])
