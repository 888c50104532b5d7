"""The proposal file: proposed sub-categories a user may edit, and how edits turn into label paths.

Format (`proposal.json`, written by `recluster`, read by `apply_proposal`)::

    {
      "format": "hiercat-recluster-proposal/1",
      "category": "Apparel & Accessories > Shoes",          # the node that gets sub-categories
      "params": {"vectors": "fused", "weights": {...}, "method": "agglomerative", ...},
      "clusters": [
        {"id": "3", "level": 1, "parent": null, "name": "Flip Flops", "proposed_name": "Flip Flops",
         "top_terms": ["flip flops", ...], "size": 812, "platforms": {"myntra": 800, "hm": 12},
         "point_ids": [...], "product_ids": [...], "member_platforms": [...], "titles": [...]},
        {"id": "3.1", "level": 2, "parent": "3", "name": "Slides", ...},
        ...
      ],
      "set_aside": {"point_ids": [...], "product_ids": [...], "titles": [...], "reasons": [...],
                    "assign_nearest": false}
    }

`titles` lists each member's title beside its product id, so the file can be edited without
looking products up. The products set aside (odd shots: often a product filed under the wrong
category, such as a dress among shoes) stay at the category on --apply; set
`"assign_nearest": true` to give them the nearest new sub-category instead.

Every cluster lists all its members (a level-1 cluster includes its sub-clusters' members). A level-1
group that was not split has no level-2 entries. Edits a user may make, per cluster:

* `"name": "Sneakers"` - rename (the new sub-category's name; it must not contain ' > ').
* `"merge_into": "5"` - move the members into cluster 5 of the same level; a level-1 cluster's
  sub-clusters go along under cluster 5 (same names merge). Chains (a -> b -> c) are followed.
* `"drop": true` - do not create this sub-category nor any below it: its members keep the parent's
  category (the category itself for a level-1 cluster) and are never auto-assigned elsewhere.

Deleting a cluster entry altogether is the same as dropping only its own level: members fall back
to the deepest cluster that still lists them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from ..taxonomy import SEP, split_path

FORMAT = "hiercat-recluster-proposal/1"


class ProposalError(ValueError):
    """A proposal file that cannot be applied; the message names the cluster and the problem."""


@dataclass
class ProposedCluster:
    """One proposed sub-category with its members and any user edits."""

    id: str
    level: int
    parent: str | None
    name: str
    size: int
    point_ids: list[str]
    product_ids: list[str] = field(default_factory=list)
    member_platforms: list[str] = field(default_factory=list)
    titles: list[str] = field(default_factory=list)  # beside product_ids, for a person editing the file
    proposed_name: str = ""
    top_terms: list[str] = field(default_factory=list)
    platforms: dict[str, int] = field(default_factory=dict)
    reference: dict[str, Any] | None = None
    merge_into: str | None = None
    drop: bool = False

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form; edit keys only when set, so the file stays readable."""
        d = asdict(self)
        if d["merge_into"] is None:
            d.pop("merge_into")
        if not d["drop"]:
            d.pop("drop")
        if d["reference"] is None:
            d.pop("reference")
        return d


@dataclass
class Proposal:
    """A category's proposed sub-categories, the products set aside, and how they were found."""

    category: str
    clusters: list[ProposedCluster]
    params: dict[str, Any] = field(default_factory=dict)
    set_aside: dict[str, Any] = field(default_factory=lambda: {"point_ids": [], "product_ids": [], "reason": ""})
    created: str = ""

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (format tag first)."""
        return {"format": FORMAT, "category": self.category, "created": self.created, "params": self.params,
                "clusters": [c.to_dict() for c in self.clusters], "set_aside": self.set_aside}

    def save(self, file: str | Path) -> Path:
        """Write the proposal as indented JSON."""
        file = Path(file)
        file.parent.mkdir(parents=True, exist_ok=True)
        file.write_text(json.dumps(self.to_dict(), indent=1, ensure_ascii=False), encoding="utf-8")
        return file

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Proposal:
        """Parse and validate a proposal (edited or not)."""
        if data.get("format") != FORMAT:
            raise ProposalError(f"not a recluster proposal (format {data.get('format')!r}, expected {FORMAT!r})")
        known = set(ProposedCluster.__dataclass_fields__)
        clusters = []
        for raw in data.get("clusters", []):
            if "id" not in raw or "point_ids" not in raw:
                raise ProposalError(f"cluster entry without id or point_ids: {str(raw)[:80]}")
            c = ProposedCluster(**{k: v for k, v in raw.items() if k in known})
            c.id = str(c.id)
            c.parent = None if c.parent is None else str(c.parent)
            c.merge_into = None if c.merge_into is None else str(c.merge_into)
            c.drop = bool(c.drop)
            c.level = int(c.level)
            clusters.append(c)
        p = cls(category=str(data["category"]), clusters=clusters, params=dict(data.get("params", {})),
                set_aside=dict(data.get("set_aside") or {}), created=str(data.get("created", "")))
        p.validate()
        return p

    @classmethod
    def load(cls, file: str | Path) -> Proposal:
        """Read a proposal JSON file."""
        try:
            data = json.loads(Path(file).read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise ProposalError(f"{file}: invalid JSON at line {exc.lineno}: {exc.msg}") from exc
        return cls.from_dict(data)

    # ---- edits ------------------------------------------------------------------------------
    def by_id(self) -> dict[str, ProposedCluster]:
        """Clusters by id."""
        return {c.id: c for c in self.clusters}

    def validate(self) -> None:
        """Unique ids, existing parents and merge targets of the same level, usable names, no merge cycles."""
        ids = self.by_id()
        if len(ids) != len(self.clusters):
            raise ProposalError("cluster ids must be unique")
        for c in self.clusters:
            if c.parent is not None and c.parent not in ids:
                raise ProposalError(f"cluster {c.id}: parent {c.parent!r} does not exist")
            if not c.drop and c.merge_into is None:
                name = str(c.name).strip()
                if not name or SEP.strip() in name or split_path(name) != (name,):
                    raise ProposalError(f"cluster {c.id}: name {c.name!r} must be non-empty and without '>'")
            if c.merge_into is not None:
                target = ids.get(c.merge_into)
                if target is None:
                    raise ProposalError(f"cluster {c.id}: merge_into {c.merge_into!r} does not exist")
                if target.level != c.level:
                    raise ProposalError(f"cluster {c.id} (level {c.level}) cannot merge into {target.id} "
                                        f"(level {target.level}); merge into a cluster of the same level")
        for c in self.clusters:
            self.resolve(c.id)

    def resolve(self, cid: str) -> ProposedCluster:
        """The cluster that `cid` ends up as after following merge_into links."""
        ids = self.by_id()
        seen = [cid]
        c = ids[cid]
        while c.merge_into is not None:
            if c.merge_into in seen:
                raise ProposalError(f"merge_into cycle: {' -> '.join(seen + [c.merge_into])}")
            seen.append(c.merge_into)
            c = ids[c.merge_into]
        return c

    def node(self, cid: str) -> tuple[tuple[str, ...], bool]:
        """Sub-path (below the category) that members of `cid` get, and whether sub-clusters may extend it."""
        c = self.resolve(cid)
        base, open_ = self.node(c.parent) if c.parent is not None else ((), True)
        if not open_ or c.drop:
            return base, False
        return base + (str(c.name).strip(),), True

    def member_paths(self) -> dict[str, tuple[str, ...]]:
        """Point id -> sub-path below the category, taken from the deepest cluster listing the point."""
        deepest: dict[str, ProposedCluster] = {}
        for c in sorted(self.clusters, key=lambda c: c.level):
            for pid in c.point_ids:
                deepest[str(pid)] = c
        return {pid: self.node(c.id)[0] for pid, c in deepest.items()}
