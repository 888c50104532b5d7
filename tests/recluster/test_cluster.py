"""recluster.cluster: the cascade of nested levels, Ward cuts, HDBSCAN."""

from __future__ import annotations

import numpy as np
import pandas as pd

from hiercat.recluster.cluster import cascade, ward_cuts


def test_cascade_produces_two_nested_levels(built) -> None:
    _, report, _ = built
    assert [lv.level for lv in report.levels] == [1, 2]
    assert report.levels[0].n_clusters == 4
    l1, l2 = report.labels
    for a, b in zip(l1, l2):
        assert b == a or b.startswith(a + ".")  # every sub-cluster sits inside its parent
    subs = report.level_clusters(2)
    assert subs and all(c.parent in {p.id for p in report.level_clusters(1)} for c in subs)
    assert report.levels[1].n_clusters > report.levels[0].n_clusters
    # Finer clusters can only be as pure or purer against the same labels.
    assert report.levels[1].purity >= report.levels[0].purity


def test_ward_cut_matches_sklearn() -> None:
    from sklearn.cluster import AgglomerativeClustering

    X = np.random.default_rng(1).normal(size=(120, 5))
    cut = ward_cuts(X)
    for k in (2, 3, 7):
        ref = AgglomerativeClustering(n_clusters=k, linkage="ward").fit_predict(X)
        ours = cut(k)
        assert len(set(ours)) == k
        # Same partition up to label names: the contingency table has one non-zero per row.
        table = pd.crosstab(ours, ref).to_numpy()
        assert ((table > 0).sum(axis=1) == 1).all()


def test_hdbscan_cascade_attaches_noise() -> None:
    rng = np.random.default_rng(2)
    X = np.vstack([rng.normal(loc=c, scale=0.3, size=(60, 3)) for c in ((0, 0, 0), (6, 0, 0), (0, 6, 0))])
    tree, _ = cascade(X, levels=2, method="hdbscan", embedding=X, local_umap=False, min_share=(0.05, 0.2))
    assert tree.n_clusters(1) == 3
    assert (tree.labels[0] >= 0).all() and (tree.labels[1] >= 0).all()


def test_relabel_by_size_orders_clusters_and_keeps_noise() -> None:
    from hiercat.recluster.cluster import relabel_by_size

    got = relabel_by_size(np.array([7, 3, 3, -1, 7, 3, 5, 5, 9]))
    # Sizes: 3 -> 3, 7 -> 2, 5 -> 2 (7 seen first), 9 -> 1.
    assert got.tolist() == [1, 0, 0, -1, 1, 0, 2, 2, 3]
    assert relabel_by_size(np.array([-1, -1])).tolist() == [-1, -1]


def test_choose_k_picks_the_best_silhouette() -> None:
    from sklearn.cluster import KMeans

    from hiercat.recluster.cluster import choose_k

    rng = np.random.default_rng(0)
    X = np.vstack([rng.normal(loc=c, scale=0.2, size=(40, 2)) for c in ((0, 0), (5, 0), (0, 5))])
    best, scores = choose_k(X, lambda k: KMeans(k, n_init=3, random_state=0).fit_predict(X), range(2, 7))
    assert best == 3 and sorted(scores) == [2, 3, 4, 5, 6] and scores[3] == max(scores.values())
    assert choose_k(X[:3], lambda k: np.arange(3) % k, [5, 8]) == (1, {})  # no k fits 3 points
    assert choose_k(X, lambda k: np.zeros(len(X), int), [2, 3]) == (1, {})  # one cluster only: no score


def test_attach_noise_gives_each_noise_point_its_nearest_cluster() -> None:
    from hiercat.recluster.cluster import attach_noise

    E = np.array([[0.0], [0.1], [5.0], [5.2], [0.3], [4.0]])
    labels = np.array([0, 0, 1, 1, -1, -1])
    assert attach_noise(E, labels).tolist() == [0, 0, 1, 1, 0, 1] and labels.tolist()[-1] == -1  # input unchanged
    assert attach_noise(E, np.full(6, -1)).tolist() == [0] * 6
