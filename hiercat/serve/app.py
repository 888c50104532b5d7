"""The FastAPI application: routes, the API-key check, and 4xx errors that name the field at fault."""

from __future__ import annotations

import hmac
import time
from typing import Any

from fastapi import Depends, FastAPI, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import APIKeyHeader
from starlette.exceptions import HTTPException as StarletteHTTPException

from .models import (
    ClassifyRequest,
    ClassifyResponse,
    ErrorBody,
    FeedbackRequest,
    FeedbackResponse,
    Health,
    SearchResponse,
    Version,
)
from .service import ClassificationService, RequestError

API_KEY_HEADER = "X-API-Key"
_key_header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False,
                           description="Required when the server runs with HIERCAT_API_KEY set.")
ERRORS: dict[int | str, dict[str, Any]] = {s: {"model": ErrorBody} for s in (401, 403, 404, 413, 422)}


def _field(loc: tuple[Any, ...] | list[Any]) -> str:
    """`products[0].title` from pydantic's ('body', 'products', 0, 'title')."""
    out = ""
    for part in loc[1:] if loc and loc[0] in ("body", "query", "path") else loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or (str(loc[0]) if loc else "body")


def error_response(status: int, field: str, message: str, errors: list[dict[str, str]] | None = None) -> JSONResponse:
    """The JSON body of every refusal."""
    body = ErrorBody(error=message, field=field, errors=errors or [{"field": field, "error": message}])
    return JSONResponse(body.model_dump(), status_code=status)


def create_app(service: ClassificationService, api_key: str | None = None) -> FastAPI:
    """The REST API around a loaded `ClassificationService`; `api_key` set: every call but /health and /docs needs it.

    The key is compared with `hmac.compare_digest`, in time independent of where a wrong key differs.
    """
    app = FastAPI(title="hiercat", version=service.version()["hiercat"],
                  description="Classify products into one taxonomy, search the store, send corrections. "
                              f"With HIERCAT_API_KEY set on the server, send it in the `{API_KEY_HEADER}` header.")
    expected = api_key.encode() if api_key else None
    # The largest body a valid request can have (every product with a maximal base64 image); anything
    # bigger is refused before it is read, so one client cannot make the server buffer gigabytes.
    max_body = service.settings.max_products * (service.settings.max_image_bytes * 4 // 3 + 65536)

    @app.middleware("http")
    async def _limit_body(request: Request, call_next: Any) -> Any:
        length = request.headers.get("content-length")
        if length and length.isdigit() and int(length) > max_body:
            return error_response(413, "body", f"request body of {length} bytes is over the limit of {max_body}")
        return await call_next(request)

    def require_key(given: str | None = Depends(_key_header)) -> None:
        if expected is None:
            return
        if given is None or not hmac.compare_digest(given.encode(), expected):
            raise RequestError(401, API_KEY_HEADER, "missing API key" if given is None else "wrong API key")

    @app.exception_handler(RequestError)
    async def _request_error(_: Request, exc: RequestError) -> JSONResponse:
        return error_response(exc.status, exc.field, exc.message)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": "body" if e.get("type") == "json_invalid" else _field(e.get("loc", ())),
                   "error": str(e.get("msg", "invalid"))} for e in exc.errors()]
        first = errors[0] if errors else {"field": "body", "error": "invalid request"}
        return error_response(422, first["field"], f"{first['field']}: {first['error']}", errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        return error_response(exc.status_code, "path", str(exc.detail))

    protected = [Depends(require_key)]

    @app.post("/classify", response_model=ClassifyResponse, responses=ERRORS, dependencies=protected)
    def classify(body: ClassifyRequest) -> ClassifyResponse:
        """Classify up to the server's batch limit of products: path, confidences, source, neighbours, back-off."""
        t0 = time.perf_counter()
        preds = service.classify(body.products, body.min_confidence, body.k)
        c = service.settings.min_confidence if body.min_confidence is None else body.min_confidence
        return ClassifyResponse(predictions=preds, min_confidence=c, seconds=round(time.perf_counter() - t0, 4))

    @app.get("/search", response_model=SearchResponse, responses=ERRORS, dependencies=protected)
    def search(q: str = Query(..., description="Text to search product titles for."),
               k: int = Query(10, ge=1, le=100)) -> SearchResponse:
        """Stored products whose title is nearest the text."""
        return SearchResponse(query=q, vector=str(service.title_vector), hits=service.search(q, k))

    @app.get("/products/{platform}/{product_id}/similar", response_model=SearchResponse, responses=ERRORS,
             dependencies=protected)
    def similar(platform: str, product_id: str, k: int = Query(10, ge=1, le=100)) -> SearchResponse:
        """Stored products nearest a stored one (by title vector), itself left out."""
        return SearchResponse(query=f"{platform}/{product_id}", vector=str(service.title_vector),
                              hits=service.similar(platform, product_id, k))

    @app.post("/feedback", response_model=FeedbackResponse, responses=ERRORS, dependencies=protected)
    def feedback(body: FeedbackRequest) -> FeedbackResponse | JSONResponse:
        """Write reviewed labels into the store at once (the kNN vote uses them on the next request).

        Bad rows are rejected with their field and reason and the others applied; when none could be
        applied the answer is a 422 naming the first bad one.
        """
        applied, rejected, stamp = service.feedback([c.model_dump() for c in body.corrections])
        if not applied:
            first = rejected[0]
            return error_response(422, first.field, first.error,
                                  [{"field": r.field, "error": r.error} for r in rejected])
        return FeedbackResponse(applied=applied, rejected=rejected, reviewed_at=stamp)

    @app.get("/health", response_model=Health)
    def health() -> Health:
        """The model is loaded and the store answers (open without the API key, for load balancers)."""
        return Health(status="ok", points=service.health())

    @app.get("/version", response_model=Version, responses=ERRORS, dependencies=protected)
    def version() -> Version:
        """hiercat's version, the model's identity (folder, weights digest) and the store's."""
        return Version(**service.version())

    return app
