"""A real uvicorn server on 127.0.0.1, started the way ``convlens serve`` starts it."""

from __future__ import annotations

import json

import httpx
import pytest

import engine
from tests.support.localserver import LocalServer


@pytest.fixture(scope="module")
def server():
    """Started the way the README's command starts it: ``convlens serve --port N``."""
    running = LocalServer(["app.cli", "serve", "--port", "{port}"])
    try:
        running.start()
    except RuntimeError as exc:
        pytest.fail(str(exc))
    yield running.url, running.proc
    running.stop()


def test_the_real_server_answers_over_127_0_0_1(server):
    url, _ = server
    x, y, params = engine.seed_example()
    with httpx.Client(base_url=url, timeout=10) as client:
        r = client.post("/api/backward", json={"x": x.tolist(), "y": y})
        assert r.status_code == 200
        assert r.json()["tensors"]["L"] == float(engine.trace(x, y, params)["L"])
        assert r.headers["x-frame-options"] == "DENY"
        sid = client.post("/api/sessions", json={}).json()["id"]
        assert client.post(f"/api/sessions/{sid}/next").json()["step"]["writes"] == "Z1"
        r = client.post("/api/forward", content=b"x" * 1_000_001,
                        headers={"content-type": "application/json"})
        assert r.status_code == 413
        r = client.post("/api/forward", content=json.dumps({"x": [[1]]}),
                        headers={"content-type": "application/json"})
        assert r.status_code == 422
        assert client.get("/docs").status_code == 200


def test_serve_printed_its_url(server):
    url, proc = server
    line = proc.stdout.readline().decode()
    assert f"{url}/" in line
