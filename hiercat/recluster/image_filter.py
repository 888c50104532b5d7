"""Setting aside visually inconsistent shots (odd angles, busy backgrounds) before clustering.

Criterion. k-means splits the category's image embeddings into many small visual modes. The
largest modes that together hold `dominant_share` of the images are the category's dominant
looks and are never set aside. Every other cluster is measured against them with two robust
statistics taken from the dominant clusters themselves:

* link: cosine similarity of its centroid to the nearest dominant centroid. A cluster that is
  farther from every dominant look than the dominant looks are from one another (below their
  median minus `mad_z` scaled MADs) is a different kind of picture (a model wearing the shoe, a
  pair shot from above, a lifestyle photo), not a variant of a product shape.
* cohesion: mean cosine of its members to their centroid. Busy or grey backgrounds scatter
  embeddings, so k-means collects them into loose clusters whose cohesion falls far below a
  dominant mode's.

Relative thresholds make the rule independent of the encoder's similarity scale. `mad_z` is high
(6) because a shop's packshots are very uniform, so the dominant clusters' spread is tiny. At
most `max_share` (5 %) of the products is set aside, most atypical clusters first, stopping at
the first that no longer fits: the filter is a cleaner, not a clusterer. On Myntra + H&M shoes
with the SimCLR encoder, the first clusters it takes are pair shots from above, photos of people
and grey-background shots; what would come next (kids' shoes, white sneakers on white) are real
product looks. Products set aside are not lost: they are assigned to the nearest new
sub-category when the proposal is applied.

Each platform is filtered on its own (`filter_images_by_platform`): an odd shot is odd for its own
shop's photo style. Pooled, a small shop's whole style reads as a strange mode of the big one's: on
the shoes of Myntra + H&M, 90 of H&M's 231 ordinary packshots were set aside (3.8 % of Myntra's).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
from sklearn.cluster import KMeans

from ..encoders.base import l2_normalize


@dataclass
class ImageCluster:
    """One k-means visual mode with its statistics and whether it is set aside."""

    label: int
    size: int
    cohesion: float
    link: float
    dominant: bool
    atypicality: float
    flagged: bool
    reason: str = ""
    platform: str = ""  # set when filtered per platform


@dataclass
class ImageFilterResult:
    """Which products to keep, the per-cluster verdicts and sample images of what was set aside."""

    keep: np.ndarray  # bool over the products given (products without image are always kept)
    labels: np.ndarray  # k-means cluster per product, -1 without image
    clusters: list[ImageCluster]
    samples: dict[int, list[int]] = field(default_factory=dict)  # flagged cluster -> product positions

    @property
    def n_set_aside(self) -> int:
        """Number of products set aside."""
        return int((~self.keep).sum())


def _robust_floor(values: np.ndarray, mad_z: float) -> tuple[float, float, float]:
    med = float(np.median(values))
    mad = float(np.median(np.abs(values - med))) * 1.4826 or 1e-6
    return med, mad, med - mad_z * mad


def filter_images(
    image_vectors: np.ndarray,
    present: np.ndarray | None = None,
    n_clusters: int | None = None,
    dominant_share: float = 0.7,
    mad_z: float = 6.0,
    max_share: float = 0.05,
    samples_per_cluster: int = 16,
    seed: int = 0,
) -> ImageFilterResult:
    """k-means the image embeddings and set aside clusters far from the dominant looks or loose (see module doc)."""
    n = len(image_vectors)
    present = np.ones(n, dtype=bool) if present is None else np.asarray(present, dtype=bool)
    keep = np.ones(n, dtype=bool)
    labels = np.full(n, -1, dtype=int)
    idx = np.flatnonzero(present)
    k = n_clusters or int(np.clip(round(np.sqrt(len(idx) / 5)), 4, 40))
    if len(idx) < 4 * k:
        return ImageFilterResult(keep=keep, labels=labels, clusters=[])
    # No centring here (unlike for clustering): the shared direction of the category's usual look
    # is exactly what an odd shot lacks, and removing it would make every mode look equally far.
    X = l2_normalize(image_vectors[idx].astype(np.float32))
    km = KMeans(n_clusters=k, n_init=2, random_state=seed).fit(X)
    lab = km.labels_
    labels[idx] = lab
    C = l2_normalize(km.cluster_centers_.astype(np.float32))
    sizes = np.bincount(lab, minlength=k)
    cohesion = np.array([float((X[lab == c] @ C[c]).mean()) if sizes[c] else 0.0 for c in range(k)])
    order = np.argsort(-sizes, kind="stable")
    covered = np.cumsum(sizes[order]) / max(1, len(idx))
    n_dom = int(np.searchsorted(covered, dominant_share) + 1)
    dominant = np.zeros(k, dtype=bool)
    dominant[order[:n_dom]] = True
    sim = C @ C.T
    np.fill_diagonal(sim, -np.inf)
    link = sim[:, dominant].max(axis=1) if n_dom > 1 else np.full(k, 1.0)
    if n_dom > 1:
        link[dominant] = [sim[c, dominant].max() for c in np.flatnonzero(dominant)]
    _, coh_mad, coh_floor = _robust_floor(cohesion[dominant], mad_z)
    link_med, link_mad, link_floor = _robust_floor(link[dominant], mad_z) if n_dom > 2 else (1.0, 1.0, -np.inf)
    coh_med = float(np.median(cohesion[dominant]))
    atyp = np.maximum((coh_med - cohesion) / coh_mad, (link_med - link) / link_mad)
    candidates = [c for c in range(k) if not dominant[c] and (cohesion[c] < coh_floor or link[c] < link_floor)]
    flagged: set[int] = set()
    budget = int(max_share * n)
    for c in sorted(candidates, key=lambda c: -atyp[c]):
        if sizes[c] > budget:
            break  # most atypical first; a less atypical cluster never jumps the queue because it is small
        flagged.add(c)
        budget -= int(sizes[c])
    clusters = []
    rng = np.random.default_rng(seed)
    samples: dict[int, list[int]] = {}
    for c in range(k):
        reason = ""
        if c in flagged:
            z_coh, z_link = (coh_med - cohesion[c]) / coh_mad, (link_med - link[c]) / link_mad
            reason = "loose (busy or mixed shots)" if z_coh >= z_link else "far from the dominant looks"
            members = idx[lab == c]
            keep[members] = False
            take = members if len(members) <= samples_per_cluster else rng.choice(members, samples_per_cluster, replace=False)
            samples[c] = sorted(int(i) for i in take)
        clusters.append(ImageCluster(label=c, size=int(sizes[c]), cohesion=round(float(cohesion[c]), 4),
                                     link=round(float(link[c]), 4), dominant=bool(dominant[c]),
                                     atypicality=round(float(atyp[c]), 2), flagged=c in flagged, reason=reason))
    return ImageFilterResult(keep=keep, labels=labels, clusters=clusters, samples=samples)


def filter_images_by_platform(image_vectors: np.ndarray, platforms: Sequence[str] | np.ndarray,
                              present: np.ndarray | None = None, seed: int = 0,
                              **options: Any) -> ImageFilterResult:
    """`filter_images` inside each platform, merged: visual cluster labels numbered across platforms."""
    platforms = np.asarray([str(p) for p in platforms], dtype=object)
    n = len(image_vectors)
    if len(platforms) != n:
        raise ValueError(f"{n} image vectors but {len(platforms)} platforms")
    present = np.ones(n, dtype=bool) if present is None else np.asarray(present, dtype=bool)
    keep = np.ones(n, dtype=bool)
    labels = np.full(n, -1, dtype=int)
    clusters: list[ImageCluster] = []
    samples: dict[int, list[int]] = {}
    for plat in sorted(set(platforms)):
        rows = np.flatnonzero(platforms == plat)
        res = filter_images(image_vectors[rows], present[rows], seed=seed, **options)
        offset = len(clusters)
        keep[rows] = res.keep
        labels[rows] = np.where(res.labels >= 0, res.labels + offset, -1)
        clusters += [replace(c, label=c.label + offset, platform=plat) for c in res.clusters]
        samples.update({c + offset: [int(rows[i]) for i in pos] for c, pos in res.samples.items()})
    return ImageFilterResult(keep=keep, labels=labels, clusters=clusters, samples=samples)
