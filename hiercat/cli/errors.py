"""The command line's error boundary: a user error is one `error:` line, a hint, exit status 2; no traceback.

`run` is what the `hiercat` entry point calls. Errors a user can fix (a file, a store, a server, a
model that does not fit) are hiercat's own exception types and print their message; anything else is
a bug, printed in one line with exit status 1. `--debug` (anywhere on the command line, or
HIERCAT_DEBUG=1) prints the traceback as well.
"""

from __future__ import annotations

import errno
import os
import sys
import traceback

import click
import typer

from .app import app, print_error

EXIT_USER = 2
EXIT_BUG = 1


def _user_error_types() -> tuple[type[BaseException], ...]:
    """hiercat's exception types that describe the user's input, store or environment (imported lazily)."""
    from ..catalog import CatalogError
    from ..encoders import ModelLoadError
    from ..encoders.fingerprint import EncoderMismatchError
    from ..images import ImageRejected
    from ..ingest import StoreMismatchError
    from ..mapping import MappingError
    from ..model import ModelFormatError, ModelMismatchError
    from ..store import StoreError

    return (CatalogError, MappingError, ModelLoadError, EncoderMismatchError, ImageRejected, StoreMismatchError,
            ModelFormatError, ModelMismatchError, StoreError, FileNotFoundError, NotADirectoryError,
            IsADirectoryError, PermissionError)


def _hint(exc: BaseException) -> str:
    from ..store import StoreLockedError

    if isinstance(exc, StoreLockedError):
        return "wait for the other hiercat command on this store to finish, or use another --store"
    return ""


def describe(exc: BaseException) -> tuple[str, str, int]:
    """(message, hint, exit status) for an exception escaping a command."""
    if isinstance(exc, OSError) and exc.errno == errno.ENOSPC:
        return (f"the disk is full ({exc.filename or exc}): free some space, then run the same command again "
                "(ingest resumes)", "", EXIT_USER)
    if isinstance(exc, _user_error_types()):
        message = " ".join(str(exc).split()) or type(exc).__name__
        if isinstance(exc, OSError) and exc.filename and str(exc.filename) not in message:
            message = f"{exc.filename}: {exc.strerror or message}"
        return message, _hint(exc), EXIT_USER
    first = (str(exc).strip().splitlines() or [""])[0][:300]
    return (f"internal error: {type(exc).__name__}: {first}", "run again with --debug for the traceback, and please "
            "report it", EXIT_BUG)


def _is_usage_error(exc: BaseException) -> bool:
    """A command-line usage error (unknown option, missing argument) of typer's click or of click itself."""
    return isinstance(exc, click.ClickException) or (
        type(exc).__module__.startswith("typer") and hasattr(exc, "format_message") and hasattr(exc, "exit_code"))


def run(argv: list[str] | None = None) -> int:
    """Run `hiercat ARGV` and return its exit status; errors printed as one line (traceback only with --debug)."""
    args = list(sys.argv[1:] if argv is None else argv)
    debug = "--debug" in args or os.environ.get("HIERCAT_DEBUG", "") not in ("", "0")
    args = [a for a in args if a != "--debug"]
    command = typer.main.get_command(app)
    try:
        result = command.main(args=args, prog_name="hiercat", standalone_mode=False)
    except (typer.Exit, click.exceptions.Exit) as e:
        return int(e.exit_code)
    except (typer.Abort, click.exceptions.Abort, KeyboardInterrupt):  # click turns Ctrl-C into Abort
        from .interrupt import interrupted

        print_error(*interrupted(args))  # what the command kept and how to go on
        return 130
    except BaseException as exc:  # noqa: BLE001 - the boundary: everything ends here as one line
        if isinstance(exc, SystemExit):
            return int(exc.code or 0) if isinstance(exc.code, int) or exc.code is None else EXIT_BUG
        if _is_usage_error(exc):  # typer vendors its own click: its exceptions are not click's
            message = exc.format_message()  # type: ignore[attr-defined]
            if message:  # (no arguments at all: the help was printed, there is nothing to add)
                ctx = getattr(exc, "ctx", None)
                print_error(message, f"see `{ctx.command_path if ctx is not None else 'hiercat'} --help`")
            return int(getattr(exc, "exit_code", EXIT_USER) or EXIT_USER)
        message, hint, code = describe(exc)
        if debug:
            traceback.print_exc()
        print_error(message, hint)
        return code
    return int(result) if isinstance(result, int) else 0
