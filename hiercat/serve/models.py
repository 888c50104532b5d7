"""The REST API's request and response bodies (pydantic): what /docs shows and what every request is checked against."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator


class ImageIn(BaseModel):
    """A product image: a file the server may read (under its image roots), or the bytes as base64."""

    model_config = ConfigDict(extra="forbid")

    path: str | None = Field(None, description="A path on the server, under one of its --image-root folders.")
    base64: str | None = Field(None, description="The image file's bytes, base64-encoded (JPEG, PNG, WebP ...).")


class ProductIn(BaseModel):
    """One product to classify, as a shop's own system knows it."""

    model_config = ConfigDict(extra="ignore", json_schema_extra={
        "examples": [{"title": "Roadster Men Navy Blue Slim Fit Jeans", "brand": "Roadster",
                      "native_category": "Apparel > Bottomwear > Jeans"}]})

    product_id: str = Field("", description="The shop's id, echoed back (and the id `/feedback` corrects).")
    platform: str = Field("api", description="The shop, echoed back.")
    title: str = Field(..., description="The product title (required, not blank).")
    brand: str = ""
    description: str = ""
    image: ImageIn | None = None
    native_category: str | None = Field(None, description="The shop's own breadcrumb, levels joined by ' > '. "
                                        "Products of one request sharing it are pooled (classify --native-category).")

    @field_validator("title")
    @classmethod
    def _title_not_blank(cls, v: str) -> str:
        if not v.strip():
            raise ValueError("title is blank")
        return v


class ClassifyRequest(BaseModel):
    """Products to classify (at most the server's batch limit) and how."""

    model_config = ConfigDict(extra="forbid")

    products: list[ProductIn] = Field(..., min_length=1)
    min_confidence: float | None = Field(None, ge=0.0, le=1.0, description="Back off to the deepest prefix whose "
                                         "cumulative confidence is at least this [default: the server's].")
    k: int = Field(10, ge=1, le=100, description="Neighbours returned and voting.")


class Level(BaseModel):
    """One level of the predicted path: its category, confidence given the level above, and from the top."""

    category: str
    confidence: float
    cumulative: float


class NeighbourOut(BaseModel):
    """A stored product near the query."""

    product_id: str
    platform: str
    title: str
    path: str
    score: float


class KnnOut(BaseModel):
    """The vote of the neighbours (hierarchy-aware, similarity-weighted), whether or not it decided."""

    path: str
    confidence: float


class Prediction(BaseModel):
    """What hiercat says about one product."""

    product_id: str
    platform: str
    path: str = Field(description="The answer: the full path, or its deepest prefix as sure as min_confidence.")
    confidence: float = Field(description="Cumulative confidence of `path`.")
    stopped_early: bool = Field(description="True when `path` is a prefix of the predicted path (back-off).")
    full_path: str = Field(description="The predicted path before back-off.")
    levels: list[Level] = Field(description="Each level of the full path with its confidences.")
    source: str = Field(description="What decided: model, knn, breadcrumb, zero-shot (text / multimodal with a cascade).")
    knn: KnnOut
    neighbours: list[NeighbourOut]
    note: str = ""


class ClassifyResponse(BaseModel):
    """One prediction per product, in request order."""

    predictions: list[Prediction]
    min_confidence: float | None
    seconds: float


class SearchHit(BaseModel):
    """A stored product found by a search."""

    product_id: str
    platform: str
    title: str
    path: str
    score: float
    image: str = ""


class SearchResponse(BaseModel):
    """Stored products nearest the query, nearest first."""

    query: str
    vector: str
    hits: list[SearchHit]


class CorrectionIn(BaseModel):
    """A reviewer's label for a stored product."""

    model_config = ConfigDict(extra="forbid")

    product_id: str = Field(..., min_length=1)
    platform: str = Field(..., min_length=1)
    path: str = Field(..., min_length=1, description="A category of the store's taxonomy, levels joined by ' > '.")


class FeedbackRequest(BaseModel):
    """Corrections to write into the store at once."""

    model_config = ConfigDict(extra="forbid")

    corrections: list[CorrectionIn] = Field(..., min_length=1)


class Rejected(BaseModel):
    """A correction that was not written, and why."""

    index: int = Field(description="0-based position in `corrections`.")
    field: str
    error: str


class FeedbackResponse(BaseModel):
    """What was written (each with the label it replaced) and what was rejected."""

    applied: list[dict[str, str]]
    rejected: list[Rejected]
    reviewed_at: str


class Health(BaseModel):
    """Liveness: the model is loaded and the store answers."""

    status: str
    points: int


class Version(BaseModel):
    """Which hiercat, model and store answer."""

    hiercat: str
    model: dict[str, object]
    store: dict[str, object]


class ErrorBody(BaseModel):
    """Every 4xx: the first problem's field and message, and all of them."""

    error: str
    field: str
    errors: list[dict[str, str]] = []
