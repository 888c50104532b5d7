"""The evaluation report: the confusion matrix's level, classes with support, readable tables, date, best row."""

from __future__ import annotations

from pathlib import Path

from hiercat.evaluate import Row
from hiercat.metrics import evaluate_paths
from hiercat.report import best_row, classes_note, plot_confusion, worst_level, write_report

# Level 1: 99 products of Apparel, 1 of Media, missed; level 2: 4 Apparel classes, a quarter wrong.
TRUE = [("Apparel", f"C{i % 4}") for i in range(99)] + [("Media", "Books")]
PRED = [("Apparel", f"C{i % 4}" if i % 4 else "C1") for i in range(99)] + [("Apparel", "C0")]


def test_worst_level_is_the_least_accurate_not_a_singleton_class_halving_macro_f1() -> None:
    m = evaluate_paths(TRUE, PRED)
    assert m["l1_accuracy"] == 0.99 and m["l1_macro_f1"] < 0.5  # the one Media product halves it
    assert m["l1_classes"] == 2 and m["l2_classes"] == 5
    assert worst_level(m, 2) == 2  # the old rule (lowest macro-F1) picked level 1
    one_class = evaluate_paths([("A", "B")] * 5, [("A", "B")] * 5)
    assert worst_level(one_class, 2) is None  # no matrix of a single dark square
    assert classes_note(m, 2) == ("Per-level F1 averages the classes with support in the test split "
                                  "(level 1: 2, level 2: 5); a class only predicted is not averaged.")


def test_confusion_title_counts_classes(tmp_path: Path, monkeypatch) -> None:
    import matplotlib.axes

    titles = []
    monkeypatch.setattr(matplotlib.axes.Axes, "set_title", lambda self, t, *a, **k: titles.append(t))
    plot_confusion(TRUE, PRED, 2, tmp_path / "c.png")
    plot_confusion(TRUE, PRED, 2, tmp_path / "d.png", top=3)
    assert titles == ["level 2: all 5 classes of the test split (row-normalized)",
                      "level 2: the 3 most frequent of 5 classes of the test split (row-normalized)"]


def test_report_tables_are_readable_dated_and_mark_the_best_row(tmp_path: Path) -> None:
    m = evaluate_paths(TRUE, PRED)
    better = dict(m, hF1=m["hF1"] + 0.01)
    grid = [Row("text only", [], "early", m, 12.0, 0.1), Row("all, early fusion", [], "early", better, 30.0, 0.2),
            Row("kNN vote (k=10, minilm_title)", [], "knn", {k: v for k, v in m.items() if k != "validity"})]
    casc = [Row("cascade, escalate 10% (threshold 0.912)", [], "cascade", m, 0.0, 0.5,
                {"threshold": 0.9123, "escalated": 0.1034, "stage1_ms_per_1000": 3900.4,
                 "stage2_ms_per_1000": 812.0, "multimodal_only_ms_per_1000": 7712.9})]
    assert best_row(grid) == 1
    md, page = write_report(tmp_path, "hiercat evaluation", [("Grid", "intro.", grid, 2), ("Cascade", "c.", casc, 2)],
                            notes=["Store: /x/store."])
    text, html = md.read_text(), page.read_text()
    assert text.splitlines()[2].startswith("Written 20") and text.splitlines()[2].endswith(" UTC.  ")
    assert "Store: /x/store." in text and "<tr class='best'><td>all, early fusion" in html
    assert "| **all, early fusion** |" in text and "The best hF1 is in bold." in text
    head = next(line for line in text.splitlines() if line.startswith("| configuration") and "threshold" in line)
    assert "| threshold | escalated % | stage 1 ms / 1,000 | stage 2 ms / 1,000 | multimodal alone ms / 1,000 |" in head
    assert "fit s" not in head  # a cascade is not fitted: no column of zeros
    row = next(line for line in text.splitlines() if line.startswith("| cascade"))
    assert row.endswith("| 0.912 | 10.34 | 3,900 | 812 | 7,713 |")
    assert "e+03" not in text and "multimodal_only_ms_per_1000" not in text and "nan" not in text.lower()
    assert "<div class='scroll'><table>" in html  # a wide table scrolls inside the page
