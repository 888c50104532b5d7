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
    files = [c / "products.csv" if c.is_dir() else c for c in catalogs]
    vs = open_store_from_cli(store, qdrant_url, collection)
    summary = Table(title="ingest summary")
    for col in ("catalog", "rows", "ingested", "skipped (unchanged)", "rejected", "time", "products/s"):
        summary.add_column(col, justify="right" if col != "catalog" else "left")
    status = 0
    try:
        for file in files:
            options = CatalogOptions(columns=_parse_columns(column), sep=sep, platform=platform, mapping=mapping_table)
            with progress_bar() as bar:
                task = bar.add_task(f"ingest {file.name}", total=None)
                try:
                    report = run_ingest(file, vs, enc, options, batch_size=batch_size,
                                        on_progress=lambda d, t: bar.update(task, completed=d, total=t))
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
            summary.add_row(str(file), str(report.rows), str(report.ingested), str(report.skipped), str(report.rejected),
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


def main() -> None:
    """Entry point for `python -m hiercat`."""
    app()


if __name__ == "__main__":
    main()
