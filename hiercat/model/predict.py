"""Batched inference: inputs -> valid label paths with per-level and whole-path confidences."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from .ensemble import ClassifierModel
from .inputs import ModalityInputs


@dataclass
class Predictions:
    """Predicted label paths, per-level confidences [N, L], path confidences [N], class indices [N, L]."""

    paths: list[tuple[str, ...]]
    level_conf: np.ndarray
    path_conf: np.ndarray
    indices: np.ndarray

    def __len__(self) -> int:
        return len(self.paths)


def default_device(device: str | torch.device | None = None) -> torch.device:
    """The given device, else CUDA when available, else CPU."""
    if device is not None:
        return torch.device(device)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def check_inputs(model: ClassifierModel, inputs: ModalityInputs) -> ModalityInputs:
    """The inputs the model needs, refusing missing modalities or wrong dimensions with their names."""
    have = {s.name: s for s in inputs.specs()}
    problems = []
    for s in model.specs:
        got = have.get(s.name)
        if got is None:
            problems.append(f"model expects {s.name} ({s.kind}, {s.dim}) but the inputs lack it")
        elif (got.kind, got.dim) != (s.kind, s.dim):
            problems.append(f"model expects {s.name} ({s.kind}, {s.dim}) but the inputs have ({got.kind}, {got.dim})")
    if problems:
        raise ValueError("; ".join(problems))
    return inputs.select([s.name for s in model.specs])


@torch.no_grad()
def predict_indices(model: ClassifierModel, inputs: ModalityInputs, decode: str = "greedy",
                    batch_size: int = 1024, device: str | torch.device | None = None):
    """Decoded class indices [N, L], level confidences [N, L] and path confidences [N] as numpy arrays."""
    dev = next(model.parameters()).device if device is None else torch.device(device)
    model.to(dev).eval()
    data = check_inputs(model, inputs).to_tensors(dev)
    idx, lconf, pconf = [], [], []
    for start in range(0, len(data), batch_size):
        rows = torch.arange(start, min(start + batch_size, len(data)), device=dev)
        out = model.decode(model(data.batch(rows)), decode)
        idx.append(out.indices.cpu())
        lconf.append(out.level_conf.cpu())
        pconf.append(out.path_conf.cpu())
    if not idx:
        return (np.zeros((0, model.levels), np.int64), np.zeros((0, model.levels), np.float32),
                np.zeros(0, np.float32))
    return torch.cat(idx).numpy(), torch.cat(lconf).numpy(), torch.cat(pconf).numpy()


def predict(model: ClassifierModel, inputs: ModalityInputs, decode: str = "greedy", batch_size: int = 1024,
            device: str | torch.device | None = None) -> Predictions:
    """Predict a valid label path per product ('greedy' masked level-by-level, or 'path' = best whole path)."""
    indices, level_conf, path_conf = predict_indices(model, inputs, decode, batch_size, device)
    # Few distinct index rows: decode each once.
    uniq, inverse = np.unique(indices, axis=0, return_inverse=True) if len(indices) else (indices, np.zeros(0, int))
    decoded = [model.taxonomy.decode(row.tolist()) for row in uniq]
    paths = [decoded[i] for i in np.asarray(inverse).reshape(-1)]
    return Predictions(paths, level_conf, path_conf, indices)


@dataclass
class PathScores:
    """Log probability of every valid label path per product: `paths` [P] name the columns of `log_probs` [N, P]."""

    paths: list[tuple[str, ...]]
    log_probs: np.ndarray

    def __len__(self) -> int:
        return len(self.log_probs)

    def best(self) -> tuple[list[tuple[str, ...]], np.ndarray]:
        """The most probable path of each product and its probability."""
        j = self.log_probs.argmax(axis=1) if len(self) else np.zeros(0, int)
        return [self.paths[i] for i in j], np.exp(self.log_probs[np.arange(len(j)), j])


@torch.no_grad()
def predict_path_scores(model: ClassifierModel, inputs: ModalityInputs, batch_size: int = 1024,
                        device: str | torch.device | None = None) -> PathScores:
    """Every valid path's log probability for each product (the quantity 'path' decoding maximizes)."""
    from .decode import path_log_probs

    head = getattr(model, "members", [model])[0]  # an ensemble's members share masks and paths
    dev = next(model.parameters()).device if device is None else torch.device(device)
    model.to(dev).eval()
    data = check_inputs(model, inputs).to_tensors(dev)
    out = []
    for start in range(0, len(data), batch_size):
        rows = torch.arange(start, min(start + batch_size, len(data)), device=dev)
        out.append(path_log_probs(model(data.batch(rows)), head.masks, head.path_index).float().cpu())
    index = head.path_index.cpu().numpy()
    paths = [model.taxonomy.decode(row.tolist()) for row in index]
    scores = torch.cat(out).numpy() if out else np.zeros((0, len(paths)), np.float32)
    return PathScores(paths, scores)


def predictions_from_scores(scores: PathScores, taxonomy) -> Predictions:
    """Predictions of the most probable path of each row of `scores`, with per-level conditional confidences.

    Level k's confidence is the probability mass of the chosen prefix of length k given its prefix of
    length k-1, as greedy decoding reports it; a level the path stops before has confidence 1 (STOP).
    """
    paths, path_conf = scores.best()
    probs = np.exp(scores.log_probs.astype(np.float64))
    depth = taxonomy.depth
    level_conf = np.ones((len(paths), depth), dtype=np.float32)
    prefix_cache: dict[tuple[str, ...], np.ndarray] = {}

    def mask(prefix: tuple[str, ...]) -> np.ndarray:
        if prefix not in prefix_cache:
            prefix_cache[prefix] = np.array([p[: len(prefix)] == prefix for p in scores.paths])
        return prefix_cache[prefix]

    for i, path in enumerate(paths):
        above = 1.0
        for k in range(1, len(path) + 1):
            mass = float(probs[i, mask(path[:k])].sum())
            level_conf[i, k - 1] = mass / above if above > 0 else 0.0
            above = mass
    indices = np.array([taxonomy.encode(p) for p in paths], dtype=np.int64).reshape(len(paths), depth)
    return Predictions(paths, level_conf, path_conf.astype(np.float32), indices)
