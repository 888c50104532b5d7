"""recluster.pipeline: the whole recluster run on real shoes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.metrics import adjusted_rand_score

from hiercat.catalog import CatalogOptions
from hiercat.ingest import ingest
from hiercat.recluster import (
    recluster,
)
from hiercat.recluster.memstore import MemoryStore

from .conftest import TinyText, hm_shoes, shoe_catalog, tiny_preset


def test_platform_notes_flag_a_shop_that_clusters_by_itself() -> None:
    from hiercat.recluster.pipeline import platform_notes
    from hiercat.recluster.placement import platforms_apart

    level1 = np.array(["1"] * 60 + ["2"] * 40 + ["3"] * 25 + ["1"] * 5 + ["2"] * 30)
    platforms = np.array(["big"] * 100 + ["small"] * 30 + ["tiny"] * 30)
    notes = platform_notes(platforms_apart(level1, platforms), {"1": "Sneakers", "2": "Boots", "3": "Sandals"})
    # small: 25 of 30 in one cluster; tiny: 30 of 30; big holds most products, so its clusters are the norm.
    assert notes == [
        "25 of the 30 clustered products of platform 'small' fall into level-1 cluster 3 ('Sandals'): the vectors set "
        "this platform apart, so that cluster may mix its types; check its samples before adopting it",
        "30 of the 30 clustered products of platform 'tiny' fall into level-1 cluster 2 ('Boots'): the vectors set "
        "this platform apart, so that cluster may mix its types; check its samples before adopting it"]
    assert platform_notes(platforms_apart(level1[:130], np.array(["big"] * 130)), {}) == []


def test_recluster_places_or_keeps_a_shop_apart(demo_dir: Path, shared_data: Path, tmp_path: Path) -> None:
    catalog, mapping = shoe_catalog(demo_dir, tmp_path / "myntra", n_other=0)
    hm_catalog, hm_mapping = hm_shoes(shared_data, tmp_path / "hm")
    store = MemoryStore()
    ingest(catalog, store, tiny_preset(), CatalogOptions(mapping=mapping))
    ingest(hm_catalog, store, tiny_preset(), CatalogOptions(mapping=hm_mapping))
    kw = dict(vectors="fused", n_clusters=(6, 2), reference="native_category", text_encoder=TinyText(), seed=0,
              montage_size=0, make_scatter=False)
    kept = recluster(store, "Shoes", tmp_path / "kept", place_apart=False, **kw)
    plat = kept.payload["platform"].to_numpy()
    assert kept.labels[0][plat == "hm"].tolist() == ["1"] * 231  # the tiny image vectors tell the shops apart
    assert kept.notes[-1].startswith("231 of the 231 clustered products of platform 'hm' fall into level-1 cluster 1")
    placed = recluster(store, "Shoes", tmp_path / "placed", **kw)
    assert placed.params["place_apart"] is True
    assert placed.notes[-1] == (
        "231 of the 231 clustered products of platform 'hm' fell into one level-1 cluster: the vectors set this "
        "platform apart, so its products were placed into the other platforms' clusters by a classifier of their "
        "title words; check their samples (--keep-apart keeps the clustering as found)")
    assert len(set(placed.labels[0][plat == "hm"])) >= 2
    for level in (0, 1):  # Myntra's groups stay as found (renumbered by their new sizes)
        assert adjusted_rand_score(placed.labels[level][plat == "myntra"], kept.labels[level][plat == "myntra"]) == 1
    for lv1, lv2 in zip(*placed.labels):
        assert lv2 == lv1 or lv2.startswith(lv1 + ".")
    assert list(placed.levels[0].platform_purity) == ["myntra", "hm"]
    assert placed.levels[0].purity_text().count("%") == 3
    assert "(myntra " in (tmp_path / "placed" / "report.md").read_text()


def test_filter_counts_add_up(built) -> None:
    _, report, _ = built
    assert report.n_clustered + report.n_set_aside == report.n_selected == 300
    flagged = sum(c["size"] for c in report.image_clusters if c["flagged"])
    assert report.set_aside.get("image filter", 0) == flagged
    assert report.n_set_aside <= 0.05 * 300
