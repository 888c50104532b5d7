"""recluster.placement: a shop that clusters by itself, placed by its titles; renumbering."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd


def test_a_shop_apart_is_placed_by_its_titles(demo_dir: Path, shared_data: Path) -> None:
    from hiercat.recluster.placement import place_by_titles, platforms_apart
    from hiercat.recluster.terms import clean_titles

    # Myntra's demo shoes grouped by their own type, all 231 of H&M's shoes in a cluster of their own.
    df = pd.read_csv(demo_dir / "myntra" / "products.csv", dtype=str, keep_default_na=False)
    myntra = df[df["category"].str.startswith("Footwear > ")]
    hm = pd.read_csv(shared_data / "hm" / "products.csv", dtype=str, keep_default_na=False)
    hm = hm[hm["category"].str.startswith("Shoes > ")]
    types = {t: str(i) for i, t in enumerate(sorted(set(myntra["category"])), start=1)}
    level1 = np.array([types[c] for c in myntra["category"]] + ["9"] * len(hm), dtype=object)
    platforms = np.array(["myntra"] * len(myntra) + ["hm"] * len(hm))
    titles = clean_titles(list(myntra["title"]) + list(hm["title"]),
                          list(myntra["title"].str.split().str[0]) + ["H&M"] * len(hm))
    apart = platforms_apart(level1, platforms)
    assert [(a.platform, a.cluster, a.count, a.size) for a in apart] == [("hm", "9", 231, 231)]

    ids = place_by_titles([level1, level1.copy()], titles, platforms, ["hm"])
    # Cluster 9 was H&M's alone, so it is gone; the rest are renumbered 1..8 by size.
    assert sorted(set(ids[0])) == [str(i) for i in range(1, 9)] and list(ids[1]) == list(ids[0])
    mine = ids[0][: len(myntra)]
    assert pd.crosstab(mine, myntra["category"].to_numpy()).gt(0).sum().eq(1).all()  # Myntra's groups kept whole
    new_id = {t: mine[myntra["category"].to_numpy() == t][0] for t in types}
    hm_ids = pd.Series(ids[0][len(myntra):], index=hm["category"].to_numpy())
    assert (hm_ids["Shoes > Sandals"] == new_id["Footwear > Sandal > Sandals"]).mean() >= 0.75  # 16 of 20
    assert (hm_ids["Shoes > Heeled sandals"] == new_id["Footwear > Sandal > Sandals"]).mean() >= 0.8  # 21 of 25
    assert (hm_ids["Shoes > Pumps"] == new_id["Footwear > Shoes > Heels"]).mean() >= 0.66  # 7 of 9
    assert hm_ids.nunique() >= 5


def test_renumbered_ids_follow_size_and_unsplit_single_children() -> None:
    from hiercat.recluster.placement import renumber_ids

    level1 = np.array(["2", "2", "1", "1", "1", "4"], dtype=object)
    level2 = np.array(["2.1", "2.1", "1.1", "1.2", "1.2", "4"], dtype=object)
    out = renumber_ids([level1, level2])
    assert out[0].tolist() == ["2", "2", "1", "1", "1", "3"]
    assert out[1].tolist() == ["2", "2", "1.2", "1.1", "1.1", "3"]  # "2" kept one child: no longer split
