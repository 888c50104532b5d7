"""Model inputs: named dense modalities and hashed sparse (lexical) modalities, batched without per-item loops."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import torch

from ..store.base import SparseVector
from ..store.schema import PresetRecord, Role

# Hashed lexical vectors (hiercat's LexicalEncoder, HashingVectorizer) live in a 2**18 space.
DEFAULT_SPARSE_DIM = 2**18


@dataclass(frozen=True)
class ModalitySpec:
    """What the model knows about one input: its name, 'dense' or 'sparse', and its dimension."""

    name: str
    kind: str
    dim: int

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {"name": self.name, "kind": self.kind, "dim": self.dim}

    @classmethod
    def from_dict(cls, d: Mapping) -> ModalitySpec:
        """Inverse of `to_dict`."""
        return cls(str(d["name"]), str(d["kind"]), int(d["dim"]))


@dataclass
class CSRArrays:
    """Rows of sparse vectors as CSR arrays (indptr [N+1], indices, values) over a fixed dimension."""

    indptr: np.ndarray
    indices: np.ndarray
    values: np.ndarray
    dim: int = DEFAULT_SPARSE_DIM

    def __post_init__(self) -> None:
        self.indptr = np.asarray(self.indptr, dtype=np.int64)
        self.indices = np.asarray(self.indices, dtype=np.int64)
        self.values = np.asarray(self.values, dtype=np.float32)
        if self.indices.size and (self.indices.min() < 0 or self.indices.max() >= self.dim):
            raise ValueError(f"sparse indices must lie in [0, {self.dim}); got max {int(self.indices.max())}")

    def __len__(self) -> int:
        return len(self.indptr) - 1

    @classmethod
    def from_vectors(cls, vectors: Sequence[SparseVector], dim: int = DEFAULT_SPARSE_DIM) -> CSRArrays:
        """Pack a list of SparseVector into CSR arrays (one pass, at construction only)."""
        lengths = np.fromiter((len(v.indices) for v in vectors), dtype=np.int64, count=len(vectors))
        indptr = np.concatenate([[0], np.cumsum(lengths)])
        if len(vectors) and indptr[-1]:
            indices = np.concatenate([np.asarray(v.indices, dtype=np.int64) for v in vectors])
            values = np.concatenate([np.asarray(v.values, dtype=np.float32) for v in vectors])
        else:
            indices, values = np.zeros(0, np.int64), np.zeros(0, np.float32)
        return cls(indptr, indices, values, dim)

    @classmethod
    def from_scipy(cls, matrix, dim: int | None = None) -> CSRArrays:
        """Wrap a scipy.sparse matrix (e.g. a HashingVectorizer output)."""
        m = matrix.tocsr()
        m.sort_indices()
        return cls(m.indptr, m.indices, m.data, int(dim or m.shape[1]))

    def take(self, rows: np.ndarray) -> CSRArrays:
        """The given rows, gathered with vectorized index arithmetic."""
        rows = np.asarray(rows, dtype=np.int64)
        starts = self.indptr[rows]
        lengths = self.indptr[rows + 1] - starts
        new_indptr = np.concatenate([[0], np.cumsum(lengths)])
        pos = np.repeat(starts - new_indptr[:-1], lengths) + np.arange(new_indptr[-1])
        return CSRArrays(new_indptr, self.indices[pos], self.values[pos], self.dim)

    def to_vectors(self) -> list[SparseVector]:
        """Back to a list of SparseVector (for storage)."""
        return [SparseVector(self.indices[a:b].astype(np.uint32), self.values[a:b])
                for a, b in zip(self.indptr[:-1], self.indptr[1:])]


@dataclass
class SparseBag:
    """One batch of a sparse modality in torch.nn.EmbeddingBag form: flat indices, offsets, per-sample weights."""

    indices: torch.Tensor
    offsets: torch.Tensor
    weights: torch.Tensor


# A batch as the model consumes it: dense name -> float tensor [B, d], sparse name -> SparseBag.
ModalityBatch = dict[str, "torch.Tensor | SparseBag"]


@dataclass
class ModalityInputs:
    """A dataset of products as modalities: dense float32 arrays [N, d] and CSR sparse vectors, aligned by row."""

    dense: dict[str, np.ndarray] = field(default_factory=dict)
    sparse: dict[str, CSRArrays] = field(default_factory=dict)
    # What each vector encodes (field, role), as the store records it; None for inputs built by hand,
    # which then have no roles (no pooled text, no modality dropout, no zero-shot).
    vectors: PresetRecord | None = None

    def __post_init__(self) -> None:
        self.dense = {k: np.ascontiguousarray(v, dtype=np.float32) for k, v in self.dense.items()}
        self.sparse = {k: v if isinstance(v, CSRArrays) else _to_csr(v) for k, v in self.sparse.items()}
        overlap = set(self.dense) & set(self.sparse)
        if overlap:
            raise ValueError(f"modality names used for both dense and sparse inputs: {sorted(overlap)}")
        sizes = {**{k: len(v) for k, v in self.dense.items()}, **{k: len(v) for k, v in self.sparse.items()}}
        if len(set(sizes.values())) > 1:
            raise ValueError(f"modalities have different numbers of rows: {sizes}")

    def __len__(self) -> int:
        for v in self.dense.values():
            return len(v)
        for s in self.sparse.values():
            return len(s)
        return 0

    @property
    def names(self) -> list[str]:
        """All modality names, dense first."""
        return [*self.dense, *self.sparse]

    def names_of(self, field: str | Sequence[str] | None = None,
                 role: Role | Sequence[Role] | None = None) -> list[str]:
        """The inputs present whose recorded field / role match, in the store's order ([] without a record)."""
        if self.vectors is None:
            return []
        present = set(self.names)
        return [n for n in self.vectors.names(field, role) if n in present]

    def specs(self) -> list[ModalitySpec]:
        """Name, kind and dimension of every modality."""
        return [ModalitySpec(k, "dense", int(v.shape[1])) for k, v in self.dense.items()] + [
            ModalitySpec(k, "sparse", v.dim) for k, v in self.sparse.items()
        ]

    def select(self, modalities: Sequence[str] | None) -> ModalityInputs:
        """Only the named modalities (None = all), e.g. for unimodal baselines."""
        if modalities is None:
            return self
        missing = [m for m in modalities if m not in self.dense and m not in self.sparse]
        if missing:
            raise KeyError(f"no modality {', '.join(missing)}; inputs have {', '.join(self.names)}")
        return ModalityInputs(
            {k: v for k, v in self.dense.items() if k in modalities},
            {k: v for k, v in self.sparse.items() if k in modalities},
            self.vectors,
        )

    def take(self, rows: Sequence[int] | np.ndarray) -> ModalityInputs:
        """The subset at the given row positions."""
        rows = np.asarray(rows, dtype=np.int64)
        return ModalityInputs({k: v[rows] for k, v in self.dense.items()},
                              {k: v.take(rows) for k, v in self.sparse.items()}, self.vectors)

    def to_tensors(self, device: torch.device | str = "cpu") -> TensorInputs:
        """Move everything to `device` once, so batches are gathered there without host copies."""
        return TensorInputs(
            {k: torch.from_numpy(v).to(device) for k, v in self.dense.items()},
            {k: (torch.from_numpy(v.indptr).to(device), torch.from_numpy(v.indices).to(device),
                 torch.from_numpy(v.values).to(device)) for k, v in self.sparse.items()},
            len(self),
        )


@dataclass
class TensorInputs:
    """ModalityInputs resident on a device; `batch(rows)` gathers a ModalityBatch with tensor ops only."""

    dense: dict[str, torch.Tensor]
    sparse: dict[str, tuple[torch.Tensor, torch.Tensor, torch.Tensor]]
    n: int

    def __len__(self) -> int:
        return self.n

    def batch(self, rows: torch.Tensor) -> ModalityBatch:
        """Rows (a long tensor on the same device) as a ModalityBatch."""
        out: ModalityBatch = {k: v.index_select(0, rows) for k, v in self.dense.items()}
        for k, (indptr, indices, values) in self.sparse.items():
            starts = indptr.index_select(0, rows)
            lengths = indptr.index_select(0, rows + 1) - starts
            offsets = torch.cumsum(lengths, 0) - lengths
            total = int(lengths.sum())
            # Position of each gathered element: its row's start in the source, shifted to the batch offset.
            pos = torch.repeat_interleave(starts - offsets, lengths, output_size=total)
            pos = pos + torch.arange(total, device=pos.device)
            out[k] = SparseBag(indices.index_select(0, pos), offsets, values.index_select(0, pos))
        return out


def _to_csr(value) -> CSRArrays:
    """Accept a list of SparseVector or a scipy.sparse matrix as a sparse modality."""
    if hasattr(value, "tocsr"):
        return CSRArrays.from_scipy(value)
    return CSRArrays.from_vectors(list(value))


def inputs_from_stored(products, modalities: Sequence[str] | None = None) -> ModalityInputs:
    """ModalityInputs from hiercat.dataset.StoredProducts (dense and sparse named vectors)."""
    inputs = ModalityInputs(dict(products.dense), {k: CSRArrays.from_vectors(v) for k, v in products.sparse.items()},
                            products.vectors)
    return inputs.select(modalities)
