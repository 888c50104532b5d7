"""The `hiercat` command line: each command parses its arguments, makes one library call and prints."""

from __future__ import annotations

# the import order is the order of `hiercat --help`: the data flow
# isort: off
from . import store, check, train, classify, evaluate, recluster, serve, demo  # noqa: F401  (each registers its commands)
# isort: on
from .app import app
from .demo import _run_step

__all__ = ["_run_step", "app", "main"]


def main() -> None:
    """Entry point of `hiercat` and `python -m hiercat`: user errors as one line and exit status 2 (hiercat.cli.errors)."""
    from .errors import run

    raise SystemExit(run())
