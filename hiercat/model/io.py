"""Saving and loading classifiers as safetensors weights plus a JSON sidecar (never pickle)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

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
    meta = json.loads(meta_file.read_text(encoding="utf-8"))
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
    weights, _ = _files(path)
    meta = read_sidecar(path)
    specs = [ModalitySpec.from_dict(d) for d in meta["modalities"]]
    check_vectors(specs, expected_vectors, expected_sparse)
    shared = {"modalities": meta["modalities"], "taxonomy": meta["taxonomy"]}
    if meta.get("members"):
        model: ClassifierModel = EnsembleClassifier([
            HierarchicalClassifier.from_config({**shared, "fusion": m["fusion"], **m["hparams"]}) for m in meta["members"]])
    else:
        model = HierarchicalClassifier.from_config({**shared, "fusion": meta["fusion"], **meta["hparams"]})
    dev = torch.device(device) if device is not None else torch.device("cuda" if torch.cuda.is_available() else "cpu")
    model.load_state_dict(load_file(str(weights), device=str(dev)), strict=True)
    return model.to(dev).eval(), meta
