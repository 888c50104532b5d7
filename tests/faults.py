"""The bad-input and fault corpus (issue #16): helpers shared by the corpus test modules.

Every corpus case is a test marked `@pytest.mark.fault(KIND)`, KIND being what the case shows when
hiercat gets it wrong: "loss" (rows lost or merged without a word), "wrong" (finished but did or said
the wrong thing) or "traceback" (a Python traceback instead of a one-line error). A passing case was
handled well. `python -m tests.fault_counts` runs the corpus and prints cases / ok / traceback / loss /
wrong; a failing case whose command printed a traceback counts as "traceback" whatever its KIND.
"""

from __future__ import annotations

import io
import time
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import pytest

HEADER = ["product_id", "platform", "title", "brand", "description", "image", "category"]
TRACEBACK_TAG = "TRACEBACK:"

_PRESETS: dict[tuple, object] = {}


def rows(n: int, platform: str = "shopa", start: int = 1) -> list[list[str]]:
    """n well-formed catalog rows: ids start.., two categories."""
    cats = ["Apparel > Topwear > Shirts", "Footwear > Shoes > Sneakers"]
    return [[str(i), platform, f"Blue cotton shirt number {i}", "Acme", f"A soft shirt, model {i}", "",
             cats[i % 2]] for i in range(start, start + n)]


def write_csv(path: Path, header: list[str], body: list[list[str]] | list[str], raw: bool = False) -> Path:
    """A CSV file: `body` rows quoted minimally, or (raw=True) lines written exactly as given."""
    import csv

    path.parent.mkdir(parents=True, exist_ok=True)
    if raw:
        path.write_text(",".join(header) + "\n" + "".join(line + "\n" for line in body), encoding="utf-8")
        return path
    with open(path, "w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh, lineterminator="\n")
        w.writerow(header)
        w.writerows(body)
    return path


def cached_preset(name: str = "minilm", **overrides):
    """load_preset, once per test session and name: the corpus must not pay 15 s of model loading per case."""
    plain = (name, ())
    if plain not in _PRESETS:
        _PRESETS[plain] = _REAL_LOAD(name)
    # A store's recorded options that only restate the defaults (preset_from_meta passes them) are the same preset.
    if all(_PRESETS[plain].options.get(k) == v for k, v in overrides.items()):
        return _PRESETS[plain]
    key = (name, tuple(sorted((k, str(v)) for k, v in overrides.items())))
    if key not in _PRESETS:
        _PRESETS[key] = _REAL_LOAD(name, **overrides)
    return _PRESETS[key]


def _real_loader():
    from hiercat.encoders import presets

    return presets.load_preset


_REAL_LOAD = _real_loader()


@pytest.fixture
def fast_models(monkeypatch):
    """Patch load_preset everywhere the CLI and the library look it up with the session cache; returns the call log."""
    import hiercat.encoders as enc
    from hiercat.encoders import presets

    calls: list[str] = []

    def load(name: str, **overrides):
        calls.append(name)
        return cached_preset(name, **overrides)

    monkeypatch.setattr(enc, "load_preset", load)
    monkeypatch.setattr(presets, "load_preset", load)
    return calls


@dataclass
class Run:
    """What a `hiercat` command did: exit code, everything it printed, seconds."""

    code: int
    output: str
    seconds: float

    @property
    def lines(self) -> list[str]:
        return [line for line in self.output.splitlines() if line.strip()]


def hiercat(*args: str | Path) -> Run:
    """Run `hiercat ARGS` in this process as the `hiercat` entry point does, output captured.

    The entry point's error boundary (`hiercat.cli.errors.run`) is used where it exists; before it
    existed the typer app was called directly, so the corpus measures today's and yesterday's code alike.
    """
    argv = [str(a) for a in args]
    out = io.StringIO()
    t0 = time.perf_counter()
    try:
        from hiercat.cli import errors as boundary
    except ImportError:
        boundary = None
    if boundary is not None:
        with redirect_stdout(out), redirect_stderr(out):
            code = boundary.run(argv)
        return Run(int(code), out.getvalue(), time.perf_counter() - t0)
    from typer.testing import CliRunner

    from hiercat.cli import app

    res = CliRunner().invoke(app, argv)
    text = res.output
    if res.exception is not None and not isinstance(res.exception, SystemExit):
        import traceback

        text += "Traceback (most recent call last):\n" + "".join(traceback.format_exception(res.exception))
    return Run(res.exit_code, text, time.perf_counter() - t0)


def no_traceback(run: Run) -> None:
    """The first assertion of every CLI case: a traceback is its own failure class."""
    assert "Traceback" not in run.output, f"{TRACEBACK_TAG} {run.output[-1500:]}"


def one_line_error(run: Run, *needles: str) -> str:
    """Exit code 2, no traceback, one `error:` line holding every needle (case-insensitive); returns that line."""
    no_traceback(run)
    errors = [line for line in run.lines if line.lstrip().lower().startswith("error:")]
    assert run.code == 2, f"exit {run.code}, expected 2: {run.output[-800:]}"
    assert len(errors) == 1, f"expected one error line, got {errors}: {run.output[-800:]}"
    for n in needles:
        assert n.lower() in errors[0].lower(), f"{n!r} not in {errors[0]!r}"
    return errors[0]


def stored(store: Path) -> dict[str, dict]:
    """product_id -> payload of every point in an embedded store."""
    from hiercat.store import EdgeStore

    with EdgeStore(store) as s:
        return {p.payload["product_id"]: p.payload for p in s.scroll()}
