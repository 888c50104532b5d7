"""hiercat's REST API: `create_app` around a `ClassificationService` (a model loaded once, an open store)."""

from __future__ import annotations

from .service import ClassificationService, RequestError, ServeSettings

__all__ = ["ClassificationService", "RequestError", "ServeSettings", "create_app", "run_server"]


def create_app(*args, **kwargs):  # noqa: ANN002, ANN003 - see hiercat.serve.app.create_app
    """`hiercat.serve.app.create_app` (FastAPI is imported only when an app is made)."""
    from .app import create_app as make

    return make(*args, **kwargs)


def run_server(service: ClassificationService, host: str = "127.0.0.1", port: int = 8000,
               api_key: str | None = None, log_level: str = "info") -> None:
    """Serve the API with uvicorn until interrupted (one process: the model is loaded once)."""
    import uvicorn

    uvicorn.run(create_app(service, api_key), host=host, port=port, log_level=log_level)
