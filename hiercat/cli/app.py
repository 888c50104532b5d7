"""What every `hiercat` command shares: the typer app, the console, store options, progress bars and errors."""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from typer.core import TyperOption

if TYPE_CHECKING:  # typer 0.2x vendors click as typer._click and hands options its Context (older typer: click's)
    from typer._click.core import Context as OptionContext

app = typer.Typer(add_completion=False, no_args_is_help=True, context_settings={"help_option_names": ["-h", "--help"]},
                  help="Put the products of many shops into one taxonomy from title, brand and image.")
console = Console()
err_console = Console(stderr=True)


def default(text: str) -> str:
    """A hand-written `[default: …]` for a help text, escaped so rich markup does not read it as a tag and drop it."""
    return f"\\[default: {text}]"


_display_type = TyperOption.display_type_rich


def _flag_has_no_type(self: TyperOption, ctx: OptionContext) -> str | None:
    # typer labels every option with its type, so `--explain <bool>` reads as if the flag took a value.
    return None if self.is_flag else _display_type(self, ctx)


TyperOption.display_type_rich = _flag_has_no_type  # type: ignore[method-assign]


def _version(value: bool) -> None:
    if value:
        console.print(f"hiercat {package_version()}")
        raise typer.Exit()


def package_version() -> str:
    """The installed hiercat version (the source tree's pyproject when run from a checkout that is not installed)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("hiercat")
    except PackageNotFoundError:
        text = (Path(__file__).parents[2] / "pyproject.toml").read_text(encoding="utf-8")
        found = re.search(r'^version\s*=\s*"([^"]+)"', text, re.M)
        return found.group(1) if found else "unknown"


@app.callback()
def _main(version: bool = typer.Option(False, "--version", "-V", callback=_version, is_eager=True,
                                       help="Print the version and exit.")) -> None:
    """Put the products of many shops into one taxonomy from title, brand and image."""
    # The command line loads models from local paths or the local hub cache and never waits on an
    # unreachable hub; a library caller decides that for its own process (HF_HUB_OFFLINE=0 re-enables it).
    os.environ.setdefault("HF_HUB_OFFLINE", "1")


DEFAULT_STORE = "hiercat-store"
from ..taxonomy import GOOGLE_TAXONOMY as GOOGLE_TAXONOMY  # noqa: E402  (re-exported for the commands)

StoreOpt = typer.Option(None, "--store", help=f"Folder of the embedded Qdrant store {default('./hiercat-store')}.")
UrlOpt = typer.Option(None, "--qdrant-url", help="Qdrant server URL (or env QDRANT_URL); API key from env QDRANT_API_KEY.")
CollectionOpt = typer.Option("products", "--collection", help="Collection name on a Qdrant server.")


def open_store_from_cli(store: Path | None, url: str | None, collection: str = "products", create: bool = False):
    """Open the embedded store or the server named on the command line / in the environment, checked first.

    create=False (every command but ingest): a store folder that does not exist is an error, never
    created. A server must answer (with retries and a timeout) before anything else is done.
    """
    from ..store import open_store
    from ..store.connect import check_server, check_store_folder

    url = url or os.environ.get("QDRANT_URL")
    api_key = os.environ.get("QDRANT_API_KEY")
    if url:
        check_server(url, api_key)
    else:
        check_store_folder(store or Path(DEFAULT_STORE), create)
    return open_store(path=None if url else (store or Path(DEFAULT_STORE)), url=url,
                      api_key=api_key, collection=collection)


def existing_file_note(file: Path, what: str) -> str:
    """'FILE holds WHAT written 2026-12-01 22:05' when the file exists (a command is about to replace it), else ''."""
    import datetime as dt

    if not file.exists():
        return ""
    when = dt.datetime.fromtimestamp(file.stat().st_mtime).strftime("%Y-%m-%d %H:%M")
    return f"{file.parent if file.name == 'model.safetensors' else file} holds {what} written {when}"


def catalog_label(file: Path) -> str:
    """How a catalog is named in summaries: folder/file, or the file alone when it lies in the current folder."""
    parent = file.parent.name
    return f"{parent}/{file.name}" if parent else file.name


def rejects_file_name(file: Path) -> str:
    """rejects-<folder>-<stem>.csv, or rejects-<stem>.csv for a catalog in the current folder (not rejects--x.csv)."""
    parent = file.parent.name
    return f"rejects-{parent}-{file.stem}.csv" if parent else f"rejects-{file.stem}.csv"


def progress_bar() -> Progress:
    """A rich progress bar with counts, elapsed and remaining time."""
    return Progress(TextColumn("[bold]{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn(), console=console, transient=False)


def print_error(message: str, hint: str = "") -> None:
    """One `error:` line (never wrapped, markup in the message shown as is) and an optional `hint:` line, on stderr."""
    from rich.markup import escape

    err_console.print(f"[bold red]error:[/] {escape(message)}", soft_wrap=True, highlight=False)
    if hint:
        err_console.print(f"hint: {escape(hint)}", soft_wrap=True, highlight=False)


def fail(message: str, hint: str = "") -> NoReturn:
    """Print a one-line error (and hint) and exit with status 2, the status of every user error."""
    print_error(message, hint)
    raise typer.Exit(2)


def parse_columns(pairs: list[str]) -> dict[str, str]:
    out = {}
    for pair in pairs:
        if "=" not in pair:
            fail(f"--column expects FILE_COLUMN=hiercat_column, got {pair!r}")
        a, b = pair.split("=", 1)
        out[a.strip()] = b.strip()
    return out


def default_model_dir(store: Path | None, qdrant_url: str | None, name: str = "classifier") -> Path:
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


def members(token_dropout: str | None) -> list[dict[str, float]] | None:
    """`--token-dropout` as ensemble members (train, evaluate), refusing a bad list before any work."""
    from ..experiment import token_dropout_members

    try:
        return token_dropout_members(token_dropout)
    except ValueError as exc:
        fail(str(exc))


def check_decode(decode: str) -> None:
    """Refuse an unknown --decode before any work is done."""
    from ..model.decode import DECODERS

    if decode not in DECODERS:
        fail(f"--decode must be one of {', '.join(DECODERS)}, got {decode!r}")
