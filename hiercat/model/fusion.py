"""Turning modality inputs into one feature vector: sparse projections, then early / late / attention fusion."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch
from torch import nn

from .inputs import ModalityBatch, ModalitySpec, SparseBag

FUSIONS = ("early", "late", "attention")


def _mlp(in_dim: int, hidden: Sequence[int], dropout: float) -> tuple[nn.Module, int]:
    """Linear + ReLU + Dropout blocks; identity when `hidden` is empty."""
    layers: list[nn.Module] = []
    for h in hidden:
        layers += [nn.Linear(in_dim, h), nn.ReLU(), nn.Dropout(dropout)]
        in_dim = h
    return (nn.Sequential(*layers) if layers else nn.Identity()), in_dim


class SparseEmbedding(nn.Module):
    """fastText-like projection of a hashed bag of n-grams: tf-weighted sum of learned bucket embeddings."""

    def __init__(self, num_buckets: int, dim: int, sparse_grad: bool = True, token_dropout: float = 0.0):
        super().__init__()
        self.token_dropout = token_dropout
        # sparse=True so an optimizer step touches only the buckets in the batch, not all 2**18 rows.
        self.bag = nn.EmbeddingBag(num_buckets, dim, mode="sum", sparse=sparse_grad)
        # Small init (as fastText) so hash buckets never seen in training add next to nothing at inference.
        nn.init.uniform_(self.bag.weight, -1.0 / dim, 1.0 / dim)
        self.bias = nn.Parameter(torch.zeros(dim))

    def forward(self, bag: SparseBag, with_bias: bool = True) -> torch.Tensor:
        """[B, dim] embedding of each row's bag (without the bias for a second bag pooled into the same rows)."""
        weights = bag.weights
        if self.training and self.token_dropout > 0:
            # Dropping whole n-grams (rescaled to keep the expected sum) stops the model leaning on one token.
            keep = torch.rand_like(weights) >= self.token_dropout
            weights = weights * keep / (1.0 - self.token_dropout)
        out = self.bag(bag.indices, bag.offsets, per_sample_weights=weights)
        return out + self.bias if with_bias else out


def drop_rows(bag: SparseBag, keep: torch.Tensor) -> SparseBag:
    """The bag with every n-gram of the rows where `keep` [B] is False weighted 0 (an empty bag, as stored)."""
    lengths = torch.diff(bag.offsets, append=torch.tensor([len(bag.indices)], device=bag.offsets.device))
    row_of = torch.repeat_interleave(torch.arange(len(bag.offsets), device=bag.offsets.device), lengths)
    return SparseBag(bag.indices, bag.offsets, bag.weights * keep.index_select(0, row_of).to(bag.weights.dtype))


class ModalityEncoders(nn.Module):
    """Dense modalities pass through; sparse ones go through a SparseEmbedding; both get input dropout.

    pools: output name -> modalities of one space read as one input: dense vectors summed into one
    L2-normalized feature (e.g. {"text": ["minilm_words", "minilm_description"]}), sparse bags summed
    through the first member's bucket embeddings (e.g. {"lex": ["lex_title", "lex_description"]}). The
    same weights then read a shop's descriptions and another shop's titles, which is how a model trained
    on titles alone can use the descriptions of a shop it never saw. modality_dropout: modality ->
    probability that a training row sees it missing (a zero vector or an empty bag, as a product without
    an image or a description is stored), so the model does not fall apart on a shop lacking that field.
    """

    def __init__(self, specs: Sequence[ModalitySpec], sparse_dim: int = 64, dense_dropout: float = 0.0,
                 sparse_dropout: float = 0.0, token_dropout: float = 0.0,
                 pools: Mapping[str, Sequence[str]] | None = None,
                 modality_dropout: Mapping[str, float] | None = None):
        super().__init__()
        self.specs = list(specs)
        names = {s.name: s for s in self.specs}
        self.pools = {str(k): [str(m) for m in v] for k, v in (pools or {}).items()}
        self.modality_dropout = {str(k): float(v) for k, v in (modality_dropout or {}).items() if k in names}
        pooled = [m for members in self.pools.values() for m in members]
        if any(m not in names for m in pooled) or len(set(pooled)) != len(pooled):
            raise ValueError(f"pools must name distinct inputs; got {self.pools} for inputs {list(names)}")
        if any(len({(names[m].kind, names[m].dim) for m in members}) > 1 for members in self.pools.values()):
            raise ValueError(f"pooled inputs must share their kind and dimension: {self.pools}")
        # A sparse pool's members share the first member's bucket embeddings: one vocabulary, read the same way.
        self.owner = {m: members[0] for members in self.pools.values() for m in members}
        self.sparse = nn.ModuleDict({s.name: SparseEmbedding(s.dim, sparse_dim, token_dropout=token_dropout)
                                     for s in self.specs if s.kind == "sparse" and self.owner.get(s.name, s.name) == s.name})
        self.dense_dropout = nn.Dropout(dense_dropout)
        self.sparse_dropout = nn.Dropout(sparse_dropout)
        self.kinds = {s.name: s.kind for s in self.specs if s.name not in pooled}
        self.kinds.update({k: names[v[0]].kind for k, v in self.pools.items()})
        self.out_dims = {s.name: (sparse_dim if s.kind == "sparse" else s.dim) for s in self.specs if s.name not in pooled}
        self.out_dims.update({k: (sparse_dim if names[v[0]].kind == "sparse" else names[v[0]].dim)
                              for k, v in self.pools.items()})

    def _keep(self, name: str, rows: int, device: torch.device) -> torch.Tensor | None:
        """Which rows see modality `name` while training (None: all of them)."""
        p = self.modality_dropout.get(name, 0.0)
        if not self.training or p <= 0:
            return None
        return torch.rand(rows, device=device) >= p

    def forward(self, batch: ModalityBatch) -> dict[str, torch.Tensor]:
        """Feature tensor per output name (pools replace their members)."""
        out: dict[str, torch.Tensor] = {}
        for s in self.specs:
            x = batch[s.name]
            if s.kind == "sparse":
                if not isinstance(x, SparseBag):
                    raise TypeError(f"input {s.name!r} is sparse but the batch holds a {type(x).__name__}, "
                                    "not a SparseBag")
                owner = self.owner.get(s.name, s.name)
                keep = self._keep(s.name, len(x.offsets), x.offsets.device)
                bag = drop_rows(x, keep) if keep is not None else x
                out[s.name] = self.sparse[owner](bag, with_bias=owner == s.name)
            else:
                if not isinstance(x, torch.Tensor):
                    raise TypeError(f"input {s.name!r} is dense but the batch holds a {type(x).__name__}, not a tensor")
                keep = self._keep(s.name, x.shape[0], x.device)
                out[s.name] = x * keep[:, None].to(x.dtype) if keep is not None else x
        for name, members in self.pools.items():
            total = sum(out.pop(m) for m in members)
            if self.kinds[name] == "dense":
                total = total / total.norm(dim=1, keepdim=True).clamp_min(1e-6)  # type: ignore[union-attr]
            out[name] = total  # type: ignore[assignment]
        return {k: (self.sparse_dropout(v) if self.kinds[k] == "sparse" else self.dense_dropout(v)) for k, v in out.items()}


class EarlyFusion(nn.Module):
    """Concatenate all modality features, then an optional MLP (the classifier's shared layer follows anyway)."""

    def __init__(self, dims: Mapping[str, int], hidden: Sequence[int] = (), dropout: float = 0.2):
        super().__init__()
        self.names = list(dims)
        self.mlp, self.out_dim = _mlp(sum(dims.values()), hidden, dropout)

    def forward(self, feats: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """[B, out_dim] fused features."""
        return self.mlp(torch.cat([feats[n] for n in self.names], dim=1))


class LateFusion(nn.Module):
    """One Linear+ReLU(+Dropout) tower per modality, concatenated, then an optional MLP."""

    def __init__(self, dims: Mapping[str, int], per_modality: int = 256, hidden: Sequence[int] = (),
                 dropout: float = 0.2):
        super().__init__()
        self.names = list(dims)
        self.towers = nn.ModuleDict({
            n: nn.Sequential(nn.Linear(d, per_modality), nn.ReLU(), nn.Dropout(dropout)) for n, d in dims.items()
        })
        self.mlp, self.out_dim = _mlp(per_modality * len(self.names), hidden, dropout)

    def forward(self, feats: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """[B, out_dim] fused features."""
        return self.mlp(torch.cat([self.towers[n](feats[n]) for n in self.names], dim=1))


def default_pairs(names: Sequence[str], images: Sequence[str] = ()) -> list[tuple[str, str]]:
    """(query, key/value) pairs: each non-image modality attends to each image one, else every pair in order."""
    imgs = [n for n in names if n in set(images)]
    others = [n for n in names if n not in imgs]
    if imgs and others:
        return [(q, kv) for q in others for kv in imgs]
    return [(a, b) for i, a in enumerate(names) for b in names[i + 1:]]


class AttentionFusion(nn.Module):
    """Cross-attention between modality pairs over a few learned tokens per modality, concatenated with the originals.

    Each modality is a single vector, and attention over a single key is just a linear map of the
    value; projecting each modality to `tokens` tokens of a common `width` gives the query
    something to choose between.
    """

    def __init__(self, dims: Mapping[str, int], pairs: Sequence[Sequence[str]] | None = None,
                 images: Sequence[str] | None = None, width: int = 128,
                 tokens: int = 4, heads: int = 4, hidden: Sequence[int] = (), dropout: float = 0.1):
        super().__init__()
        self.names = list(dims)
        if images is None:
            # A model saved before inputs carried their roles recorded neither pairs nor images; its
            # pairs were drawn from the image vector's name, and must be again for its weights to load.
            images = [n for n in self.names if n.endswith("_image")]
        pairs = default_pairs(self.names, images) if pairs is None else [tuple(p) for p in pairs]
        unknown = sorted({m for p in pairs for m in p} - set(self.names))
        if unknown:
            raise KeyError(f"attention pairs name modalities not in the inputs: {', '.join(unknown)}")
        self.pairs = [(str(q), str(kv)) for q, kv in pairs]
        self.tokens, self.width = tokens, width
        self.proj = nn.ModuleDict({n: nn.Linear(d, tokens * width) for n, d in dims.items()})
        self.norm = nn.LayerNorm(width)
        self.attn = nn.ModuleList(nn.MultiheadAttention(width, heads, dropout=dropout, batch_first=True)
                                  for _ in self.pairs)
        self.mlp, self.out_dim = _mlp(tokens * width * (len(self.names) + len(self.pairs)), hidden, dropout)

    def forward(self, feats: Mapping[str, torch.Tensor]) -> torch.Tensor:
        """[B, out_dim] fused features."""
        tok = {n: self.norm(self.proj[n](feats[n]).view(-1, self.tokens, self.width)) for n in self.names}
        parts = [tok[n].flatten(1) for n in self.names]
        for (q, kv), attn in zip(self.pairs, self.attn):
            attended, _ = attn(tok[q], tok[kv], tok[kv], need_weights=False)
            parts.append(attended.flatten(1))
        return self.mlp(torch.cat(parts, dim=1))


def build_fusion(kind: str, dims: Mapping[str, int], **kwargs) -> EarlyFusion | LateFusion | AttentionFusion:
    """A fusion module by name ('early', 'late', 'attention'); it exposes `out_dim`."""
    classes: dict[str, type[EarlyFusion | LateFusion | AttentionFusion]] = {
        "early": EarlyFusion, "late": LateFusion, "attention": AttentionFusion}
    if kind not in classes:
        raise ValueError(f"unknown fusion {kind!r}; choose one of {', '.join(FUSIONS)}")
    return classes[kind](dims, **kwargs)
