"""Saving and loading classifiers as safetensors weights plus a JSON sidecar (never pickle)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from ..files import user_mode
from .ensemble import ClassifierModel, EnsembleClassifier
from .hierarchy import HierarchicalClassifier
from .inputs import ModalitySpec

FORMAT = "hiercat-hierarchical-classifier"
# Version 2 adds ensembles ("members"); a single classifier is still written as version 1 so older readers load it.
VERSION = 2
WEIGHTS, SIDECAR = "model.safetensors", "model.json"
_RESERVED = ("format", "version", "modalities", "taxonomy", "fusion", "hparams", "members")


class ModelMismatchError(ValueError):
    """A saved model whose input vectors (names, dimensions) differ from what is available."""


class ModelFormatError(ValueError):
    """A saved model whose files are damaged: unreadable weights, a failed checksum, a sidecar field missing or ill-typed."""


def _sha256(path: Path) -> str:
    import hashlib

    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# Sidecar fields every model needs, and their JSON types.
_FIELDS: dict[str, type | tuple[type, ...]] = {"modalities": list, "taxonomy": dict, "fusion": str}


def _check_sidecar(meta: Any, meta_file: Path) -> None:
    """Every field load_model reads, present and of its type; ModelFormatError naming the file and field."""
    if not isinstance(meta, dict):
        raise ModelFormatError(f"{meta_file} holds a JSON {type(meta).__name__}, not a model sidecar object")
    for key, typ in _FIELDS.items():
        if key not in meta:
            raise ModelFormatError(f"{meta_file}: field {key!r} is missing; the sidecar is damaged: retrain (hiercat train)")
        if not isinstance(meta[key], typ):
            raise ModelFormatError(f"{meta_file}: field {key!r} is a {type(meta[key]).__name__}, expected a "
                                   f"{getattr(typ, '__name__', typ)}; the sidecar is damaged: retrain (hiercat train)")
    for i, d in enumerate(meta["modalities"]):
        if not (isinstance(d, dict) and isinstance(d.get("name"), str) and isinstance(d.get("kind"), str)
                and isinstance(d.get("dim"), int)):
            raise ModelFormatError(f"{meta_file}: modalities[{i}] is not {{name, kind, dim}} ({d!r})")
    if not isinstance(meta.get("hparams", {}), dict) or not isinstance(meta.get("members") or [], list):
        raise ModelFormatError(f"{meta_file}: field 'hparams' / 'members' is ill-typed")


def _files(path: str | Path) -> tuple[Path, Path]:
    """(weights, sidecar) for a directory or a '.safetensors' / '.json' file path."""
    p = Path(path)
    if p.suffix in (".safetensors", ".json"):
        return p.with_suffix(".safetensors"), p.with_suffix(".json")
    return p / WEIGHTS, p / SIDECAR


def _split_config(config: dict[str, Any]) -> tuple[list, dict, dict[str, Any]]:
    """(modalities, taxonomy, {fusion, hparams}) of one classifier's config."""
    config = dict(config)
    modalities, taxonomy, fusion = config.pop("modalities"), config.pop("taxonomy"), config.pop("fusion")
    return modalities, taxonomy, {"fusion": fusion, "hparams": config}


def _describe(model: ClassifierModel) -> dict[str, Any]:
    """The sidecar keys that rebuild the module: one classifier's, or the shared inputs plus each member's."""
    if isinstance(model, EnsembleClassifier):
        parts = [_split_config(c) for c in model.config()["members"]]
        members = [p[2] for p in parts]
        fusions = list(dict.fromkeys(m["fusion"] for m in members))
        return {"format": FORMAT, "version": 2, "modalities": parts[0][0], "taxonomy": parts[0][1],
                "fusion": "+".join(fusions), "hparams": {}, "members": members}
    modalities, taxonomy, rest = _split_config(model.config())
    return {"format": FORMAT, "version": 1, "modalities": modalities, "taxonomy": taxonomy, **rest}


def save_model(model: ClassifierModel, path: str | Path, sidecar: Mapping[str, Any] | None = None) -> Path:
    """Write weights (safetensors) and a JSON sidecar (taxonomy, fusion, modalities, hyper-parameters, ensemble members + `sidecar` keys); returns the weights file."""
    weights, meta_file = _files(path)
    weights.parent.mkdir(parents=True, exist_ok=True)
    extra = dict(sidecar or {})
    clash = [k for k in _RESERVED if k in extra]
    if clash:
        raise ValueError(f"sidecar keys {clash} are written by save_model itself")
    meta = {**_describe(model), **extra}
    # safetensors refuses shared or strided storage, so save independent contiguous copies.
    state = {k: v.detach().cpu().contiguous().clone() for k, v in model.state_dict().items()}
    save_file(state, str(weights), metadata={"format": "pt", "hiercat": FORMAT})
    user_mode(weights)  # safetensors writes 0600
    # load_model verifies it: safetensors checks its header, not the bytes of the weights.
    meta["weights_sha256"] = _sha256(weights)
    meta_file.write_text(json.dumps(meta, indent=1, default=_json_default), encoding="utf-8")
    return weights


def _json_default(obj: Any) -> Any:
    if hasattr(obj, "tolist"):
        return obj.tolist()
    if hasattr(obj, "item"):
        return obj.item()
    raise TypeError(f"cannot write {type(obj).__name__} to the model sidecar")


def read_sidecar(path: str | Path) -> dict[str, Any]:
    """The JSON sidecar of a saved model (directory or file path)."""
    _, meta_file = _files(path)
    if not meta_file.exists():
        raise FileNotFoundError(f"no model sidecar at {meta_file}")
    try:
        meta = json.loads(meta_file.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFormatError(f"{meta_file} is not valid JSON ({exc}); the sidecar is damaged: retrain (hiercat train)"
                               ) from None
    if not isinstance(meta, dict):
        raise ModelFormatError(f"{meta_file} holds a JSON {type(meta).__name__}, not a model sidecar object")
    if meta.get("format") != FORMAT:
        raise ValueError(f"{meta_file} is not a hiercat classifier sidecar (format {meta.get('format')!r})")
    if int(meta.get("version", 0)) > VERSION:
        raise ValueError(f"{meta_file} has version {meta['version']}; this hiercat reads up to {VERSION}")
    return meta


def check_vectors(specs: Sequence[ModalitySpec], expected_vectors: Mapping[str, int] | None,
                  expected_sparse: Sequence[str] | None = None) -> None:
    """Refuse when the model's dense vectors (or sparse names) are not available with the same dimension."""
    problems = []
    if expected_vectors is not None:
        dense = [s for s in specs if s.kind == "dense"]
        wrong = [s for s in dense if expected_vectors.get(s.name) != s.dim]
        if wrong:
            used = {s.name for s in dense if s not in wrong}
            others = [f"{n} ({d})" for n, d in expected_vectors.items() if n not in used]
            problems.append(f"model expects {', '.join(f'{s.name} ({s.dim})' for s in wrong)} but the store has "
                            f"{', '.join(others) if others else 'no other dense vectors'}")
    if expected_sparse is not None:
        missing = [s.name for s in specs if s.kind == "sparse" and s.name not in set(expected_sparse)]
        if missing:
            problems.append(f"model expects sparse vector(s) {', '.join(missing)} but the store has "
                            f"{', '.join(expected_sparse) if expected_sparse else 'none'}")
    if problems:
        raise ModelMismatchError("; ".join(problems))


def load_model(path: str | Path, expected_vectors: Mapping[str, int] | None = None,
               expected_sparse: Sequence[str] | None = None,
               device: str | torch.device | None = None) -> tuple[ClassifierModel, dict[str, Any]]:
    """Rebuild the module (a classifier or an ensemble) from the sidecar and load its safetensors weights; refuse mismatched vectors by name."""
    weights, meta_file = _files(path)
    meta = read_sidecar(path)
    _check_sidecar(meta, meta_file)
    if not weights.is_file():
        raise ModelFormatError(f"{weights}: the weights file is missing beside {meta_file.name}: retrain (hiercat train)")
    expected_sha = meta.get("weights_sha256")
    if expected_sha and _sha256(weights) != expected_sha:
        raise ModelFormatError(f"{weights}: checksum mismatch (the file changed since it was saved: damaged or "
                               "edited); restore it or retrain (hiercat train)")
    specs = [ModalitySpec.from_dict(d) for d in meta["modalities"]]
    check_vectors(specs, expected_vectors, expected_sparse)
    shared = {"modalities": meta["modalities"], "taxonomy": meta["taxonomy"]}
    try:
        if meta.get("members"):
            model: ClassifierModel = EnsembleClassifier([
                HierarchicalClassifier.from_config({**shared, "fusion": m["fusion"], **m["hparams"]})
                for m in meta["members"]])
        else:
            model = HierarchicalClassifier.from_config({**shared, "fusion": meta["fusion"], **meta.get("hparams", {})})
    except (KeyError, TypeError, ValueError) as exc:
        raise ModelFormatError(f"{meta_file}: cannot rebuild the model from the sidecar ({type(exc).__name__}: {exc}); "
                               "the sidecar is damaged: retrain (hiercat train)") from None
    dev = torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        state = load_file(str(weights), device=str(dev))
        model.load_state_dict(state, strict=True)
    except Exception as exc:  # noqa: BLE001 - safetensors raises its own error type; torch a RuntimeError
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
        raise ModelFormatError(f"{weights}: cannot load the weights ({first}); the file is damaged or does not "
                               "match its sidecar: restore it or retrain (hiercat train)") from None
    return model.to(dev).eval(), meta
