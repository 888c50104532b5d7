"""The options of each command family, as one typed object each, validated once where they enter.

`TrainConfig` is what `hiercat train`, `hiercat.Categorizer.fit` and the evaluation grid share;
`ClassifyConfig` what `hiercat classify`, `Categorizer.predict` and the REST service share. The CLI
builds one from its flags and hands it on; nothing below re-checks or re-spreads the options.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from .model.decode import DECODERS
from .model.fusion import FUSIONS
from .store.schema import LABEL_FIELDS

# `hiercat train` without options: the configuration recommended for shops the model has not seen
# (early fusion of pooled product words + description, title n-grams and image; bench/RESULTS.md).
DEFAULT_FUSION = "early"
DEFAULT_MODALITIES = "shops"
# The best whole valid path: leaving H&M out of training, 79.3 hF1 on Myntra against 77.2 level by level.
DEFAULT_DECODE = "path"
# Shares of training rows that see an image / a description missing. Leaving H&M out of training and
# scoring Myntra's title-only products, description dropout 0.6 gave hF1 77.2 where 0.3 gave 72.5
# (bench/RESULTS.md): the model must learn to classify from titles alone.
IMAGE_DROPOUT = 0.3
DESCRIPTION_DROPOUT = 0.6
HOLDOUT = 0.2  # the test share of `hiercat train`: 64/16/20 train/validation/test


def _check_share(name: str, value: float, top_open: bool = True) -> None:
    if not (0.0 <= value < 1.0 if top_open else 0.0 <= value <= 1.0):
        raise ValueError(f"{name} must be in [0, 1{')' if top_open else ']'}, got {value!r}")


@dataclass(frozen=True)
class TrainConfig:
    """How a classifier is trained on stored products.

    holdout: the share of labelled products kept out as the test split (0 for a production fit,
    which learns from every labelled product; validation then takes 20 % of them for early
    stopping and calibration). token_dropout: one value per ensemble member (empty = the model's
    default, one model). model_options: further `hiercat.model.train_classifier` keywords
    (learning rate, hidden sizes, ...), for experiments. reviewed_in_test: let products a reviewer
    corrected (`hiercat feedback`) land in the test split; by default they train, since they were
    picked for review by the model's doubt and would bias the test.
    """

    fusion: str = DEFAULT_FUSION
    modalities: str | tuple[str, ...] = DEFAULT_MODALITIES
    labels: str = "path"
    epochs: int = 60
    seed: int = 0
    decode: str = DEFAULT_DECODE
    holdout: float = HOLDOUT
    token_dropout: tuple[float, ...] = ()
    refit: bool = False
    zero_shot: bool = True
    image_dropout: float = IMAGE_DROPOUT
    description_dropout: float = DESCRIPTION_DROPOUT
    model_options: Mapping[str, Any] = field(default_factory=dict)
    reviewed_in_test: bool = False

    def __post_init__(self) -> None:
        if self.fusion not in FUSIONS:
            raise ValueError(f"fusion must be one of {', '.join(FUSIONS)}, got {self.fusion!r}")
        if self.labels not in LABEL_FIELDS:
            raise ValueError(f"labels must be one of {', '.join(LABEL_FIELDS)}, got {self.labels!r}")
        if self.decode not in DECODERS:
            raise ValueError(f"decode must be one of {', '.join(DECODERS)}, got {self.decode!r}")
        if int(self.epochs) < 1:
            raise ValueError(f"epochs must be at least 1, got {self.epochs!r}")
        _check_share("holdout", self.holdout)
        _check_share("image_dropout", self.image_dropout)
        _check_share("description_dropout", self.description_dropout)
        for v in self.token_dropout:
            _check_share("token_dropout", v)
        if not isinstance(self.modalities, str):
            object.__setattr__(self, "modalities", tuple(self.modalities))
        object.__setattr__(self, "token_dropout", tuple(float(v) for v in self.token_dropout))

    @property
    def members(self) -> list[dict[str, float]] | None:
        """Ensemble members as `fit_and_score` takes them (None = one model with its default token dropout)."""
        return [{"token_dropout": v} for v in self.token_dropout] or None

    @property
    def split_fractions(self) -> tuple[float, float, float]:
        """Train / validation / test shares: 64/16/20 for the default holdout."""
        if self.holdout == HOLDOUT:  # the literal fractions, so splits match those recorded before configs
            return (0.64, 0.16, 0.20)
        rest = 1.0 - self.holdout
        return (0.8 * rest, 0.2 * rest, self.holdout)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form, as the model's sidecar records it."""
        d = asdict(self)
        d["modalities"] = self.modalities if isinstance(self.modalities, str) else list(self.modalities)
        d["token_dropout"] = list(self.token_dropout)
        d["model_options"] = dict(self.model_options)
        return d


def parse_token_dropout(spec: str | Sequence[float] | None) -> tuple[float, ...]:
    """'0.1,0.4' (or numbers) as token-dropout values; ValueError naming the option for a bad list."""
    if spec is None or spec == "":
        return ()
    try:
        values = [float(v) for v in (str(spec).split(",") if isinstance(spec, str) else spec)
                  if str(v).strip()]
    except ValueError:
        values = []
    if not values or any(not 0 <= v < 1 for v in values):
        raise ValueError(f"--token-dropout takes numbers in [0, 1) joined by commas, got {spec!r}")
    return tuple(values)


@dataclass(frozen=True)
class ClassifyConfig:
    """How new products are classified.

    knn_threshold: below this calibrated model confidence the kNN vote of the stored neighbours is
    asked, and decides when its own calibrated confidence is higher. explain: attach the k
    neighbours to every prediction. native_category: pool each prediction with those of the
    products sharing its breadcrumb (`hiercat.breadcrumbs`). cascade: text-only first stage,
    multimodal model for the items it is unsure of (threshold: its escalation threshold; None =
    the one chosen on validation data). decode: None = the model's own.
    """

    knn_k: int = 10
    knn_threshold: float = 0.5
    explain: bool = False
    native_category: bool = False
    cascade: bool = False
    threshold: float | None = None
    decode: str | None = None

    def __post_init__(self) -> None:
        if int(self.knn_k) < 1:
            raise ValueError(f"k must be at least 1, got {self.knn_k!r}")
        _check_share("knn_threshold", self.knn_threshold, top_open=False)
        if self.threshold is not None:
            _check_share("threshold", self.threshold, top_open=False)
        if self.decode is not None and self.decode not in DECODERS:
            raise ValueError(f"decode must be one of {', '.join(DECODERS)}, got {self.decode!r}")
