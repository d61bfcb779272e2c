"""Every malformed input is a 422 naming the field; oversized bodies a 413; never a 500."""

from __future__ import annotations

import json

import pytest

import engine

GOOD_X = [[0.0] * 6 for _ in range(6)]


def post(client, path: str, body: object):
    return client.post(path, content=json.dumps(body), headers={"content-type":
                                                                  "application/json"})


def detail(r) -> list[dict]:
    assert r.status_code == 422, r.text
    items = r.json()["detail"]
    assert items and all({"loc", "msg", "type"} <= set(item) for item in items)
    return items


def locs(r) -> list[list]:
    return [item["loc"] for item in detail(r)]


@pytest.mark.parametrize(("x", "where"), [
    ([[0.0] * 5] * 6, ["body", "x"]),                       # wrong shape
    ([[0.0] * 6] * 5 + [[0.0] * 5], ["body", "x"]),         # ragged
    ([[0.0] * 6] * 7, ["body", "x"]),                       # 7 rows at n = 6
    ([[0.0] * 6] * 5 + [["a"] * 6], ["body", "x", 5, 0]),   # a string
    ([[0.0] * 6] * 5 + [[True] * 6], ["body", "x", 5, 0]),  # a boolean
    ([[0.0] * 6] * 5 + [[None] * 6], ["body", "x", 5, 0]),  # null
    ([[[0.0]] * 6] * 6, ["body", "x", 0, 0]),               # one level too deep
    ([0.0] * 36, ["body", "x"]),                             # flat, and too long
    ("image", ["body", "x"]),
    ([], ["body", "x"]),
    ([[0.0] * 6] * 5 + [[1e13] * 6], ["body", "x", 5, 0]),  # absurdly large
])
def test_bad_x(client, x, where):
    r = post(client, "/api/backward", {"x": x, "y": 1})
    assert where in locs(r)


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400"])
def test_nan_and_infinity_are_refused(client, literal):
    raw = f'{{"x": [[{literal}, 0, 0, 0, 0, 0]' + ", [0, 0, 0, 0, 0, 0]" * 5 + '], "y": 1}'
    r = client.post("/api/backward", content=raw, headers={"content-type": "application/json"})
    assert ["body", "x", 0, 0] in locs(r)
    assert "finite" in r.json()["detail"][0]["msg"] or "number" in r.json()["detail"][0]["msg"]


def test_a_list_longer_than_any_tensor_is_refused_before_any_work(client):
    r = post(client, "/api/backward", {"x": [[0.0] * 29] * 29, "y": 1})
    assert any(loc[:2] == ["body", "x"] for loc in locs(r))
    assert any("at most 28" in item["msg"] for item in detail(r))
    r = post(client, "/api/forward", {"x": GOOD_X, "params": {
        "W1": [[[0.0] * 3] * 3], "b1": [0.0], "W2": [[0.0] * 16_385], "b2": [0.0]}})
    assert ["body", "params", "W2", 0] in locs(r)


@pytest.mark.parametrize("y", [2, -1, 0.5, "1", True, None, [1]])
def test_bad_y(client, y):
    assert ["body", "y"] in locs(post(client, "/api/backward", {"x": GOOD_X, "y": y}))


def test_y_is_required_by_backward_but_not_forward(client):
    assert ["body", "y"] in locs(post(client, "/api/backward", {"x": GOOD_X}))
    assert post(client, "/api/forward", {"x": GOOD_X}).status_code == 200


@pytest.mark.parametrize("lr", [0, -0.1, engine.LR_MAX * 1.01, 1e300, "0.1", True])
def test_bad_lr(client, lr):
    body = {"x": GOOD_X, "y": 1, "lr": lr}
    assert ["body", "lr"] in locs(post(client, "/api/update", body))
    assert ["body", "lr"] in locs(post(client, "/api/backward", body))


@pytest.mark.parametrize(("config", "field"), [
    ({"input_size": 3}, "input_size"), ({"input_size": 29}, "input_size"),
    ({"kernel_size": 0}, "kernel_size"), ({"kernel_size": 8}, "kernel_size"),
    ({"filters": 9}, "filters"), ({"pool_size": 5}, "pool_size"),
    ({"input_size": 6.0}, "input_size"), ({"input_size": "6"}, "input_size"),
    ({"stride": 2}, "stride"),
])
def test_bad_config_values(client, config, field):
    assert ["body", "config", field] in locs(post(client, "/api/forward",
                                                  {"x": GOOD_X, "config": config}))


@pytest.mark.parametrize("config", [{"input_size": 4, "kernel_size": 5},
                                    {"input_size": 6, "kernel_size": 4, "pool_size": 4}])
def test_inconsistent_config(client, config):
    r = post(client, "/api/forward", {"x": GOOD_X, "config": config})
    assert ["body", "config"] in locs(r)
    assert "must be <=" in detail(r)[0]["msg"]


def test_params_of_the_wrong_shape_name_the_tensor(client):
    params = {"W1": [[[0.0] * 3] * 3], "b1": [0.0], "W2": [[0.0] * 5], "b2": [0.0]}
    r = post(client, "/api/forward", {"x": GOOD_X, "params": params})
    assert locs(r) == [["body", "params", "W2"]]
    assert "(1, 4)" in detail(r)[0]["msg"]


def test_params_missing_a_tensor_or_with_an_extra_one(client):
    r = post(client, "/api/forward", {"x": GOOD_X, "params": {"W1": [[[0.0] * 3] * 3]}})
    assert {"b1", "W2", "b2"} <= {loc[-1] for loc in locs(r)}
    params = {"W1": [[[0.0] * 3] * 3], "b1": [0.0], "W2": [[0.0] * 4], "b2": [0.0], "W3": [1]}
    assert ["body", "params", "W3"] in locs(post(client, "/api/forward",
                                                 {"x": GOOD_X, "params": params}))


@pytest.mark.parametrize("seed", [-1, 2**32, 1.5, "0"])
def test_bad_seed(client, seed):
    assert ["body", "seed"] in locs(post(client, "/api/forward", {"x": GOOD_X, "seed": seed}))


@pytest.mark.parametrize("raw", [b"{", b"[1, 2]", b"null", b'"x"', b"", b"{}"])
def test_malformed_bodies(client, raw):
    r = client.post("/api/backward", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422, r.text
    assert r.json()["detail"]


def test_a_deeply_nested_body_is_not_a_500(client):
    raw = b"[" * 100_000 + b"]" * 100_000
    r = client.post("/api/backward", content=raw, headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["type"] == "json_invalid"


def test_bodies_over_the_limit_are_413(client):
    big = b'{"x": [' + b"0," * 600_000 + b'0]}'
    r = client.post("/api/backward", content=big, headers={"content-type": "application/json"})
    assert r.status_code == 413
    assert "1000000 bytes" in r.json()["detail"]


def test_a_streamed_body_over_the_limit_is_413_whatever_its_headers_say(client):
    def chunks():
        for _ in range(20):
            yield b" " * 100_000

    r = client.post("/api/backward", content=chunks(),
                    headers={"content-type": "application/json"})
    assert r.status_code == 413


def test_a_body_under_the_limit_with_chunked_encoding_is_read_whole(client):
    body = json.dumps({"x": GOOD_X, "y": 1}).encode()

    def chunks():
        for i in range(0, len(body), 7):
            yield body[i : i + 7]

    r = client.post("/api/backward", content=chunks(),
                    headers={"content-type": "application/json"})
    assert r.status_code == 200


def test_unknown_routes_and_methods(client):
    assert client.get("/api/nothing").status_code == 404
    assert client.get("/api/backward").status_code == 405


def test_a_body_that_is_not_utf_8_is_422(client):
    r = client.post("/api/backward", content=b'{"x": "\xff"}',
                    headers={"content-type": "application/json"})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body"]


@pytest.mark.parametrize("path, body", [
    ("/api/backward", {"parms": {}}),
    ("/api/forward", {"learning_rate": 0.1}),
    ("/api/update", {"lr": 0.1, "Params": {}}),
    ("/api/train", {"dataset": "x_vs_o", "epochs": 1, "batch_size": 4, "lr": 0.1,
                    "cfg": {}}),
    ("/api/sessions", {"foo": 1}),
])
def test_a_misspelt_field_is_refused_not_ignored(client, path, body):
    base = {"x": [[0.0] * 6] * 6, "y": 1} if "train" not in path else {}
    response = client.post(path, json={**base, **body})
    assert response.status_code == 422
    (typo,) = [k for k in body if k not in ("lr", "dataset", "epochs", "batch_size")]
    detail = response.json()["detail"]
    assert any(d["loc"][-1] == typo and "unknown field" in d["msg"] for d in detail)


def test_messages_carry_no_library_prefix(client):
    response = client.post("/api/backward", json={"x": [[0.0] * 6] * 6, "y": True})
    assert response.status_code == 422
    assert not any(d["msg"].startswith("Value error") for d in response.json()["detail"])
