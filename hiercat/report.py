"""Evaluation reports: Markdown and HTML tables in the shape of the paper's Tables II and III, with plots."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from .evaluate import Row
from .metrics import level_labels


def _pct(x: float | None) -> str:
    return "–" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{100 * x:.2f}"


def _ms(x: float) -> str:
    return f"{x:,.0f}"


# Extra row values (Row.extra) a report shows: column name and format. Shares are shown as percentages,
# like every other column; times per 1,000 products in whole milliseconds.
EXTRA_COLUMNS: dict[str, tuple[str, Callable[[float], str]]] = {
    "threshold": ("threshold", lambda x: f"{x:.3f}"),
    "escalated": ("escalated %", _pct),
    "stage1_ms_per_1000": ("stage 1 ms / 1,000", _ms),
    "stage2_ms_per_1000": ("stage 2 ms / 1,000", _ms),
    "multimodal_only_ms_per_1000": ("multimodal alone ms / 1,000", _ms),
    "label_coverage": ("label coverage %", _pct),
    "mapping_item_accuracy": ("mapping right % of items", _pct),
    "mapping_auto_precision": ("auto right %", _pct),
    "mapping_auto_share": ("auto %", _pct),
    "zero_shot_share": ("zero-shot %", _pct),
}


def extra_cells(rows: Sequence[Row]) -> tuple[list[str], list[list[str]]]:
    """Header and cells of the numeric `Row.extra` values, named and formatted by EXTRA_COLUMNS."""
    keys = sorted({k for r in rows for k, v in r.extra.items() if isinstance(v, (int, float))},
                  key=lambda k: (list(EXTRA_COLUMNS).index(k) if k in EXTRA_COLUMNS else len(EXTRA_COLUMNS), k))
    head = [EXTRA_COLUMNS[k][0] if k in EXTRA_COLUMNS else k.replace("_", " ") for k in keys]
    fmt = [EXTRA_COLUMNS[k][1] if k in EXTRA_COLUMNS else (lambda x: f"{x:.4g}") for k in keys]
    cells = [[f(r.extra[k]) if k in r.extra else "" for k, f in zip(keys, fmt)] for r in rows]
    return head, cells


def best_row(rows: Sequence[Row]) -> int | None:
    """Index of the row with the highest hF1 (the one a report highlights), None without any."""
    scored = [(r.metrics["hF1"], -i) for i, r in enumerate(rows) if not np.isnan(r.metrics.get("hF1", np.nan))]
    return -max(scored)[1] if scored else None


def worst_level(metrics: dict[str, float], levels: int) -> int | None:
    """The level whose confusion matrix a report draws: the least accurate one that has 2 classes or more.

    Accuracy, not macro-F1: at a level of one big class and one single product, macro-F1 halves when
    that product is missed, although the level is nearly all right and its matrix shows one square.
    Ties go to the deeper level.
    """
    usable = [k for k in range(1, levels + 1)
              if metrics.get(f"l{k}_classes", 2) >= 2 and f"l{k}_accuracy" in metrics]
    return min(usable, key=lambda k: (metrics[f"l{k}_accuracy"], -k)) if usable else None


def classes_note(metrics: dict[str, float], levels: int) -> str:
    """'Per-level F1 averages the classes with support in the test split (level 1: 2, level 2: 9).'"""
    counts = [f"level {k}: {int(metrics[f'l{k}_classes'])}" for k in range(1, levels + 1) if f"l{k}_classes" in metrics]
    return ("Per-level F1 averages the classes with support in the test split"
            + (f" ({', '.join(counts)})" if counts else "") + "; a class only predicted is not averaged.")


def metric_table(rows: Sequence[Row], levels: int, timing: bool = True) -> tuple[list[str], list[list[str]]]:
    """Header and cells: hP, hR, hF1, per-level macro/weighted F1, validity, times."""
    head = ["configuration", "hP", "hR", "hF1", "exact"]
    for k in range(1, levels + 1):
        head += [f"L{k} macro-F1", f"L{k} weighted-F1"]
    head += ["valid paths"]
    if timing:
        head += ["fit s", "predict s"]
    body = []
    for r in rows:
        m = r.metrics
        cells = [r.name, _pct(m.get("hP")), _pct(m.get("hR")), _pct(m.get("hF1")), _pct(m.get("exact"))]
        for k in range(1, levels + 1):
            cells += [_pct(m.get(f"l{k}_macro_f1")), _pct(m.get(f"l{k}_weighted_f1"))]
        cells += [_pct(m.get("validity"))]
        if timing:
            cells += [f"{r.fit_seconds:.1f}", f"{r.predict_seconds:.2f}"]
        body.append(cells)
    return head, body


def markdown_table(head: list[str], body: list[list[str]]) -> str:
    """A GitHub-flavoured Markdown table."""
    lines = ["| " + " | ".join(head) + " |", "|" + "|".join("---" for _ in head) + "|"]
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in body]
    return "\n".join(lines)


def html_table(head: list[str], body: list[list[str]], best: int | None = None) -> str:
    """An HTML table; row `best` gets class "best" (highlighted)."""
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    trs = "".join(("<tr class='best'>" if i == best else "<tr>") + "".join(f"<td>{html.escape(c)}</td>" for c in row)
                  + "</tr>" for i, row in enumerate(body))
    return f"<table><thead><tr>{th}</tr></thead><tbody>{trs}</tbody></table>"


def plot_level_f1(rows: Sequence[Row], levels: int, file: Path) -> Path:
    """Grouped bars of per-level macro-F1 per configuration."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(max(6, 1.2 * len(rows)), 4))
    width = 0.8 / levels
    x = np.arange(len(rows))
    for k in range(1, levels + 1):
        vals = [100 * r.metrics.get(f"l{k}_macro_f1", np.nan) for r in rows]
        ax.bar(x + (k - 1) * width, vals, width, label=f"level {k}")
    ax.set_xticks(x + width * (levels - 1) / 2)
    ax.set_xticklabels([r.name for r in rows], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("macro-F1 (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(file, dpi=110)
    plt.close(fig)
    return file


def plot_confusion(true_paths, pred_paths, level: int, file: Path, top: int = 20) -> Path:
    """Row-normalized confusion matrix of the most frequent classes at one level."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from sklearn.metrics import confusion_matrix

    t = level_labels(true_paths, level)
    p = level_labels(pred_paths, level)
    classes, counts = np.unique(t, return_counts=True)
    keep = list(classes[np.argsort(-counts)][:top])
    cm = confusion_matrix(t, p, labels=keep).astype(float)
    cm = cm / np.maximum(cm.sum(axis=1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(9, 8))
    ax.imshow(cm, cmap="Blues", vmin=0, vmax=1)
    short = [c.split(" > ")[-1][:28] for c in keep]
    ax.set_xticks(range(len(keep)))
    ax.set_xticklabels(short, rotation=90, fontsize=7)
    ax.set_yticks(range(len(keep)))
    ax.set_yticklabels(short, fontsize=7)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    what = f"all {len(classes)} classes" if len(keep) == len(classes) else \
        f"the {len(keep)} most frequent of {len(classes)} classes"
    ax.set_title(f"level {level}: {what} of the test split (row-normalized)")
    fig.tight_layout()
    fig.savefig(file, dpi=110)
    plt.close(fig)
    return file


def write_report(out_dir: str | Path, title: str, sections: Sequence[tuple[str, str, Sequence[Row], int]],
                 figures: Sequence[tuple[str, Path]] = (), notes: Sequence[str] = ()) -> tuple[Path, Path]:
    """Write report.md and report.html: sections of (heading, intro, rows, levels) and figures (caption, png)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    when = f"Written {dt.datetime.now(dt.timezone.utc).strftime('%Y-%m-%d %H:%M')} UTC."
    notes = [when, *notes]
    md = [f"# {title}", ""] + [f"{n}  " for n in notes] + [""]
    body = [f"<h1>{html.escape(title)}</h1>"] + [f"<p class='note'>{html.escape(n)}</p>" for n in notes]
    for heading, intro, rows, levels in sections:
        # rows never fitted (kNN, cascade) have no fit time: the timing columns would only hold zeros
        head, cells = metric_table(rows, levels, timing=any(r.fit_seconds for r in rows))
        ehead, ecells = extra_cells(rows)
        head, cells = head + ehead, [c + e for c, e in zip(cells, ecells)]
        best = best_row(rows) if len(rows) > 1 else None
        md_cells = [[f"**{c}**" if i == best and c else c for c in row] for i, row in enumerate(cells)]
        note = " The best hF1 is in bold." if best is not None else ""
        md += [f"## {heading}", "", intro + note, "", markdown_table(head, md_cells), ""]
        body += [f"<h2>{html.escape(heading)}</h2>", f"<p>{html.escape(intro + note)}</p>",
                 f"<div class='scroll'>{html_table(head, cells, best)}</div>"]
    for caption, png in figures:
        rel = Path(png).name
        md += [f"![{caption}]({rel})", ""]
        body += [f"<figure><img src='{html.escape(rel)}'><figcaption>{html.escape(caption)}</figcaption></figure>"]
    md_file, html_file = out / "report.md", out / "report.html"
    md_file.write_text("\n".join(md), encoding="utf-8")
    style = ("body{font-family:sans-serif;max-width:1200px;margin:auto;padding:0 12px}"
             ".scroll{overflow-x:auto}table{border-collapse:collapse;font-size:12px}"
             "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}th{background:#f3f3f3;vertical-align:bottom}"
             "td:first-child,th:first-child{text-align:left;position:sticky;left:0;background:#fff}"
             "tr.best td{font-weight:bold;background:#eef6ee}tr.best td:first-child{background:#eef6ee}"
             ".note{color:#555;margin:2px 0}figure{margin:16px 0}img{max-width:100%}")
    html_file.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
                         f"<style>{style}</style></head><body>{''.join(body)}</body></html>", encoding="utf-8")
    return md_file, html_file
