"""Settings from the environment."""

from __future__ import annotations

import pytest

from app.settings import Settings


def test_defaults():
    s = Settings.from_env({})
    assert (s.max_sessions, s.session_ttl, s.max_body_bytes, s.train_max_work) == (
        1000, 3600.0, 1_000_000, 2e9)


def test_every_variable_is_read():
    s = Settings.from_env({"CONVLENS_MAX_SESSIONS": "20", "CONVLENS_SESSION_TTL": "90.5",
                           "CONVLENS_MAX_BODY_BYTES": "2e6", "CONVLENS_TRAIN_MAX_WORK": "1e8"})
    assert (s.max_sessions, s.session_ttl, s.max_body_bytes, s.train_max_work) == (
        20, 90.5, 2_000_000, 1e8)


@pytest.mark.parametrize(("name", "value"), [
    ("CONVLENS_MAX_SESSIONS", "many"), ("CONVLENS_MAX_SESSIONS", "0"),
    ("CONVLENS_SESSION_TTL", "-1"), ("CONVLENS_SESSION_TTL", "nan"),
    ("CONVLENS_MAX_BODY_BYTES", "10"), ("CONVLENS_TRAIN_MAX_WORK", "inf"),
])
def test_bad_values_name_the_setting(name, value):
    with pytest.raises(ValueError, match=name.removeprefix("CONVLENS_").lower() + "|" + name):
        Settings.from_env({name: value})


def test_the_product_has_no_benchmark_route(client):
    assert client.post("/bench/floor").status_code == 404
    assert "/bench/floor" not in client.get("/openapi.json").json()["paths"]


def test_the_floor_app_answers_a_body_of_the_size_asked_for():
    from fastapi.testclient import TestClient

    from bench.floor import app

    with TestClient(app, base_url="http://localhost") as bench:  # a name it answers to
        r = bench.post("/bench/floor?size=5000")
        assert r.status_code == 200 and len(r.content) == 5000
        assert r.json()["pad"]


def test_the_serving_limits_are_read_too():
    s = Settings.from_env({"CONVLENS_COMPUTE_WORKERS": "3", "CONVLENS_COMPUTE_QUEUE": "0",
                           "CONVLENS_MAX_HEADER_BYTES": "4096", "CONVLENS_HEADER_TIMEOUT": "2.5",
                           "CONVLENS_ALLOWED_HOSTS": " a.example, b.example ,"})
    assert (s.compute_workers, s.compute_queue, s.max_header_bytes, s.header_timeout) == (
        3, 0, 4096, 2.5)
    assert s.allowed_hosts == ("localhost", "a.example", "b.example")
    assert Settings.from_env({}).allowed_hosts == ("localhost",)
    assert Settings().allowed_hosts is None  # built directly (tests): no Host check
    assert s.with_host_names("lab.local").allowed_hosts[-1] == "lab.local"


def test_compute_leaves_a_core_to_the_pages():
    import os

    assert Settings().compute_workers == max(1, (os.cpu_count() or 2) - 1)


@pytest.mark.parametrize(("name", "value"), [
    ("CONVLENS_COMPUTE_WORKERS", "0"), ("CONVLENS_COMPUTE_QUEUE", "-1"),
    ("CONVLENS_COMPUTE_TIMEOUT", "0"), ("CONVLENS_MAX_HEADER_BYTES", "100"),
    ("CONVLENS_MAX_CONNECTIONS_PER_CLIENT", "0"), ("CONVLENS_BODY_TIMEOUT", "inf"),
])
def test_bad_serving_limits_name_the_setting(name, value):
    with pytest.raises(ValueError, match=name.removeprefix("CONVLENS_").lower()):
        Settings.from_env({name: value})
