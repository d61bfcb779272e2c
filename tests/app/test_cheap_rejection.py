"""Bad bodies are refused cheaply and answered briefly: the JSON shape limits are checked
before validation, and no error body grows with the request."""

from __future__ import annotations

import json

import pytest

from app import errors, security

LARGEST = {"input_size": 28, "kernel_size": 1, "filters": 8, "pool_size": 1}
ERROR_BODY_LIMIT = 64_000


def post(client, path: str, content: bytes | str):
    return client.post(path, content=content, headers={"content-type": "application/json"})


def test_a_megabyte_of_unknown_keys_gets_one_short_error(client):
    from bench.abuse_bench import many_keys_body

    body = many_keys_body()  # the attack itself: 124,000 keys, just under a megabyte
    assert len(body) <= 1_000_000
    r = post(client, "/api/backward", body)
    assert r.status_code == 422
    assert len(r.content) < 1000
    [error] = r.json()["detail"]
    assert error["loc"] == ["body"] and error["type"] == "too_many_keys"


@pytest.mark.parametrize(("body", "loc", "kind"), [
    ({f"k{i}": 0 for i in range(security.MAX_KEYS + 1)}, ["body"], "too_many_keys"),
    ({"params": {f"W{i}": 0 for i in range(security.MAX_KEYS + 1)}}, ["body", "params"],
     "too_many_keys"),
    ({"x": [0] * (security.MAX_ITEMS + 1)}, ["body", "x"], "too_many_items"),
    ({"x" * (security.MAX_KEY_LENGTH + 1): 1}, ["body"], "key_too_long"),
])
def test_shape_limits_name_the_place(client, body, loc, kind):
    r = post(client, "/api/forward", json.dumps(body))
    assert r.status_code == 422
    [error] = r.json()["detail"]
    assert (error["loc"], error["type"]) == (loc, kind)
    assert str(security.MAX_KEYS if kind == "too_many_keys" else "") in error["msg"]


def test_nesting_is_limited(client):
    body = '{"x": ' + "[" * 40 + "]" * 40 + "}"
    r = post(client, "/api/forward", body)
    assert r.status_code == 422
    [error] = r.json()["detail"]
    assert error["type"] == "too_deep" and error["loc"][:2] == ["body", "x"]


def test_many_commas_are_refused_before_parsing(client):
    r = post(client, "/api/forward", "[" + "0," * (security.MAX_COMMAS + 1) + "0]")
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == "too_many_items"


def test_bodies_within_the_limits_reach_validation_as_before(client):
    r = post(client, "/api/forward", json.dumps({"x": [[0] * 6] * 6, "parms": {}}))
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "parms"]


def test_thousands_of_validation_errors_are_listed_briefly(client):
    n = LARGEST["input_size"]
    body = {"config": LARGEST, "x": [["a"] * n for _ in range(n)], "y": 1}
    r = post(client, "/api/forward", json.dumps(body))
    assert r.status_code == 422
    assert len(r.content) < ERROR_BODY_LIMIT
    detail = r.json()["detail"]
    assert len(detail) == errors.MAX_REPORTED + 1
    assert all(d["loc"][:2] == ["body", "x"] for d in detail[:-1])
    assert detail[-1]["type"] == "too_many_errors"
    assert f"{n * n} in all" in detail[-1]["msg"]


def test_bounded_cuts_messages_and_locations():
    many = [{"loc": ("body", "z" * 10_000), "msg": "m" * 10_000, "type": "t"}] * 50
    shown = errors.bounded(many)
    assert len(shown) == errors.MAX_REPORTED + 1
    assert len(json.dumps(shown)) < ERROR_BODY_LIMIT
    assert shown[-1]["msg"].startswith(f"{50 - errors.MAX_REPORTED} more errors")


def test_json_problem_finds_nothing_in_a_real_request(bodies):
    import engine

    body = bodies.random(engine.Config(**LARGEST), seed=1)
    assert security.json_problem(json.loads(json.dumps(body))) is None
