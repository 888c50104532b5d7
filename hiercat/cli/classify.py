"""`hiercat classify` and `propose-mapping`: a trained model on new products."""

from __future__ import annotations

from pathlib import Path

import typer

from ..predictions_table import REVIEW_BELOW  # a light module (pandas only): the help shows its default
from .app import (
    CollectionOpt,
    StoreOpt,
    UrlOpt,
    app,
    check_decode,
    console,
    default,
    default_model_dir,
    fail,
    open_store_from_cli,
    parse_columns,
    print_metrics,
)

MODEL_DECODE = "the model's, set by `train --decode`"


@app.command()
def classify(
    input: Path = typer.Argument(..., help="Catalog of products to classify (CSV, Parquet, JSONL; category optional)."),
    output: Path = typer.Option(Path("predictions.csv"), "-o", "--output", help="Predictions CSV."),
    model: Path | None = typer.Option(None, help=f"Model folder {default('STORE/models/classifier')}."),
    cascade: bool = typer.Option(False, "--cascade", help="Text-only first stage (STORE/models/text); escalate unsure items to the multimodal model."),
    threshold: float | None = typer.Option(None, help=f"Cascade threshold {default('the one chosen on validation data at training')}."),
    explain: bool = typer.Option(False, "--explain", help="Explain each prediction by its 3 nearest stored products (columns neighbour_1_* … neighbour_3_*)."),
    knn_threshold: float = typer.Option(0.5, help="Below this model confidence the kNN vote decides if it is more confident."),
    k: int = typer.Option(10, "-k", help="Neighbours for the kNN vote and explanations."),
    decode: str | None = typer.Option(None, help=f"greedy or path (best whole valid path) {default(MODEL_DECODE)}; a cascade's text stage keeps the decoding its threshold was chosen with."),
    mapping: Path | None = typer.Option(None, help="Map a category column to the target taxonomy to score the predictions."),
    column: list[str] = typer.Option([], "--column", help="Rename a column: FILE_COLUMN=hiercat_column (repeatable)."),
    platform: str | None = typer.Option(None, help="Platform name for all rows."),
    min_confidence: float | None = typer.Option(None, "--min-confidence", help="Back off: the deepest prefix of each path whose cumulative confidence is at least this (column stopped_early; full_path keeps the prediction)."),
    native_category: bool = typer.Option(False, "--native-category", help="Use the input's `category` column (the shop's breadcrumb) as evidence: pool each prediction with those of the products sharing it."),
    review_below: float = typer.Option(REVIEW_BELOW, help="needs_review is yes below this path confidence (and for zero-shot and rejected rows)."),
    neighbours_file: Path | None = typer.Option(None, help="With --explain: write every neighbour of every product to this JSON Lines file (the CSV shows the 3 nearest)."),
    store: Path | None = StoreOpt,
    qdrant_url: str | None = UrlOpt,
    collection: str = CollectionOpt,
    ray: bool = typer.Option(False, "--ray", help="Embed on a Ray cluster (for large batches); the model and the kNN vote run here. A local cluster unless --ray-address. Needs pip install 'hiercat\\[ray]'; not with --cascade."),
    ray_address: str | None = typer.Option(None, help="With --ray: the cluster to join (auto = the running one, ray://head:10001); implies --ray."),
    ray_workers: int | None = typer.Option(None, help="With --ray: encoder actors " + default("one per GPU, else one per CPU") + "."),
) -> None:
    """Embed new products, predict a valid taxonomy path with confidences, decision source and explanations."""
    from ..catalog import CatalogError, CatalogOptions
    from ..classify import classify_catalog
    from ..encoders import ModelLoadError
    from ..mapping import CategoryMapping, MappingError
    from ..model import ModelMismatchError
    from ..predictions_table import predictions_table, score_against_given, summary, write_neighbours, write_predictions

    if neighbours_file is not None and not explain:
        fail("--neighbours-file needs --explain")
    if ray or ray_address:
        from ..distributed import INSTALL_HINT, ray_available

        if not ray_available():
            fail(INSTALL_HINT)
        if cascade:
            fail("--cascade embeds in two steps (text, then the escalated images) and runs in this process: "
                 "classify without --ray")
    if decode is not None:
        check_decode(decode)
    vs = open_store_from_cli(store, qdrant_url, collection)
    try:
        mdir = model or default_model_dir(store, qdrant_url)
        try:
            options = CatalogOptions(columns=parse_columns(column), platform=platform,
                                     mapping=CategoryMapping.load(mapping) if mapping else None)
            with console.status(f"classifying {input}"):
                if ray or ray_address:
                    from ..distributed import classify_catalog_ray

                    result = classify_catalog_ray(input, vs, mdir, options, address=ray_address, workers=ray_workers,
                                                  native_category=native_category, explain=explain, knn_k=k,
                                                  knn_threshold=knn_threshold, decode=decode)
                else:
                    result = classify_catalog(input, vs, mdir, options, native_category=native_category,
                                              cascade=cascade, threshold=threshold, explain=explain, knn_k=k,
                                              knn_threshold=knn_threshold, decode=decode)
        except (ModelMismatchError, ModelLoadError, CatalogError, MappingError, ValueError, FileNotFoundError) as exc:
            fail(str(exc))
        from ..review import annotate_predictions

        result.table = annotate_predictions(result, min_confidence)  # columns `hiercat review` reads; the back-off
        emb = result.embedded
        table = predictions_table(result, review_below=review_below)
        existed = output.exists()
        write_predictions(table, output)
        said = summary(table)
        console.print(f"{said['rows']} rows -> [bold]{output}[/]{' (replaced)' if existed else ''}: "
                      f"{said['ok']} classified, {said['rejected']} rejected, "
                      f"[bold]{said['needs_review']} need review[/] (needs_review = yes); decided by "
                      + ", ".join(f"{s} {100 * v:.1f} %" for s, v in said["sources"].items()))
        if said["rejected"]:
            console.print("[yellow]rejected (in the file with status 'rejected: …')[/]: "
                          + ", ".join(f"{r} {n}" for r, n in said["rejected_by_reason"].items()))
        if explain and neighbours_file is not None:
            console.print(f"every neighbour: [bold]{write_neighbours(result, neighbours_file)}[/]")
        if cascade:
            console.print(f"escalated to the multimodal model: {100 * result.table['escalated'].mean():.1f} %")
        per_1000 = 1000.0 / max(len(result.table), 1)
        console.print(f"{emb.images_embedded} images embedded; seconds per 1,000 products: "
                      + ", ".join(f"{k.replace('_', ' ')} {v * per_1000:.2f}" for k, v in emb.seconds.items()))
        if "true_path" in table:
            given = score_against_given(table, result.classifier.output_taxonomy())
            if given.message():
                console.print(f"[yellow]note:[/] {given.message()}")
            if given.metrics is not None:
                print_metrics(given.metrics, f"against the given categories ({given.scored} rows)")
    finally:
        vs.close()


@app.command("propose-mapping")
def propose_mapping_cmd(
    catalog: Path = typer.Argument(..., help="Catalog of a shop whose native categories (the `category` column) have no mapping yet."),
    output: Path = typer.Option(Path("mapping.csv"), "-o", "--output", help="Proposed mapping CSV (accepted as is by `hiercat ingest --mapping`)."),
    page: Path | None = typer.Option(None, help="HTML review page (default: the CSV's name with .html)."),
    platform: str | None = typer.Option(None, help="Platform name for all rows."),
    model: Path | None = typer.Option(None, help="Model folder (default: STORE/models/classifier)."),
    column: list[str] = typer.Option([], "--column", help="Rename a column: FILE_COLUMN=hiercat_column (repeatable)."),
    store: Path | None = StoreOpt,
    qdrant_url: str | None = UrlOpt,
    collection: str = CollectionOpt,
) -> None:
    """Classify a new shop's products and propose a target for each of its categories (auto / review / mixed)."""
    from ..catalog import CatalogError, CatalogOptions
    from ..encoders import ModelLoadError
    from ..model import ModelMismatchError
    from ..propose import propose_for_catalog, write_review_page

    vs = open_store_from_cli(store, qdrant_url, collection)
    try:
        mdir = model or default_model_dir(store, qdrant_url)
        try:
            with console.status(f"classifying the products of {catalog}"):
                table, disagree, rejects = propose_for_catalog(
                    catalog, vs, mdir, CatalogOptions(columns=parse_columns(column), platform=platform))
        except (ModelMismatchError, ModelLoadError, CatalogError, ValueError, FileNotFoundError) as exc:
            fail(str(exc))
    finally:
        vs.close()
    if len(rejects):
        console.print(f"[yellow]{len(rejects)} rows left out[/]: "
                      + "; ".join(f"row {r}: {why}" for r, why in zip(rejects["row"][:5], rejects["reason"][:5])))
    output.parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(output, index=False)
    html_file = write_review_page(table, disagree, page or output.with_suffix(".html"), f"Proposed mapping of {catalog}")
    counts = table["status"].value_counts()
    console.print(f"{len(table)} categories, {int(table['n_items'].sum())} products -> [bold]{output}[/] "
                  f"(review page {html_file}): "
                  + ", ".join(f"{s} {int(counts.get(s, 0))}" for s in ("auto", "review", "mixed")))
