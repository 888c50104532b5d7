"""hiercat.backoff: the deepest sure prefix, the coverage / precision curve, the threshold for a target precision."""

from __future__ import annotations

import numpy as np
import pytest

from hiercat.backoff import back_off, back_off_all, choose_min_confidence, coverage_curve, curve_point

DRESS = ("Apparel & Accessories", "Clothing", "Dresses")


def test_back_off_keeps_the_deepest_prefix_whose_cumulative_confidence_reaches_c() -> None:
    # cumulative: 0.99, 0.99*0.9 = 0.891, 0.891*0.5 = 0.4455
    conf = [0.99, 0.9, 0.5]
    assert back_off(DRESS, conf, None).path == DRESS
    assert back_off(DRESS, conf, 0.4).path == DRESS
    cut = back_off(DRESS, conf, 0.8)
    assert cut.path == DRESS[:2] and cut.stopped_early and cut.confidence == pytest.approx(0.891)
    assert back_off(DRESS, conf, 0.891).path == DRESS[:2]  # "at least C" includes C itself
    assert back_off(DRESS, conf, 0.995).path == () and back_off(DRESS, conf, 0.995).stopped_early
    assert not back_off(DRESS, conf, 0.4).stopped_early


def test_back_off_ignores_levels_beyond_the_path_and_refuses_too_few() -> None:
    assert back_off(DRESS[:2], [0.9, 0.9, 0.01], 0.8).path == DRESS[:2]  # level 3's STOP confidence is not the path's
    with pytest.raises(ValueError, match="3-level path"):
        back_off(DRESS, [0.9, 0.9], 0.5)


def test_every_backed_off_path_is_a_prefix_of_the_prediction() -> None:
    rng = np.random.default_rng(0)
    paths = [DRESS, DRESS[:2], ("Apparel & Accessories", "Shoes")] * 20
    conf = rng.uniform(0.3, 1.0, size=(len(paths), 3))
    for c in (0.0, 0.3, 0.5, 0.8, 0.95):
        for p, b in zip(paths, back_off_all(paths, conf, c)):
            assert p[: len(b.path)] == b.path


def test_curve_trades_coverage_for_precision() -> None:
    truth = [DRESS] * 4
    pred = [DRESS, DRESS, ("Apparel & Accessories", "Clothing", "Skirts"), ("Apparel & Accessories", "Shoes")]
    conf = np.array([[1, 1, 0.99], [1, 1, 0.95], [1, 0.9, 0.5], [1, 0.4, 1]])
    points = coverage_curve(truth, pred, conf, [0.0, 0.6, 0.97])
    assert [round(p.coverage, 2) for p in points] == [1.0, 0.5, 0.25]
    assert points[0].hP == pytest.approx(9 / 11)  # 3+3+2+1 of 3+3+3+2 ancestors right
    assert points[1].hP == 1.0 and points[1].answered == 1.0  # the Skirts guess backs off to Clothing, Shoes to the top
    assert points[1].hR == pytest.approx(9 / 12) and points[2].hR == pytest.approx(7 / 12)
    assert points[1].node_coverage == pytest.approx((3 + 3 + 2 + 1) / 11)


def test_threshold_chosen_on_validation_is_the_lowest_reaching_the_target() -> None:
    truth = [DRESS] * 4
    pred = [DRESS, DRESS, ("Apparel & Accessories", "Clothing", "Skirts"), ("Apparel & Accessories", "Shoes")]
    conf = np.array([[1, 1, 0.99], [1, 1, 0.95], [1, 0.9, 0.5], [1, 0.4, 1]])
    c = choose_min_confidence(truth, pred, conf, target_precision=1.0)
    assert c is not None and curve_point(truth, pred, conf, c).hP == 1.0
    # 0.45 still keeps the wrong Skirts leaf (its cumulative confidence); 0.9 cuts it back to Clothing
    assert c == pytest.approx(0.9)
    assert all(curve_point(truth, pred, conf, x).hP < 1.0 for x in (0.0, 0.3, 0.45))
    wrong_top = [("Home & Garden",)]
    assert choose_min_confidence([DRESS], wrong_top, np.array([[1.0, 1, 1]]), 0.5) is None


def test_evaluation_report_of_a_saved_model_renders_its_curve_in_chromium(demo_model, tmp_path) -> None:
    """`hiercat evaluate --model`: the curve on the recorded test split, thresholds from validation, the page."""
    import os
    from pathlib import Path

    from typer.testing import CliRunner

    from hiercat.cli import app

    from .browser import check_page, chromium

    chromium()
    store, model = demo_model
    res = CliRunner().invoke(app, ["evaluate", "--model", str(model), "--store", str(store), "--out",
                                   str(tmp_path / "report"), "--target-precision", "0.95,0.99"])
    assert res.exit_code == 0, res.output
    assert "target hP 95 %" in res.output and "report:" in res.output
    md = (tmp_path / "report" / "report.md").read_text(encoding="utf-8")
    assert "Coverage / precision curve" in md and "backoff_curve.png" in md
    shots = Path(os.environ.get("HIERCAT_SCREENSHOTS", tmp_path))
    page = check_page(tmp_path / "report" / "report.html", shots / "evaluation-report.png")
    assert [src for src, _ in page.images] == ["backoff_curve.png"]
    assert page.broken == [] and page.errors == []
