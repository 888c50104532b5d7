"""recluster.apply: a proposal rewrites payloads and the taxonomy; later products go to the nearest cluster."""

from __future__ import annotations

from hiercat.recluster import (
    Proposal,
    apply_proposal,
    assign_to_nearest,
)
from hiercat.store.base import PointData, point_id
from hiercat.taxonomy import Taxonomy

from .conftest import SHOES, TinyText, _edited


def test_apply_rewrites_payloads_and_taxonomy(built, fresh) -> None:
    _, report, _ = built
    data, by = _edited(built)
    others = {p.id: p.payload["path"] for p in fresh.scroll() if p.payload["level_2"] != SHOES}
    result = apply_proposal(fresh, data, text_encoder=TinyText())
    meta = fresh.get_meta()
    tax = Taxonomy.from_dict(meta["taxonomy"])
    children = {p[-1] for p in tax.children(("Apparel & Accessories", "Shoes"))}
    assert "Everyday" in children and by["3"]["name"] in children
    assert by["2"]["name"] not in children and by["4"]["name"] not in children  # merged and dropped
    rec = meta["recategorizations"][-1]
    assert rec["category"] == SHOES and rec["added_paths"] == result.added_paths
    # A rename: every member of cluster 1 now sits under Shoes > Everyday (or one of its sub-clusters).
    members = fresh.retrieve(by["1"]["point_ids"])
    assert members and all(p.payload["path"].startswith(SHOES + " > Everyday") for p in members)
    p = members[0].payload
    assert p["levels"] == p["path"].split(" > ") and p["depth"] == len(p["levels"])
    assert p["level_3"] == SHOES + " > Everyday"
    # A merge: cluster 2's members are in cluster 3's category.
    target = SHOES + " > " + by["3"]["name"]
    assert all(q.payload["path"].startswith(target) for q in fresh.retrieve(by["2"]["point_ids"]))
    # A drop: cluster 4's members stay at Shoes, so Shoes stays a valid label.
    dropped = fresh.retrieve(by["4"]["point_ids"])
    assert dropped and all(q.payload["path"] == SHOES and q.payload["depth"] == 2 for q in dropped)
    assert ("Apparel & Accessories", "Shoes") in tax.terminal
    # Products set aside by the image filter (odd shots, often misfiled) stay at Shoes, for a person to look at.
    aside = fresh.retrieve(data["set_aside"]["point_ids"])
    assert aside and all(q.payload["path"] == SHOES for q in aside)
    assert result.assigned == 0 and result.set_aside_kept == len(aside)
    assert result.kept_at_category == len(dropped) + len(aside) == fresh.count({"path": SHOES})
    # drops and the set-aside products are respected by later assignments too
    assert assign_to_nearest(fresh, "Shoes", text_encoder=TinyText()) == {}
    # The rest of the store is untouched.
    assert len(others) == 40
    assert {p.id: p.payload["path"] for p in fresh.scroll() if p.payload["level_2"] != SHOES} == others


def test_apply_keeps_only_the_set_aside_products_at_the_category(built, fresh) -> None:
    _, report, root = built
    result = apply_proposal(fresh, root / "out" / "proposal.json", text_encoder=TinyText())
    assert result.updated == report.n_clustered and result.assigned == 0
    assert result.set_aside_kept == report.n_set_aside == fresh.count({"path": SHOES}) > 0
    proposal = Proposal.load(root / "out" / "proposal.json")
    assert len(proposal.set_aside["titles"]) == report.n_set_aside  # each with its title, to judge it
    assert all(len(c.titles) == c.size == len(c.product_ids) for c in proposal.clusters)


def test_apply_without_edits_and_set_aside_assigned_leaves_no_product_at_the_category(built, fresh) -> None:
    _, report, root = built
    data = Proposal.load(root / "out" / "proposal.json")
    data.set_aside["assign_nearest"] = True
    result = apply_proposal(fresh, data, text_encoder=TinyText())
    assert result.updated == report.n_clustered and result.assigned == report.n_set_aside
    assert fresh.count({"path": SHOES}) == 0
    tax = Taxonomy.from_dict(fresh.get_meta()["taxonomy"])
    assert ("Apparel & Accessories", "Shoes") not in tax.terminal  # the model must now go down a level
    assert len(tax.children(("Apparel & Accessories", "Shoes"))) == 4
    leaves = {c.id for c in report.clusters if not any(d.parent == c.id for d in report.clusters)}
    assert sum(result.path_counts.values()) == 300 and len(result.path_counts) == len(leaves)


def test_reapplying_replaces_the_earlier_sub_categories(built, fresh) -> None:
    _, report, root = built
    first = apply_proposal(fresh, root / "out" / "proposal.json", text_encoder=TinyText())
    old = {p for p in first.added_paths}
    data, by = _edited(built)
    second = apply_proposal(fresh, data, text_encoder=TinyText())
    tax = Taxonomy.from_dict(fresh.get_meta()["taxonomy"])
    now = {" > ".join(p) for p in tax.paths if len(p) > 2 and p[:2] == ("Apparel & Accessories", "Shoes")}
    used = {p.payload[f"level_{k}"] for p in fresh.scroll({"level_2": SHOES}) for k in range(3, p.payload["depth"] + 1)}
    assert now == used  # no sub-category without products is left in the tree
    assert SHOES + " > " + by["1"]["proposed_name"] in set(second.removed_paths) & old  # the renamed one went
    assert len(fresh.get_meta()["recategorizations"]) == 2


def test_products_ingested_later_go_to_the_nearest_cluster(built, fresh) -> None:
    _, report, root = built
    apply_proposal(fresh, root / "out" / "proposal.json", text_encoder=TinyText())
    [donor] = fresh.retrieve([report.ids[0]], with_vectors=True)
    late = PointData(id=point_id("myntra", "late-1"), vectors=donor.vectors,
                     payload={**donor.payload, "product_id": "late-1", "path": SHOES, "levels": SHOES.split(" > "),
                              "depth": 2, "level_3": None, "level_4": None})
    fresh.upsert([late])
    placed = assign_to_nearest(fresh, "Shoes", text_encoder=TinyText())
    assert list(placed) == [late.id]
    [got] = fresh.retrieve([late.id])
    leaves = {SHOES + " > " + " > ".join(p) for p in Proposal.load(root / "out" / "proposal.json").member_paths().values()}
    assert got.payload["path"] in leaves and got.payload["depth"] >= 3
    assert got.payload["level_3"] == " > ".join(got.payload["levels"][:3])


def test_label_fields_write_every_prefix_and_clear_deeper_ones() -> None:
    from hiercat.recluster.apply import label_fields

    assert label_fields(("A", "Shoes", "Boots")) == {"path": "A > Shoes > Boots", "levels": ["A", "Shoes", "Boots"],
                                                     "depth": 3, "level_1": "A", "level_2": "A > Shoes",
                                                     "level_3": "A > Shoes > Boots"}
    # Moved back up to Shoes: level_3 and level_4 must not keep a stale prefix that filters would match.
    up = label_fields(("A", "Shoes"), clear_from=4)
    assert up["depth"] == 2 and up["level_2"] == "A > Shoes" and up["level_3"] is None and up["level_4"] is None
