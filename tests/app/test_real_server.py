"""A real uvicorn server on 127.0.0.1, started the way ``convlens serve`` starts it."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

import engine

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server():
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    try:
        while True:
            try:
                if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or proc.poll() is not None:
                proc.kill()
                pytest.fail("the server did not start:\n" + proc.stdout.read().decode())
            time.sleep(0.1)
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


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
