"""`hiercat --help` and every command's help: hand-written defaults visible, flags without a type, -h, --version."""

from __future__ import annotations

import re

import pytest
import typer
from typer.testing import CliRunner

from hiercat.cli import app

runner = CliRunner()
WIDE = {"COLUMNS": "240", "TERM": "dumb", "NO_COLOR": "1"}


def _help(*args: str) -> str:
    result = runner.invoke(app, [*args, "--help"], env=WIDE)
    assert result.exit_code == 0, result.output
    # one option per line at this width; drop the panel borders so a test reads the text
    return re.sub(r"[│╭╮╰╯─]", " ", result.output)


def _commands() -> list[str]:
    return sorted(typer.main.get_command(app).commands)  # type: ignore[attr-defined]


def test_top_level_help_has_version_and_short_help():
    text = _help()
    assert "--version" in text and "-V" in text and "-h" in text
    for name in ("ingest", "train", "classify", "evaluate", "recluster", "demo"):
        assert name in text
    short = runner.invoke(app, ["-h"], env=WIDE)
    assert short.exit_code == 0 and "Usage:" in short.output
    version = runner.invoke(app, ["--version"], env=WIDE)
    assert version.exit_code == 0 and re.fullmatch(r"hiercat \d+\.\d+\.\d+\S*\n", version.output)


def test_train_help_snapshot_keeps_the_defaults():
    text = _help("train")
    lines = {line.split()[0]: " ".join(line.split()) for line in text.splitlines() if line.strip().startswith("--")}
    assert lines["--out"].endswith("Model folder [default: STORE/models/classifier].")
    assert lines["--store"].endswith("Folder of the embedded Qdrant store [default: ./hiercat-store].")
    assert "[default: 60]" in lines["--epochs"]
    assert lines["--text-stage"].startswith("--text-stage Also train")  # a flag: no <bool> beside it
    assert "(0.4 when not given; 0.1 favours rare classes)" in " ".join(text.split())


@pytest.mark.parametrize("command", ["ingest", "search", "classify", "recluster", "train"])
def test_hand_written_defaults_are_not_eaten(command):
    text = " ".join(_help(command).split())
    expected = {
        "ingest": ["[default: the platform column, else the store's default platform: the first --platform given to it]",
                   "[default: STORE/rejects-<file>.csv]", "pip install 'hiercat[ray]'"],
        "search": ["[default: a text query: title and description, each product by the nearer; --like: the title vector]"],
        "classify": ["[default: STORE/models/classifier]", "[default: the one chosen on validation data at training]",
                     "[default: the model's, set by `train --decode`]", "pip install 'hiercat[ray]'"],
        "recluster": ["[default: ./recluster-<category>]", "[default: auto]"],
        "train": ["[default: STORE/models/classifier]"],
    }[command]
    for snippet in expected + ["[default: ./hiercat-store]"]:
        assert snippet in text, snippet
    assert not re.search(r"\w \.(\s|$)", text), "a default vanished, leaving 'text .'"
    assert "/hiercat/assets/" not in text  # the bundled taxonomy is named, not shown as a site-packages path


def test_no_flag_is_shown_with_a_type():
    for command in _commands():
        text = _help(command)
        assert "<bool>" not in text, command
        assert " -h " in text, command
