"""Platforms that cluster by themselves, and placing their products into the other platforms' clusters by title.

A shop's photo style and naming habits are something the image and the title agree on, so the
shared vectors can keep a small shop's products together whatever their type: all 231 of H&M's
shoes formed one cluster beside Myntra's 7,038. Such a shop's titles still name the type
('chelsea boot', 'sandalette', 'peep toe pump'), and a classifier of title words and character
n-grams fitted on the other shops' cluster members carries those names across (bench/RESULTS.md).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Collection, Sequence
from dataclasses import dataclass

import numpy as np


@dataclass
class ApartPlatform:
    """A minority platform whose clustered products nearly all fell into one level-1 cluster."""

    platform: str
    cluster: str  # the level-1 cluster id holding most of them
    count: int  # its products in that cluster
    size: int  # its clustered products


def platforms_apart(level1: Sequence[str] | np.ndarray, platforms: Sequence[str] | np.ndarray,
                    min_products: int = 20, share: float = 0.8) -> list[ApartPlatform]:
    """Minority platforms (>= min_products, <= half the products) with >= `share` of them in one level-1 cluster.

    A platform holding most of the products defines the clusters, so it is never 'apart'.
    """
    level1, platforms = np.asarray(level1), np.asarray(platforms)
    out = []
    for plat, n in Counter(platforms.tolist()).most_common():
        if n < min_products or n > len(platforms) / 2:
            continue
        cid, top = Counter(level1[platforms == plat].tolist()).most_common(1)[0]
        if top >= share * n:
            out.append(ApartPlatform(str(plat), str(cid), int(top), int(n)))
    return out


def title_features(titles: Sequence[str]):
    """Sparse TF-IDF of word 1-2-grams beside character 2-5-grams (within words), fitted on these titles.

    Character n-grams match 'sneaker' with 'sneakers' and 'sandalette' with 'sandal', which shops
    spell differently; a word seen in one title only still counts when the titles are few.
    """
    from scipy import sparse
    from sklearn.feature_extraction.text import TfidfVectorizer

    min_df = 2 if len(titles) >= 50 else 1
    blocks = []
    for kw in ({"ngram_range": (1, 2)}, {"analyzer": "char_wb", "ngram_range": (2, 5)}):
        try:
            blocks.append(TfidfVectorizer(min_df=min_df, sublinear_tf=True, **kw).fit_transform(titles))
        except ValueError:  # no word of 2+ letters anywhere (empty vocabulary)
            continue
    if not blocks:
        return sparse.csr_matrix((len(titles), 1))
    return sparse.hstack(blocks).tocsr()


def place_by_titles(ids: Sequence[np.ndarray], titles: Sequence[str], platforms: Sequence[str] | np.ndarray,
                    apart: Collection[str], C: float = 0.5) -> list[np.ndarray]:
    """Cluster ids per level with the `apart` platforms' products re-placed by their titles.

    A linear SVM on `title_features` learns the deepest-level ids of the other platforms' products
    and predicts them for the apart ones; their shallower ids follow from the id's ancestry ('3.2'
    is under '3'). Ids are then renumbered by size, as the cascade numbers them.
    """
    from sklearn.svm import LinearSVC

    ids = [np.asarray(a, dtype=object) for a in ids]
    moved = np.isin(np.asarray(platforms).astype(str), [str(p) for p in apart])
    if not moved.any() or moved.all():
        return ids
    deepest = ids[-1]
    known = sorted(set(deepest[~moved]))
    if len(known) == 1:
        leaf = np.full(int(moved.sum()), known[0], dtype=object)
    else:
        X = title_features([str(t) for t in titles])
        leaf = LinearSVC(C=C).fit(X[~moved], deepest[~moved].astype(str)).predict(X[moved]).astype(object)
    out = []
    for level, arr in enumerate(ids, start=1):
        arr = arr.copy()
        arr[moved] = [".".join(str(c).split(".")[:level]) for c in leaf]
        out.append(arr)
    return renumber_ids(out)


def renumber_ids(ids: Sequence[np.ndarray]) -> list[np.ndarray]:
    """Ids renumbered 1..k by size at each level ('2.1' the largest under '2'); a group left with one child is unsplit."""
    out: list[np.ndarray] = []
    for level, arr in enumerate(ids):
        arr = np.asarray(arr, dtype=object)
        new = np.empty(len(arr), dtype=object)
        parents = out[-1] if out else np.full(len(arr), "", dtype=object)
        for parent in dict.fromkeys(parents.tolist()):  # first-seen order, for stable numbering
            m = parents == parent
            kids = [k for k, _ in Counter(arr[m].tolist()).most_common()]
            if level and len(kids) < 2:
                new[m] = parent
                continue
            mapping = {k: (f"{parent}.{j}" if level else str(j)) for j, k in enumerate(kids, start=1)}
            new[m] = [mapping[v] for v in arr[m]]
        out.append(new)
    return out
