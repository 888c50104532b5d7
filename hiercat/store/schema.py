"""What a store records about itself: its encoders, each vector's field and role, its taxonomy, its label fields.

The store's metadata is read and written here and nowhere else (`read_schema`, `write_schema`). It
is versioned: a store written before versions existed (version 1) is migrated on read, and a store
written by a newer hiercat is refused with a message saying so. The metadata keeps the layout older
readers know (`preset.vectors`, `preset.sparse`, `taxonomy`), so a store stays readable both ways
within a version.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal, cast

from ..taxonomy import Taxonomy
from .base import VectorStore
from .errors import SchemaError

SCHEMA_VERSION = 2

Role = Literal["text", "image", "lexical"]
"""What made a vector: a dense text encoder, an image encoder, or hashed n-grams (sparse)."""
FIELDS = ("title", "brand", "words", "description", "image")
"""The product field a vector encodes; `words` is the title's product words (`hiercat.product_words`)."""
LABEL_FIELDS = ("path", "native_category")
"""Payload fields a model can learn: the target-taxonomy path, or the shop's own category."""


class StoreRecordError(SchemaError, ValueError):
    """The store's record is missing (nothing ingested yet), written by a newer hiercat, or damaged."""


@dataclass(frozen=True)
class VectorSpec:
    """One named vector of the store: the field it encodes, the role of its encoder, its size (None if sparse)."""

    name: str
    field: str
    role: Role
    dim: int | None = None

    @property
    def sparse(self) -> bool:
        """Hashed n-gram vectors are sparse; every other vector is dense."""
        return self.role == "lexical"


@dataclass(frozen=True)
class PresetRecord:
    """The encoder preset a store was ingested with: its name, resolved options and the vectors it makes."""

    name: str
    options: Mapping[str, Any]
    vectors: tuple[VectorSpec, ...]

    def dense(self) -> dict[str, int]:
        """Dense vector names -> dimensions, in the preset's order."""
        return {v.name: int(v.dim or 0) for v in self.vectors if not v.sparse}

    def sparse_names(self) -> list[str]:
        """Sparse (lexical) vector names."""
        return [v.name for v in self.vectors if v.sparse]

    def names(self, field: str | Iterable[str] | None = None, role: Role | Iterable[Role] | None = None) -> list[str]:
        """Vector names, optionally of some fields and roles (e.g. field="description", role="text")."""
        fields = {field} if isinstance(field, str) else set(field) if field is not None else None
        roles = {role} if isinstance(role, str) else set(role) if role is not None else None
        return [v.name for v in self.vectors
                if (fields is None or v.field in fields) and (roles is None or v.role in roles)]

    def spec(self, name: str) -> VectorSpec:
        """The spec of one vector; KeyError naming the store's vectors otherwise."""
        for v in self.vectors:
            if v.name == name:
                return v
        raise KeyError(f"the store has no vector {name!r}; it has {', '.join(v.name for v in self.vectors)}")

    def to_meta(self) -> dict[str, Any]:
        """The `preset` entry of the store's metadata."""
        return {"name": self.name, "options": dict(self.options), "vectors": self.dense(),
                "sparse": self.sparse_names(),
                "fields": {v.name: {"field": v.field, "role": v.role} for v in self.vectors}}

    @classmethod
    def from_meta(cls, record: Mapping[str, Any]) -> PresetRecord:
        """Read a `preset` entry; a version-1 entry (no `fields`) has its roles restored by `_legacy_fields`."""
        dense = dict(record.get("vectors") or {})
        sparse = list(record.get("sparse") or [])
        fields = dict(record.get("fields") or {}) or _legacy_fields(list(dense), sparse)
        specs = []
        for name in [*dense, *sparse]:
            entry = fields.get(name)
            if not isinstance(entry, Mapping) or entry.get("field") not in FIELDS or \
                    entry.get("role") not in ("text", "image", "lexical"):
                raise StoreRecordError(f"the store's record of vector {name!r} has no valid field and role ({entry!r}); "
                                  "the store's metadata is damaged: re-ingest into a new store")
            role = cast(Role, entry["role"])  # checked against the three roles above
            specs.append(VectorSpec(name, str(entry["field"]), role, int(dense[name]) if name in dense else None))
        return cls(str(record.get("name", "")), dict(record.get("options") or {}), tuple(specs))


def _legacy_fields(dense: Sequence[str], sparse: Sequence[str]) -> dict[str, dict[str, str]]:
    """Fields and roles of a version-1 store, whose vectors were named `{encoder}_{field}` by the one naming rule.

    The only place a vector's name is read for its meaning, and only to migrate a store written
    before the store recorded roles.
    """
    out: dict[str, dict[str, str]] = {}
    for name in dense:
        fld = name.rsplit("_", 1)[-1]
        out[name] = {"field": fld, "role": "image" if fld == "image" else "text"}
    for name in sparse:
        out[name] = {"field": name.rsplit("_", 1)[-1], "role": "lexical"}
    return out


@dataclass
class StoreSchema:
    """Everything a store records besides its points.

    preset: the encoders and their vectors (None for a store nothing was ingested into).
    taxonomy: the label paths ingested (target taxonomy paths plus recategorized sub-categories).
    taxonomy_sources: where those paths came from (taxonomy files, "native categories").
    recategorizations: one record per adopted recluster proposal (`hiercat.recluster.apply`).
    default_platform: the platform of rows that name none (the first `ingest --platform`).
    sources: each catalog file ingested and how it was read (`hiercat check --repair` re-reads them).
    encoder_fingerprint: the preset's model names and weight-file hashes (`hiercat.encoders.fingerprint`).
    point_count: the number of points after the last ingest batch (`hiercat.store.health` checks it).
    """

    preset: PresetRecord | None = None
    taxonomy: Taxonomy | None = None
    taxonomy_sources: list[str] = field(default_factory=list)
    recategorizations: list[dict[str, Any]] = field(default_factory=list)
    label_fields: tuple[str, ...] = LABEL_FIELDS
    default_platform: str | None = None
    sources: list[dict[str, Any]] = field(default_factory=list)
    encoder_fingerprint: dict[str, Any] | None = None
    point_count: int | None = None
    version: int = SCHEMA_VERSION
    extra: dict[str, Any] = field(default_factory=dict)  # keys a newer minor writer added; kept as they are

    @property
    def empty(self) -> bool:
        """True for a store nothing was ingested into yet."""
        return self.preset is None

    def require_preset(self) -> PresetRecord:
        """The preset, or a SchemaError telling to ingest first."""
        if self.preset is None:
            raise StoreRecordError("the store is empty: run `hiercat ingest` first")
        return self.preset

    def with_taxonomy(self, taxonomy: Taxonomy) -> StoreSchema:
        """A copy with another taxonomy."""
        return replace(self, taxonomy=taxonomy)

    def to_meta(self) -> dict[str, Any]:
        """The metadata dict stores persist."""
        meta: dict[str, Any] = dict(self.extra)
        meta["schema_version"] = self.version
        if self.preset is not None:
            meta["preset"] = self.preset.to_meta()
        if self.taxonomy is not None:
            meta["taxonomy"] = self.taxonomy.to_dict()
        if self.taxonomy_sources:
            meta["taxonomy_sources"] = sorted(set(self.taxonomy_sources))
        if self.recategorizations:
            meta["recategorizations"] = [dict(r) for r in self.recategorizations]
        meta["label_fields"] = list(self.label_fields)
        if self.default_platform:
            meta["default_platform"] = self.default_platform
        if self.sources:
            meta["sources"] = [dict(x) for x in self.sources]
        if self.encoder_fingerprint:
            meta["encoder_fingerprint"] = dict(self.encoder_fingerprint)
        if self.point_count is not None:
            meta["point_count"] = int(self.point_count)
        return meta

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> StoreSchema:
        """Read (and migrate) a metadata dict; SchemaError for a newer version or a damaged record."""
        version = int(meta.get("schema_version", 1))
        if version > SCHEMA_VERSION:
            raise StoreRecordError(f"this store was written by a newer hiercat (store schema {version}; this hiercat "
                              f"reads up to {SCHEMA_VERSION}): upgrade hiercat (pip install -U hiercat)")
        known = {"schema_version", "preset", "taxonomy", "taxonomy_sources", "recategorizations", "label_fields",
                 "default_platform", "sources", "encoder_fingerprint", "point_count"}
        record = meta.get("preset")
        try:
            taxonomy = Taxonomy.from_dict(meta["taxonomy"]) if meta.get("taxonomy") else None
        except (KeyError, TypeError, ValueError) as exc:
            raise StoreRecordError(f"the store's recorded taxonomy cannot be read ({exc}): the metadata is damaged") from exc
        return cls(
            preset=PresetRecord.from_meta(record) if record else None,
            taxonomy=taxonomy,
            taxonomy_sources=list(meta.get("taxonomy_sources") or []),
            recategorizations=[dict(r) for r in meta.get("recategorizations") or []],
            label_fields=tuple(meta.get("label_fields") or LABEL_FIELDS),
            default_platform=meta.get("default_platform") or None,
            sources=[dict(x) for x in meta.get("sources") or []],
            encoder_fingerprint=dict(meta["encoder_fingerprint"]) if meta.get("encoder_fingerprint") else None,
            point_count=int(meta["point_count"]) if meta.get("point_count") is not None else None,
            version=SCHEMA_VERSION,  # a version-1 store is migrated in memory and written back as the current one
            extra={k: v for k, v in meta.items() if k not in known},
        )


def read_schema(store: VectorStore) -> StoreSchema:
    """The schema a store records (migrated from an older version when needed)."""
    return StoreSchema.from_meta(store.get_meta())


def write_schema(store: VectorStore, schema: StoreSchema) -> None:
    """Persist a schema as the store's metadata."""
    store.set_meta(schema.to_meta())
