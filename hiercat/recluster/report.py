"""The recluster report: what was found, per level and per cluster, as Markdown and HTML beside the proposal."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .purity import purity
from .reference import reference_labels


@dataclass
class ClusterSummary:
    """One proposed sub-category as the report shows it."""

    id: str
    level: int
    parent: str | None
    name: str
    top_terms: list[str]
    size: int
    platforms: dict[str, int]
    purity: float | None = None
    majority: str | None = None
    montage: str | None = None  # path relative to the report folder


@dataclass
class LevelSummary:
    """Clusters and size-weighted purity at one level (level 2 counts unsplit groups as their level-1 cluster)."""

    level: int
    n_clusters: int
    purity: float | None = None
    noise: int = 0  # HDBSCAN noise points attached to their nearest cluster
    # Purity of each platform's products alone (with 2+ platforms): a shop whose types the clusters miss shows here.
    platform_purity: dict[str, float] = field(default_factory=dict)

    def purity_text(self) -> str:
        """'81.1 % (myntra 83.5 %, hm 52.4 %)', or '' without a reference."""
        if self.purity is None:
            return ""
        per = ", ".join(f"{k} {_pct(v)}" for k, v in self.platform_purity.items())
        return _pct(self.purity) + (f" ({per})" if per else "")


@dataclass
class Report:
    """Everything one recluster found, the files written, and per-product labels for further evaluation."""

    category: str
    out_dir: Path
    n_selected: int
    n_clustered: int
    set_aside: dict[str, int]  # reason -> count
    set_aside_platforms: dict[str, int]
    clusters: list[ClusterSummary]
    levels: list[LevelSummary]
    params: dict[str, Any]
    seconds: dict[str, float]
    notes: list[str] = field(default_factory=list)
    image_clusters: list[dict[str, Any]] = field(default_factory=list)
    set_aside_montage: str | None = None
    scatter: str | None = None
    files: dict[str, Path] = field(default_factory=dict)
    # Clustered products: point ids, payload rows and their cluster id per level ("3", "3.1").
    ids: list[str] = field(default_factory=list, repr=False)
    payload: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    labels: list[np.ndarray] = field(default_factory=list, repr=False)

    @property
    def n_set_aside(self) -> int:
        """Products of the category that were not clustered."""
        return int(sum(self.set_aside.values()))

    def purity(self, reference: str | Sequence[str], level: int = 1) -> float:
        """Size-weighted purity of one level against a payload column spec ('native_category:2') or labels."""
        ref = reference_labels(self.payload, reference) if isinstance(reference, str) else np.asarray(reference)
        return purity(self.labels[level - 1], ref)

    def level_clusters(self, level: int) -> list[ClusterSummary]:
        """Clusters listed at a level (level 2 lists only groups that were split)."""
        return [c for c in self.clusters if c.level == level]


def _pct(x: float | None) -> str:
    return "" if x is None else f"{100 * x:.1f} %"


def render_markdown(report: Report) -> str:
    """The report as Markdown (images linked relative to the report folder)."""
    p = report.params
    lines = [f"# Recluster: {report.category}", ""]
    lines += [f"- products selected: {report.n_selected}, clustered: {report.n_clustered}",
              "- set aside: " + (", ".join(f"{v} {k}" for k, v in report.set_aside.items()) or "none") +
              (f" (by platform: {', '.join(f'{k} {v}' for k, v in report.set_aside_platforms.items())})"
               if report.set_aside_platforms else ""),
              f"- vectors: {p.get('vectors')} {json.dumps(p.get('weights')) if p.get('vectors') == 'fused' else ''}".rstrip(),
              f"- method: {p.get('method')}, levels: {p.get('levels')}, n_clusters: {p.get('n_clusters') or 'auto (silhouette)'}, "
              f"UMAP {p.get('n_components')}-d, seed {p.get('seed')}",
              "- time: " + ", ".join(f"{k} {v:.1f} s" for k, v in report.seconds.items()), ""]
    lines += [f"> {n}" for n in report.notes]
    if report.notes:
        lines.append("")
    ref = p.get("reference")
    lines += ["## Levels", "", "| level | clusters | " + (f"purity vs `{ref}` |" if ref else "") + " noise attached |",
              "|---|---|" + ("---|" if ref else "") + "---|"]
    for lv in report.levels:
        lines.append(f"| {lv.level} | {lv.n_clusters} | " + (f"{lv.purity_text()} |" if ref else "") + f" {lv.noise} |")
    if report.scatter:
        lines += ["", f"![2-D UMAP of the clustered products]({report.scatter})"]
    for level in sorted({c.level for c in report.clusters}):
        lines += ["", f"## Level {level} clusters", "",
                  "| id | parent | proposed name | size | top terms | platforms |" + (" majority reference | purity |" if ref else ""),
                  "|---|---|---|---|---|---|" + ("---|---|" if ref else "")]
        for c in report.level_clusters(level):
            plat = ", ".join(f"{k} {v}" for k, v in c.platforms.items())
            row = f"| {c.id} | {c.parent or ''} | **{c.name}** | {c.size} | {', '.join(c.top_terms[:6])} | {plat} |"
            if ref:
                row += f" {c.majority} | {_pct(c.purity)} |"
            lines.append(row)
        lines.append("")
        for c in report.level_clusters(level):
            if c.montage:
                lines += [f"**{c.id} {c.name}** ({c.size})", "", f"![{c.name}]({c.montage})", ""]
    if report.image_clusters:
        flagged = [c for c in report.image_clusters if c["flagged"]]
        lines += ["## Image filter", "",
                  f"{sum(c['size'] for c in flagged)} products in {len(flagged)} of {len(report.image_clusters)} "
                  "k-means visual clusters set aside (far from the dominant looks, or loose).", ""]
        if flagged:
            lines += ["| cluster | platform | size | cohesion | link to dominant | reason |", "|---|---|---|---|---|---|"]
            lines += [f"| {c['label']} | {c.get('platform', '')} | {c['size']} | {c['cohesion']:.3f} | {c['link']:.3f} "
                      f"| {c['reason']} |" for c in flagged]
        if report.set_aside_montage:
            lines += ["", f"![set aside]({report.set_aside_montage})"]
    lines += ["", "## Adopting the proposal", "",
              "Edit `proposal.json` (rename with `\"name\"`, merge with `\"merge_into\": \"<id>\"`, drop with "
              "`\"drop\": true`), then run `hiercat recluster "
              f"\"{report.category}\" --apply proposal.json`.", ""]
    return "\n".join(lines)


def render_html(report: Report) -> str:
    """The report as a self-contained HTML page (images referenced relative to the report folder)."""
    e = html.escape
    p = report.params
    ref = p.get("reference")
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>Recluster {e(report.category)}</title>",
        "<style>body{font-family:system-ui,sans-serif;margin:2em;max-width:1200px}"
        "table{border-collapse:collapse;margin:1em 0}td,th{border:1px solid #ccc;padding:4px 8px;font-size:14px}"
        "th{background:#f4f4f4}img{max-width:100%}.note{color:#a55}</style></head><body>",
        f"<h1>Recluster: {e(report.category)}</h1>",
        f"<p>{report.n_selected} products selected, {report.n_clustered} clustered, {report.n_set_aside} set aside "
        f"({e(', '.join(f'{v} {k}' for k, v in report.set_aside.items()) or 'none')}).<br>"
        f"vectors <b>{e(str(p.get('vectors')))}</b>, method <b>{e(str(p.get('method')))}</b>, "
        f"levels {p.get('levels')}, n_clusters {e(str(p.get('n_clusters') or 'auto'))}, seed {p.get('seed')}; "
        f"time {e(', '.join(f'{k} {v:.1f} s' for k, v in report.seconds.items()))}</p>",
    ]
    parts += [f"<p class='note'>{e(n)}</p>" for n in report.notes]
    parts.append("<h2>Levels</h2><table><tr><th>level</th><th>clusters</th>" +
                 (f"<th>purity vs {e(ref)}</th>" if ref else "") + "<th>noise attached</th></tr>")
    for lv in report.levels:
        parts.append(f"<tr><td>{lv.level}</td><td>{lv.n_clusters}</td>" +
                     (f"<td>{e(lv.purity_text())}</td>" if ref else "") + f"<td>{lv.noise}</td></tr>")
    parts.append("</table>")
    if report.scatter:
        parts.append(f"<img src='{e(report.scatter)}' alt='2-D UMAP scatter'>")
    for level in sorted({c.level for c in report.clusters}):
        parts.append(f"<h2>Level {level} clusters</h2><table><tr><th>id</th><th>parent</th><th>name</th><th>size</th>"
                     "<th>top terms</th><th>platforms</th>" + ("<th>majority reference</th><th>purity</th>" if ref else "") +
                     "<th>samples</th></tr>")
        for c in report.level_clusters(level):
            plat = ", ".join(f"{k} {v}" for k, v in c.platforms.items())
            img = f"<img src='{e(c.montage)}' alt='{e(c.name)}'>" if c.montage else ""
            parts.append(f"<tr><td>{e(c.id)}</td><td>{e(c.parent or '')}</td><td><b>{e(c.name)}</b></td><td>{c.size}</td>"
                         f"<td>{e(', '.join(c.top_terms[:6]))}</td><td>{e(plat)}</td>" +
                         (f"<td>{e(str(c.majority))}</td><td>{_pct(c.purity)}</td>" if ref else "") + f"<td>{img}</td></tr>")
        parts.append("</table>")
    if report.image_clusters:
        flagged = [c for c in report.image_clusters if c["flagged"]]
        parts.append(f"<h2>Image filter</h2><p>{sum(c['size'] for c in flagged)} products in {len(flagged)} of "
                     f"{len(report.image_clusters)} k-means visual clusters set aside.</p>")
        if report.set_aside_montage:
            parts.append(f"<img src='{e(report.set_aside_montage)}' alt='set aside'>")
    parts.append("<h2>Adopting the proposal</h2><p>Edit <code>proposal.json</code> (<code>\"name\"</code>, "
                 "<code>\"merge_into\": \"&lt;id&gt;\"</code>, <code>\"drop\": true</code>) then run "
                 f"<code>hiercat recluster \"{e(report.category)}\" --apply proposal.json</code>.</p></body></html>")
    return "\n".join(parts)


def write_report(report: Report) -> dict[str, Path]:
    """Write report.md and report.html into the report's folder; returns their paths."""
    out = Path(report.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    md = out / "report.md"
    md.write_text(render_markdown(report), encoding="utf-8")
    page = out / "report.html"
    page.write_text(render_html(report), encoding="utf-8")
    report.files.update(report_md=md, report_html=page)
    return {"report_md": md, "report_html": page}
