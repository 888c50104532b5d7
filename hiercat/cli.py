"""The `hiercat` command line: ingest, search, info, train, classify, evaluate, recluster, demo."""

from __future__ import annotations

import os
from pathlib import Path
from typing import List, Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Put the products of many shops into one taxonomy from title, brand and image.")
console = Console()

DEFAULT_STORE = "hiercat-store"
GOOGLE_TAXONOMY = Path(__file__).parent / "assets" / "google-product-taxonomy-2021-09-21.txt"

StoreOpt = typer.Option(None, "--store", help="Folder of the embedded Qdrant store [default: ./hiercat-store].")
UrlOpt = typer.Option(None, "--qdrant-url", help="Qdrant server URL (or env QDRANT_URL); API key from env QDRANT_API_KEY.")
CollectionOpt = typer.Option("products", "--collection", help="Collection name on a Qdrant server.")


def open_store_from_cli(store: Optional[Path], url: Optional[str], collection: str = "products"):
    """Open the embedded store or the server named on the command line / in the environment."""
    from .store import open_store

    url = url or os.environ.get("QDRANT_URL")
    return open_store(path=None if url else (store or Path(DEFAULT_STORE)), url=url,
                      api_key=os.environ.get("QDRANT_API_KEY"), collection=collection)


def progress_bar() -> Progress:
    """A rich progress bar with counts, elapsed and remaining time."""
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=False)


def fail(message: str) -> None:
    """Print an error and exit with status 1."""
    console.print(f"[bold red]error:[/] {message}")
    raise typer.Exit(1)


def _parse_columns(pairs: List[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            fail(f"--column expects FILE_COLUMN=hiercat_column, got {pair!r}")
        a, b = pair.split("=", 1)
        out[a.strip()] = b.strip()
    return out


@app.command()
def ingest(
    catalogs: List[Path] = typer.Argument(..., help="Catalog files (CSV, Parquet, JSONL) or folders holding products.csv."),
    platform: Optional[str] = typer.Option(None, help="Platform (shop) name for all rows [default: the platform column, else the folder name]."),
    mapping: Optional[Path] = typer.Option(None, help="CSV native_category -> gpt_category mapping onto the target taxonomy."),
    taxonomy: Path = typer.Option(GOOGLE_TAXONOMY, help="Target taxonomy (Google taxonomy .txt or hiercat .json) that mapping targets must exist in."),
    preset: str = typer.Option("minilm", help="Encoder preset: minilm (offline default), clip, paper, simclr."),
    column: List[str] = typer.Option([], "--column", help="Rename a column: FILE_COLUMN=hiercat_column (repeatable)."),
    sep: str = typer.Option(" > ", help="Separator of category path levels."),
    rejects: Optional[Path] = typer.Option(None, help="Where to write rejected rows [default: STORE/rejects-<file>.csv]."),
    batch_size: int = typer.Option(256, help="Products embedded and upserted per batch."),
    unsure: str = typer.Option("reject", help="Products whose category a proposed mapping (hiercat propose-mapping) marks review or mixed: reject them with that reason, or classify each one by itself with --model."),
    model: Optional[Path] = typer.Option(None, help="With --unsure classify: the model folder (default: STORE/models/classifier)."),
    store: Optional[Path] = StoreOpt,
    qdrant_url: Optional[str] = UrlOpt,
    collection: str = CollectionOpt,
) -> None:
    """Validate catalogs, map categories, embed title/brand/image and upsert into Qdrant (idempotent, resumable)."""
    from .catalog import CatalogError, CatalogOptions, write_rejects
    from .encoders import ModelLoadError, load_preset
    from .ingest import StoreMismatchError, ingest as run_ingest
    from .mapping import CategoryMapping, MappingError
    from .taxonomy import Taxonomy

    try:
        mapping_table = None
        if mapping is not None:
            mapping_table = CategoryMapping.load(mapping, Taxonomy.load(taxonomy), sep=" > ")
            mapping_table.target_name = taxonomy.name
        enc = load_preset(preset)
    except (MappingError, ModelLoadError, ValueError, FileNotFoundError) as exc:
        fail(str(exc))
    if unsure not in ("reject", "classify"):
        fail(f"--unsure must be reject or classify, got {unsure!r}")
    files = [c / "products.csv" if c.is_dir() else c for c in catalogs]
    vs = open_store_from_cli(store, qdrant_url, collection)
    classifier = None
    if unsure == "classify":
        from .classify import Classifier

        try:
            classifier = Classifier.load(vs, model or default_model_dir(store, qdrant_url))
        except FileNotFoundError as exc:
            vs.close()
            fail(f"--unsure classify needs a model; {exc} or pass --model")
    summary = Table(title="ingest summary")
    for col in ("catalog", "rows", "ingested", "skipped (unchanged)", "rejected", "time", "products/s"):
        summary.add_column(col, justify="right" if col != "catalog" else "left")
    status = 0
    try:
        for file in files:
            options = CatalogOptions(columns=_parse_columns(column), sep=sep, platform=platform, mapping=mapping_table,
                                     unsure=unsure)
            with progress_bar() as bar:
                task = bar.add_task(f"ingest {file.name}", total=None)
                try:
                    report = run_ingest(file, vs, enc, options, batch_size=batch_size,
                                        on_progress=lambda d, t: bar.update(task, completed=d, total=t),
                                        classifier=classifier)
                except (CatalogError, StoreMismatchError) as exc:
                    console.print(f"[bold red]error:[/] {exc}")
                    status = 1
                    continue
            if report.rejected:
                target = rejects or (Path(store or DEFAULT_STORE) if not qdrant_url else Path(".")) / f"rejects-{file.parent.name}-{file.stem}.csv"
                write_rejects(report.rejects, target)
                reasons = report.rejects["reason"].str.replace(r"[:(].*$", "", regex=True).str.strip().value_counts()
                console.print(f"[yellow]{report.rejected} rejected rows[/] written to {target}: "
                              + ", ".join(f"{r} {n}" for r, n in reasons.items()))
            summary.add_row(f"{file.parent.name}/{file.name}", str(report.rows), str(report.ingested), str(report.skipped), str(report.rejected),
                            f"{report.seconds:.1f} s", f"{report.per_second:.0f}")
    finally:
        vs.close()
    console.print(summary)
    raise typer.Exit(status)


@app.command()
def search(
    query: Optional[str] = typer.Argument(None, help="Free-text query, e.g. 'red running shoes'."),
    like: Optional[str] = typer.Option(None, "--like", help="Find products similar to this product id."),
    platform: Optional[str] = typer.Option(None, help="Only products of this platform (and, with --like, the platform of the product)."),
    vector: Optional[str] = typer.Option(None, help="Named vector to search [default: the title vector]."),
    k: int = typer.Option(10, "-k", help="Number of neighbours."),
    store: Optional[Path] = StoreOpt,
    qdrant_url: Optional[str] = UrlOpt,
    collection: str = CollectionOpt,
) -> None:
    """Nearest stored products of a text query or of a stored product, with their categories."""
    from .encoders import preset_from_meta

    if not query and not like:
        fail("give a QUERY or --like PRODUCT_ID")
    vs = open_store_from_cli(store, qdrant_url, collection)
    try:
        meta = vs.get_meta()
        if not meta.get("preset"):
            fail("the store is empty: run `hiercat ingest` first")
        names = list(meta["preset"]["vectors"])
        title_vec = next((n for n in names if n.endswith("_title")), names[0])
        name = vector or title_vec
        if name not in names and name not in meta["preset"].get("sparse", []):
            fail(f"no vector {name!r}; the store has {', '.join(names)}")
        flt = {"platform": platform} if platform else None
        if like:
            found = list(vs.scroll({"product_id": like, **(flt or {})}, with_vectors=[name]))
            if not found:
                fail(f"no product with id {like!r}" + (f" on platform {platform!r}" if platform else ""))
            qvec = found[0].vectors.get(name) if name in found[0].vectors else found[0].sparse.get(name)
            if qvec is None:
                fail(f"product {like!r} has no {name} vector (no image?)")
            hits = [h for h in vs.search(name, qvec, k=k + 1, filter=flt) if h.id != found[0].id][:k]
            console.print(f"products like [bold]{found[0].payload['title']}[/] ({found[0].payload['path']}) by {name}")
        else:
            preset = preset_from_meta(meta)
            if name.endswith("_image"):
                fail("a text query searches a text vector; use --vector with a *_title or *_brand vector")
            qvec = preset.encode_text([query])[0] if not name.startswith("lex_") else preset.lexical.encode([query])[0]
            hits = vs.search(name, qvec, k=k, filter=flt)
        table = Table(title=f"nearest by {name}")
        for col in ("#", "score", "product_id", "platform", "title", "category"):
            table.add_column(col)
        for i, h in enumerate(hits, 1):
            table.add_row(str(i), f"{h.score:.3f}", h.payload.get("product_id", ""), h.payload.get("platform", ""),
                          h.payload.get("title", ""), h.payload.get("path", ""))
        console.print(table)
    finally:
        vs.close()


@app.command()
def info(
    store: Optional[Path] = StoreOpt,
    qdrant_url: Optional[str] = UrlOpt,
    collection: str = CollectionOpt,
    top: int = typer.Option(15, help="Show this many categories per level."),
) -> None:
    """Collection size, vectors, per-platform and per-level counts."""
    vs = open_store_from_cli(store, qdrant_url, collection)
    try:
        meta = vs.get_meta()
        n = vs.count()
        console.print(f"[bold]{n}[/] products; preset [bold]{(meta.get('preset') or {}).get('name', '-')}[/]")
        vt = Table(title="vectors")
        vt.add_column("name")
        vt.add_column("dim", justify="right")
        for name, dim in vs.dense_vectors().items():
            vt.add_row(name, str(dim))
        for name in (meta.get("preset") or {}).get("sparse", []):
            vt.add_row(name, "sparse")
        console.print(vt)
        pt = Table(title="platforms")
        pt.add_column("platform")
        pt.add_column("products", justify="right")
        for value, count in sorted(vs.facet("platform").items(), key=lambda kv: -kv[1]):
            pt.add_row(value, str(count))
        console.print(pt)
        depth = len({p.count(" > ") for p in (meta.get("taxonomy") or {}).get("paths", [])})
        for level in range(1, depth + 1):
            counts = vs.facet(f"level_{level}")
            if not counts:
                continue
            lt = Table(title=f"level {level}: {len(counts)} categories")
            lt.add_column("category")
            lt.add_column("products", justify="right")
            for value, count in sorted(counts.items(), key=lambda kv: -kv[1])[:top]:
                lt.add_row(value, str(count))
            console.print(lt)
    finally:
        vs.close()


def default_model_dir(store: Optional[Path], qdrant_url: Optional[str], name: str = "classifier") -> Path:
    """Where models live: STORE/models/NAME for the embedded store, ./hiercat-models/NAME for a server."""
    if qdrant_url or os.environ.get("QDRANT_URL"):
        return Path("hiercat-models") / name
    return Path(store or DEFAULT_STORE) / "models" / name


def print_metrics(metrics: dict, title: str) -> None:
    """A small table of the headline metrics."""
    t = Table(title=title)
    for col in ("metric", "value"):
        t.add_column(col)
    for key in sorted(metrics):
        if key.startswith(("hP", "hR", "hF1", "exact", "validity")) or "macro_f1" in key:
            t.add_row(key, f"{100 * metrics[key]:.2f} %")
    console.print(t)


@app.command()
def train(
    fusion: str = typer.Option("early", help="Fusion of the modalities: early, late, attention."),
    modalities: str = typer.Option("shops", help="Modalities: shops (product words + description pooled, title n-grams, image: the default for new shops), all, text, lexical, image, text+lexical, or vector names joined by commas."),
    platforms: Optional[str] = typer.Option(None, help="Train on these platforms only (comma-separated)."),
    labels: str = typer.Option("path", help="Label field: path (target taxonomy) or native_category (the shop's own tree)."),
    epochs: int = typer.Option(60, help="At most this many epochs (early stopping, patience 5)."),
    seed: int = typer.Option(0, help="Seed of the 64/16/20 split and of training."),
    out: Optional[Path] = typer.Option(None, help="Model folder [default: STORE/models/classifier]."),
    cascade_stage: bool = typer.Option(False, "--text-stage", help="Also train the cheap text-only first stage of the cascade (STORE/models/text)."),
    target_escalation: float = typer.Option(0.2, help="With --text-stage: share of items the text stage escalates (threshold chosen on validation data)."),
    token_dropout: Optional[str] = typer.Option(
        None, help="Share of a title's lexical n-grams dropped while training [model default 0.4; 0.1 favours rare "
                   "classes]. Several, comma-separated (e.g. 0.1,0.4), train one model each and average them."),
    refit: bool = typer.Option(False, help="After early stopping, retrain on train + validation for the epochs found "
                                           "(the test split stays unseen)."),
    decode: str = typer.Option("path", help="Decoding for the test metrics and, by default, for classify: path "
                                            "(best whole valid path) or greedy (level by level)."),
    store: Optional[Path] = StoreOpt,
    qdrant_url: Optional[str] = UrlOpt,
    collection: str = CollectionOpt,
) -> None:
    """Train the masked hierarchical classifier on the stored vectors and save it (safetensors + JSON sidecar)."""
    from .experiment import train_on_store

    members = _members(token_dropout)
    _check_decode(decode)
    vs = open_store_from_cli(store, qdrant_url, collection)
    try:
        plats = [p.strip() for p in platforms.split(",")] if platforms else None
        target = out or default_model_dir(store, qdrant_url)
        try:
            result = train_on_store(vs, target, fusion=fusion, modalities=modalities, platforms=plats,
                                    labels=labels, seed=seed, epochs=epochs, members=members, refit=refit,
                                    decode=decode)
        except (KeyError, ValueError) as exc:
            fail(str(exc).strip("'\""))
        what = f"{len(members)}-model ensemble, " if members and len(members) > 1 else ""
        console.print(f"saved [bold]{target}[/] ({what}{fusion} fusion, best epoch "
                      f"{', '.join(map(str, result.best_epochs))}{', refit on train + validation' if refit else ''}, "
                      f"{result.fit_seconds:.0f} s)")
        print_metrics(result.metrics, "held-out test split (20 %)")
        if cascade_stage:
            _train_text_stage(vs, target.parent / "text", plats, labels, seed, epochs, target_escalation)
    finally:
        vs.close()


def _members(token_dropout: Optional[str]) -> Optional[list[dict[str, float]]]:
    """`--token-dropout` as ensemble members (train, evaluate), refusing a bad list before any work."""
    from .experiment import token_dropout_members

    try:
        return token_dropout_members(token_dropout)
    except ValueError as exc:
        fail(str(exc))


def _check_decode(decode: str) -> None:
    """Refuse an unknown --decode before any work is done."""
    from .model.decode import DECODERS

    if decode not in DECODERS:
        fail(f"--decode must be one of {', '.join(DECODERS)}, got {decode!r}")


def _train_text_stage(vs, target: Path, plats, labels: str, seed: int, epochs: int, share: float) -> None:
    import json

    import numpy as np

    from .cascade import choose_threshold
    from .experiment import Split, label_paths, load_training_data, train_on_store
    from .model import inputs_from_stored, predict
    from .model.io import read_sidecar

    result = train_on_store(vs, target, fusion="late", modalities="text+lexical", platforms=plats, labels=labels,
                            seed=seed, epochs=epochs, record_split=False)
    products = load_training_data(vs, plats)
    paths = label_paths(products, labels)
    split = Split.make(paths, seed)
    val = predict(result.model, inputs_from_stored(products).take(split.val))
    ok = np.array([p == paths[i] for p, i in zip(val.paths, split.val)])
    thr = choose_threshold(val.path_conf, ok, target_escalation=share)
    sidecar = read_sidecar(target)
    sidecar["cascade_threshold"] = thr
    sidecar["decode"] = "greedy"  # the decoding `thr` was chosen with; the cascade's stage 1 keeps it
    (target / "model.json").write_text(json.dumps(sidecar, indent=1), encoding="utf-8")
    console.print(f"text stage saved to [bold]{target}[/]; cascade threshold {thr:.3f} escalates ~{share:.0%}")


@app.command()
def classify(
    input: Path = typer.Argument(..., help="Catalog of products to classify (CSV, Parquet, JSONL; category optional)."),
    output: Path = typer.Option(Path("predictions.csv"), "-o", "--output", help="Predictions CSV."),
    model: Optional[Path] = typer.Option(None, help="Model folder [default: STORE/models/classifier]."),
    cascade: bool = typer.Option(False, "--cascade", help="Text-only first stage (STORE/models/text); escalate unsure items to the multimodal model."),
    threshold: Optional[float] = typer.Option(None, help="Cascade threshold [default: the one chosen on validation data at training]."),
    explain: bool = typer.Option(False, "--explain", help="Attach the k nearest stored products to every prediction."),
    knn_threshold: float = typer.Option(0.5, help="Below this model confidence the kNN vote decides if it is more confident."),
    k: int = typer.Option(10, "-k", help="Neighbours for the kNN vote and explanations."),
    decode: Optional[str] = typer.Option(None, help="greedy or path (best whole valid path) [default: the model's, set by `train --decode`]; a cascade's text stage keeps the decoding its threshold was chosen with."),
    mapping: Optional[Path] = typer.Option(None, help="Map a category column to the target taxonomy to score the predictions."),
    column: List[str] = typer.Option([], "--column", help="Rename a column: FILE_COLUMN=hiercat_column (repeatable)."),
    platform: Optional[str] = typer.Option(None, help="Platform name for all rows."),
    native_category: bool = typer.Option(False, "--native-category", help="Use the input's `category` column (the shop's breadcrumb) as evidence: pool each prediction with those of the products sharing it."),
    store: Optional[Path] = StoreOpt,
    qdrant_url: Optional[str] = UrlOpt,
    collection: str = CollectionOpt,
) -> None:
    """Embed new products, predict a valid taxonomy path with confidences, decision source and explanations."""
    from .catalog import CatalogError, CatalogOptions
    from .classify import classify_catalog
    from .encoders import ModelLoadError
    from .mapping import CategoryMapping, MappingError
    from .metrics import evaluate_paths
    from .model import ModelMismatchError

    if decode is not None:
        _check_decode(decode)
    vs = open_store_from_cli(store, qdrant_url, collection)
    try:
        mdir = model or default_model_dir(store, qdrant_url)
        try:
            options = CatalogOptions(columns=_parse_columns(column), platform=platform,
                                     mapping=CategoryMapping.load(mapping) if mapping else None)
            with console.status(f"classifying {input}"):
                result = classify_catalog(input, vs, mdir, options, native_category=native_category, cascade=cascade,
                                          threshold=threshold, explain=explain, knn_k=k, knn_threshold=knn_threshold,
                                          decode=decode)
        except (ModelMismatchError, ModelLoadError, CatalogError, MappingError, ValueError, FileNotFoundError) as exc:
            fail(str(exc))
        table, rejects, emb = result.table, result.rejects, result.embedded
        if len(rejects):
            console.print(f"[yellow]{len(rejects)} rows cannot be classified[/]: "
                          + "; ".join(f"row {r}: {why}" for r, why in zip(rejects["row"][:5], rejects["reason"][:5])))
        output.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(output, index=False)
        shares = table["source"].value_counts(normalize=True)
        console.print(f"{len(table)} products classified -> [bold]{output}[/]; decided by "
                      + ", ".join(f"{s} {100 * v:.1f} %" for s, v in shares.items()))
        if cascade:
            console.print(f"escalated to the multimodal model: {100 * table['escalated'].mean():.1f} %")
        per_1000 = 1000.0 / max(len(table), 1)
        console.print(f"{emb.images_embedded} images embedded; seconds per 1,000 products: "
                      + ", ".join(f"{k.replace('_', ' ')} {v * per_1000:.2f}" for k, v in emb.seconds.items()))
        if "true_path" in table:
            print_metrics(evaluate_paths(table["true_path"].tolist(), table["predicted_path"].tolist(),
                                         result.classifier.output_taxonomy()),
                          "against the given categories")
    finally:
        vs.close()


@app.command("propose-mapping")
def propose_mapping_cmd(
    catalog: Path = typer.Argument(..., help="Catalog of a shop whose native categories (the `category` column) have no mapping yet."),
    output: Path = typer.Option(Path("mapping.csv"), "-o", "--output", help="Proposed mapping CSV (accepted as is by `hiercat ingest --mapping`)."),
    page: Optional[Path] = typer.Option(None, help="HTML review page (default: the CSV's name with .html)."),
    platform: Optional[str] = typer.Option(None, help="Platform name for all rows."),
    model: Optional[Path] = typer.Option(None, help="Model folder (default: STORE/models/classifier)."),
    column: List[str] = typer.Option([], "--column", help="Rename a column: FILE_COLUMN=hiercat_column (repeatable)."),
    store: Optional[Path] = StoreOpt,
    qdrant_url: Optional[str] = UrlOpt,
    collection: str = CollectionOpt,
) -> None:
    """Classify a new shop's products and propose a target for each of its categories (auto / review / mixed)."""
    from .catalog import CatalogError, CatalogOptions
    from .encoders import ModelLoadError
    from .model import ModelMismatchError
    from .propose import propose_for_catalog, write_review_page

    vs = open_store_from_cli(store, qdrant_url, collection)
    try:
        mdir = model or default_model_dir(store, qdrant_url)
        try:
            with console.status(f"classifying the products of {catalog}"):
                table, disagree, rejects = propose_for_catalog(
                    catalog, vs, mdir, CatalogOptions(columns=_parse_columns(column), platform=platform))
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


@app.command()
def evaluate(
    out: Path = typer.Option(Path("hiercat-report"), help="Report folder (report.md, report.html, plots)."),
    labels: str = typer.Option("path", help="Label field: path (target taxonomy) or native_category."),
    platforms: Optional[str] = typer.Option(None, help="Within-shop grid on these platforms only (comma-separated)."),
    cross: Optional[str] = typer.Option(None, help="Cross-platform pairs TRAIN:TEST, comma-separated, e.g. myntra:hm."),
    epochs: int = typer.Option(60, help="At most this many epochs per configuration."),
    seed: int = typer.Option(0, help="Seed of the split and of training."),
    cascade_targets: str = typer.Option("0.1,0.3", help="Escalation shares to report for the cascade."),
    token_dropout: Optional[str] = typer.Option(None, help="As in `hiercat train`: one value, or several to average one model each, in every configuration."),
    refit: bool = typer.Option(False, help="As in `hiercat train`: refit every configuration on train + validation."),
    leave_one_shop_out: bool = typer.Option(False, "--leave-one-shop-out", help="Instead of the grid: for every platform (or those of --platforms), train `hiercat train`'s default model on the others and score it as a new shop: per product, with breadcrumb pooling, and the proposed mapping of its categories."),
    store: Optional[Path] = StoreOpt,
    qdrant_url: Optional[str] = UrlOpt,
    collection: str = CollectionOpt,
) -> None:
    """Table-II grid (unimodal rows, early/late/attention fusion, kNN), cascade and cross-platform tables, with plots.

    Every configuration is a model trained from scratch, so the grid takes a while (minutes per row on a CPU).
    """
    from .evaluate import Row, cascade_rows, cross_platform, knn_row, run_grid
    from .experiment import label_paths, load_training_data
    from .model import predict
    from .model.inputs import inputs_from_stored
    from .report import plot_confusion, plot_level_f1, write_report

    training = {"members": _members(token_dropout), "refit": refit}
    vs = open_store_from_cli(store, qdrant_url, collection)
    if leave_one_shop_out:
        try:
            _leave_one_shop_out(vs, out, platforms, epochs, seed, training)
        finally:
            vs.close()
        return
    try:
        plats = [p.strip() for p in platforms.split(",")] if platforms else None
        products = load_training_data(vs, plats)
        paths = label_paths(products, labels)
        levels = max(len(p) for p in paths)
        console.print(f"{len(products)} products, {levels} levels, labels from `{labels}`")

        def show(row: Row) -> None:
            console.print(f"  {row.name:32s} hF1 {100 * row.metrics['hF1']:.2f}  "
                          f"L{levels} macro-F1 {100 * row.metrics.get(f'l{levels}_macro_f1', float('nan')):.2f}  "
                          f"valid {100 * row.metrics.get('validity', float('nan')):.1f} %  ({row.fit_seconds:.0f} s)")

        rows, split = run_grid(products, labels, seed, epochs, on_row=show, **training)
        meta = vs.get_meta()
        title_vec = next((n for n in (meta.get("preset") or {}).get("vectors", {}) if n.endswith("_title")), None)
        if title_vec:
            rows.append(knn_row(vs, products, split, labels, title_vec))
            show(rows[-1])
        sections = [("Within-shop results (Table II shape)",
                     f"Seeded stratified 64/16/20 split (seed {seed}) of {len(products)} products; test = {len(split.test)}. "
                     "Percentages; hP/hR/hF1 over ancestor sets, per-level macro and weighted F1, valid paths under masking.",
                     rows, levels)]
        trained = [r for r in rows if "model" in r.extra]
        best = max(trained, key=lambda r: r.metrics["hF1"])
        text_row = next((r for r in trained if r.name.startswith("text + lexical")), None)
        if text_row is not None and best is not text_row:
            targets = [float(x) for x in cascade_targets.split(",") if x.strip()]
            casc = cascade_rows(text_row.extra["model"], best.extra["model"], products, split, labels, targets)
            sections.append(("Two-stage cascade", f"Stage 1 = {text_row.name}; stage 2 = {best.name}. Thresholds chosen "
                             "on the validation split for a target escalation share; times per 1,000 products.", casc, levels))
        if cross:
            xrows = []
            for pair in cross.split(","):
                a, b = pair.split(":")
                xrows += cross_platform(products, a.strip(), b.strip(), labels, seed, epochs=epochs, **training)
                for r in xrows[-3:]:
                    show(r)
            sections.append(("Cross-platform results (Table III shape)",
                             "Trained on every product of one platform (its own validation split for early stopping), "
                             "tested on every product of the other. label_coverage = share of test products whose "
                             "category the training platform has at all.", xrows, levels))
        out.mkdir(parents=True, exist_ok=True)
        figs = [("Per-level macro-F1 per configuration", plot_level_f1(trained, levels, out / "level_f1.png"))]
        worst = min(range(1, levels + 1), key=lambda k: best.metrics.get(f"l{k}_macro_f1", 1.0))
        test_paths = [paths[i] for i in split.test]
        pred = predict(best.extra["model"], inputs_from_stored(products).take(split.test))
        figs.append((f"Confusion matrix at level {worst} ({best.name})",
                     plot_confusion(test_paths, pred.paths, worst, out / "confusion.png")))
        md, page = write_report(out, "hiercat evaluation", sections, figs,
                                notes=[f"Store preset: {(meta.get('preset') or {}).get('name')}; vectors: "
                                       f"{', '.join((meta.get('preset') or {}).get('vectors', {}))}."])
        console.print(f"report: [bold]{md}[/] and {page}")
    finally:
        vs.close()


def _leave_one_shop_out(vs, out: Path, platforms: Optional[str], epochs: int, seed: int, training: dict) -> None:
    """`hiercat evaluate --leave-one-shop-out`: the table per left-out shop, its mapping proposal, the report."""
    from .evaluate import Row, leave_one_shop_out
    from .experiment import load_training_data
    from .report import write_report

    products = load_training_data(vs)
    plats = [p.strip() for p in platforms.split(",")] if platforms else None
    levels = max(int(d) for d in products.payload["depth"])
    console.print(f"{len(products)} products of {products.payload['platform'].nunique()} platforms, {levels} levels")

    def show(row: Row) -> None:
        console.print(f"  {row.name:48s} hF1 {100 * row.metrics['hF1']:.2f}  exact {100 * row.metrics['exact']:.2f}"
                      + (f"  mapping right for {100 * row.extra['mapping_item_accuracy']:.1f} % of items"
                         if "mapping_item_accuracy" in row.extra else "") + f"  ({row.fit_seconds:.0f} s)")

    from .experiment import category_names

    try:
        names = category_names(vs.get_meta())
        shops = leave_one_shop_out(products, seed=seed, platforms=plats, epochs=epochs, on_row=show,
                                   category_names=names, **training)
    except ValueError as exc:
        fail(str(exc))
    out.mkdir(parents=True, exist_ok=True)
    for shop in shops:
        shop.proposal.to_csv(out / f"proposed-mapping-{shop.platform}.csv", index=False)
    rows = [r for shop in shops for r in shop.rows]
    md, page = write_report(out, "hiercat: leave one shop out", [(
        "Leave one shop out", "Each shop scored by a model trained on every other shop (hiercat train's defaults), "
        "labels from the target taxonomy. 'per product': each product alone; 'breadcrumb pooling': with the shop's "
        "own categories as evidence (classify --native-category); '+ zero-shot': with the taxonomy's category names "
        "for unsure products (as classify runs). Percentages; the extra columns are fractions: mapping_item_accuracy, "
        "the share of the shop's products whose native category got its true target from propose-mapping; "
        "mapping_auto_precision, the share of the categories marked auto that are right; mapping_auto_share, the "
        "share of categories marked auto; label_coverage, the share of the shop's products whose category the "
        "training shops have at all; zero_shot_share, the share placed by a category name.", rows, levels)],
        notes=[f"Store: {len(products)} products; proposed mappings: proposed-mapping-<platform>.csv."])
    console.print(f"report: [bold]{md}[/] and {page}")


@app.command("train-image-encoder")
def train_image_encoder(
    images: List[Path] = typer.Argument(None, help="Image files or folders of images (or use --category)."),
    out: Path = typer.Option(Path("simclr_resnet18.safetensors"), help="Weights file (safetensors)."),
    epochs: int = typer.Option(10, help="Epochs over the images."),
    strength: str = typer.Option("middle", help="Augmentation strength: low, middle, high."),
    batch_size: int = typer.Option(256, help="Batch size (NT-Xent uses the batch as negatives)."),
    input_size: int = typer.Option(64, help="Square input size in pixels."),
    seed: int = typer.Option(0, help="Random seed."),
    category: Optional[str] = typer.Option(None, help="Train on the images of the stored products under this category."),
    platform: Optional[str] = typer.Option(None, help="With --category: only this platform's products."),
    init: Optional[Path] = typer.Option(None, help="Start from these weights (fine-tune), e.g. the shipped encoder."),
    workers: int = typer.Option(0, help="DataLoader processes for the augmentations (use several on a GPU)."),
    max_minutes: Optional[float] = typer.Option(
        None, help="Stop after this much training time and save (a safety stop: the LR schedule follows --epochs)."),
    store: Optional[Path] = StoreOpt,
    qdrant_url: Optional[str] = UrlOpt,
    collection: str = CollectionOpt,
) -> None:
    """Train the self-supervised SimCLR image encoder (ResNet-18, NT-Xent) on a catalog's own images."""
    from .encoders.simclr import default_weights_path, train_image_encoder_cli

    if category:
        from .recluster.select import select_category

        vs = open_store_from_cli(store, qdrant_url, collection)
        try:
            sel = select_category(vs, category, vectors=[], platform=platform)
        except ValueError as exc:
            fail(str(exc))
        finally:
            vs.close()
        images = [Path(p) for p in sel.column("image") if p]
        if not images:
            fail(f"no stored product under {category!r} has an image path")
        console.print(f"{len(images)} images of {len(sel)} products under {' > '.join(sel.category)}")
        if init is None:
            init = default_weights_path()  # a category's few thousand images refine the catalog encoder
    if not images:
        fail("give image files or folders, or --category with a store")
    train_image_encoder_cli(images, out=out, epochs=epochs, strength=strength, batch_size=batch_size,
                            input_size=input_size, seed=seed, init_weights=init, num_workers=workers,
                            max_seconds=60 * max_minutes if max_minutes else None)


@app.command()
def recluster(
    category: str = typer.Argument(..., help="Category name or full path, e.g. Shoes."),
    method: str = typer.Option("agglomerative", help="agglomerative (cascade) or hdbscan."),
    vectors: str = typer.Option(
        "shared", help="Which vectors to cluster: shared (image-title CCA subspace), fused (image + words), "
                       "image, words, terms, title, brand."),
    reference: Optional[str] = typer.Option(None, help="Payload column to measure purity against, e.g. native_category."),
    out: Optional[Path] = typer.Option(None, help="Report folder [default: ./recluster-<category>]."),
    apply: Optional[Path] = typer.Option(None, "--apply", help="Adopt an (edited) proposal.json instead of clustering."),
    platform: Optional[str] = typer.Option(None, help="Only this platform's products."),
    n_clusters: Optional[str] = typer.Option(None, "--n-clusters", help="Clusters per level, e.g. 8,3 [default: auto]."),
    levels: int = typer.Option(2, help="Levels of the cascade."),
    image_filter: bool = typer.Option(True, "--image-filter/--no-image-filter", help="Set aside visually inconsistent shots first."),
    seed: int = typer.Option(0, help="Random seed (UMAP, k-means)."),
    image_weights: Optional[Path] = typer.Option(
        None, help="Re-embed the category's images with these SimCLR weights (train-image-encoder --category)."),
    place_apart: bool = typer.Option(
        True, "--place-apart/--keep-apart",
        help="Place the products of a shop that clusters by itself into the other shops' clusters by their titles."),
    store: Optional[Path] = StoreOpt,
    qdrant_url: Optional[str] = UrlOpt,
    collection: str = CollectionOpt,
) -> None:
    """Propose new sub-categories inside a shallow category by clustering its stored vectors; --apply adopts them."""
    from .recluster.command import recluster_command

    vs = open_store_from_cli(store, qdrant_url, collection)
    try:
        recluster_command(vs, category, out=out, method=method, vectors=vectors, reference=reference,
                          platform=platform, levels=levels, n_clusters=n_clusters, image_filter=image_filter,
                          seed=seed, apply=apply, console=console, image_weights=image_weights,
                          place_apart=place_apart)
    except ValueError as exc:  # unknown category, bad proposal edits, bad options: user-ready messages
        fail(str(exc))
    finally:
        vs.close()


@app.command()
def demo(
    folder: Path = typer.Option(Path("demo"), help="The bundled demo sample (myntra/ and mappings/)."),
    work: Path = typer.Option(Path("hiercat-demo"), help="Where the demo's store, model and predictions go."),
    epochs: int = typer.Option(30, help="At most this many training epochs."),
) -> None:
    """Run the whole job on the bundled demo: ingest, train, classify held-out products with explanations."""
    import pandas as pd

    catalog = folder / "myntra" / "products.csv"
    if not catalog.exists():
        fail(f"no demo sample at {catalog}: run from the repository root or pass --folder")
    store = work / "store"
    console.rule("1. ingest (validate, map to the Google taxonomy, embed, upsert into embedded Qdrant)")
    _run_step(ingest, [catalog], mapping=folder / "mappings" / "myntra_to_gpt.csv", store=store,
              platform=None, taxonomy=GOOGLE_TAXONOMY, preset="minilm", column=[], sep=" > ", rejects=None,
              batch_size=256, qdrant_url=None, collection="products")
    console.rule("2. train the masked hierarchical classifier (the defaults: early fusion of product words, "
                 "description, n-grams, image)")
    _run_step(train, platforms=None, labels="path", epochs=epochs, seed=0, out=None, cascade_stage=False,
              target_escalation=0.2, token_dropout=None, store=store, qdrant_url=None, collection="products")
    console.rule("3. classify held-out products, with kNN explanations from Qdrant")
    from .store import open_store

    with open_store(store) as vs:
        test_ids = {p.payload["product_id"] for p in vs.scroll({"split": "test"})}
    rows = pd.read_csv(catalog, dtype=str, keep_default_na=False)
    new = rows[rows["product_id"].isin(test_ids)].head(200).copy()
    new["image"] = [str((catalog.parent / p).resolve()) for p in new["image"]]
    new_file = work / "new_products.csv"
    new.to_csv(new_file, index=False)
    out = work / "predictions.csv"
    _run_step(classify, new_file, output=out, model=None, cascade=False, threshold=None, explain=True,
              knn_threshold=0.5, k=5, mapping=folder / "mappings" / "myntra_to_gpt.csv", column=[], platform=None,
              store=store, qdrant_url=None, collection="products")
    import json

    pred = pd.read_csv(out, dtype=str, keep_default_na=False)
    t = Table(title="a few predictions (first neighbour as explanation)")
    for col in ("title", "predicted", "conf", "nearest stored product"):
        t.add_column(col)
    for _, r in pred.head(8).iterrows():
        n = json.loads(r["neighbours"])[0] if r.get("neighbours") else {}
        t.add_row(r["title"], r["predicted_path"].split(" > ", 1)[-1], f"{float(r['confidence']):.2f}",
                  f"{n.get('title', '')} [{n.get('score', 0):.2f}]")
    console.print(t)
    console.print(f"done: store {store}, model {store / 'models' / 'classifier'}, predictions {out}. "
                  f"Next: `hiercat search \"red running shoes\" --store {store}` or "
                  f"`hiercat recluster Shoes --store {store}`.")


def _run_step(command, *args, **kwargs) -> None:
    """Call a command function directly, with its CLI defaults for every option not given (not typer's OptionInfo)."""
    import inspect

    params = list(inspect.signature(command).parameters.values())[len(args):]
    for p in params:
        if p.name not in kwargs and isinstance(p.default, (typer.models.OptionInfo, typer.models.ArgumentInfo)):
            kwargs[p.name] = p.default.default
    try:
        command(*args, **kwargs)
    except typer.Exit as exc:
        if exc.exit_code:
            raise


def main() -> None:
    """Entry point for `python -m hiercat`."""
    app()


if __name__ == "__main__":
    main()
