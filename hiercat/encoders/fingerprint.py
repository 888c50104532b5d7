"""An encoder fingerprint: which preset, model names and weight files (by SHA-256) made a store's vectors.

Vector names and sizes alone do not bind a model to its encoders: two SimCLR weight files make
vectors of the same name and size that mean different things. Ingest records the fingerprint in the
store's metadata (`encoder_fingerprint`); training copies it into the model's sidecar; classify and
search refuse a model or a store whose weight files are not the ones recorded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

META_KEY = "encoder_fingerprint"
# Options that choose how, not what, is computed: they never change a vector.
_RUNTIME = {"device", "batch_size", "cache_size", "store_path", "vit_pca_fit"}
_HASHES: dict[tuple[str, int, int], str] = {}


class EncoderMismatchError(ValueError):
    """A model or a store whose encoders (weight files, model names) differ from the ones recorded."""


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file, cached per (path, size, mtime) within the process."""
    p = Path(path)
    st = p.stat()
    key = (str(p.resolve()), st.st_size, st.st_mtime_ns)
    if key not in _HASHES:
        h = hashlib.sha256()
        with open(p, "rb") as fh:
            for block in iter(lambda: fh.read(1 << 20), b""):
                h.update(block)
        _HASHES[key] = h.hexdigest()
    return _HASHES[key]


def _default_files(name: str, options: Mapping[str, Any]) -> dict[str, str]:
    """Files a preset reads when an option is left at its default (the shipped SimCLR weights)."""
    out = {}
    if name in ("minilm", "simclr") and not options.get("simclr_weights"):
        from .simclr import default_weights_path

        out["simclr_weights"] = str(default_weights_path())
    return out


def encoder_fingerprint(record: Mapping[str, Any]) -> dict[str, Any]:
    """{preset, options, files: {option: sha256}} of a store's `preset` entry (name, options)."""
    name = str(record.get("name", ""))
    options = {k: v for k, v in dict(record.get("options") or {}).items() if k not in _RUNTIME}
    files: dict[str, str] = {}
    for key, value in {**options, **_default_files(name, options)}.items():
        if isinstance(value, str) and value and Path(value).is_file():
            files[key] = file_sha256(value)
    return {"preset": name, "options": {k: v for k, v in options.items() if v is not None}, "files": files}


def differences(a: Mapping[str, Any], b: Mapping[str, Any]) -> list[str]:
    """What differs between two fingerprints, in words ("simclr_weights: sha 1a2b… vs 3c4d…")."""
    out = []
    if a.get("preset") != b.get("preset"):
        out.append(f"preset {a.get('preset')!r} vs {b.get('preset')!r}")
    fa, fb = dict(a.get("files") or {}), dict(b.get("files") or {})
    for key in sorted(set(fa) | set(fb)):
        if fa.get(key) != fb.get(key):
            out.append(f"{key}: sha256 {str(fa.get(key, '-'))[:12]} vs {str(fb.get(key, '-'))[:12]}")
    oa, ob = dict(a.get("options") or {}), dict(b.get("options") or {})
    for key in sorted(set(oa) | set(ob)):
        if key not in fa and key not in fb and oa.get(key) != ob.get(key):
            out.append(f"{key}: {oa.get(key)!r} vs {ob.get(key)!r}")
    return out


def check_model_encoders(sidecar: Mapping[str, Any], store_meta: Mapping[str, Any], model_path: Any) -> None:
    """Refuse a model trained on vectors of other encoders than the store's (by fingerprint, else by options)."""
    store_record = store_meta.get("preset") or {}
    mine = sidecar.get(META_KEY) or (encoder_fingerprint(sidecar["preset"]) | {"files": {}}
                                     if isinstance(sidecar.get("preset"), Mapping) else None)
    theirs = store_meta.get(META_KEY) or (encoder_fingerprint(store_record) | {"files": {}} if store_record else None)
    if not mine or not theirs:
        return
    if not (sidecar.get(META_KEY) and store_meta.get(META_KEY)):
        # an older model or store without file hashes: compare what both record
        mine, theirs = {**mine, "files": {}}, {**theirs, "files": {}}
    diff = differences(mine, theirs)
    if diff:
        raise EncoderMismatchError(
            f"the model at {model_path} was trained on vectors of other encoders than this store's "
            f"({'; '.join(diff)}): classify with the store it was trained on, or retrain it on this one (hiercat train)")


def check_store_files(store_meta: Mapping[str, Any]) -> None:
    """Refuse to embed for a store when a weight file it recorded now holds other bytes."""
    recorded = store_meta.get(META_KEY)
    record = store_meta.get("preset")
    if not recorded or not record:
        return
    now = encoder_fingerprint(record)
    changed = [k for k, sha in (recorded.get("files") or {}).items() if now["files"].get(k) not in (None, sha)]
    if changed:
        opts = {**dict(record.get("options") or {}), **_default_files(str(record.get("name")), record.get("options") or {})}
        raise EncoderMismatchError(
            "; ".join(f"{opts.get(k)} ({k}) changed since this store was built (sha256 "
                      f"{recorded['files'][k][:12]} then, {now['files'][k][:12]} now)" for k in changed)
            + ": restore the original file, or re-ingest into a new store")


def bind(store: Any) -> None:
    """Record the fingerprint of the store's preset in its metadata, or refuse files that changed since."""
    from ..store.schema import read_schema, write_schema

    schema = read_schema(store)
    if schema.preset is None:
        return
    if schema.encoder_fingerprint:
        check_store_files(schema.to_meta())
        return
    schema.encoder_fingerprint = encoder_fingerprint(schema.preset.to_meta())
    write_schema(store, schema)
