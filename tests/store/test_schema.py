"""store.schema: the store's typed, versioned record, migrated from version 1 and refused when newer."""

from __future__ import annotations

import pytest

from hiercat.store.schema import (
    SCHEMA_VERSION,
    PresetRecord,
    StoreRecordError,
    StoreSchema,
    VectorSpec,
    read_schema,
    write_schema,
)
from hiercat.taxonomy import Taxonomy

V1 = {  # what runs/store2 records: written before versions and roles
    "preset": {"name": "minilm", "options": {"lex_features": 262144, "minilm_path": None},
               "sparse": ["lex_title", "lex_description"],
               "vectors": {"minilm_brand": 384, "minilm_description": 384, "minilm_title": 384,
                           "minilm_words": 384, "simclr_image": 512}},
    "taxonomy": {"paths": ["A", "A > B"], "terminal": ["A > B"]},
    "taxonomy_sources": ["google-product-taxonomy-2021-09-21.txt"],
}


def test_a_version_1_record_is_migrated_with_roles() -> None:
    schema = StoreSchema.from_meta(V1)
    rec = schema.require_preset()
    assert schema.version == SCHEMA_VERSION
    assert rec.spec("simclr_image") == VectorSpec("simclr_image", "image", "image", 512)
    assert rec.spec("lex_description") == VectorSpec("lex_description", "description", "lexical", None)
    assert rec.names(field="words", role="text") == ["minilm_words"]
    assert rec.names(role="lexical") == ["lex_title", "lex_description"]
    assert rec.dense() == V1["preset"]["vectors"] and rec.sparse_names() == V1["preset"]["sparse"]
    assert schema.taxonomy.paths == Taxonomy.from_dict(V1["taxonomy"]).paths
    meta = schema.to_meta()
    assert meta["schema_version"] == SCHEMA_VERSION
    assert meta["preset"]["fields"]["minilm_brand"] == {"field": "brand", "role": "text"}
    assert meta["preset"]["vectors"] == V1["preset"]["vectors"]  # the layout older readers know is kept
    assert StoreSchema.from_meta(meta).to_meta() == meta


def test_a_newer_store_is_refused_and_a_damaged_record_named() -> None:
    with pytest.raises(StoreRecordError, match="written by a newer hiercat .*store schema 99"):
        StoreSchema.from_meta({"schema_version": 99})
    bad = {**V1, "schema_version": 2, "preset": {**V1["preset"], "fields": {"minilm_title": {"field": "x"}}}}
    with pytest.raises(StoreRecordError, match="vector 'minilm_brand' has no valid field and role"):
        StoreSchema.from_meta(bad)
    with pytest.raises(StoreRecordError, match="the store is empty: run `hiercat ingest` first"):
        StoreSchema.from_meta({}).require_preset()
    with pytest.raises(ValueError):  # callers that catch ValueError keep working
        StoreSchema.from_meta({"schema_version": 99})


def test_unknown_keys_survive_a_round_trip_and_the_store_persists_it(tmp_path) -> None:
    from hiercat.store import EdgeStore

    schema = StoreSchema.from_meta({**V1, "platform_default": "hm"})
    rec = PresetRecord("minilm", {}, (VectorSpec("minilm_title", "title", "text", 4),))
    schema.preset = rec
    with EdgeStore(tmp_path / "s") as store:
        store.ensure_schema({"minilm_title": 4})
        write_schema(store, schema)
        back = read_schema(store)
    assert back.extra == {"platform_default": "hm"}
    assert back.preset == rec and back.to_meta() == schema.to_meta()


def test_the_preset_declares_each_vectors_field_and_role() -> None:
    from hiercat.encoders import load_preset

    rec = load_preset("minilm").record()
    assert [(v.name, v.field, v.role) for v in rec.vectors] == [
        ("minilm_title", "title", "text"), ("minilm_brand", "brand", "text"), ("minilm_words", "words", "text"),
        ("minilm_description", "description", "text"), ("simclr_image", "image", "image"),
        ("lex_title", "title", "lexical"), ("lex_description", "description", "lexical")]
    assert StoreSchema.from_meta({"preset": rec.to_meta()}).preset == rec
