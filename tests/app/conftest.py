"""A TestClient over an app built by the factory with explicit settings."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace

import numpy as np
import pytest
from fastapi.testclient import TestClient

import engine
from app.main import create_app
from app.settings import Settings
from app.store.backplane import Backplane
from app.store.codecs import ExerciseCodec, SessionCodec
from app.store.walks import MemoryWalkStore, RedisWalkStore


def make_client(**settings) -> TestClient:
    return TestClient(create_app(Settings(**settings)))


@pytest.fixture(scope="module")
def client() -> TestClient:
    with make_client() as c:
        yield c


@pytest.fixture
def fresh_client() -> TestClient:
    """A client with an app of its own (for tests that change the session store)."""
    with make_client() as c:
        yield c


def seed_body(config: engine.Config = engine.Config(), **extra) -> dict:
    x, y, _ = engine.seed_example(config)
    return {"config": config.to_dict(), "x": x.tolist(), "y": y, **extra}


def random_body(config: engine.Config, seed: int, **extra) -> dict:
    rng = np.random.default_rng(seed)
    params = engine.init_params(config, seed)
    n = config.input_size
    return {"config": config.to_dict(), "x": rng.random((n, n)).tolist(),
            "y": int(rng.integers(2)),
            "params": {k: v.tolist() for k, v in params.items()}, **extra}


@pytest.fixture(scope="session")
def bodies() -> SimpleNamespace:
    """Request bodies: ``bodies.seed(config, **extra)``, ``bodies.random(config, seed)``."""
    return SimpleNamespace(seed=seed_body, random=random_body)



# ------------------------------------------------------------------------------ backends
# The API and store suites run on both backends in the full run; the quick set keeps the
# memory one (tests/app/store and tests/demo/test_demo_shared_rooms cover Redis there).
BACKENDS = ["memory", pytest.param("redis", marks=pytest.mark.slow)]


def create_exercise(client: TestClient, **body) -> dict:
    """POST /api/exercises with ``body``, asserted a 201: the exercise's view."""
    response = client.post("/api/exercises", json=body)
    assert response.status_code == 201, response.text
    return response.json()


def backend_settings(request, name: str | None = None) -> dict:
    """Settings for an app on backend ``name`` (by default ``request.param``): the memory
    one, or the test Redis, emptied (the ``redis_server`` fixture, started on first use)."""
    if (name or request.param) == "memory":
        return {}
    server = request.getfixturevalue("redis_server")
    server.flush()
    return {"redis_url": server.url}


class Backend:
    """A walk store on one backend, for store tests written once for both.

    ``run(body, **limits)`` runs ``await body(store)`` on a fresh store with those limits
    (``kind``, ``max_items``, ``ttl``, ``max_per_client``) in an event loop of its own.
    ``ttl`` is the idle time-to-live tests should use: fake seconds in memory (the clock
    moves when ``advance`` is awaited), one real second in Redis (``advance`` sleeps:
    Redis expires keys by its own clock)."""

    def __init__(self, name: str, clock, redis_url: str | None) -> None:
        self.name, self.clock, self.redis_url = name, clock, redis_url
        self.ttl = 60.0 if name == "memory" else 1.0

    async def advance(self, seconds: float) -> None:
        if self.name == "memory":
            self.clock.advance(seconds)
        else:
            await asyncio.sleep(seconds)

    def run(self, body, *, kind: str = "session", **limits):
        limits.setdefault("ttl", self.ttl)
        limits.setdefault("max_items", 100)

        async def main():
            if self.name == "memory":
                return await body(MemoryWalkStore(kind=kind, clock=self.clock, **limits))
            plane = Backplane(self.redis_url)
            codec = SessionCodec() if kind == "session" else ExerciseCodec()
            try:
                return await body(RedisWalkStore(plane, codec, **limits))
            finally:
                await plane.redis.aclose()

        return asyncio.run(main())


@pytest.fixture(params=BACKENDS)
def backend(request, clock) -> Backend:
    settings = backend_settings(request)
    return Backend(request.param, clock, settings.get("redis_url"))
