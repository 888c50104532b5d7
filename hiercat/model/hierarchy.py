"""The hierarchical classifier: fused modalities -> shared trunk -> one head per taxonomy level, parent-conditioned."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn
from torch.nn import functional as F

from ..taxonomy import Taxonomy
from .decode import Decoded, greedy_decode, level_masks, path_decode, path_index_matrix
from .fusion import ModalityEncoders, build_fusion
from .inputs import ModalityBatch, ModalitySpec

PARENT_INPUTS = ("soft", "teacher", "none")


def _block(in_dim: int, out_dim: int, dropout: float) -> nn.Sequential:
    return nn.Sequential(nn.Linear(in_dim, out_dim), nn.BatchNorm1d(out_dim), nn.ReLU(), nn.Dropout(dropout))


class HierarchicalClassifier(nn.Module):
    """Fusion -> Dense+BN+Dropout trunk -> per level a Dense+BN+Dropout block fed the trunk and the parent level's prediction.

    parent_input: 'soft' feeds level k the softmax of level k-1 (the same at training and inference;
    `detach_parent` stops gradients through it); 'teacher' feeds the one-hot true parent when
    training and the one-hot greedy masked prediction at inference; 'none' feeds nothing.
    Logits are returned unmasked; masking happens in `decode` so every predicted path exists.
    token_dropout drops whole n-grams of sparse bags while training; `dropout` is the blocks' rate.
    """

    path_index: torch.Tensor  # a buffer (register_buffer in __init__)

    def __init__(
        self,
        specs: Sequence[ModalitySpec],
        taxonomy: Taxonomy,
        fusion: str = "late",
        fusion_kwargs: Mapping[str, Any] | None = None,
        sparse_dim: int = 64,
        shared_dim: int = 512,
        level_dim: int = 256,
        dropout: float = 0.1,
        dense_dropout: float = 0.0,
        sparse_dropout: float = 0.0,
        token_dropout: float = 0.4,
        parent_input: str = "soft",
        detach_parent: bool = True,
        pools: Mapping[str, Sequence[str]] | None = None,
        modality_dropout: Mapping[str, float] | None = None,
    ):
        super().__init__()
        if parent_input not in PARENT_INPUTS:
            raise ValueError(f"parent_input must be one of {PARENT_INPUTS}, got {parent_input!r}")
        if taxonomy.depth < 1:
            raise ValueError("the taxonomy has no categories")
        self.specs = list(specs)
        self.taxonomy = taxonomy
        self.hparams: dict[str, Any] = {
            "fusion": fusion, "fusion_kwargs": dict(fusion_kwargs or {}), "sparse_dim": sparse_dim,
            "shared_dim": shared_dim, "level_dim": level_dim, "dropout": dropout, "dense_dropout": dense_dropout,
            "sparse_dropout": sparse_dropout, "token_dropout": token_dropout, "parent_input": parent_input,
            "detach_parent": detach_parent, "pools": {k: list(v) for k, v in (pools or {}).items()},
            "modality_dropout": dict(modality_dropout or {}),
        }
        self.parent_input, self.detach_parent = parent_input, detach_parent
        masks = level_masks(taxonomy)
        self.n_classes = [m.shape[1] for m in masks]
        # Rebuilt from the taxonomy on load, so they are not saved with the weights.
        for k, m in enumerate(masks):
            self.register_buffer(f"mask_{k}", torch.from_numpy(m), persistent=False)
        self.register_buffer("path_index", torch.from_numpy(path_index_matrix(taxonomy)), persistent=False)

        self.encoders = ModalityEncoders(self.specs, sparse_dim, dense_dropout, sparse_dropout, token_dropout,
                                         pools, modality_dropout)
        self.fusion = build_fusion(fusion, self.encoders.out_dims, **self.hparams["fusion_kwargs"])
        self.shared = _block(self.fusion.out_dim, shared_dim, dropout)
        feeds_parent = parent_input != "none"
        self.blocks = nn.ModuleList(
            _block(shared_dim + (self.n_classes[k - 1] if k and feeds_parent else 0), level_dim, dropout)
            for k in range(len(self.n_classes))
        )
        self.heads = nn.ModuleList(nn.Linear(level_dim, c) for c in self.n_classes)

    @property
    def levels(self) -> int:
        """Number of taxonomy levels."""
        return len(self.n_classes)

    @property
    def masks(self) -> list[torch.Tensor]:
        """Per-level child masks [classes(k-1), classes(k)] on the model's device."""
        return [getattr(self, f"mask_{k}") for k in range(self.levels)]

    def config(self) -> dict[str, Any]:
        """Everything needed to rebuild this module (JSON-ready)."""
        return {"modalities": [s.to_dict() for s in self.specs], "taxonomy": self.taxonomy.to_dict(), **self.hparams}

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> HierarchicalClassifier:
        """Inverse of `config` (weights not included)."""
        cfg = dict(config)
        specs = [ModalitySpec.from_dict(d) for d in cfg.pop("modalities")]
        taxonomy = Taxonomy.from_dict(cfg.pop("taxonomy"))
        return cls(specs, taxonomy, **cfg)

    def forward(self, batch: ModalityBatch, parent_targets: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Unmasked logits per level; `parent_targets` [B, L] (true class indices) drives teacher forcing."""
        h = self.shared(self.fusion(self.encoders(batch)))
        logits: list[torch.Tensor] = []
        parent_vec: torch.Tensor | None = None
        chosen = torch.zeros(h.shape[0], dtype=torch.long, device=h.device)
        for k, (block, head) in enumerate(zip(self.blocks, self.heads)):
            x = h if parent_vec is None else torch.cat([h, parent_vec], dim=1)
            z = head(block(x))
            logits.append(z)
            if k + 1 == self.levels or self.parent_input == "none":
                continue
            if self.parent_input == "soft":
                p = torch.softmax(z, dim=1)
                parent_vec = p.detach() if self.detach_parent else p
            else:
                if parent_targets is not None:
                    chosen = parent_targets[:, k]
                else:
                    allowed = self.masks[k].index_select(0, chosen)
                    chosen = z.masked_fill(~allowed, float("-inf")).argmax(dim=1)
                parent_vec = F.one_hot(chosen, self.n_classes[k]).to(h.dtype)
        return logits

    @torch.no_grad()
    def decode(self, logits: Sequence[torch.Tensor], method: str = "greedy") -> Decoded:
        """Masked decoding of `forward`'s logits: 'greedy' level by level, or 'path' (best whole valid path)."""
        if method == "greedy":
            return greedy_decode(logits, self.masks)
        if method == "path":
            return path_decode(logits, self.masks, self.path_index)
        raise ValueError(f"unknown decode {method!r}; use 'greedy' or 'path'")

    def loss(self, logits: Sequence[torch.Tensor], targets: torch.Tensor, label_smoothing: float = 0.0) -> torch.Tensor:
        """Sum over levels of the cross-entropy (STOP is a real class, nothing is ignored)."""
        total = sum(F.cross_entropy(z, targets[:, k], label_smoothing=label_smoothing) for k, z in enumerate(logits))
        if not isinstance(total, torch.Tensor):  # sum() of nothing is the int 0
            raise ValueError("loss: no logits given (expected one tensor per taxonomy level)")
        return total
