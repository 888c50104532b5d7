"""Which vectors a clustering sees: one modality, or a weighted concatenation of normalized blocks.

Roles: `image` (stored `*_image`), `title` (stored `*_title`, the full title), `brand` (stored
`*_brand`), `terms` (the title without brand, colour and audience words, re-encoded by the
store's text encoder) and `words` (TF-IDF + SVD of those same cleaned titles, fitted on the
selection); terms.py computes the last two, passed in under the keys "terms" and "words".
Specs: one role, `fused` (weighted concatenation) or `shared` (the CCA subspace of the image and the
title's words and terms, shared.py).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..encoders.base import TextEncoder, l2_normalize
from ..store.base import VectorStore
from .shared import ROWS_PER_DIM, shared_features
from .terms import term_vectors, word_vectors

if TYPE_CHECKING:
    from .select import Selection

ROLES = ("image", "words", "terms", "title", "brand")
COMPUTED = ("words", "terms")  # made from the selection's titles, not read from the store
SPECS = ROLES + ("fused", "shared")
SHARED_ROLES = ["image", "words", "terms"]
OPTIONAL_ROLES = {"shared": {"terms"}}  # read where at hand: terms need a text encoder
# The CCA subspace of the image and the title (words + terms): 81 % level-1 and 83 % level-2 purity
# on the shoes of Myntra + H&M at 8,3 clusters, against 70 % and 75 % for image + words concatenated
# (bench/RESULTS.md).
DEFAULT_SPEC = "shared"
MIN_SHARED_ROWS = 2 * ROWS_PER_DIM  # a CCA of fewer rows finds mostly chance agreement
# Shape sub-categories cut across brands and colours: brand and full-title vectors would pull a
# brand's whole range (sandals and sneakers alike) into one cluster, so fused uses image + words
# (on the shoes of Myntra + H&M, words beat encoded terms at 8 clusters with either image encoder and
# need no text model; terms stay an option: bench/RESULTS.md).
DEFAULT_WEIGHTS: dict[str, float] = {"image": 1.0, "words": 1.0, "terms": 0.0, "title": 0.0, "brand": 0.0}


def vector_roles(names: Sequence[str]) -> dict[str, str]:
    """The roles among feature keys: `role_vectors` keys its vectors by role ('image', 'words', 'title', ...)."""
    return {n: n for n in names if n in ROLES}


def fused_weights(weights: Mapping[str, float] | None = None) -> dict[str, float]:
    """DEFAULT_WEIGHTS updated with the given ones (unknown roles rejected)."""
    w = dict(DEFAULT_WEIGHTS)
    for k, v in (weights or {}).items():
        if k not in ROLES:
            raise ValueError(f"fused weights take roles {', '.join(ROLES)}, got {k!r}")
        w[k] = float(v)
    return w


def needed_roles(spec: str, weights: Mapping[str, float] | None = None) -> list[str]:
    """Roles a spec ('image', 'words', 'terms', 'title', 'brand', 'fused' or 'shared') reads."""
    if spec in ROLES:
        return [spec]
    if spec == "shared":
        return list(SHARED_ROLES)
    if spec == "fused":
        w = fused_weights(weights)
        used = [r for r in ROLES if w[r] > 0]
        if not used:
            raise ValueError("fused vectors need at least one role with weight > 0")
        return used
    raise ValueError(f"vectors must be one of {', '.join(SPECS)}, got {spec!r}")


def centred(x: np.ndarray, present: np.ndarray | None = None) -> np.ndarray:
    """Rows minus the mean of the present rows, L2-normalized; absent rows stay zero.

    Within one category every vector shares a large common component (all shoes are shoes, ReLU
    image features are all positive); removing it lets cosine see the differences inside the category.
    """
    x = np.asarray(x, dtype=np.float32)
    has = np.any(x != 0, axis=1) if present is None else np.asarray(present, dtype=bool)
    out = np.zeros_like(x)
    if has.any():
        out[has] = x[has] - x[has].mean(axis=0)
    return l2_normalize(out)


def build_features(
    vectors: Mapping[str, np.ndarray],
    spec: str = "fused",
    weights: Mapping[str, float] | None = None,
    present: Mapping[str, np.ndarray] | None = None,
    center: bool = True,
) -> np.ndarray:
    """The [n, d] float32 matrix a clustering sees for `spec`, rows L2-normalized.

    'fused' concatenates each role's normalized block scaled by sqrt(weight), so the cosine of two
    fused rows is the weighted mean of the per-modality cosines; a product lacking a modality (zero
    block) is compared on the others only. 'shared' ignores the weights.
    """
    roles = vector_roles(list(vectors))
    need = needed_roles(spec, weights)
    missing = [r for r in need if r not in roles and r not in OPTIONAL_ROLES.get(spec, ())]
    if missing:
        raise ValueError(f"no vectors for {', '.join(missing)} (have {', '.join(sorted(vectors))})")
    if spec == "shared":
        image = roles["image"]
        return shared_features(vectors[image], title_view(vectors), has_image=(present or {}).get(image))
    w = fused_weights(weights) if spec == "fused" else {need[0]: 1.0}
    blocks = []
    for r in need:
        name = roles[r]
        pres = (present or {}).get(name)
        block = centred(vectors[name], pres) if center else l2_normalize(vectors[name])
        blocks.append(np.sqrt(w[r]) * block)
    return l2_normalize(np.hstack(blocks).astype(np.float32))


def title_view(vectors: Mapping[str, np.ndarray]) -> np.ndarray:
    """The title side of the 'shared' CCA: centred words, beside centred terms where they were computed.

    Words keep the exact type words; the encoder's terms know that 'sandalette' is a sandal and
    'pump' a heel, words no other title of the category uses. Together they lift the shoes' purity
    over words alone (level 1 79 -> 80 %, level 2 80 -> 84 %, bench/RESULTS.md).
    """
    blocks = [centred(vectors[r]) for r in ("words", "terms") if r in vectors]
    # Words alone go in as they are: the CCA's whitening centres them, and scaling one block changes nothing.
    return np.hstack(blocks) if len(blocks) > 1 else np.asarray(vectors["words"], dtype=np.float32)


def spec_for_size(spec: str, n_rows: int, notes: list[str]) -> str:
    """'fused' in place of 'shared' for a selection too small for the CCA (noted), else the spec unchanged."""
    if spec == "shared" and n_rows < MIN_SHARED_ROWS:
        notes.append(f"only {n_rows} products to cluster, too few for the image-title CCA of 'shared' vectors "
                     f"(it needs {MIN_SHARED_ROWS}): clustering 'fused' vectors (image + words)")
        return "fused"
    return spec


def usable_rows(vectors: Mapping[str, np.ndarray], spec: str, weights: Mapping[str, float] | None = None) -> np.ndarray:
    """Rows that have at least one of the vectors the spec reads (the others cannot be placed)."""
    roles = vector_roles(list(vectors))
    n = len(next(iter(vectors.values()))) if vectors else 0
    ok = np.zeros(n, dtype=bool)
    for r in needed_roles(spec, weights):
        if r in roles:
            ok |= np.any(vectors[roles[r]] != 0, axis=1)
    return ok


def store_text_encoder(store: VectorStore) -> TextEncoder | None:
    """The text encoder the store was ingested with (rebuilt from its meta), or None if it cannot be built."""
    from ..encoders import ModelLoadError, preset_from_meta
    from ..store.errors import SchemaError
    from ..store.schema import read_schema

    try:
        return preset_from_meta(read_schema(store)).text
    except (ValueError, KeyError, ModelLoadError, ImportError, OSError, SchemaError):
        return None


def role_vectors(sel: Selection, spec: str, weights: Mapping[str, float],
                 text_encoder: TextEncoder | None, notes: list[str]) -> tuple[dict[str, np.ndarray], str, dict[str, float]]:
    """Vectors by name for the roles a spec needs, computing 'words' and 'terms' (no encoder: 'title' for 'terms').

    Returns the vectors, the spec and weights actually used (changed by the fallback, noted in `notes`).
    """
    roles = dict(sel.roles)
    if spec == "shared" and "image" not in roles:
        notes.append("vectors 'shared' need image vectors and the store holds none: clustering title words alone")
        spec = "words"
    vecs = {r: sel.vectors[roles[r]] for r in needed_roles(spec, weights) if r in roles}
    w = dict(weights)
    if "words" in needed_roles(spec, weights):
        vecs["words"] = word_vectors(sel.column("title"), sel.column("brand"), sel.column("colour"))
    if "terms" in needed_roles(spec, weights):
        if text_encoder is None and "terms" in OPTIONAL_ROLES.get(spec, ()):
            notes.append(f"no text encoder available to re-encode cleaned titles: {spec!r} vectors use the "
                         "title words (TF-IDF) alone")
        elif text_encoder is not None:
            vecs["terms"] = term_vectors(text_encoder, sel.column("title"), sel.column("brand"), sel.column("colour"))
        elif "title" in roles:
            notes.append("no text encoder available to re-encode cleaned titles: using the stored title vectors "
                         "(brand and colour words included) in place of 'terms'")
            vecs["title"] = sel.vectors[roles["title"]]
            if spec == "terms":
                spec = "title"
            else:
                w["title"], w["terms"] = w.get("title", 0.0) + w["terms"], 0.0
        else:
            raise ValueError("vectors 'terms' need a text encoder or stored title vectors")
    return vecs, spec, w
