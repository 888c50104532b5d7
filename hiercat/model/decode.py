"""Decoding per-level logits into label paths that exist: greedy masked, or best whole path."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from ..taxonomy import Taxonomy

DECODERS = ("greedy", "path")


@dataclass
class Decoded:
    """Per-level class indices [B, L], per-level (masked, renormalized) confidences [B, L], path confidence [B]."""

    indices: torch.Tensor
    level_conf: torch.Tensor
    path_conf: torch.Tensor


def level_masks(taxonomy: Taxonomy) -> list[np.ndarray]:
    """Taxonomy.child_mask for every level (level 1's single root row first)."""
    return [taxonomy.child_mask(level) for level in range(1, taxonomy.depth + 1)]


def path_index_matrix(taxonomy: Taxonomy) -> np.ndarray:
    """[P, L] per-level class indices of every valid label path (STOP-padded), enumerated once."""
    paths = taxonomy.valid_label_paths()
    return np.array([taxonomy.encode(p) for p in paths], dtype=np.int64).reshape(len(paths), taxonomy.depth)


def greedy_decode(logits: Sequence[torch.Tensor], masks: Sequence[torch.Tensor]) -> Decoded:
    """Level by level, argmax among the children of the class chosen one level up (STOP only after STOP)."""
    batch = logits[0].shape[0]
    parent = torch.zeros(batch, dtype=torch.long, device=logits[0].device)
    chosen, confs = [], []
    for z, mask in zip(logits, masks):
        allowed = mask.index_select(0, parent)
        logp = torch.log_softmax(z.float().masked_fill(~allowed, float("-inf")), dim=1)
        best, parent = logp.max(dim=1)
        chosen.append(parent)
        confs.append(best.exp())
    level_conf = torch.stack(confs, dim=1)
    return Decoded(torch.stack(chosen, dim=1), level_conf, level_conf.prod(dim=1))


def _level_terms(logits: Sequence[torch.Tensor], masks: Sequence[torch.Tensor]):
    """Per level: row-shifted float64 logits [B, C_k] and log of the per-parent normalizer [B, C_(k-1)]."""
    for z, mask in zip(logits, masks):
        # float64 and a row max keep the per-parent normalizer exact enough when a whole subtree is unlikely.
        z = z.double()
        z = z - z.max(dim=1, keepdim=True).values
        yield z, torch.log((z.exp() @ mask.double().T).clamp_min(1e-300))


def path_log_probs(logits: Sequence[torch.Tensor], masks: Sequence[torch.Tensor],
                   path_index: torch.Tensor) -> torch.Tensor:
    """[B, P] log probability of every valid label path: the sum of its per-level masked log-probabilities.

    Rows sum to one over the paths (up to float error), so they can be averaged over products
    (breadcrumb pooling, mapping proposals) and compared between models.
    """
    parents = torch.zeros_like(path_index)
    parents[:, 1:] = path_index[:, :-1]
    score = None
    for level, (z, log_norm) in enumerate(_level_terms(logits, masks)):
        term = z.index_select(1, path_index[:, level]) - log_norm.index_select(1, parents[:, level])
        score = term if score is None else score + term
    if score is None:
        raise ValueError("path_log_probs: no logits given (expected one tensor per taxonomy level)")
    return score


def path_decode(logits: Sequence[torch.Tensor], masks: Sequence[torch.Tensor], path_index: torch.Tensor) -> Decoded:
    """Argmax over all valid label paths of the product of per-level masked, renormalized probabilities."""
    levels = list(_level_terms(logits, masks))
    parents = torch.zeros_like(path_index)
    parents[:, 1:] = path_index[:, :-1]
    score = None  # [B, P] running log score; per-level [B, P, L] terms would be large on a 5,000-path taxonomy
    for level, (z, log_norm) in enumerate(levels):
        term = z.index_select(1, path_index[:, level]) - log_norm.index_select(1, parents[:, level])
        score = term if score is None else score + term
    if score is None:
        raise ValueError("path_decode: no logits given (expected one tensor per taxonomy level)")
    best_score, best = score.max(dim=1)
    rows = torch.arange(len(best), device=best.device)
    chosen, chosen_parent = path_index.index_select(0, best), parents.index_select(0, best)
    level_conf = torch.stack([
        (z[rows, chosen[:, k]] - log_norm[rows, chosen_parent[:, k]]).exp() for k, (z, log_norm) in enumerate(levels)
    ], dim=1).float()
    return Decoded(chosen, level_conf, best_score.exp().float())
