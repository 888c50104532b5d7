"""UMAP embedding and cascade clustering: level-1 groups, then sub-groups inside each group."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.cluster import ward_tree
from sklearn.metrics import silhouette_score
from sklearn.neighbors import NearestNeighbors

METHODS = ("agglomerative", "hdbscan")


@dataclass
class UmapParams:
    """UMAP settings; min_dist=0 packs clusters tightly, which is what density/ward clustering wants."""

    n_neighbors: int = 15
    min_dist: float = 0.0
    metric: str = "cosine"


def umap_embed(X: np.ndarray, n_components: int = 10, seed: int = 0, params: UmapParams | None = None) -> np.ndarray:
    """Seeded UMAP fitted on X itself (the selection), returning [n, n_components] float32."""
    import umap

    p = params or UmapParams()
    n = len(X)
    if n <= n_components + 1:
        # Too few points for a spectral layout; the raw vectors are as good as it gets.
        return np.asarray(X[:, :n_components], dtype=np.float32)
    with warnings.catch_warnings():
        # A fixed random_state makes umap-learn run single-threaded and say so on every call.
        warnings.filterwarnings("ignore", message=".*n_jobs value.*")
        warnings.filterwarnings("ignore", message=".*k >= N.*")
        reducer = umap.UMAP(n_components=n_components, n_neighbors=min(p.n_neighbors, n - 1),
                            min_dist=p.min_dist, metric=p.metric, random_state=seed,
                            init="spectral" if n > 3 * n_components else "random")
        return reducer.fit_transform(np.asarray(X, dtype=np.float32)).astype(np.float32)


# ---- agglomerative (ward) -------------------------------------------------------------------

def ward_cuts(E: np.ndarray) -> Callable[[int], np.ndarray]:
    """Build the ward tree once; return a function giving the k-cluster labels for any k."""
    n = len(E)
    if n < 2:
        return lambda k: np.zeros(n, dtype=int)
    children, _, n_leaves, _ = ward_tree(np.asarray(E, dtype=np.float64))

    def cut(k: int) -> np.ndarray:
        # Ward merge heights never decrease, so undoing the last k-1 merges is the k-cluster cut;
        # one tree serves every k tried by the silhouette search instead of k refits.
        k = max(1, min(k, n))
        parent = np.arange(2 * n_leaves - 1)
        for node, (a, b) in enumerate(children[: n_leaves - k], start=n_leaves):
            parent[a] = node
            parent[b] = node
        root = parent.copy()
        for _ in range(64):  # pointer jumping: log2 of any tree height we will meet
            nxt = root[root]
            if np.array_equal(nxt, root):
                break
            root = nxt
        return relabel_by_size(root[:n_leaves])

    return cut


def relabel_by_size(labels: np.ndarray) -> np.ndarray:
    """Labels 0..k-1 ordered by cluster size (largest first, ties by first occurrence); -1 stays -1."""
    labels = np.asarray(labels)
    keep = labels >= 0
    uniq, first, counts = np.unique(labels[keep], return_index=True, return_counts=True)
    order = sorted(range(len(uniq)), key=lambda i: (-counts[i], first[i]))
    mapping = {uniq[i]: r for r, i in enumerate(order)}
    out = np.full(len(labels), -1, dtype=int)
    out[keep] = [mapping[v] for v in labels[keep]]
    return out


def choose_k(E: np.ndarray, labels_for: Callable[[int], np.ndarray], k_range: Sequence[int],
             seed: int = 0, sample: int = 3000) -> tuple[int, dict[int, float]]:
    """The k in k_range with the best silhouette (on a seeded subsample for speed) and all scores."""
    n = len(E)
    ks = [k for k in k_range if 2 <= k < n]
    if not ks:
        return 1, {}
    scores: dict[int, float] = {}
    for k in ks:
        labels = labels_for(k)
        if len(np.unique(labels)) < 2:
            continue
        scores[k] = float(silhouette_score(E, labels, sample_size=min(sample, n), random_state=seed))
    if not scores:
        return 1, {}
    best = max(scores, key=lambda k: (scores[k], -k))
    return best, scores


# ---- hdbscan --------------------------------------------------------------------------------

def hdbscan_labels(E: np.ndarray, min_cluster_size: int, min_samples: int | None = None) -> np.ndarray:
    """HDBSCAN labels (-1 = noise) ordered by size."""
    import hdbscan

    n = len(E)
    if n < max(3, 2 * min_cluster_size):
        return np.zeros(n, dtype=int)
    model = hdbscan.HDBSCAN(min_cluster_size=int(min_cluster_size),
                            min_samples=int(min_samples) if min_samples else None,
                            cluster_selection_method="eom", core_dist_n_jobs=1)
    return relabel_by_size(model.fit_predict(np.asarray(E, dtype=np.float64)))


def attach_noise(E: np.ndarray, labels: np.ndarray) -> np.ndarray:
    """Give each noise point (-1) the label of its nearest clustered point, so every product gets a group."""
    labels = labels.copy()
    noise = labels < 0
    if not noise.any():
        return labels
    if noise.all():
        return np.zeros(len(labels), dtype=int)
    nn = NearestNeighbors(n_neighbors=1).fit(E[~noise])
    _, idx = nn.kneighbors(E[noise])
    labels[noise] = labels[~noise][idx[:, 0]]
    return labels


def hdbscan_for_k(E: np.ndarray, k: int, min_samples: int | None = None) -> np.ndarray:
    """HDBSCAN whose min_cluster_size is searched so the number of clusters comes closest to k."""
    n = len(E)
    best: tuple[int, int, np.ndarray] | None = None
    for m in sorted({max(2, int(round(n * f))) for f in np.geomspace(0.005, 0.45, 24)}, reverse=True):
        labels = hdbscan_labels(E, m, min_samples)
        got = len(np.unique(labels[labels >= 0]))
        key = (abs(got - k), -m)
        if best is None or key < (best[0], -best[1]):
            best = (abs(got - k), m, labels)
        if got == k:
            break
    assert best is not None
    return best[2]


# ---- cascade --------------------------------------------------------------------------------

@dataclass
class Cascade:
    """Cluster labels per level for every point; level-2+ labels are globally unique with a parent each."""

    labels: list[np.ndarray]
    parents: list[dict[int, int]]  # per level: label -> parent label at the level above ({} at level 1)
    noise: list[np.ndarray]  # per level: points HDBSCAN called noise (then attached to the nearest cluster)
    scores: list[dict[str, dict[int, float]]] = field(default_factory=list)  # silhouette per group, per level

    @property
    def levels(self) -> int:
        """Number of levels clustered."""
        return len(self.labels)

    def n_clusters(self, level: int) -> int:
        """Number of distinct clusters at a 1-based level."""
        return len(np.unique(self.labels[level - 1]))

    def children(self, level: int, label: int) -> list[int]:
        """Labels at level+1 whose parent is `label` at `level`."""
        if level >= self.levels:
            return []
        return sorted(c for c, p in self.parents[level].items() if p == label)

    def path_ids(self) -> list[np.ndarray]:
        """Per level, every point's cluster id as users see it: "3" at level 1, "3.2" below.

        A group that was not split keeps its parent's id at the deeper level, so ids always spell
        the ancestry and every level partitions all points.
        """
        out: list[np.ndarray] = [np.array([str(v + 1) for v in self.labels[0]], dtype=object)]
        for level in range(2, self.levels + 1):
            above = out[-1]
            ids = above.copy()
            for g in np.unique(self.labels[level - 2]):
                kids = self.children(level - 1, int(g))
                if len(kids) < 2:
                    continue
                for j, kid in enumerate(kids, start=1):
                    m = self.labels[level - 1] == kid
                    ids[m] = f"{above[m][0]}.{j}"
            out.append(ids)
        return out


def split_group(
    E: np.ndarray,
    method: str,
    k: int | None,
    k_range: Sequence[int],
    seed: int,
    min_cluster_size: int,
) -> tuple[np.ndarray, np.ndarray, dict[int, float]]:
    """Cluster one group: labels, noise mask and the silhouette scores tried (auto k only)."""
    n = len(E)
    if method not in METHODS:
        raise ValueError(f"method must be one of {', '.join(METHODS)}, got {method!r}")
    if k == 1 or n < 2 * min_cluster_size:
        return np.zeros(n, dtype=int), np.zeros(n, dtype=bool), {}
    scores: dict[int, float] = {}
    if method == "agglomerative":
        cut = ward_cuts(E)
        if k is None:
            usable = [kk for kk in k_range if kk * min_cluster_size <= n]
            k, scores = choose_k(E, cut, usable or [2], seed)
        labels = cut(k)
        return labels, np.zeros(n, dtype=bool), scores
    if k is None:
        raw = hdbscan_labels(E, min_cluster_size)
    else:
        raw = hdbscan_for_k(E, k)
    return relabel_by_size(attach_noise(E, raw)), raw < 0, scores


def cascade(
    X: np.ndarray,
    levels: int = 2,
    method: str = "agglomerative",
    n_clusters: Sequence[int | None] | None = None,
    seed: int = 0,
    n_components: int = 10,
    umap: UmapParams | None = None,
    k_range: Sequence[Sequence[int]] = (range(2, 13), range(2, 7)),
    min_share: Sequence[float] = (0.01, 0.05),
    local_umap: bool = True,
    embedding: np.ndarray | None = None,
) -> tuple[Cascade, np.ndarray]:
    """UMAP-embed X, cluster into level-1 groups, then split every group again for each further level.

    n_clusters gives k per level (None = silhouette over k_range[level]); a level-1 group is only
    split when it holds at least twice the minimum cluster size (min_share of the group, at least 5).
    With local_umap, each group is re-embedded with UMAP fitted on the group's own vectors, so the
    sub-structure is not squeezed by the layout of the whole category. Returns the cascade and the
    level-1 embedding.
    """
    ks = list(n_clusters) if n_clusters is not None else []
    ks += [None] * (levels - len(ks))
    ranges = list(k_range) + [k_range[-1]] * max(0, levels - len(k_range))
    shares = list(min_share) + [min_share[-1]] * max(0, levels - len(min_share))
    E = embedding if embedding is not None else umap_embed(X, n_components, seed, umap)
    n = len(X)
    min_size = max(5, int(round(shares[0] * n)))
    lab, noise, sc = split_group(E, method, ks[0], ranges[0], seed, min_size)
    labels: list[np.ndarray] = [lab]
    parents: list[dict[int, int]] = [{}]
    noises: list[np.ndarray] = [noise]
    scores: list[dict[str, dict[int, float]]] = [{"all": sc}]
    for level in range(2, levels + 1):
        above = labels[-1]
        out = np.full(n, -1, dtype=int)
        nz = np.zeros(n, dtype=bool)
        par: dict[int, int] = {}
        sc_level: dict[str, dict[int, float]] = {}
        next_label = 0
        for g in np.unique(above):
            idx = np.flatnonzero(above == g)
            sub_min = max(5, int(round(shares[level - 1] * len(idx))))
            if local_umap and len(idx) >= 2 * sub_min:
                Eg = umap_embed(X[idx], n_components, seed, umap)
            else:
                Eg = E[idx]
            sub, sub_noise, sub_sc = split_group(Eg, method, ks[level - 1], ranges[level - 1], seed, sub_min)
            for s in np.unique(sub):
                out[idx[sub == s]] = next_label
                par[next_label] = int(g)
                next_label += 1
            nz[idx] = sub_noise
            sc_level[str(int(g))] = sub_sc
        labels.append(out)
        parents.append(par)
        noises.append(nz)
        scores.append(sc_level)
    return Cascade(labels=labels, parents=parents, noise=noises, scores=scores), E
