"""`hiercat recluster`: sub-categories inside a shallow category."""

from __future__ import annotations

from pathlib import Path

import typer

from .app import (
    CollectionOpt,
    StoreOpt,
    UrlOpt,
    app,
    console,
    default,
    fail,
    open_store_from_cli,
)


@app.command()
def recluster(
    category: str = typer.Argument(..., help="Category name or full path, e.g. Shoes."),
    method: str = typer.Option("agglomerative", help="agglomerative (cascade) or hdbscan."),
    vectors: str = typer.Option(
        "shared", help="Which vectors to cluster: shared (image-title CCA subspace), fused (image + words), "
                       "image, words, terms, title, brand."),
    reference: str | None = typer.Option(None, help="Payload column to measure purity against, e.g. native_category."),
    out: Path | None = typer.Option(None, help=f"Report folder {default('./recluster-<category>')}."),
    apply: Path | None = typer.Option(None, "--apply", help="Adopt an (edited) proposal.json instead of clustering."),
    platform: str | None = typer.Option(None, help="Only this platform's products."),
    n_clusters: str | None = typer.Option(None, "--n-clusters", help=f"Clusters per level, e.g. 8,3 {default('auto')}."),
    levels: int = typer.Option(2, help="Levels of the cascade."),
    image_filter: bool = typer.Option(True, "--image-filter/--no-image-filter", help="Set aside visually inconsistent shots first."),
    seed: int = typer.Option(0, help="Random seed (UMAP, k-means)."),
    image_weights: Path | None = typer.Option(
        None, help="Re-embed the category's images with these SimCLR weights (train-image-encoder --category)."),
    place_apart: bool = typer.Option(
        True, "--place-apart/--keep-apart",
        help="Place the products of a shop that clusters by itself into the other shops' clusters by their titles."),
    store: Path | None = StoreOpt,
    qdrant_url: str | None = UrlOpt,
    collection: str = CollectionOpt,
) -> None:
    """Propose new sub-categories inside a shallow category by clustering its stored vectors; --apply adopts them."""
    from ..recluster.command import parse_n_clusters, recluster_command
    from ..recluster.config import ReclusterConfig

    try:  # every option checked once, here, before the store is opened
        config = None if apply else ReclusterConfig(
            vectors=vectors, method=method, levels=levels, n_clusters=ks if (ks := parse_n_clusters(n_clusters)) is None else tuple(ks),
            reference=reference, platform=platform, image_filter=image_filter, seed=seed,
            image_weights=image_weights, place_apart=place_apart)
    except ValueError as exc:
        fail(f"recluster: {exc}")
    vs = open_store_from_cli(store, qdrant_url, collection)
    try:
        recluster_command(vs, category, config, out=out, apply=apply, console=console)
    except ValueError as exc:  # unknown category, bad proposal edits: user-ready messages
        fail(str(exc))
    finally:
        vs.close()
