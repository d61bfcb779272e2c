"""Sessions over HTTP: stepping visits every step in order, prev undoes it exactly."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from app.sessions import LAST

NAMES = [s.writes for s in engine.STEPS]
ALWAYS = {"X", "Y", "W1", "b1", "W2", "b2"}


def arr(value) -> np.ndarray:
    return np.array(value, dtype=np.float64)


@pytest.fixture
def session(fresh_client, bodies):
    body = bodies.random(engine.Config(8, 3, 2, 2), seed=7, lr=0.3)
    r = fresh_client.post("/api/sessions", json=body)
    assert r.status_code == 201, r.text
    return fresh_client, r.json(), body


def url(data: dict, action: str = "") -> str:
    return f"/api/sessions/{data['id']}" + (f"/{action}" if action else "")


def test_a_new_session_is_before_its_first_step(session):
    client, data, _ = session
    assert len(data["id"]) >= 20
    assert (data["cursor"], data["epoch"], data["step"]) == (-1, 0, None)
    assert set(data["tensors"]) == ALWAYS
    assert data["updated"] == {} and data["winners"] is None and data["loss_history"] == []
    assert data["lr"] == 0.3
    assert all(s["latex_numbers"] is None and s["mathml_numbers"] is None
               for s in data["steps"])
    assert [s["writes"] for s in data["steps"]] == NAMES
    assert set(data["ranges"]) == ALWAYS
    r = client.get(url(data))
    assert r.status_code == 200
    assert r.json() == data


def test_next_visits_every_step_in_order_revealing_only_what_is_computed(session):
    client, data, body = session
    config = engine.Config(**body["config"])
    t = engine.trace(body["x"], body["y"], body["params"], config)
    records = engine.step_records(t, 0.3)
    revealed = set(ALWAYS)
    for i, name in enumerate(NAMES):
        r = client.post(url(data, "next"))
        assert r.status_code == 200
        move = r.json()
        assert (move["cursor"], move["epoch"]) == (i, 0)
        assert move["step"]["writes"] == name
        assert move["step"]["latex_numbers"] == records[i]["latex_numbers"]
        assert np.array_equal(arr(move["tensor"]), engine.step_value(t, i, 0.3))
        view = client.get(url(data)).json()
        if engine.STEPS[i].phase != "update":
            revealed.add(name)
        if name == "dW1":
            revealed.add("dX")  # the saliency map comes with the conv's backward
        assert set(view["tensors"]) == revealed
        assert set(view["ranges"]) == revealed
        assert view["step"] == move["step"]
        assert [s["latex_numbers"] is not None for s in view["steps"]][i + 1:] == \
            [False] * (len(NAMES) - i - 1)
        assert (view["winners"] is not None) == ("P1" in revealed)
        for tensor in view["tensors"]:
            assert np.array_equal(arr(view["tensors"][tensor]), t[tensor]), tensor
        for param, value in view["updated"].items():
            assert np.array_equal(arr(value), t[param] - 0.3 * t["d" + param])


def test_after_the_last_update_next_starts_the_next_epoch(session):
    client, data, body = session
    for _ in range(LAST + 1):
        client.post(url(data, "next"))
    config = engine.Config(**body["config"])
    t = engine.trace(body["x"], body["y"], body["params"], config)
    new = engine.sgd_step(t, t, 0.3)
    r = client.post(url(data, "next"))
    assert r.status_code == 200
    move = r.json()
    assert (move["cursor"], move["epoch"]) == (0, 1)
    t2 = engine.trace(body["x"], body["y"], new, config)
    assert np.array_equal(arr(move["tensor"]), t2["Z1"])
    view = client.get(url(data)).json()
    assert view["loss_history"] == [float(t["L"])]
    assert set(view["tensors"]) == ALWAYS | {"Z1"} and view["updated"] == {}
    for name in engine.PARAM_NAMES:
        assert np.array_equal(arr(view["params"][name]), new[name])
        assert np.array_equal(arr(view["tensors"][name]), new[name])


def test_prev_undoes_every_next_exactly_across_epochs(session):
    client, data, _ = session
    views = [client.get(url(data)).json()]
    for _ in range(2 * (LAST + 1) + 3):
        assert client.post(url(data, "next")).status_code == 200
        views.append(client.get(url(data)).json())
    for expected in reversed(views[:-1]):
        r = client.post(url(data, "prev"))
        assert r.status_code == 200
        assert (r.json()["cursor"], r.json()["epoch"]) == (expected["cursor"],
                                                           expected["epoch"])
        assert client.get(url(data)).json() == expected
    r = client.post(url(data, "prev"))
    assert r.status_code == 409
    assert "start" in r.json()["detail"]


def test_prev_to_before_the_first_step(session):
    client, data, _ = session
    client.post(url(data, "next"))
    move = client.post(url(data, "prev")).json()
    assert move == {"cursor": -1, "epoch": 0, "step": None, "tensor": None}


def test_patch_edits_and_resets(session, bodies):
    client, data, body = session
    for _ in range(LAST + 3):
        client.post(url(data, "next"))
    x = np.eye(8).tolist()
    r = client.patch(url(data), json={"x": x, "y": 0, "lr": 0.05,
                                      "params": {"b2": [0.5]}})
    assert r.status_code == 200
    view = r.json()
    assert (view["cursor"], view["epoch"], view["lr"]) == (-1, 0, 0.05)
    assert view["tensors"]["X"] == x and view["tensors"]["Y"] == 0.0
    assert view["params"]["b2"] == [0.5]
    # The other parameters are those the session had at the time (epoch 1's).
    assert view["params"]["W1"] != body["params"]["W1"]


def test_patch_config_redraws_what_is_not_given(session):
    client, data, _ = session
    r = client.patch(url(data), json={"config": {"input_size": 10, "filters": 1}, "seed": 3})
    assert r.status_code == 200
    view = r.json()
    config = engine.Config(10, 3, 1, 2)
    x, _ = engine.preset("vertical_stroke", 10)
    assert view["tensors"]["X"] == x.tolist()
    for name, value in engine.init_params(config, 3).items():
        assert np.array_equal(arr(view["params"][name]), value)
    assert view["config"]["input_size"] == 10


def test_patch_config_keeps_x_when_the_size_stays(session):
    client, data, body = session
    r = client.patch(url(data), json={"config": {**body["config"], "kernel_size": 2}})
    assert r.status_code == 200
    assert r.json()["tensors"]["X"] == body["x"]


def test_a_bad_patch_changes_nothing(session):
    client, data, _ = session
    client.post(url(data, "next"))
    before = client.get(url(data)).json()
    for patch, loc in [({"x": [[0.0] * 6] * 6}, ["body", "x"]),
                       ({"params": {"W2": [[0.0] * 3]}}, ["body", "params", "W2"]),
                       ({"config": {"input_size": 4}}, ["body", "x"]),
                       ({"lr": 0}, ["body", "lr"]), ({"y": 3}, ["body", "y"])]:
        if patch.get("config"):
            patch["x"] = [[0.0] * 5] * 5
        r = client.patch(url(data), json=patch)
        assert r.status_code == 422, patch
        assert loc in [d["loc"] for d in r.json()["detail"]], r.json()
    assert client.get(url(data)).json() == before


def test_reset_goes_back_to_epoch_0(session):
    client, data, _ = session
    for _ in range(LAST + 4):
        client.post(url(data, "next"))
    r = client.post(url(data, "reset"))
    assert r.status_code == 200
    assert r.json() == data


def test_delete_and_unknown_sessions(session):
    client, data, _ = session
    assert client.delete(url(data)).status_code == 204
    for method, action in [("get", ""), ("post", "next"), ("post", "prev"),
                           ("post", "reset"), ("delete", "")]:
        r = client.request(method.upper(), url(data, action))
        assert r.status_code == 404, (method, action)
        assert "no session" in r.json()["detail"]
    assert client.patch(url(data), json={}).status_code == 404
    assert client.get("/api/sessions/" + "x" * 65).status_code == 422


def test_create_defaults_to_the_seed_example(fresh_client):
    r = fresh_client.post("/api/sessions", json={})
    assert r.status_code == 201
    x, y, params = engine.seed_example()
    data = r.json()
    assert data["tensors"]["X"] == x.tolist() and data["tensors"]["Y"] == y
    assert data["lr"] == 0.1
    for name in engine.PARAM_NAMES:
        assert np.array_equal(arr(data["params"][name]), params[name])


def test_create_validates_like_backward(fresh_client):
    r = fresh_client.post("/api/sessions", json={"x": [[0.0] * 5] * 6})
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "x"]
