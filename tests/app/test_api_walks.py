"""Walks over a mini-batch and walks with momentum or Adam, over HTTP, on the memory store
and on Redis: every example's tensors are the one-example trace's, the averaging steps give
the mean of the per-example gradients, the optimizers' state is kept across passes (and
undone by prev), and nothing is shown before its step."""

from __future__ import annotations

import json

import numpy as np
import pytest

import engine
from tests.app.conftest import BACKENDS, backend_settings, make_client

RNG_SEED = 11


def arr(value) -> np.ndarray:
    return np.array(value, dtype=np.float64)


@pytest.fixture(params=BACKENDS)
def client(request):
    with make_client(**backend_settings(request)) as c:
        yield c


def batch_body(n: int = 4, **extra) -> dict:
    rng = np.random.default_rng(RNG_SEED)
    xs = rng.uniform(0, 1, size=(n, 6, 6)).round(3)
    return {"x": xs.tolist(), "y": [int(v) for v in rng.integers(0, 2, n)], "seed": 3,
            "lr": 0.2, **extra}


def create(client, body: dict) -> dict:
    r = client.post("/api/sessions", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_a_batch_shows_each_example_and_averages_its_gradients(client):
    body = batch_body()
    view = create(client, body)
    sid, steps = view["id"], [s["writes"] for s in view["steps"]]
    params = {k: arr(v) for k, v in view["params"].items()}
    assert view["batch"] == 4 and view["example"] == 0
    means = [s for s in steps if s.startswith("mean_d")]
    assert means == ["mean_dW1", "mean_db1", "mean_dW2", "mean_db2"]
    assert steps.index("mean_dW1") == steps.index("db1") + 1  # after the backward pass
    traces = [engine.trace(x, y, params) for x, y in zip(arr(body["x"]), body["y"])]
    # before the averaging steps no mean is anywhere in what the walk sends
    at_db1 = client.post(f"/api/sessions/{sid}/goto", json={"epoch": 0,
                                                            "cursor": steps.index("db1")})
    early = at_db1.json()
    assert not any(n.startswith("mean_d") for n in [*early["tensors"], *early["known"]])
    assert all(s["latex_numbers"] is None for s in early["steps"] if s["writes"] in means)
    for n in range(4):
        shown = client.get(f"/api/sessions/{sid}", params={"example": n}).json()
        assert shown["example"] == n
        assert np.allclose(arr(shown["tensors"]["X"]), traces[n]["X"], rtol=0, atol=0)
        assert np.allclose(arr(shown["tensors"]["dW1"]), traces[n]["dW1"], rtol=1e-12)
    move = client.post(f"/api/sessions/{sid}/next", params={"example": 1}).json()
    assert move["step"]["writes"] == "mean_dW1"
    average = move["average"]
    assert average["name"] == "dW1" and len(average["per_example"]) == 4
    for n in range(4):
        assert np.allclose(arr(average["per_example"][n]), traces[n]["dW1"], rtol=1e-12)
    mean = sum(t["dW1"] for t in traces) / 4
    assert np.allclose(arr(average["mean"]), mean, rtol=1e-12, atol=1e-15)
    assert np.allclose(arr(move["reveals"]["mean_dW1"]), mean, rtol=1e-12, atol=1e-15)
    assert r"\frac{1}{4}" in move["step"]["latex_numbers"]
    # the pass's update descends the mean gradient; its loss is the batch's mean loss
    last = len(steps) - 1
    client.post(f"/api/sessions/{sid}/goto", json={"epoch": 0, "cursor": last})
    done = client.post(f"/api/sessions/{sid}/next").json()
    assert done["epoch"] == 1
    after = client.get(f"/api/sessions/{sid}").json()
    assert np.allclose(arr(after["params"]["W1"]), params["W1"] - 0.2 * mean, rtol=1e-12)
    assert after["loss_history"] == pytest.approx([np.mean([float(t["L"]) for t in traces])],
                                                  rel=1e-12)
    # prev from the new pass's first step is exact
    back = client.post(f"/api/sessions/{sid}/prev").json()
    assert (back["epoch"], back["cursor"]) == (0, last)
    again = client.get(f"/api/sessions/{sid}").json()
    assert again["params"] == view["params"]


def test_a_batch_refuses_what_does_not_fit(client):
    body = batch_body()
    r = client.post("/api/sessions", json={**body, "y": body["y"][:3]})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "y"], r.text
    r = client.post("/api/sessions", json={**body, "y": 1})
    assert r.status_code == 422 and "list of 4 labels" in r.text, r.text
    too_many = batch_body(17)
    assert client.post("/api/sessions", json=too_many).status_code == 422
    sid = create(client, body)["id"]
    r = client.get(f"/api/sessions/{sid}", params={"example": 4})
    assert r.status_code == 422 and "example" in r.text, r.text
    one = create(client, {"seed": 1})
    r = client.get(f"/api/sessions/{one['id']}", params={"example": 1})
    assert r.status_code == 422 and "example" in r.text, r.text
    assert "batch" not in one  # a walk of one example answers as it always did


@pytest.mark.parametrize("spec", [{"type": "momentum", "beta": 0.8},
                                  {"type": "adam", "beta1": 0.85, "beta2": 0.99, "eps": 1e-6}])
def test_an_optimizer_keeps_its_state_across_passes(client, spec):
    view = create(client, {"seed": 5, "lr": 0.05, "optimizer": spec})
    sid = view["id"]
    opt = engine.optimizers.optimizer(spec)
    assert view["optimizer"] == opt.to_dict()
    names = opt.state_names("W1")
    assert set(names) <= set(view["tensors"]) and set(names) <= set(view["known"])
    assert all(not np.any(arr(view["tensors"][n])) for n in names)  # zero at the start
    x, _ = engine.preset("vertical_stroke", 6)
    params = {k: arr(v) for k, v in view["params"].items()}
    state = opt.init_state(params)
    last = len(view["steps"]) - 1
    for t in (1, 2, 3):
        grads = engine.trace(x, 1.0, params)
        step = client.post(f"/api/sessions/{sid}/goto",
                           json={"epoch": t - 1, "cursor": last}).json()
        update = step["update"]
        assert update["t"] == t and update["state"]
        new_params, state = opt.apply(params, grads, state, t, 0.05)
        assert np.allclose(arr(update["after"]), new_params["b2"], rtol=1e-12)
        assert step["step"]["latex_numbers"]
        params = new_params
        client.post(f"/api/sessions/{sid}/next")
        shown = client.get(f"/api/sessions/{sid}").json()
        for name in names:
            assert np.allclose(arr(shown["tensors"][name]), state[name], rtol=1e-12)
        for name in engine.PARAM_NAMES:
            assert np.allclose(arr(shown["params"][name]), params[name], rtol=1e-12)


def test_an_optimizer_is_checked_field_by_field(client):
    r = client.post("/api/sessions", json={"optimizer": {"type": "adam", "beta1": 1.0}})
    assert r.status_code == 422 and "beta1" in r.text, r.text
    r = client.post("/api/sessions", json={"optimizer": {"type": "nesterov"}})
    assert r.status_code == 422 and "optimizer" in r.text, r.text
    r = client.post("/api/sessions", json={"optimizer": {"type": "momentum", "lr": 1}})
    assert r.status_code == 422 and "lr" in r.text, r.text


def test_update_applies_an_optimizer_and_hands_back_its_state(client):
    spec = {"type": "adam", "beta1": 0.9, "beta2": 0.999, "eps": 1e-8}
    stroke = engine.preset("vertical_stroke", 6)[0].tolist()
    body = {"x": stroke, "y": 1, "seed": 2, "lr": 0.01, "optimizer": spec}
    first = client.post("/api/update", json=body)
    assert first.status_code == 200, first.text
    out = first.json()
    opt = engine.optimizers.optimizer(spec)
    x, _ = engine.preset("vertical_stroke", 6)
    params = engine.init_params(engine.SEED, 2)
    new, state = opt.apply(params, engine.trace(x, 1.0, params), opt.init_state(params), 1,
                           0.01)
    for name in engine.PARAM_NAMES:
        assert np.allclose(arr(out["params"][name]), new[name], rtol=1e-12)
    assert set(out["state"]) == set(state) and out["optimizer"] == opt.to_dict()
    second = client.post("/api/update", json={**body, "params": out["params"],
                                              "state": out["state"], "t": 2}).json()
    new2, _ = opt.apply(new, engine.trace(x, 1.0, new), state, 2, 0.01)
    assert np.allclose(arr(second["params"]["W1"]), new2["W1"], rtol=1e-12)
    bad = client.post("/api/update", json={**body, "state": {"v_W1": [[0.0]]}})
    assert bad.status_code == 422 and bad.json()["detail"][0]["loc"] == [
        "body", "state", "v_W1"], bad.text
    plain = client.post("/api/update", json={"x": stroke, "y": 1, "seed": 2, "lr": 0.01})
    assert plain.status_code == 200 and "state" not in plain.json()


@pytest.mark.parametrize(("name", "value", "words"), [
    ("m_W1", {"a": 1}, "array of numbers"),
    ("m_W1", "many", "array of numbers"),
    ("m_W1", [[["x"]]], "array of numbers"),
    ("m_W1", float("nan"), "finite"),
    ("s_W1", float("inf"), "finite"),
    ("s_W1", -0.5, "below 0"),
    ("m_W1", 1e300, "within"),
])
def test_a_bad_optimizer_state_is_a_422_at_its_own_name(client, name, value, words):
    net = engine.SEED
    shape = net.shapes()["W1"]
    cells = value if not isinstance(value, (int, float)) else np.full(shape, value).tolist()
    x = engine.preset("vertical_stroke", 6)[0].tolist()
    body = {"x": x, "y": 1, "seed": 2, "lr": 0.01, "optimizer": {"type": "adam"}, "t": 2,
            "state": {name: cells}}
    content = json.dumps(body)  # NaN and Infinity as Python's json writes them
    r = client.post("/api/update", content=content,
                    headers={"Content-Type": "application/json"})
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert detail[0]["loc"] == ["body", "state", name], r.text
    assert words in detail[0]["msg"], r.text
    # the same cells, valid, are taken
    fine = client.post("/api/update", json={**body, "state": {name: np.full(
        shape, 0.25).tolist()}})
    assert fine.status_code == 200, fine.text


def test_train_with_momentum_differs_from_sgd_and_learns(client):
    body = {"dataset": "x_vs_o", "epochs": 5, "batch_size": 8, "lr": 0.1, "seed": 0}
    sgd = client.post("/api/train", json=body).json()
    momentum = client.post("/api/train", json={**body, "optimizer": {"type": "momentum"}})
    assert momentum.status_code == 200, momentum.text
    losses = [e["loss"] for e in momentum.json()["history"]]
    assert losses[-1] < losses[0]
    assert momentum.json()["params"] != sgd["params"]


def test_a_walk_becomes_a_lesson_with_its_optimizer_or_is_refused_clearly(client):
    adam = create(client, {"seed": 5, "optimizer": {"type": "adam", "beta1": 0.8}})
    r = client.get(f"/api/sessions/{adam['id']}/lesson")
    assert r.status_code == 200, r.text
    assert 'type = "adam"' in r.text and "beta1 = 0.8" in r.text
    last = len(adam["steps"]) - 1
    client.post(f"/api/sessions/{adam['id']}/goto", json={"epoch": 1, "cursor": 0})
    r = client.get(f"/api/sessions/{adam['id']}/lesson")
    assert r.status_code == 409 and "zero" in r.text, r.text
    assert last > 0
    batch = create(client, batch_body())
    r = client.get(f"/api/sessions/{batch['id']}/lesson")
    assert r.status_code == 409 and "batch" in r.text, r.text


def test_an_optimizers_update_steps_say_what_it_does(client):
    view = create(client, {"optimizer": {"type": "adam"}})
    texts = [s["text"] for s in view["steps"] if s["phase"] == "update"]
    assert texts and all(t.startswith("Adam updates") for t in texts)
    assert not any("Gradient descent" in t for t in texts)


def test_a_batch_on_a_large_network_is_held_to_the_walks_memory(client):
    big = {"input": {"size": 28}, "layers": [
        {"type": "conv", "filters": 8, "kernel": 3}, {"type": "relu"},
        {"type": "maxpool", "size": 2}, {"type": "flatten"}, {"type": "dense", "units": 1}],
        "output": "sigmoid_bce"}
    most = engine.walk.batch_limit(engine.network(big))
    assert 1 < most < engine.walk.MAX_BATCH
    x = np.zeros((most + 1, 28, 28)).tolist()
    r = client.post("/api/sessions", json={"network": big, "x": x, "y": [1] * (most + 1)})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "x"], r.text
    assert f"at most {most} examples" in r.text
    ok = client.post("/api/sessions", json={"network": big, "x": x[:most], "y": [1] * most})
    assert ok.status_code == 201, ok.text


def test_a_tiny_number_squared_in_a_formula_is_not_a_500(client):
    """Adam's s and tanh's 1 − A² square numbers written with a power of ten."""
    params = {"W1": [[[0.1] * 3] * 3], "b1": [0.0001], "W2": [[0.1] * 4], "b2": [-10.0]}
    zeros = np.zeros((6, 6)).tolist()
    tanh = {"input": {"size": 6}, "layers": [
        {"type": "conv", "filters": 1, "kernel": 3}, {"type": "tanh"},
        {"type": "maxpool", "size": 2}, {"type": "flatten"}, {"type": "dense", "units": 1}],
        "output": "sigmoid_bce"}
    for body in ({"y": 0, "params": params, "optimizer": {"type": "adam"}},
                 {"network": tanh, "x": zeros, "y": 1, "params": params}):
        view = create(client, body)
        for _ in range(len(view["steps"])):
            r = client.post(f"/api/sessions/{view['id']}/next")
            assert r.status_code == 200, r.text
        assert client.get(f"/api/sessions/{view['id']}").status_code == 200


@pytest.mark.parametrize("n", [2, 16])
def test_a_batch_walk_keeps_a_nth_of_the_passes_so_its_goto_costs_no_more(client, n):
    one = create(client, {"seed": 1})
    many = create(client, batch_body(n))
    reach = client.post(f"/api/sessions/{one['id']}/goto", json={"epoch": 10_000, "cursor": 0})
    single = int(reach.json()["detail"][0]["msg"].split(", ")[1].split("]")[0])
    r = client.post(f"/api/sessions/{many['id']}/goto",
                    json={"epoch": single // n + 1, "cursor": 0})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "epoch"], r.text
    assert f"[0, {single // n}]" in r.text, r.text
    r = client.post(f"/api/sessions/{many['id']}/goto", json={"epoch": single // n, "cursor": 0})
    assert r.status_code == 200 and r.json()["epoch"] == single // n, r.text


def test_a_batch_walk_keeps_the_records_of_its_last_shown_examples_only():
    from app import schemas, sessions
    walk = sessions.create(schemas.SessionCreate.model_validate(batch_body(16)))
    walk.goto(0, walk.last)
    first = [dict(r) for r in walk.records(0)]
    for example in range(1, 16):
        walk.records(example)
    kept = walk.derived[2]
    assert list(kept) == list(range(16 - sessions.RECORDS_KEPT, 16))
    assert walk.records(0) == first  # shown again: computed again, the same numbers
    assert list(walk.derived[2])[-1] == 0 and len(walk.derived[2]) == sessions.RECORDS_KEPT
