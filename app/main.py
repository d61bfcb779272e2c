"""The ASGI app: ``app.main:app``, built by :func:`create_app`.

Routes: the REST API under ``/api`` (``app/api/routes``), the page at ``/`` (``app.pages``
when present, else a short page that links to the docs), ``/static`` (when ``app/static``
exists), vendored browser files under ``/vendor`` and the offline API docs at ``/docs``.
"""

from __future__ import annotations

import importlib
from pathlib import Path

from fastapi import APIRouter, FastAPI
from fastapi.staticfiles import StaticFiles
from starlette.responses import HTMLResponse
from starlette.types import ASGIApp

from . import assets, errors, version
from .api.routes import bench, meta, network, sessions, train
from .security import SecurityMiddleware
from .sessions import SessionStore
from .settings import Settings

HERE = Path(__file__).resolve().parent
TITLE = "convlens API"
DESCRIPTION = """\
See, number by number, how a small CNN learns: the forward pass, every gradient and the
update of `X → Conv → ReLU → MaxPool → Flatten → Dense → σ → cross-entropy`, as JSON.

Tensors are nested lists of numbers, with the names and shapes of the engine (`X W1 b1 Z1 A1
P1 F W2 b2 Z2 A2 L` and their gradients `dA2 … dX`). Malformed input is a 422 naming the
field; bodies over the size limit a 413; `GET /api/meta` lists every limit.
"""


class ConvlensAPI(FastAPI):
    """FastAPI whose whole middleware stack, error pages included, sits inside the
    security middleware (headers on every response, the body size limit)."""

    def build_middleware_stack(self) -> ASGIApp:
        return SecurityMiddleware(super().build_middleware_stack(),
                                  max_body_bytes=self.state.settings.max_body_bytes)


def landing_router() -> APIRouter:
    """``/`` until the explorer page is installed: a short page that links to /docs."""
    router = APIRouter(include_in_schema=False)
    page = ("<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<title>convlens</title></head><body><h1>convlens</h1>"
            "<p>See, number by number, how a small CNN learns.</p>"
            "<p>The REST API and its documentation: <a href=\"/docs\">/docs</a>.</p>"
            "</body></html>")

    @router.get("/", response_class=HTMLResponse)
    async def landing() -> HTMLResponse:
        return HTMLResponse(page)

    return router


def pages_router() -> APIRouter:
    try:
        module = importlib.import_module("app.pages")
    except ModuleNotFoundError as exc:
        if exc.name != "app.pages":
            raise
        return landing_router()
    return module.router


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = Settings.from_env() if settings is None else settings
    app = ConvlensAPI(title=TITLE, version=version(), description=DESCRIPTION,
                      docs_url=None, redoc_url=None, openapi_url="/openapi.json")
    app.state.settings = settings
    app.state.sessions = SessionStore(max_sessions=settings.max_sessions,
                                      ttl=settings.session_ttl)
    errors.install(app)
    for module in (network, train, sessions, meta):
        app.include_router(module.router)
    if settings.bench_routes:
        app.include_router(bench.router)
    app.include_router(assets.router(app.openapi_url or "/openapi.json", TITLE))
    static = HERE / "static"
    if static.is_dir():
        app.mount("/static", StaticFiles(directory=static), name="static")
    app.include_router(pages_router())
    return app


app = create_app()
