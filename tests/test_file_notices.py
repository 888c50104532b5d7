"""Files never appear silently: train says what it replaces, weights are readable, rejects are named after the file."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

import numpy as np
import pandas as pd
from typer.testing import CliRunner

from hiercat.cli import app
from hiercat.cli.app import catalog_label, rejects_file_name
from hiercat.files import user_mode

runner = CliRunner()
WIDE = {"COLUMNS": "240"}


def test_a_catalog_in_the_current_folder_names_its_rejects_plainly(demo_dir: Path, tmp_path: Path,
                                                                   monkeypatch) -> None:
    assert rejects_file_name(Path("hm_sub.csv")) == "rejects-hm_sub.csv"
    assert rejects_file_name(Path("shops/hm/products.csv")) == "rejects-hm-products.csv"
    assert catalog_label(Path("hm_sub.csv")) == "hm_sub.csv"
    assert catalog_label(Path("shops/hm/products.csv")) == "hm/products.csv"
    rows = pd.read_csv(demo_dir / "myntra" / "products.csv", dtype=str, keep_default_na=False).head(3)
    rows["image"] = ""
    rows.iloc[2, rows.columns.get_loc("title")] = ""  # one rejected row
    monkeypatch.chdir(tmp_path)
    rows.to_csv("hm_sub.csv", index=False)
    res = runner.invoke(app, ["ingest", "hm_sub.csv", "--store", "st"], env=WIDE)
    assert res.exit_code == 0, res.output
    assert (tmp_path / "st" / "rejects-hm_sub.csv").exists()
    assert "/hm_sub.csv" not in res.output and "rejects--" not in res.output


def test_weights_files_take_the_users_mode(tmp_path: Path) -> None:
    from hiercat.zero_shot import CategoryNames

    mask = os.umask(0o022)
    try:
        file = CategoryNames([("A",), ("A", "B")], np.eye(2, dtype=np.float32)).save(tmp_path)
        assert stat.S_IMODE(file.stat().st_mode) == 0o644  # safetensors alone writes 0600
        other = tmp_path / "x"
        other.write_text("x")
        other.chmod(0o600)
        assert stat.S_IMODE(user_mode(other).stat().st_mode) == 0o644
    finally:
        os.umask(mask)


def test_train_says_it_replaces_a_model(demo_model, tmp_path: Path) -> None:
    store, model = demo_model
    out = tmp_path / "clf"
    shutil.copytree(model, out)
    res = runner.invoke(app, ["train", "--store", str(store), "--epochs", "1", "--out", str(out)], env=WIDE)
    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())
    assert f"note: {out} holds a model written" in said and "it is replaced when this one is saved" in said
    assert f"saved {out} (replaced the previous model)" in said
    assert stat.S_IMODE((out / "model.safetensors").stat().st_mode) == 0o666 & ~_umask()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
