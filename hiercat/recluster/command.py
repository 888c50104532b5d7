"""Body of `hiercat recluster CATEGORY [options] [--apply proposal.json]` (registered in cli.py): run and print."""

from __future__ import annotations

import re
import time
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

from ..store.base import VectorStore
from ..taxonomy import join_path
from .apply import ApplyResult, apply_proposal
from .config import ReclusterConfig
from .pipeline import recluster
from .proposal import Proposal, ProposalError
from .report import Report
from .select import resolve_category, store_taxonomy


def parse_n_clusters(text: str | None) -> list[int | None] | None:
    """'8,3' -> [8, 3]; '8' -> [8] (later levels automatic); 'auto', '' or None -> None."""
    if text is None or not text.strip() or text.strip().lower() == "auto":
        return None
    out: list[int | None] = []
    for part in text.split(","):
        part = part.strip().lower()
        if part in ("", "auto"):
            out.append(None)
        elif part.isdigit() and int(part) >= 1:
            out.append(int(part))
        else:
            raise ValueError(f"--n-clusters expects positive integers per level such as 8,3 (or auto), got {text!r}")
    return out


def default_out(category: str) -> Path:
    """./recluster-<last part of the category, slugged>."""
    last = category.split(">")[-1].strip().lower()
    return Path("recluster-" + (re.sub(r"[^a-z0-9]+", "-", last).strip("-") or "category"))


def print_report(report: Report, console: Console) -> None:
    """Rich summary: levels with purity, the proposed clusters, the files written."""
    ref = report.params.get("reference")
    console.print(f"[bold]{report.category}[/]: {report.n_selected} products, {report.n_clustered} clustered, "
                  f"{report.n_set_aside} set aside" +
                  (f" ({', '.join(f'{v} {k}' for k, v in report.set_aside.items())})" if report.set_aside else ""))
    for note in report.notes:
        console.print(f"[yellow]note:[/] {note}")
    levels = Table("level", "clusters", *([f"purity vs {ref}"] if ref else []), "noise attached", title="Levels")
    for lv in report.levels:
        levels.add_row(str(lv.level), str(lv.n_clusters), *([lv.purity_text()] if ref else []),
                       str(lv.noise))
    console.print(levels)
    table = Table("id", "proposed name", "size", "top terms", "platforms", *(["majority", "purity"] if ref else []),
                  title="Proposed sub-categories")
    for c in report.clusters:
        indent = "  " * (c.level - 1)
        table.add_row(c.id, indent + c.name, str(c.size), ", ".join(c.top_terms[:5]),
                      ", ".join(f"{k} {v}" for k, v in c.platforms.items()),
                      *([str(c.majority), f"{100 * (c.purity or 0):.1f} %"] if ref else []))
    console.print(table)
    for key, path in report.files.items():
        console.print(f"{key}: {path}")
    console.print(f"Edit {report.files['proposal']} (name / merge_into / drop), then run "
                  f"[bold]hiercat recluster \"{report.category}\" --apply {report.files['proposal']}[/]")


def print_apply(result: ApplyResult, console: Console) -> None:
    """Rich summary of an applied proposal."""
    console.print(f"[bold]{result.category}[/]: {result.updated} products rewritten, {result.assigned} assigned to the "
                  f"nearest sub-category, {result.kept_at_category} kept at the category; "
                  f"{len(result.added_paths)} new categories")
    if result.set_aside_kept:
        console.print(f"{result.set_aside_kept} products set aside by the image filter stay at the category (look "
                      "at them: odd shots are often misfiled products); \"assign_nearest\": true in the proposal's "
                      "set_aside gives them the nearest sub-category")
    table = Table("path", "products", title="Labels now")
    for path, n in result.path_counts.items():
        table.add_row(path, str(n))
    console.print(table)
    console.print("Train again (hiercat train) to learn the new sub-categories.")


def recluster_command(
    store: VectorStore,
    category: str,
    config: ReclusterConfig | None = None,
    out: Path | None = None,
    apply: Path | None = None,
    console: Console | None = None,
    **options: Any,
) -> Report | ApplyResult:
    """Propose sub-categories (writing the report) or, with `apply`, adopt an edited proposal; prints a summary.

    config: the run's options (or give them as keywords, as `ReclusterConfig` takes them; a
    `n_clusters` string such as "8,3" is parsed).
    """
    console = console or Console()
    if apply is not None:
        proposal = Proposal.load(apply)
        node = resolve_category(store_taxonomy(store), category)
        if join_path(node) != proposal.category:
            raise ProposalError(f"{apply} proposes sub-categories of {proposal.category!r}, not of {join_path(node)!r}")
        result = apply_proposal(store, proposal)
        print_apply(result, console)
        return result
    if isinstance(options.get("n_clusters"), str):
        options["n_clusters"] = parse_n_clusters(options["n_clusters"])
    cfg = config or ReclusterConfig.from_options(**options)
    t0 = time.perf_counter()

    def step(text: str) -> None:  # a line per stage: the whole takes minutes on a large category
        console.print(f"[dim]{time.perf_counter() - t0:6.0f} s[/]  {text}")

    report = recluster(store, category, out or default_out(category), cfg, on_step=step)
    print_report(report, console)
    return report
