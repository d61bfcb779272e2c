"""A TestClient over an app built by the factory with explicit settings."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from fastapi.testclient import TestClient

import engine
from app.main import create_app
from app.settings import Settings


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


