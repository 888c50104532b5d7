"""predictions.csv: every input row, `status`, rounded confidences, empty levels empty, neighbours as columns,
a review flag, formula-escaped cells; the given categories scored only where they are the model's paths."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from hiercat.cli import app
from hiercat.predictions_table import column_names, escape_formulas, review_reasons

from .conftest import unseen_demo_rows

runner = CliRunner()
WIDE = {"COLUMNS": "240"}


@pytest.fixture(scope="module")
def awkward(demo_dir: Path, tmp_path_factory) -> Path:
    """Six rows: plain, a formula title, an empty title, a missing image, a repeated id, plain."""
    rows = unseen_demo_rows(demo_dir).head(6).copy()
    rows.iloc[1, rows.columns.get_loc("title")] = '=HYPERLINK("http://x","Men Blue Tshirt")'
    rows.iloc[2, rows.columns.get_loc("title")] = ""
    rows.iloc[3, rows.columns.get_loc("image")] = "/nowhere/missing.jpg"
    rows.iloc[4, rows.columns.get_loc("product_id")] = rows.iloc[0]["product_id"]
    out = tmp_path_factory.mktemp("awkward") / "new.csv"
    rows.to_csv(out, index=False)
    return out


@pytest.fixture(scope="module")
def written(demo_model, awkward: Path, tmp_path_factory) -> tuple[pd.DataFrame, Path, str]:
    store, _ = demo_model
    out = tmp_path_factory.mktemp("pred") / "predictions.csv"
    side = out.with_suffix(".neighbours.jsonl")
    res = runner.invoke(app, ["classify", str(awkward), "-o", str(out), "--explain", "-k", "5",
                              "--neighbours-file", str(side), "--store", str(store)], env=WIDE)
    assert res.exit_code == 0, res.output
    return pd.read_csv(out, dtype=str, keep_default_na=False), side, " ".join(res.output.split())


def test_every_input_row_is_in_the_file_with_its_status(written, awkward: Path) -> None:
    pred, _, said = written
    given = pd.read_csv(awkward, dtype=str, keep_default_na=False)
    assert pred["row"].tolist() == ["1", "2", "3", "4", "5", "6"]
    assert pred["product_id"].tolist() == given["product_id"].tolist()
    # (catalog validation may add a detail in parentheses to a reason: compare up to it)
    assert [re.sub(r" \(empty or only invisible characters\)$", "", v) for v in pred["status"]] == [
        "ok", "ok", "rejected: missing title", "ok",
        f"rejected: duplicate product_id '{given.loc[0, 'product_id']}' (first at row 1)", "ok"]
    # the missing image is classified without it, like a corrupt one, and says so
    assert pred.loc[3, "note"] == "image not found (/nowhere/missing.jpg); classified without it"
    assert pred.loc[3, "predicted_path"] != ""
    assert (pred.loc[[2, 4], ["predicted_path", "confidence", "source"]] == "").all().all()
    assert (pred.loc[[2, 4], "needs_review"] == "yes").all()
    assert "6 rows" in said and "4 classified, 2 rejected" in said


def test_columns_are_documented_and_readable(written) -> None:
    pred, _, _ = written
    depth = sum(bool(re.fullmatch(r"level_\d+_confidence", c)) for c in pred.columns)
    documented = column_names(depth, explain=True)
    head, ncols = documented[: -12], documented[-12:]  # the 3 x 4 neighbour columns come last
    assert list(pred.columns[: len(head)]) == head and list(pred.columns[-12:]) == ncols
    middle = list(pred.columns[len(head): -12])
    assert middle[:3] == ["true_path", "correct", "note"]  # then the review / back-off columns, passed through
    assert "neighbours" not in pred.columns  # no JSON in a cell
    ok = pred[pred["status"] == "ok"]
    for col in ["confidence"] + [f"level_{k}_confidence" for k in range(1, depth + 1)]:
        assert all(re.fullmatch(r"\d\.\d{1,4}|1|0", v) for v in ok[col] if v), col
    for k in range(1, depth + 1):  # a level the path does not reach has no confidence either
        empty = ok[f"level_{k}"] == ""
        assert (ok.loc[empty, f"level_{k}_confidence"] == "").all()
        assert (ok.loc[~empty, f"level_{k}_confidence"] != "").all()
    assert set(ok["source"]) <= {"model", "knn", "zero-shot"}
    assert (ok["neighbour_1_title"] != "").all() and (ok["neighbour_3_path"] != "").all()
    assert all(float(a) >= float(b) for a, b in zip(ok["neighbour_1_score"], ok["neighbour_2_score"]))
    for _, r in ok.iterrows():  # the documented review rule, exactly
        why = review_reasons(float(r["confidence"]), r["source"])
        assert r["needs_review"] == ("yes" if why else "no") and r["review_reason"] == "; ".join(why)


def test_a_formula_title_is_escaped_and_the_sidecar_has_every_neighbour(written) -> None:
    pred, side, _ = written
    assert pred.loc[1, "title"] == '\'=HYPERLINK("http://x","Men Blue Tshirt")'
    lines = [json.loads(x) for x in side.read_text().splitlines()]
    assert [x["row"] for x in lines] == [1, 2, 4, 6]
    assert all(len(x["neighbours"]) == 5 for x in lines)
    assert {"product_id", "title", "path", "score"} <= set(lines[0]["neighbours"][0])


def test_escape_formulas_and_review_rule() -> None:
    df = pd.DataFrame({"a": ["=1+1", "+x", "-y", "@z", "\tq", "plain", "a=b"], "n": [-1.5] * 7})
    assert escape_formulas(df)["a"].tolist() == ["'=1+1", "'+x", "'-y", "'@z", "'\tq", "plain", "a=b"]
    assert escape_formulas(df)["n"].tolist() == [-1.5] * 7  # numbers are numbers, not formulas
    assert review_reasons(0.35, "model") == ["confidence 0.35 < 0.6"]
    assert review_reasons(0.95, "zero-shot") == ["category no training product had (zero-shot)"]
    assert review_reasons(0.6, "knn") == []


def test_a_shops_own_tree_is_not_scored_as_wrong(demo_model, demo_dir: Path, tmp_path: Path) -> None:
    store, _ = demo_model
    rows = unseen_demo_rows(demo_dir).head(8)  # `category` holds Myntra's own tree, not Google paths
    rows.to_csv(tmp_path / "own.csv", index=False)
    res = runner.invoke(app, ["classify", str(tmp_path / "own.csv"), "-o", str(tmp_path / "p.csv"),
                              "--store", str(store)], env=WIDE)
    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())
    assert "8 rows have a category that is not a path of the model's taxonomy" in said
    assert "--mapping" in said and "exact" not in said  # no 0.00 % table
    assert (pd.read_csv(tmp_path / "p.csv", dtype=str, keep_default_na=False)["correct"] == "").all()
    # mapped: scored, and an unmapped row is counted apart instead of as an empty-string class
    rows = unseen_demo_rows(demo_dir).head(8).copy()
    rows.iloc[0, rows.columns.get_loc("category")] = "Unknown > Unknown"
    rows.to_csv(tmp_path / "mapped.csv", index=False)
    res = runner.invoke(app, ["classify", str(tmp_path / "mapped.csv"), "-o", str(tmp_path / "q.csv"),
                              "--store", str(store), "--mapping",
                              str(demo_dir / "mappings" / "myntra_to_gpt.csv")], env=WIDE)
    assert res.exit_code == 0, res.output
    said = " ".join(res.output.split())
    assert "1 rows have no (mapped) category: not scored" in said
    assert "against the given categories (7 rows)" in said
