"""`hiercat check`: is the store whole, and (--repair) rebuild what a damaged one lacks."""

from __future__ import annotations

from pathlib import Path

import typer

from .app import DEFAULT_STORE, StoreOpt, app, console, fail


@app.command()
def check(
    catalogs: list[Path] = typer.Argument(None, help="With --repair: catalog files to re-ingest lost products from [default: the files the store's ingests recorded]."),
    repair: bool = typer.Option(False, "--repair", help="Rebuild a damaged store: keep readable points, re-embed the others from their payloads or their catalog files (the damaged folder is kept as STORE.damaged-<time>)."),
    store: Path | None = StoreOpt,
) -> None:
    """Cross-check the store's point count, id tracker and vectors; with --repair, rebuild what it lacks."""
    from ..store import EdgeStore
    from ..store.connect import check_store_folder
    from ..store.health import check_health

    path = check_store_folder(store or Path(DEFAULT_STORE), create=False)
    if not repair:
        with EdgeStore(path) as vs:
            health = check_health(vs, full=True)
        if health.damaged:
            fail(health.summary(path))
        console.print(health.summary(path), soft_wrap=True)
        return
    from ..repair import repair_store

    with console.status(f"repairing {path}"):
        report = repair_store(path, catalogs or ())
    if not report.before.damaged:
        console.print(f"{path} is healthy: {report.points} products; nothing to repair", soft_wrap=True)
        return
    console.print(f"repaired {path}: {report.kept} products kept, {report.re_embedded} re-embedded from their payload, "
                  f"{report.re_ingested} re-embedded from {len(report.sources)} catalog file(s); now {report.points} "
                  f"products; the damaged folder is kept as {report.damaged_copy}", soft_wrap=True)
    if report.missing_sources:
        console.print(f"[yellow]catalog files no longer found:[/] {', '.join(report.missing_sources)}", soft_wrap=True)
    if not report.complete and report.expected is not None:  # incomplete implies an expected count
        fail(f"{report.expected - report.points} of {report.expected} products could not be restored: "
             "pass their catalog files to `hiercat check --repair FILE...`")
