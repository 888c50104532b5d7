"""recluster.report: the report files and the proposal they link."""

from __future__ import annotations

import json

from .conftest import SHOES


def test_report_files_exist_and_link_relative(built) -> None:
    _, report, root = built
    out = root / "out"
    for name in ("report.md", "report.html", "proposal.json", "img/scatter.png"):
        assert (out / name).is_file(), name
    html = (out / "report.html").read_text()
    for c in report.clusters:
        assert c.montage and (out / c.montage).is_file()
        assert f"src='{c.montage}'" in html
    md = (out / "report.md").read_text()
    assert "purity vs `native_category`" in md and report.clusters[0].name in md
    data = json.loads((out / "proposal.json").read_text())
    assert data["category"] == SHOES
    first = data["clusters"][0]
    assert {"id", "parent", "name", "size", "point_ids", "product_ids", "member_platforms"} <= set(first)
    assert sum(c["size"] for c in data["clusters"] if c["level"] == 1) == report.n_clustered
