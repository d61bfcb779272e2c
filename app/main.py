"""The ASGI app: ``app.main:app``, built by :func:`create_app`.

Routes: the REST API under ``/api`` (``app/api/routes``), the pages (``app.pages``), their
files under ``/static`` (:mod:`app.paths`), vendored browser files under
``/vendor`` and the offline API docs at ``/docs``. Responses are gzipped for the clients
that ask (:mod:`app.compression`).
Demo mode (``app.demo``: ``/demo``, ``/follow/{room}``, ``/api/demo``, ``/ws/follow/{room}``)
answers only when the app is given a presenter key.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from starlette.types import ASGIApp

from . import assets, errors, openapi_examples, pages, schemas, version
from .api.routes import compare, exercises, meta, network, sessions, train
from .compression import CompressionMiddleware, StaticFiles
from .compute import ComputePool
from .demo import answering
from .demo.mode import DemoMode, DemoSettings
from .demo.routes import install as install_demo
from .paths import STATIC
from .security import SecurityMiddleware
from .settings import Settings
from .store.backplane import Backplane
from .store.codecs import compare_store, walk_stores

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
    security middleware (headers on every response, the body limits, Host and Origin).
    It is built at the first request, from the settings the app holds then (the server
    adds the names it was started with, :mod:`app.serving`)."""

    def build_middleware_stack(self) -> ASGIApp:
        settings: Settings = self.state.settings
        return SecurityMiddleware(super().build_middleware_stack(),
                                  max_body_bytes=settings.max_body_bytes,
                                  allowed_hosts=settings.allowed_hosts)


@contextlib.asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """With Redis: reach it (or fail to start, saying so), then heartbeat and listen."""
    plane: Backplane | None = app.state.backplane
    if plane is not None:
        await plane.start()
    try:
        yield
    finally:
        if plane is not None:
            await plane.stop()


def create_app(settings: Settings | None = None, *,
               demo_settings: DemoSettings | None = None) -> FastAPI:
    settings = Settings.from_env() if settings is None else settings
    demo_settings = DemoSettings.from_env() if demo_settings is None else demo_settings
    app = ConvlensAPI(title=TITLE, version=version(), description=DESCRIPTION,
                      docs_url=None, redoc_url=None, openapi_url="/openapi.json",
                      lifespan=lifespan)
    app.state.settings = settings
    app.state.backplane = Backplane(settings.redis_url) if settings.redis_url else None
    app.state.sessions, app.state.exercises = walk_stores(settings, app.state.backplane)
    app.state.compares = compare_store(settings, app.state.backplane)
    app.state.compute = ComputePool(workers=settings.compute_workers,
                                    queue=settings.compute_queue,
                                    timeout=settings.compute_timeout,
                                    max_wait=settings.compute_max_wait)
    schemas.served_examples = openapi_examples.responses  # the schema's examples, served
    errors.install(app)
    for module in (network, train, sessions, compare, exercises, meta):
        app.include_router(module.router)
    app.include_router(assets.router(app.openapi_url or "/openapi.json", TITLE))
    install_demo(app, DemoMode(demo_settings) if demo_settings.enabled else None)
    app.include_router(answering.router)  # the room answers: join, answer, reveal, CSV
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.include_router(pages.router)
    app.add_middleware(CompressionMiddleware)  # gzip for those who ask (app.compression)
    return app


app = create_app()
