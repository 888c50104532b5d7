"""Evaluation reports: Markdown and HTML tables in the shape of the paper's Tables II and III, with plots."""

from __future__ import annotations

import html
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .evaluate import Row
from .metrics import level_labels


def _pct(x: float | None) -> str:
    return "–" if x is None or (isinstance(x, float) and np.isnan(x)) else f"{100 * x:.2f}"


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


def html_table(head: list[str], body: list[list[str]]) -> str:
    """An HTML table."""
    th = "".join(f"<th>{html.escape(h)}</th>" for h in head)
    trs = "".join("<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in body)
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
    ax.set_title(f"level {level}: {len(keep)} most frequent classes (row-normalized)")
    fig.tight_layout()
    fig.savefig(file, dpi=110)
    plt.close(fig)
    return file


def write_report(out_dir: str | Path, title: str, sections: Sequence[tuple[str, str, Sequence[Row], int]],
                 figures: Sequence[tuple[str, Path]] = (), notes: Sequence[str] = ()) -> tuple[Path, Path]:
    """Write report.md and report.html: sections of (heading, intro, rows, levels) and figures (caption, png)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    md = [f"# {title}", ""] + [f"{n}" for n in notes] + [""]
    body = [f"<h1>{html.escape(title)}</h1>"] + [f"<p>{html.escape(n)}</p>" for n in notes]
    for heading, intro, rows, levels in sections:
        head, cells = metric_table(rows, levels)
        extra_cols = sorted({k for r in rows for k, v in r.extra.items() if isinstance(v, (int, float))})
        if extra_cols:
            head = head + extra_cols
            cells = [c + [f"{r.extra[k]:.3g}" if k in r.extra else "" for k in extra_cols] for c, r in zip(cells, rows)]
        md += [f"## {heading}", "", intro, "", markdown_table(head, cells), ""]
        body += [f"<h2>{html.escape(heading)}</h2>", f"<p>{html.escape(intro)}</p>", html_table(head, cells)]
    for caption, png in figures:
        rel = Path(png).name
        md += [f"![{caption}]({rel})", ""]
        body += [f"<figure><img src='{html.escape(rel)}'><figcaption>{html.escape(caption)}</figcaption></figure>"]
    md_file, html_file = out / "report.md", out / "report.html"
    md_file.write_text("\n".join(md), encoding="utf-8")
    style = ("body{font-family:sans-serif;max-width:1200px;margin:auto}table{border-collapse:collapse;font-size:13px}"
             "td,th{border:1px solid #ccc;padding:3px 6px;text-align:right}td:first-child{text-align:left}")
    html_file.write_text(f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}</title>"
                         f"<style>{style}</style></head><body>{''.join(body)}</body></html>", encoding="utf-8")
    return md_file, html_file
