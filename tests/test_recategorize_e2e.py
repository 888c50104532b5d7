"""The whole recategorization path on the demo sample: recluster Shoes -> edit -> apply -> train -> classify."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from typer.testing import CliRunner

from hiercat.cli import app
from hiercat.store import EdgeStore
from hiercat.taxonomy import Taxonomy

runner = CliRunner()
SHOES = "Apparel & Accessories > Shoes"


def test_recluster_apply_train_learns_new_subcategories(demo_store: Path, tmp_path: Path) -> None:
    store = tmp_path / "store"
    shutil.copytree(demo_store, store, ignore=shutil.ignore_patterns("hiercat.lock"))
    out = tmp_path / "shoes"
    res = runner.invoke(app, ["recluster", "Shoes", "--store", str(store), "--out", str(out),
                              "--reference", "native_category", "--n-clusters", "3,2", "--keep-apart"])
    assert res.exit_code == 0, res.output
    assert (out / "report.md").exists() and (out / "report.html").exists()
    proposal = json.loads((out / "proposal.json").read_text())
    top = [c for c in proposal["clusters"] if c["level"] == 1]
    assert len(top) == 3 and proposal["params"]["place_apart"] is False
    # A user's edits: rename every level-1 cluster, drop all level-2 splits.
    for i, c in enumerate(top):
        c["name"] = f"Shoe type {i + 1}"
    for c in proposal["clusters"]:
        if c["level"] == 2:
            c["drop"] = True
    (out / "proposal.json").write_text(json.dumps(proposal))
    res = runner.invoke(app, ["recluster", "Shoes", "--store", str(store), "--apply", str(out / "proposal.json")])
    assert res.exit_code == 0, res.output

    with EdgeStore(store) as vs:
        tax = Taxonomy.from_dict(vs.get_meta()["taxonomy"])
        new = {f"{SHOES} > Shoe type {i}" for i in (1, 2, 3)}
        assert {" > ".join(p) for p in tax.children(tuple(SHOES.split(" > ")))} == new
        counts = vs.facet("path", {"level_2": SHOES})
        # The image filter's set-aside shots stay at the category itself (they are often misfiled products).
        kept = counts.pop(SHOES, 0)
        assert kept == len(proposal["set_aside"]["point_ids"])
        assert set(counts) == new and sum(counts.values()) + kept == vs.count({"level_2": SHOES})

    res = runner.invoke(app, ["train", "--store", str(store), "--epochs", "12"])
    assert res.exit_code == 0, res.output
    meta = json.loads((store / "models" / "classifier" / "model.json").read_text())
    assert new <= set(meta["taxonomy"]["paths"])
    assert meta["metrics"]["validity"] == 1.0
