"""Long jobs say where they are: recluster's stages, evaluate's model counter, and what Ctrl-C kept."""

from __future__ import annotations

from pathlib import Path

import click
import typer

from hiercat.cli.interrupt import interrupted


def test_recluster_reports_each_stage(demo_dir: Path, tmp_path: Path) -> None:
    from hiercat.recluster import recluster

    from .recluster.conftest import TinyText, filled_store

    steps: list[str] = []
    store = filled_store(demo_dir, tmp_path)
    try:
        recluster(store, "Shoes", tmp_path / "out", vectors="fused", n_clusters=(3,), levels=1,
                  text_encoder=TinyText(), seed=0, on_step=steps.append)
    finally:
        store.close()
    assert steps[0] == "reading the stored products of Shoes"
    assert any(s.startswith("clustering ") and "agglomerative, 1 level" in s for s in steps)
    assert steps[-1] == "drawing montages and the scatter plot"


def test_evaluate_counts_models_and_estimates_the_rest(capsys, monkeypatch) -> None:
    from hiercat.cli import evaluate as ev

    now = iter([0.0, 0.0, 120.0, 360.0])
    monkeypatch.setattr(ev.time, "perf_counter", lambda: next(now))
    counter = ev.ModelCounter(7)
    counter.start("text only")
    counter.finished()
    counter.start("lexical only")
    counter.finished(2)
    counter.start("myntra → hm, one model per fusion", models=3)
    said = " ".join(capsys.readouterr().out.split())
    assert "[1/7] training text only (0 s so far)" in said
    assert "[2/7] training lexical only (2 min so far, ~12 min left)" in said
    assert "[4-6/7] training myntra → hm, one model per fusion (6 min so far, ~8 min left)" in said


def test_ctrl_c_says_what_was_kept_and_how_to_go_on(capsys, monkeypatch) -> None:
    from hiercat.cli import errors

    assert interrupted(["ingest", "shop.csv"]) == (
        "interrupted (ingest): the products stored so far are kept (every batch is durable)",
        "run the same command again: it resumes, skipping the unchanged products")
    assert interrupted(["evaluate"])[0].startswith("interrupted (evaluate): nothing was written")
    assert interrupted([]) == ("interrupted", "")

    @click.command(context_settings={"ignore_unknown_options": True, "allow_extra_args": True})
    def pressed_ctrl_c() -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(typer.main, "get_command", lambda app: pressed_ctrl_c)
    assert errors.run(["train", "--epochs", "3"]) == 130
    err = " ".join(capsys.readouterr().err.split())
    assert "error: interrupted (train): nothing was saved: a model trained before stays as it was" in err
    assert "hint: run `hiercat train` again" in err
