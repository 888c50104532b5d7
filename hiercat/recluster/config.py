"""The options of one recluster run, as one object validated where it enters (the command line or a caller)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .cluster import METHODS, UmapParams
from .features import DEFAULT_SPEC, SPECS, fused_weights


@dataclass(frozen=True)
class ReclusterConfig:
    """How `hiercat.recluster.recluster` clusters a category.

    vectors: which features ('shared' image-title CCA, 'fused', or one role); method:
    agglomerative (cascade) or hdbscan; levels of the cascade; n_clusters per level (None = chosen
    automatically); reference: a payload field to measure purity against (e.g. native_category);
    platform: only these shops; image_filter: set visually inconsistent shots aside first;
    weights: per-role weights of 'fused'; image_weights: re-embed the images with this SimCLR file;
    place_apart: place a shop that clusters by itself into the others' clusters by its titles.
    """

    vectors: str = DEFAULT_SPEC
    method: str = "agglomerative"
    levels: int = 2
    n_clusters: tuple[int | None, ...] | None = None
    reference: str | None = None
    platform: str | tuple[str, ...] | None = None
    image_filter: bool = True
    seed: int = 0
    weights: Mapping[str, float] = field(default_factory=dict)
    n_components: int = 10
    local_umap: bool = True
    umap: UmapParams | None = None
    montage_size: int = 24
    make_scatter: bool = True
    image_weights: Path | None = None
    place_apart: bool = True

    def __post_init__(self) -> None:
        if self.method not in METHODS:
            raise ValueError(f"method must be one of {', '.join(METHODS)}, got {self.method!r}")
        if self.vectors not in SPECS:
            raise ValueError(f"vectors must be one of {', '.join(SPECS)}, got {self.vectors!r}")
        if int(self.levels) < 1:
            raise ValueError(f"levels must be >= 1, got {self.levels}")
        if self.n_clusters is not None:
            ks = tuple(self.n_clusters)
            if any(k is not None and int(k) < 1 for k in ks):
                raise ValueError(f"n_clusters must be positive per level, got {ks}")
            object.__setattr__(self, "n_clusters", ks)
        if self.image_weights is not None:
            if not Path(self.image_weights).is_file():
                raise ValueError(f"image_weights: no such file {self.image_weights}")
            object.__setattr__(self, "image_weights", Path(self.image_weights))
        if self.platform is not None and not isinstance(self.platform, str):
            object.__setattr__(self, "platform", tuple(self.platform))
        fused_weights(self.weights)  # unknown roles refused here, once
        if int(self.n_components) < 2:
            raise ValueError(f"n_components must be >= 2, got {self.n_components}")

    @classmethod
    def from_options(cls, **options: object) -> ReclusterConfig:
        """A config from keyword options, where None means "the default" (as a command line passes them)."""
        return cls(**{k: v for k, v in options.items() if v is not None})  # type: ignore[arg-type]


def platforms_of(config: ReclusterConfig) -> str | Sequence[str] | None:
    """The platform filter in the form `select_category` takes."""
    return list(config.platform) if isinstance(config.platform, tuple) else config.platform
