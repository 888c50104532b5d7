"""`hiercat serve`, `review` and `feedback`: the REST API and the human review loop."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from .app import CollectionOpt, StoreOpt, UrlOpt, app, console, default, default_model_dir, fail


@app.command()
def serve(
    model: Path | None = typer.Option(None, help=f"Model folder {default('STORE/models/classifier')}."),
    host: str = typer.Option("127.0.0.1", help="Interface to listen on (loopback by default; 0.0.0.0 for all)."),
    port: int = typer.Option(8000, help="TCP port."),
    min_confidence: float | None = typer.Option(None, help="Default back-off threshold of /classify (a request's min_confidence overrides it)."),
    max_products: int = typer.Option(256, help="Most products one /classify request may send."),
    max_image_mb: float = typer.Option(5.0, help="Largest image (file or decoded base64) in MB."),
    image_root: list[Path] = typer.Option([], "--image-root", help=f"Folder an image path may point into (repeatable) {default('the current folder')}."),
    knn_threshold: float = typer.Option(0.5, help="Below this model confidence the kNN vote decides if it is more confident."),
    store: Path | None = StoreOpt,
    qdrant_url: str | None = UrlOpt,
    collection: str = CollectionOpt,
) -> None:
    """Serve the REST API (POST /classify, /feedback; GET /search, /products/…/similar, /health, /version; /docs).

    The model is loaded once. With HIERCAT_API_KEY set, every call but /health and /docs needs it in the
    X-API-Key header.
    """
    from ..encoders import ModelLoadError
    from ..model import ModelMismatchError
    from ..serve import ClassificationService, ServeSettings, run_server
    from ..serve.service import open_serving_store
    from ..store import StoreError

    url = qdrant_url or os.environ.get("QDRANT_URL")
    try:
        vs, label, note = open_serving_store(store, url, os.environ.get("QDRANT_API_KEY"), collection)
    except StoreError as exc:
        fail(str(exc))
    try:
        settings = ServeSettings(max_products=max_products, max_image_bytes=int(max_image_mb * 1024 * 1024),
                                 image_roots=tuple(image_root) or (Path.cwd(),), min_confidence=min_confidence,
                                 knn_threshold=knn_threshold)
        try:
            with console.status("loading the model"):
                service = ClassificationService(vs, model or default_model_dir(store, url), settings, label)
        except (ModelMismatchError, ModelLoadError, ValueError, FileNotFoundError) as exc:
            fail(str(exc))
        key = os.environ.get("HIERCAT_API_KEY") or None
        console.print(f"store: {label}\n[yellow]{note}[/]\nmodel: {service.identity.path} "
                      f"(weights {service.identity.weights_sha256})\n"
                      f"API key: {'required (HIERCAT_API_KEY)' if key else 'none (set HIERCAT_API_KEY to require one)'}\n"
                      f"docs: http://{host}:{port}/docs")
        run_server(service, host, port, key)
    finally:
        vs.close()


@app.command()
def feedback(
    corrections: Path = typer.Argument(..., help="CSV of corrections: product_id, platform, path (levels joined by ' > ')."),
    rejects: Path | None = typer.Option(None, help="Write the rejected rows with their reason to this CSV."),
    store: Path | None = StoreOpt,
    qdrant_url: str | None = UrlOpt,
    collection: str = CollectionOpt,
) -> None:
    """Write reviewed labels into the store's payloads (checked against its taxonomy; the kNN vote uses them at once)."""
    from ..feedback import FeedbackError, apply_corrections_file
    from .app import open_store_from_cli

    if not corrections.is_file():
        fail(f"{corrections}: file not found")
    vs = open_store_from_cli(store, qdrant_url, collection)
    try:
        try:
            result = apply_corrections_file(vs, corrections)
        except FeedbackError as exc:
            fail(str(exc))
    finally:
        vs.close()
    console.print(f"{len(result.applied)} corrections written, marked reviewed at "
                  f"{result.applied['reviewed_at'].iloc[0] if len(result.applied) else '-'}; "
                  f"{len(result.rejects)} rejected, {result.skipped} without a path skipped")
    for _, r in result.rejects.head(10).iterrows():
        console.print(f"  [yellow]row {r['row']}[/] ({r['platform']}/{r['product_id']}): {r['reason']}")
    if rejects is not None and len(result.rejects):
        result.rejects.to_csv(rejects, index=False)
        console.print(f"rejected rows -> {rejects}")
    if len(result.rejects) and not len(result.applied):
        raise typer.Exit(2)  # the status of every user error (`fail`)


@app.command()
def review(
    predictions: Path = typer.Argument(..., help="predictions.csv of `hiercat classify` (with --explain for the neighbours)."),
    out: Path = typer.Option(Path("review"), "-o", "--out", help="Folder for index.html, its images and corrections.csv."),
    low: float = typer.Option(0.6, help="Predictions below this confidence are listed (besides the disagreeing ones)."),
    limit: int = typer.Option(200, help="At most this many products on the page."),
) -> None:
    """An HTML page of the least confident and the disagreeing predictions, most helpful correction first."""
    from ..review import review_predictions_file

    if not predictions.is_file():
        fail(f"{predictions}: file not found")
    try:
        items, page, corrections = review_predictions_file(predictions, out, low, limit)
    except ValueError as exc:
        fail(str(exc))
    console.print(f"{len(items)} predictions to review -> [bold]{page}[/]; fill in the path column of "
                  f"{corrections} and run `hiercat feedback {corrections}`")
