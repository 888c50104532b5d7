"""`hiercat ingest`, `search` and `info`: filling the store and looking into it."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from ..store.schema import read_schema
from .app import (
    DEFAULT_STORE,
    GOOGLE_TAXONOMY,
    CollectionOpt,
    StoreOpt,
    UrlOpt,
    app,
    catalog_label,
    console,
    default,
    default_model_dir,
    fail,
    open_store_from_cli,
    parse_columns,
    print_error,
    progress_bar,
    rejects_file_name,
)


@app.command()
def ingest(
    catalogs: list[Path] = typer.Argument(..., help="Catalog files (CSV, Parquet, JSONL) or folders holding products.csv."),
    platform: str | None = typer.Option(None, help="Platform (shop) name for all rows " + default("the platform column, else the store's default platform: the first --platform given to it") + "."),
    mapping: Path | None = typer.Option(None, help="CSV native_category -> gpt_category mapping onto the target taxonomy."),
    taxonomy: Path = typer.Option(GOOGLE_TAXONOMY, show_default="the bundled Google Product Taxonomy 2021-09-21",
                                  help="Target taxonomy (Google taxonomy .txt or hiercat .json) that mapping targets must exist in."),
    preset: str = typer.Option("minilm", help="Encoder preset: minilm (offline default), clip, paper, simclr."),
    column: list[str] = typer.Option([], "--column", help="Rename a column: FILE_COLUMN=hiercat_column (repeatable)."),
    sep: str = typer.Option(" > ", help="Separator of category path levels."),
    rejects: Path | None = typer.Option(None, help=f"Where to write rejected rows {default('STORE/rejects-<file>.csv')}."),
    batch_size: int = typer.Option(256, help="Products embedded and upserted per batch."),
    unsure: str = typer.Option("reject", help="Products whose category a proposed mapping (hiercat propose-mapping) marks review or mixed: reject them with that reason, or classify each one by itself with --model."),
    model: Path | None = typer.Option(None, help="With --unsure classify: the model folder (default: STORE/models/classifier)."),
    on_bad_lines: str = typer.Option("error", "--on-bad-lines", help="A malformed CSV row (unclosed quote, wrong number of fields): error (stop, naming file, line and column) or reject (that row goes to the rejects file with its line; the others are ingested)."),
    store: Path | None = StoreOpt,
    qdrant_url: str | None = UrlOpt,
    collection: str = CollectionOpt,
    ray: bool = typer.Option(False, "--ray", help="Embed on a Ray cluster (Ray Data, an actor pool of encoders: one per GPU, else CPU actors); a local one unless --ray-address. Needs pip install 'hiercat\\[ray]'."),
    ray_address: str | None = typer.Option(None, help="With --ray: the cluster to join (auto = the running one, ray://head:10001); implies --ray."),
    ray_workers: int | None = typer.Option(None, help="With --ray: encoder actors " + default("one per GPU, else one per CPU") + "."),
    workers: int = typer.Option(2, help="Threads preparing batches ahead of the encoder (stored hashes, image reads and decodes)."),
    shards: int | None = typer.Option(None, help="Qdrant server/cluster, new collection only: shards spread over the nodes " + default("the server's choice") + "."),
    replicas: int | None = typer.Option(None, help="Qdrant cluster, new collection only: copies of each shard (2 survives a lost node)."),
    write_consistency: int | None = typer.Option(None, help="Qdrant cluster, new collection only: replicas that must apply a write before it is acknowledged."),
    on_disk: bool = typer.Option(False, "--on-disk", help="New collection only: original vectors in memory-mapped files instead of RAM."),
    quantization: str = typer.Option("none", help="New collection only: none or int8 (a quarter-size copy of each dense vector in RAM that search uses, rescored with the originals)."),
) -> None:
    """Validate catalogs, map categories, embed title/brand/image and upsert into Qdrant (idempotent, resumable)."""
    from ..catalog import BAD_LINES, CatalogError, CatalogOptions, write_rejects
    from ..distributed import INSTALL_HINT, ingest_ray, ray_available
    from ..encoders.lazy import LazyPreset
    from ..encoders.presets import PRESETS
    from ..ingest import StoreMismatchError
    from ..ingest import ingest as run_ingest
    from ..mapping import CategoryMapping
    from ..store.options import StorageOptions, with_storage
    from ..taxonomy import Taxonomy

    # Everything cheap first (arguments, files, mapping, the store); the encoders load on first use.
    if unsure not in ("reject", "classify"):
        fail(f"--unsure must be reject or classify, got {unsure!r}")
    if on_bad_lines not in BAD_LINES:
        fail(f"--on-bad-lines must be one of {', '.join(BAD_LINES)}, got {on_bad_lines!r}")
    if preset not in PRESETS:
        fail(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    columns = parse_columns(column)
    files = [c / "products.csv" if c.is_dir() else c for c in catalogs]
    for file in files:
        if not file.is_file():
            fail(f"{file}: file not found")
    mapping_table = None
    if mapping is not None:
        mapping_table = CategoryMapping.load(mapping, Taxonomy.load(taxonomy), sep=" > ")
        mapping_table.target_name = taxonomy.name
    if (ray or ray_address) and not ray_available():
        fail(INSTALL_HINT)
    if (ray or ray_address) and unsure == "classify":
        fail("--unsure classify runs the model in this process: ingest without --ray")
    try:
        layout = StorageOptions(shards, replicas, write_consistency, on_disk, quantization)
    except ValueError as exc:
        fail(str(exc))
    vs = open_store_from_cli(store, qdrant_url, collection, create=True)
    try:
        with_storage(vs, layout)
    except ValueError as exc:
        vs.close()
        fail(str(exc))
    enc = LazyPreset(preset)
    classifier = None
    try:
        if unsure == "classify":
            from ..classify import Classifier

            try:
                classifier = Classifier.load(vs, model or default_model_dir(store, qdrant_url))
            except FileNotFoundError as exc:
                fail(f"--unsure classify needs a model; {exc} or pass --model")
        summary = Table(title="ingest summary")
        for col in ("catalog", "rows", "ingested", "skipped (unchanged)", "rejected", "time", "products/s"):
            summary.add_column(col, justify="right" if col != "catalog" else "left")
        status, done = 0, 0
        for file in files:
            options = CatalogOptions(columns=columns, sep=sep, platform=platform, mapping=mapping_table,
                                     unsure=unsure, on_bad_lines=on_bad_lines)
            with progress_bar() as bar:
                task = bar.add_task(f"ingest {file.name}", total=None)
                try:
                    progress = lambda d, t, task=task: bar.update(task, completed=d, total=t)  # noqa: E731
                    if ray or ray_address:
                        report = ingest_ray(file, vs, enc, options, address=ray_address, workers=ray_workers,
                                            batch_size=batch_size, on_progress=progress)
                    else:
                        report = run_ingest(file, vs, enc, options, batch_size=batch_size, on_progress=progress,
                                            classifier=classifier, workers=workers)
                except (CatalogError, StoreMismatchError) as exc:
                    if len(files) == 1:
                        raise
                    print_error(str(exc))  # the other files still go in; the exit status says one failed
                    status = 2
                    continue
            done += 1
            if report.rejected:
                target = rejects or (Path(store or DEFAULT_STORE) if not qdrant_url else Path(".")) / rejects_file_name(file)
                write_rejects(report.rejects, target)
                reasons = report.rejects["reason"].str.replace(r"[:(].*$", "", regex=True).str.strip().value_counts()
                console.print(f"[yellow]{report.rejected} rejected rows[/] written to {target}: "
                              + ", ".join(f"{r} {n}" for r, n in reasons.items()), soft_wrap=True)
            summary.add_row(catalog_label(file), str(report.rows), str(report.ingested), str(report.skipped), str(report.rejected),
                            f"{report.seconds:.1f} s", f"{report.per_second:.0f}")
    finally:
        vs.close()
    if done:
        console.print(summary)
    raise typer.Exit(status)


@app.command()
def search(
    query: str | None = typer.Argument(None, help="Free-text query, e.g. 'red running shoes'."),
    like: str | None = typer.Option(None, "--like", help="Find products similar to this product id."),
    platform: str | None = typer.Option(None, help="Only products of this platform (and, with --like, the platform of the product)."),
    vector: str | None = typer.Option(None, help=f"Search this one named vector only {default('a text query: title and description, each product by the nearer; --like: the title vector')}."),
    k: int = typer.Option(10, "-k", help="Number of neighbours."),
    store: Path | None = StoreOpt,
    qdrant_url: str | None = UrlOpt,
    collection: str = CollectionOpt,
) -> None:
    """Nearest stored products of a text query or of a stored product, with their categories."""
    from ..encoders import preset_from_meta

    if not query and not like:
        fail("give a QUERY or --like PRODUCT_ID")
    vs = open_store_from_cli(store, qdrant_url, collection)
    try:
        schema = read_schema(vs)
        if schema.preset is None:
            fail("the store is empty: run `hiercat ingest` first")
        record = schema.require_preset()
        names = record.names()
        titles = record.names(field="title", role="text")
        name = vector or (titles[0] if titles else names[0])
        if name not in names:
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
        elif query is None:  # not reached: no --like means a QUERY (checked above)
            fail("give a QUERY or --like PRODUCT_ID")
        elif vector is None:
            from ..search import search_text, text_vectors

            used = text_vectors(vs)
            found_by_text = search_text(vs, query, k=k, filter=flt)
            table = Table(title=f"nearest to {query!r} by their nearest text ({', '.join(used)})")
            for col in ("#", "score", "product_id", "platform", "title", "category", "nearest text"):
                table.add_column(col)
            for i, h in enumerate(found_by_text, 1):
                table.add_row(str(i), f"{h.score:.3f}", h.payload.get("product_id", ""), h.payload.get("platform", ""),
                              h.payload.get("title", ""), h.payload.get("path", ""), h.best_vector)
            console.print(table)
            return
        else:
            preset = preset_from_meta(schema)
            role = record.spec(name).role
            if role == "image":
                fail("a text query searches a text vector; use --vector with one of "
                     + ", ".join(record.names(role=("text", "lexical"))))
            lexical = preset.lexical
            if role != "text" and lexical is None:
                fail(f"the store's encoders have no lexical encoder for vector {name!r}")
            qvec = preset.encode_text([query])[0] if role == "text" or lexical is None else lexical.encode([query])[0]
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
    store: Path | None = StoreOpt,
    qdrant_url: str | None = UrlOpt,
    collection: str = CollectionOpt,
    top: int = typer.Option(15, help="Show this many categories per level."),
) -> None:
    """Collection size, vectors, per-platform and per-level counts."""
    from ..store.health import check_health

    vs = open_store_from_cli(store, qdrant_url, collection)
    try:
        schema = read_schema(vs)
        health = check_health(vs)  # count against the recorded count, a sample of vectors read
        if health.damaged:
            fail(health.summary(store or DEFAULT_STORE if not qdrant_url else collection))
        n = vs.count()
        console.print(f"[bold]{n}[/] products; preset [bold]{schema.preset.name if schema.preset else '-'}[/]")
        vt = Table(title="vectors")
        vt.add_column("name")
        vt.add_column("dim", justify="right")
        for name, dim in vs.dense_vectors().items():
            vt.add_row(name, str(dim))
        for name in schema.preset.sparse_names() if schema.preset else []:
            vt.add_row(name, "sparse")
        console.print(vt)
        pt = Table(title="platforms")
        pt.add_column("platform")
        pt.add_column("products", justify="right")
        for value, count in sorted(vs.facet("platform").items(), key=lambda kv: -kv[1]):
            pt.add_row(value, str(count))
        console.print(pt)
        depth = schema.taxonomy.depth if schema.taxonomy is not None else 0
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
