"""Reading stored products back as arrays: the bridge from the Qdrant store to the classifier."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .store.base import Filter, SparseVector, VectorStore
from .store.schema import PresetRecord, read_schema
from .taxonomy import split_path


@dataclass
class StoredProducts:
    """Stored products as arrays: point ids, dense vectors per name, sparse vectors per name, payloads."""

    ids: list[str]
    dense: dict[str, np.ndarray]
    sparse: dict[str, list[SparseVector]]
    payload: pd.DataFrame
    vectors: PresetRecord | None = None  # the store's record of what each vector encodes (fields, roles)

    def __len__(self) -> int:
        return len(self.ids)

    @property
    def paths(self) -> list[tuple[str, ...]]:
        """Label path of each product."""
        return [split_path(p) for p in self.payload["path"]]

    def take(self, index: Sequence[int] | np.ndarray) -> StoredProducts:
        """The subset at the given positions."""
        index = np.asarray(index, dtype=int)
        return StoredProducts(
            ids=[self.ids[i] for i in index],
            dense={k: v[index] for k, v in self.dense.items()},
            sparse={k: [v[i] for i in index] for k, v in self.sparse.items()},
            payload=self.payload.iloc[index].reset_index(drop=True),
            vectors=self.vectors,
        )

    def where(self, mask: np.ndarray | pd.Series) -> StoredProducts:
        """The subset where a boolean mask over products is true."""
        return self.take(np.flatnonzero(np.asarray(mask, dtype=bool)))


def load_products(
    store: VectorStore,
    filter: Filter | None = None,
    vectors: Sequence[str] | None = None,
    sparse: Sequence[str] | None = None,
) -> StoredProducts:
    """Scroll every matching product with the named vectors (all of the store's by default).

    A product stored without a vector (no image) gets a zero row, which the classifier sees
    as 'modality missing' rather than losing the product.
    """
    record = read_schema(store).preset
    dims: dict[str, int] = record.dense() if record else {}
    names = list(vectors) if vectors is not None else list(dims)
    sparse_names = list(sparse) if sparse is not None else (record.sparse_names() if record else [])
    unknown = [n for n in names if n not in dims]
    if unknown:
        raise KeyError(f"the store has no vector(s) {', '.join(unknown)}; it has {', '.join(dims)}")
    ids: list[str] = []
    rows: list[dict] = []
    dense: dict[str, list[np.ndarray]] = {n: [] for n in names}
    sp: dict[str, list[SparseVector]] = {n: [] for n in sparse_names}
    empty = SparseVector(np.zeros(0, dtype=np.uint32), np.zeros(0, dtype=np.float32))
    for point in store.scroll(filter, with_vectors=names + sparse_names):
        ids.append(point.id)
        rows.append(point.payload)
        for n in names:
            v = point.vectors.get(n)
            dense[n].append(np.zeros(dims[n], dtype=np.float32) if v is None else np.asarray(v, dtype=np.float32))
        for n in sparse_names:
            sp[n].append(point.sparse.get(n, empty))
    return StoredProducts(
        ids=ids,
        dense={n: (np.stack(v) if v else np.zeros((0, dims[n]), dtype=np.float32)) for n, v in dense.items()},
        sparse=sp,
        payload=pd.DataFrame.from_records(rows) if rows else pd.DataFrame(columns=["path", "platform"]),
        vectors=record,
    )
