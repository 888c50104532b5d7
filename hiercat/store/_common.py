"""Engine-independent pieces of both stores: filter checks, payload cleaning, facet counting, vectors."""

from __future__ import annotations

import math
import uuid
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, NamedTuple, cast

import numpy as np

from .base import Filter, SparseVector


class Condition(NamedTuple):
    """One filter clause: the payload key and the accepted value(s)."""

    key: str
    values: list[str] | list[int] | str | int  # a list means "any of"


def _filter_scalar(key: str, value: Any) -> str | int:
    if isinstance(value, np.generic):
        value = value.item()
    # bool is an int in Python: qdrant_edge 0.9.0 silently turns True into 1 and never matches a
    # stored boolean, so booleans are refused on both stores rather than behaving differently.
    if isinstance(value, bool):
        raise TypeError(f"filter on {key!r}: boolean values are not supported (qdrant_edge matches them as 1/0)")
    if isinstance(value, (str, int)):
        return value
    raise TypeError(f"filter on {key!r}: expected a string or integer (or a list of them), got {type(value).__name__}")


def conditions(filter: Filter | None) -> list[Condition]:
    """Validated clauses of a filter mapping; [] when there is none."""
    out: list[Condition] = []
    for key, value in (filter or {}).items():
        if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
            values = [_filter_scalar(key, v) for v in value]
            if len({type(v) for v in values}) > 1:
                raise TypeError(f"filter on {key!r}: mixes strings and integers in {values!r}")
            out.append(Condition(str(key), cast("list[str] | list[int]", values)))  # one type: checked above
        else:
            out.append(Condition(str(key), _filter_scalar(key, value)))
    return out


def plain(value: Any, where: str = "payload") -> Any:
    """JSON-ready copy of a payload value: numpy scalars/arrays to Python, tuples/sets to lists, NaN to None."""
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        # JSON has no NaN; pandas uses it for empty cells, which are "no value".
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {str(k): plain(v, f"{where}.{k}") for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset, np.ndarray)):
        return [plain(v, f"{where}[]") for v in value]
    raise TypeError(f"{where}: {type(value).__name__} cannot be stored as JSON payload")


def plain_payload(payload: Mapping[str, Any]) -> dict[str, Any]:
    """JSON-ready copy of a whole payload."""
    return {str(k): plain(v, str(k)) for k, v in payload.items()}


def values_at(payload: Mapping[str, Any] | None, key: str) -> list[Any]:
    """Values under a (dotted) payload key, lists flattened, as Qdrant's facet sees them."""
    found: list[Any] = [payload or {}]
    for part in key.split("."):
        nxt: list[Any] = []
        for node in found:
            if isinstance(node, Mapping) and part in node:
                v = node[part]
                nxt.extend(v if isinstance(v, list) else [v])
        found = nxt
    return [v for v in found if isinstance(v, (str, int)) and not isinstance(v, bool)]


def count_values(payloads: Iterable[Mapping[str, Any] | None], key: str) -> Counter:
    """Points per value of a key; a value repeated inside one point's list counts once."""
    counts: Counter = Counter()
    for p in payloads:
        counts.update(set(values_at(p, key)))
    return counts


def top_counts(pairs: Iterable[tuple[Any, int]], limit: int) -> dict[str, int]:
    """The `limit` most frequent values, ties broken by value so both stores agree."""
    ranked = sorted(((str(v), int(c)) for v, c in pairs), key=lambda vc: (-vc[1], vc[0]))
    return dict(ranked[:limit])


def dense_list(vector: Any, name: str) -> list[float]:
    """A dense vector as a flat list of floats, refusing anything that is not 1-d."""
    arr = np.asarray(vector, dtype=np.float32)
    if arr.ndim != 1:
        raise ValueError(f"vector {name!r} must be 1-d, got shape {arr.shape}")
    return arr.tolist()


def sparse_lists(vector: SparseVector, name: str) -> tuple[list[int], list[float]]:
    """A sparse vector as (indices, values) lists of equal length."""
    idx = np.asarray(vector.indices, dtype=np.int64).ravel()
    val = np.asarray(vector.values, dtype=np.float32).ravel()
    if idx.shape != val.shape:
        raise ValueError(f"sparse vector {name!r}: {idx.size} indices but {val.size} values")
    if idx.size and (idx.min() < 0 or idx.max() > np.iinfo(np.uint32).max):
        raise ValueError(f"sparse vector {name!r}: indices must fit in uint32")
    return idx.tolist(), val.tolist()


def to_sparse(indices: Sequence[int], values: Sequence[float]) -> SparseVector:
    """Our SparseVector from engine lists."""
    return SparseVector(np.asarray(indices, dtype=np.uint32), np.asarray(values, dtype=np.float32))


def to_dense(values: Sequence[float]) -> np.ndarray:
    """A stored dense vector as float32."""
    return np.asarray(values, dtype=np.float32)


def vector_selector(with_vectors: bool | Sequence[str]) -> bool | list[str]:
    """Normalise the with_vectors argument to what both engines take."""
    if isinstance(with_vectors, (bool, np.bool_)):
        return bool(with_vectors)
    if isinstance(with_vectors, str):
        return [with_vectors]
    return list(with_vectors) or False  # no names: no vectors (an empty list would ask the engine for none by name)


def canonical_id(point_id: Any) -> str:
    """The canonical UUID string of a point id, refusing ids that are not UUIDs."""
    try:
        return str(uuid.UUID(str(point_id)))
    except ValueError:
        raise ValueError(f"point id {point_id!r} is not a UUID string (make ids with point_id())") from None


def in_order(ids: Sequence[str], found: Iterable[Any], id_of: Any) -> list[Any]:
    """Records in the order their (canonical) ids were asked for, once each, missing ones left out."""
    by_id = {id_of(r): r for r in found}
    seen: set[str] = set()
    out = []
    for i in ids:
        if i in by_id and i not in seen:
            seen.add(i)
            out.append(by_id[i])
    return out
