"""Compare mode over HTTP, on the memory store and on Redis: two walks in lockstep from one
switch or typed by hand, the cells where they differ, the engine's sentence, nothing of
either walk before its step, and both walks moved by one request."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from tests.app.conftest import BACKENDS, backend_settings, make_client


def arr(value) -> np.ndarray:
    return np.array(value, dtype=np.float64)


@pytest.fixture(params=BACKENDS)
def client(request):
    with make_client(**backend_settings(request)) as c:
        yield c


def start(client, body: dict) -> dict:
    r = client.post("/api/compare", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def move(client, cid: str, to: str = "next", **body) -> dict:
    r = (client.post(f"/api/compare/{cid}/{to}", json=body) if body
         else client.post(f"/api/compare/{cid}/{to}"))
    assert r.status_code == 200, r.text
    return r.json()


def test_max_against_average_pooling_marks_exactly_the_cells_that_differ(client):
    rng = np.random.default_rng(4)
    x = rng.uniform(0, 1, (6, 6)).round(2).tolist()
    c = start(client, {"base": {"x": x, "y": 1, "seed": 9}, "switch": "pool"})
    assert c["switch"] == "pool" and c["position"] == -1
    a_layers = [layer["type"] for layer in c["a"]["network"]["layers"]]
    b_layers = [layer["type"] for layer in c["b"]["network"]["layers"]]
    assert "maxpool" in a_layers and "avgpool" in b_layers
    for name in ("X", "Y", *engine.PARAM_NAMES):  # the same input, label and weights
        assert c["a"]["tensors"][name] == c["b"]["tensors"][name]
    assert c["differs"] and all(cells == [] for cells in c["differs"].values())
    names = [s["writes"] for s in c["a"]["steps"]]
    seen = []
    while True:
        moved = move(client, c["id"])
        assert moved["moved"] == [True, True]
        c = client.get(f"/api/compare/{c['id']}").json()
        for name, cells in moved["differs"].items():  # what this move reveals, as the view
            assert name in moved["a"]["reveals"] or name.startswith("new ")
            assert c["differs"][name] == cells, name
        if c["epoch"] == 1:
            break
        a, b = c["a"], c["b"]
        step = a["step"]["writes"]
        seen.append(step)
        assert b["step"]["writes"] == step  # one step each, in lockstep
        # nothing either walk has not reached is sent
        later = set(names[names.index(step) + 1:]) - {"W1", "b1", "W2", "b2"}
        assert not later & (set(a["tensors"]) | set(b["tensors"]))
        for name, cells in c["differs"].items():
            if cells == "shape":
                continue
            where = "updated" if name.startswith("new ") else "tensors"
            va, vb = arr(a[where][name.removeprefix("new ")]), arr(b[where][
                name.removeprefix("new ")])
            diff = np.abs(va - vb) > 1e-12 * (1 + np.abs(va))
            assert sorted(map(tuple, cells)) == sorted(map(tuple, np.argwhere(diff))), name
        assert c["explain"]
        if step == "Z1":
            assert c["differs"]["Z1"] == [] and "same" in c["explain"]
        if step == "P1":
            assert c["differs"]["P1"]  # a window's max is not its mean here
        if step == "dA1":
            assert "4" in c["explain"] and "winner" in c["explain"]
    assert seen == names
    # prev from the new pass's start returns both walks to their last step, exactly
    back = move(client, c["id"], "prev")
    assert (back["epoch"], back["a"]["cursor"], back["b"]["cursor"]) == (
        0, len(names) - 1, len(names) - 1)


def test_one_conv_against_two_waits_where_only_one_has_a_step(client):
    c = start(client, {"base": {"seed": 1}, "switch": "two_conv"})
    pairs = c["positions"]
    assert any(j is not None and i is None for i, j in pairs)  # b's extra block alone
    assert [i for i, _ in pairs if i is not None] == list(range(len(c["a"]["steps"])))
    assert [j for _, j in pairs if j is not None] == list(range(len(c["b"]["steps"])))
    alone = next(p for p, (i, j) in enumerate(pairs) if i is None)
    c = move(client, c["id"], "goto", epoch=0, position=alone)
    assert c["position"] == alone
    assert c["a"]["cursor"] == max(i for i, _ in pairs[:alone] if i is not None)
    assert c["b"]["cursor"] == pairs[alone][1]
    assert "has no such step" in c["explain"] or "no" in c["explain"]


def test_a_batch_against_one_example_and_adam_against_sgd(client):
    c = start(client, {"base": {"seed": 2}, "switch": "batch"})
    assert c["a"].get("batch", 1) == 1 and c["b"]["batch"] == 4
    means = [p for p, (i, j) in enumerate(c["positions"]) if i is None]
    assert len(means) == 4  # the averaging steps, b's only
    assert c["a"]["tensors"]["X"] == c["b"]["tensors"]["X"]  # example 0 is the base's
    other = client.get(f"/api/compare/{c['id']}", params={"example": 2}).json()
    assert other["b"]["example"] == 2 and other["b"]["tensors"]["X"] != c["a"]["tensors"]["X"]
    d = start(client, {"base": {"seed": 2, "lr": 0.01}, "switch": "adam"})
    assert d["b"]["optimizer"]["type"] == "adam" and "optimizer" not in d["a"]
    last = len(d["positions"]) - 1
    d = move(client, d["id"], "goto", epoch=0, position=last)
    assert d["b"]["update"]["state"] and d["differs"].get("new b2")


def test_two_walks_typed_by_hand_share_the_weights_of_the_same_shape(client):
    a = {"seed": 3}
    b = {"seed": 4, "network": {"input": {"size": 6}, "layers": [
        {"type": "conv", "filters": 1, "kernel": 3}, {"type": "tanh"},
        {"type": "avgpool", "size": 2}, {"type": "flatten"}, {"type": "dense", "units": 1}],
        "output": "sigmoid_bce"}}
    c = start(client, {"a": a, "b": b})
    assert c["switch"] is None
    for name in engine.PARAM_NAMES:  # same names, same shapes: a's weights, not seed 4's
        assert c["a"]["params"][name] == c["b"]["params"][name]
    own = {"seed": 4, "network": b["network"],
           "params": {k: (arr(v) + 1).tolist() for k, v in c["a"]["params"].items()}}
    d = start(client, {"a": a, "b": own})
    assert d["b"]["params"]["b2"] == own["params"]["b2"]


def test_what_cannot_be_compared_is_refused_by_field(client):
    no_pool = {"network": {"input": {"size": 6}, "layers": [
        {"type": "conv", "filters": 1, "kernel": 3}, {"type": "relu"}, {"type": "flatten"},
        {"type": "dense", "units": 1}], "output": "sigmoid_bce"}}
    r = client.post("/api/compare", json={"base": no_pool, "switch": "pool"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "switch"], r.text
    r = client.post("/api/compare", json={"base": {}, "switch": "dropout"})
    assert r.status_code == 422 and "switch" in r.text
    r = client.post("/api/compare", json={"a": {}, "base": {}, "switch": "pool"})
    assert r.status_code == 422, r.text
    r = client.post("/api/compare", json={"a": {}})
    assert r.status_code == 422, r.text
    r = client.post("/api/compare", json={"a": {"x": [[0.0]]}, "b": {}})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][:3] == ["body", "a", "x"]
    c = start(client, {"base": {}, "switch": "stride"})
    r = client.post(f"/api/compare/{c['id']}/goto", json={"epoch": 0, "position": 90})
    assert r.status_code == 422 and "position" in r.text
    r = client.post(f"/api/compare/{c['id']}/prev")
    assert r.status_code == 409
    assert client.get("/api/compare/nope").status_code == 404
    assert client.delete(f"/api/compare/{c['id']}").status_code == 204
    assert client.get(f"/api/compare/{c['id']}").status_code == 404
    assert client.delete(f"/api/compare/{c['id']}").status_code == 404


def test_a_networks_every_problem_is_named_under_its_side(client):
    bad = {"network": {"input": {"size": 6}, "layers": [
        {"type": "conv", "filters": 99, "kernel": 3}, {"type": "relu"},
        {"type": "pool", "size": 9}, {"type": "flatten"}, {"type": "dense", "units": 1}],
        "output": "sigmoid_bce"}}
    for body, side in (({"a": bad, "b": {}}, "a"), ({"a": {}, "b": bad}, "b"),
                       ({"base": bad, "switch": "pool"}, "base")):
        r = client.post("/api/compare", json=body)
        assert r.status_code == 422, r.text
        detail = r.json()["detail"]
        assert len(detail) >= 2, detail  # the filters and the pool, each named
        assert all(d["loc"][:3] == ["body", side, "network"] for d in detail), detail
    # a base walk's own error is named there, not at the switch made from it
    r = client.post("/api/compare", json={"base": {"x": [[0.0]]}, "switch": "stride"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][:3] == [
        "body", "base", "x"], r.text
