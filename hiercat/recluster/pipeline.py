"""recluster(): select a category, set odd images aside, embed, cascade-cluster, name, report, propose."""

from __future__ import annotations

import datetime as _dt
import time
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ..encoders.base import TextEncoder
from ..store.base import VectorStore
from ..taxonomy import join_path
from .cluster import UmapParams, cascade, umap_embed
from .config import ReclusterConfig, platforms_of
from .features import (
    build_features,
    fused_weights,
    needed_roles,
    role_vectors,
    spec_for_size,
    store_text_encoder,
    usable_rows,
)
from .figures import montage, sample_indices, scatter
from .image_filter import filter_images_by_platform
from .naming import name_tree
from .placement import ApartPlatform, place_by_titles, platforms_apart
from .proposal import Proposal, ProposedCluster
from .purity import cluster_purity, purity
from .reembed import reembed_images
from .reference import reference_labels
from .report import ClusterSummary, LevelSummary, Report, write_report
from .select import CategoryError, Selection, select_category
from .terms import product_line_words, stop_terms, titles_or_cleaned


def _cluster_masks(labels: list[np.ndarray]) -> dict[str, np.ndarray]:
    """Members of every proposed cluster id; an id seen at several levels (unsplit group) counts once."""
    masks: dict[str, np.ndarray] = {}
    for lab in labels:
        for cid in set(lab):
            if cid not in masks:
                masks[cid] = lab == cid
    return dict(sorted(masks.items(), key=lambda kv: [int(x) for x in kv[0].split(".")]))


def platform_notes(apart: list[ApartPlatform], names: Mapping[str, str]) -> list[str]:
    """Warnings for platforms apart (`platforms_apart`) that were kept in their one level-1 cluster.

    Such a cluster follows the shop (its photo style and wording), not a product type: on the shoes of
    Myntra + H&M all 231 of H&M's shoes form one cluster of every H&M shoe type.
    """
    return [f"{a.count} of the {a.size} clustered products of platform {a.platform!r} fall into level-1 cluster "
            f"{a.cluster} ({names[a.cluster]!r}): the vectors set this platform apart, so that cluster may mix its "
            "types; check its samples before adopting it" for a in apart]


def placed_note(a: ApartPlatform) -> str:
    """What happened to a platform that clustered by itself and was placed by its titles."""
    return (f"{a.count} of the {a.size} clustered products of platform {a.platform!r} fell into one level-1 cluster: "
            "the vectors set this platform apart, so its products were placed into the other platforms' clusters "
            "by a classifier of their title words; check their samples (--keep-apart keeps the clustering as found)")


def _platform_purity(labels: np.ndarray, ref: np.ndarray | None, platforms: np.ndarray) -> dict[str, float]:
    """Purity of each platform's products alone, largest platform first; {} without a reference or with one platform."""
    counts = Counter(platforms.tolist()).most_common()
    if ref is None or len(counts) < 2:
        return {}
    return {str(p): purity(labels[platforms == p], ref[platforms == p]) for p, _ in counts}


def _proposal_clusters(sel: Selection, masks: dict[str, np.ndarray], names: dict[str, Any],
                       ref: np.ndarray | None) -> tuple[list[ProposedCluster], list[ClusterSummary]]:
    ids = np.asarray(sel.ids, dtype=object)
    product_ids = sel.column("product_id")
    platforms = sel.column("platform")
    titles = sel.column("title")
    proposed, summaries = [], []
    for cid, m in masks.items():
        # The id spells the ancestry ("3.2" is the 2nd sub-cluster of 3), so level and parent follow from it.
        level = cid.count(".") + 1
        parent = cid.rsplit(".", 1)[0] if level > 1 else None
        nm = names[cid]
        plat = dict(Counter(platforms[m]).most_common())
        pur = cluster_purity(np.zeros(int(m.sum()), dtype=int), ref[m])[0] if ref is not None else None
        refd = {"majority": pur.majority, "purity": round(pur.purity, 4)} if pur else None
        proposed.append(ProposedCluster(
            id=cid, level=level, parent=parent, name=nm.name, proposed_name=nm.name, size=int(m.sum()),
            top_terms=[t for t, _ in nm.terms], platforms=plat, reference=refd,
            point_ids=ids[m].tolist(), product_ids=product_ids[m].tolist(), member_platforms=platforms[m].tolist(),
            titles=titles[m].tolist()))
        summaries.append(ClusterSummary(id=cid, level=level, parent=parent, name=nm.name,
                                        top_terms=[t for t, _ in nm.terms], size=int(m.sum()), platforms=plat,
                                        purity=pur.purity if pur else None, majority=pur.majority if pur else None))
    return proposed, summaries


def _pictures(out: Path, part: Selection, sel: Selection, summaries: list[ClusterSummary],
              masks: dict[str, np.ndarray], labels: list[np.ndarray], names: dict[str, Any], X: np.ndarray,
              image_result: Any, montage_size: int, seed: int, umap: UmapParams | None, make_scatter: bool,
              title: str) -> tuple[str | None, str | None]:
    """Montages per cluster (paths set on the summaries), of the set-aside shots, and the 2-D scatter."""
    images = part.column("image")
    for s in summaries:
        members = np.flatnonzero(masks[s.id])
        pick = members[sample_indices(len(members), montage_size, seed)]
        path = montage(images[pick].tolist(), out / "img" / f"cluster_{s.id}.png") if montage_size else None
        s.montage = str(path.relative_to(out)) if path else None
    aside_montage = None
    if image_result is not None and image_result.samples and montage_size:
        pos = [i for c in sorted(image_result.samples) for i in image_result.samples[c]][: 4 * montage_size]
        path = montage(sel.column("image")[pos].tolist(), out / "img" / "set_aside.png")
        aside_montage = str(path.relative_to(out)) if path else None
    scatter_rel = None
    if make_scatter:
        xy = umap_embed(X, 2, seed, umap)
        codes = {c: i for i, c in enumerate(sorted(set(labels[0]), key=int))}
        path = scatter(xy, np.array([codes[c] for c in labels[0]]),
                       {i: f"{c} {names[c].name}" for c, i in codes.items()}, out / "img" / "scatter.png", title=title)
        scatter_rel = str(path.relative_to(out))
    return aside_montage, scatter_rel


def recluster(
    store: VectorStore,
    category: str,
    out_dir: str | Path,
    config: ReclusterConfig | None = None,
    *,
    text_encoder: TextEncoder | None = None,
    on_step: Callable[[str], None] | None = None,
    **options: Any,
) -> Report:
    """Propose sub-categories for `category` and write report.md/.html, proposal.json and pictures to out_dir.

    config: the run's options (`ReclusterConfig`, validated there); or give them as keywords
    (`vectors="fused", n_clusters=(8, 3), reference="native_category"`). With `image_weights` the
    category's images are re-embedded with that SimCLR file (see `hiercat train-image-encoder
    --category`) instead of using the stored image vectors. With `place_apart`, the products of a
    minority platform that fell into one level-1 cluster are placed into the other platforms'
    clusters by their titles (placement.py); without it they stay, with a note. `on_step(text)` is
    told each stage as it starts (the whole takes minutes on a large category).
    """
    if config is not None and options:
        raise TypeError("give either a ReclusterConfig or keyword options, not both")
    cfg = config or ReclusterConfig(**options)
    vectors, method, levels, n_clusters = cfg.vectors, cfg.method, cfg.levels, cfg.n_clusters
    reference, platform, image_filter, seed = cfg.reference, platforms_of(cfg), cfg.image_filter, cfg.seed
    n_components, local_umap, umap, montage_size = cfg.n_components, cfg.local_umap, cfg.umap, cfg.montage_size
    make_scatter, image_weights, place_apart = cfg.make_scatter, cfg.image_weights, cfg.place_apart
    weights = cfg.weights or None
    step = on_step or (lambda text: None)
    t0 = time.perf_counter()
    seconds: dict[str, float] = {}
    notes: list[str] = []
    out = Path(out_dir)
    w = fused_weights(weights)

    step(f"reading the stored products of {category}")
    sel = select_category(store, category, platform=platform)
    cat = join_path(sel.category)
    if len(sel) == 0:
        raise CategoryError(f"no stored products under {cat!r}" + (f" on platform {platform!r}" if platform else ""))
    if reference:
        reference_labels(sel.payload, reference)  # a wrong column fails now, not after the clustering
    seconds["select"] = time.perf_counter() - t0
    (out / "img").mkdir(parents=True, exist_ok=True)
    if image_weights is not None:
        t = time.perf_counter()
        notes.extend(reembed_images(sel, image_weights))
        seconds["reembed_images"] = time.perf_counter() - t

    t = time.perf_counter()
    step(f"{len(sel)} products; building the {vectors} features")
    if text_encoder is None and "terms" in needed_roles(vectors, w):
        text_encoder = store_text_encoder(store)
    vecs, spec, w = role_vectors(sel, vectors, w, text_encoder, notes)
    usable = usable_rows(vecs, spec, w)
    seconds["features"] = time.perf_counter() - t

    t = time.perf_counter()
    roles = sel.roles
    keep = np.ones(len(sel), dtype=bool)
    image_result = None
    if image_filter and "image" in roles:
        step("setting aside odd shots (image filter, per shop)")
        image_result = filter_images_by_platform(sel.vectors[roles["image"]], sel.column("platform"),
                                                 sel.present.get(roles["image"]), seed=seed)
        keep = image_result.keep
    elif image_filter:
        notes.append("image filter skipped: the store holds no image vectors")
    seconds["image_filter"] = time.perf_counter() - t

    reasons = np.full(len(sel), "", dtype=object)
    reasons[~keep] = "image filter"
    reasons[keep & ~usable] = f"no {spec} vector"
    chosen = np.flatnonzero(keep & usable)
    if len(chosen) < 2:
        raise CategoryError(f"only {len(chosen)} products of {cat!r} can be clustered with vectors {spec!r}")
    part = sel.take(chosen)
    spec = spec_for_size(spec, len(chosen), notes)
    X = build_features({k: v[chosen] for k, v in vecs.items()}, spec, w)

    t = time.perf_counter()
    step(f"clustering {len(chosen)} products ({method}, {levels} level{'s' if levels > 1 else ''}, UMAP per level)")
    tree, _ = cascade(X, levels=levels, method=method, n_clusters=n_clusters, seed=seed,
                      n_components=n_components, umap=umap, local_umap=local_umap)
    seconds["cluster"] = time.perf_counter() - t

    labels = tree.path_ids()

    titles, platforms = part.column("title"), part.column("platform")
    stop = stop_terms(part.column("brand"), titles, part.column("colour"))
    apart = platforms_apart(labels[0], platforms)
    # With every platform apart there is no other shop's clustering to place them by: warn instead.
    placing = place_apart and bool(apart) and not set(platforms.tolist()) <= {a.platform for a in apart}
    if placing:
        t = time.perf_counter()
        step(f"placing {', '.join(a.platform for a in apart)} into the other shops' clusters by title")
        # Brand and colour words would tie the classifier to the other shops' brands; what the product is remains.
        labels = place_by_titles(labels, titles_or_cleaned(titles, stop=stop), platforms, [a.platform for a in apart])
        notes.extend(placed_note(a) for a in apart)
        seconds["placement"] = time.perf_counter() - t

    t = time.perf_counter()
    step("naming the clusters")
    lines = product_line_words(titles, part.column("brand"), platforms)
    names = name_tree(titles, labels, stop, reserved=sel.category, unnamable=lines)
    seconds["naming"] = time.perf_counter() - t

    if not placing:  # the labels are as clustered, so `apart` still describes them
        notes.extend(platform_notes(apart, {c: nm.name for c, nm in names.items()}))
    ref = reference_labels(part.payload, reference) if reference else None
    masks = _cluster_masks(labels)
    proposed, summaries = _proposal_clusters(part, masks, names, ref)
    level_summaries = [LevelSummary(level=lv, n_clusters=len(set(labels[lv - 1])),
                                    purity=purity(labels[lv - 1], ref) if ref is not None else None,
                                    noise=int(tree.noise[lv - 1].sum()),
                                    platform_purity=_platform_purity(labels[lv - 1], ref, platforms))
                       for lv in range(1, len(labels) + 1)]

    t = time.perf_counter()
    step("drawing montages and the scatter plot")
    aside_montage, scatter_rel = _pictures(out, part, sel, summaries, masks, labels, names, X, image_result,
                                           montage_size, seed, umap, make_scatter,
                                           f"{cat}: level-1 clusters ({spec}, {method})")
    seconds["figures"] = time.perf_counter() - t

    aside = np.flatnonzero(reasons != "")
    proposal = Proposal(
        category=cat,
        clusters=proposed,
        params={"vectors": vectors, "used": spec, "weights": w, "method": method, "levels": levels,
                "n_clusters": list(n_clusters) if n_clusters else None, "reference": reference,
                "platform": platform, "image_filter": image_filter, "seed": seed, "n_components": n_components,
                "local_umap": local_umap, "image_weights": str(image_weights) if image_weights else None,
                "place_apart": place_apart},
        set_aside={"point_ids": [sel.ids[i] for i in aside], "product_ids": sel.column("product_id")[aside].tolist(),
                   "titles": sel.column("title")[aside].tolist(),
                   "member_platforms": sel.column("platform")[aside].tolist(), "reasons": reasons[aside].tolist(),
                   # odd shots are often misfiled products (a dress among shoes): kept at the category unless asked
                   "assign_nearest": False},
        created=_dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
    )
    proposal_file = proposal.save(out / "proposal.json")
    seconds["total"] = time.perf_counter() - t0

    report = Report(
        category=cat, out_dir=out, n_selected=len(sel), n_clustered=len(chosen),
        set_aside=dict(Counter(reasons[aside])), set_aside_platforms=dict(Counter(sel.column("platform")[aside])),
        clusters=summaries, levels=level_summaries, params=proposal.params, seconds={k: round(v, 2) for k, v in seconds.items()},
        notes=notes, image_clusters=[vars(c) for c in image_result.clusters] if image_result else [],
        set_aside_montage=aside_montage, scatter=scatter_rel, files={"proposal": proposal_file},
        ids=part.ids, payload=part.payload, labels=labels,
    )
    write_report(report)
    return report
