"""An ensemble of hierarchical classifiers over one taxonomy: per-level probabilities averaged, then masked decoding."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, cast

import torch
from torch import nn

from ..taxonomy import Taxonomy
from .decode import Decoded
from .hierarchy import HierarchicalClassifier
from .inputs import ModalityBatch, ModalitySpec


class EnsembleClassifier(nn.Module):
    """Averages its members' per-level softmax and decodes like one HierarchicalClassifier.

    Members differ in how they were trained (e.g. token dropout 0.1 favours rare classes, 0.4
    frequent ones) but share the taxonomy's class indices and the input vectors, so their
    probabilities can be averaged class by class and decoding keeps every path valid.
    """

    def __init__(self, members: Sequence[HierarchicalClassifier]):
        super().__init__()
        if len(members) < 2:
            raise ValueError(f"an ensemble needs at least 2 members, got {len(members)}")
        first = members[0]
        for i, m in enumerate(members[1:], start=1):
            if m.taxonomy.to_dict() != first.taxonomy.to_dict():
                raise ValueError(f"ensemble member {i} has another taxonomy than member 0: train members on the same labels")
            if [s.to_dict() for s in m.specs] != [s.to_dict() for s in first.specs]:
                raise ValueError(f"ensemble member {i} uses {[s.name for s in m.specs]} but member 0 uses "
                                 f"{[s.name for s in first.specs]}: members must share their input vectors")
        self.members = nn.ModuleList(members)

    @property
    def _members(self) -> list[HierarchicalClassifier]:
        """The members, typed: nn.ModuleList hands them back as plain Modules (it holds only `members`)."""
        return cast("list[HierarchicalClassifier]", list(self.members))

    @property
    def specs(self) -> list[ModalitySpec]:
        """The input vectors every member reads."""
        return self._members[0].specs

    @property
    def taxonomy(self) -> Taxonomy:
        """The taxonomy (class indices) the members share."""
        return self._members[0].taxonomy

    @property
    def levels(self) -> int:
        """Number of taxonomy levels."""
        return self._members[0].levels

    def config(self) -> dict[str, Any]:
        """Every member's config (JSON-ready)."""
        return {"members": [m.config() for m in self._members]}

    def forward(self, batch: ModalityBatch, parent_targets: torch.Tensor | None = None) -> list[torch.Tensor]:
        """Per level the log of the members' mean softmax: decoding them picks what the average favours."""
        outs = [m(batch, parent_targets) for m in self._members]
        log_n = math.log(len(outs))
        return [torch.logsumexp(torch.stack([torch.log_softmax(o[k], dim=1) for o in outs]), dim=0) - log_n
                for k in range(self.levels)]

    @torch.no_grad()
    def decode(self, logits: Sequence[torch.Tensor], method: str = "greedy") -> Decoded:
        """Masked decoding of `forward`'s output ('greedy' or 'path'), exactly as a single classifier decodes."""
        return self._members[0].decode(logits, method)


ClassifierModel = HierarchicalClassifier | EnsembleClassifier
"""Anything `predict`, the cascade and `save_model` accept."""
