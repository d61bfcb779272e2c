"""forward, backward, update and gradcheck serve exactly what the engine computes."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from app import serialize
from app.mathml import convert_block

CONFIGS = [engine.Config(), engine.Config(4, 1, 1, 1), engine.Config(10, 3, 3, 2),
           engine.Config(9, 4, 2, 3), engine.Config(28, 7, 8, 4)]


def as_array(value) -> np.ndarray:
    return np.array(value, dtype=np.float64)


def engine_trace(body: dict) -> engine.Trace:
    config = engine.Config(**body["config"])
    return engine.trace(body["x"], body["y"], body["params"], config)


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_backward_serves_every_tensor_of_the_engine_exactly(client, config, bodies):
    body = bodies.random(config, seed=config.input_size)
    r = client.post("/api/backward", json=body)
    assert r.status_code == 200, r.text
    data = r.json()
    t = engine_trace(body)
    assert set(data["tensors"]) == set(serialize.BACKWARD)
    for name, value in data["tensors"].items():
        expected = np.asarray(t[name])
        served = as_array(value)
        assert served.shape == expected.shape, name
        assert np.array_equal(served, expected), name
    for name in engine.PARAM_NAMES:
        assert np.array_equal(as_array(data["params"][name]), t[name])
    assert data["config"] == {**config.to_dict(), "n_params": config.n_params,
                              "shapes": {k: list(v) for k, v in config.shapes().items()}}


def test_backward_steps_are_the_engines_records_with_mathml(client, bodies):
    body = bodies.seed(lr=0.25)
    r = client.post("/api/backward", json=body)
    assert r.status_code == 200
    steps = r.json()["steps"]
    params = engine.init_params(engine.Config(), engine.DEFAULT_SEED)
    records = engine.step_records(engine.trace(body["x"], body["y"], params), 0.25)
    assert len(steps) == len(engine.STEPS)
    for served, record in zip(steps, records):
        also = record.pop("also", [])
        assert {k: served[k] for k in record} == record
        assert served["mathml"] == convert_block(record["latex"])
        # what the step computes beside what it writes (dX at dW1), each with its MathML
        assert [{k: a[k] for k in b} for a, b in zip(served["also"], also)] == also
        assert [a["mathml"] for a in served["also"]] == [convert_block(b["latex"])
                                                         for b in also]
        numbers = record["latex_numbers"]
        assert served["mathml_numbers"] == (None if numbers is None else convert_block(numbers))


def test_backward_lr_defaults_to_0_1(client, bodies):
    update = client.post("/api/backward", json=bodies.seed()).json()["steps"][-1]
    assert "0.1 \\times" in update["latex_numbers"]


def test_backward_ranges_cover_every_tensor(client, bodies):
    body = bodies.random(engine.Config(8, 3, 2, 2), seed=3)
    data = client.post("/api/backward", json=body).json()
    assert set(data["ranges"]) == set(data["tensors"])
    for name, rng in data["ranges"].items():
        value = as_array(data["tensors"][name])
        if name in ("X", "A1", "P1", "F"):
            assert rng["scale"] == "sequential"
            assert rng["min"] == min(0.0, value.min())
            assert rng["max"] >= value.max()
        else:
            assert rng["scale"] == "diverging"
            assert rng["max"] == -rng["min"] == max(np.abs(value).max(), 1e-12)


def test_backward_winners_route_every_pooled_cell(client, bodies):
    body = bodies.random(engine.Config(10, 3, 3, 2), seed=5)
    data = client.post("/api/backward", json=body).json()
    A1, P1 = as_array(data["tensors"]["A1"]), as_array(data["tensors"]["P1"])
    winners = data["winners"]
    assert len(winners) == P1.size
    for (f, i, j), (wf, r, c) in zip(np.ndindex(P1.shape), winners):
        assert wf == f and r // 2 == i and c // 2 == j
        assert A1[wf, r, c] == P1[f, i, j]
    assert winners == engine.winners(engine_trace(body)).reshape(-1, 3).tolist()


def test_forward_serves_the_forward_tensors_and_the_loss_only_with_a_label(client, bodies):
    body = bodies.random(engine.Config(), seed=1)
    t = engine_trace(body)
    with_y = client.post("/api/forward", json=body)
    assert with_y.status_code == 200
    assert set(with_y.json()["tensors"]) == {"X", "Z1", "A1", "P1", "F", "Z2", "A2", "L"}
    for name, value in with_y.json()["tensors"].items():
        assert np.array_equal(as_array(value), t[name]), name
    del body["y"]
    without = client.post("/api/forward", json=body)
    assert without.status_code == 200
    assert set(without.json()["tensors"]) == {"X", "Z1", "A1", "P1", "F", "Z2", "A2"}


def test_missing_params_are_drawn_from_the_seed(client, bodies):
    config = engine.Config(7, 2, 2, 2)
    body = bodies.seed(config, seed=9)
    data = client.post("/api/forward", json=body).json()
    expected = engine.init_params(config, 9)
    for name in engine.PARAM_NAMES:
        assert np.array_equal(as_array(data["params"][name]), expected[name])


def test_scalars_are_plain_numbers(client, bodies):
    tensors = client.post("/api/backward", json=bodies.seed()).json()["tensors"]
    for name in ("Z2", "A2", "L", "dA2", "dZ2", "Y"):
        assert isinstance(tensors[name], float), name


def test_an_infinite_dA2_is_null(client, bodies):
    body = bodies.seed()
    body["params"] = {"W1": [[[0.0] * 3] * 3], "b1": [0.0], "W2": [[0.0] * 4], "b2": [-800.0]}
    r = client.post("/api/backward", json=body)
    assert r.status_code == 200
    data = r.json()
    assert data["tensors"]["dA2"] is None
    assert data["tensors"]["dZ2"] == pytest.approx(-1.0)
    assert data["ranges"]["dA2"] == {"min": -1e-12, "max": 1e-12, "scale": "diverging"}


def test_update_takes_one_step_and_lowers_the_loss(client, bodies):
    body = bodies.random(engine.Config(), seed=2, lr=0.5)
    r = client.post("/api/update", json=body)
    assert r.status_code == 200
    data = r.json()
    t = engine_trace(body)
    new = engine.sgd_step(t, t, 0.5)
    for name in engine.PARAM_NAMES:
        assert np.array_equal(as_array(data["params_before"][name]), t[name])
        assert np.array_equal(as_array(data["params"][name]), new[name])
        assert np.array_equal(as_array(data["grads"]["d" + name]), t["d" + name])
    assert data["loss_before"] == float(t["L"])
    assert data["loss_after"] == engine.loss(body["x"], body["y"], new)
    assert data["loss_after"] < data["loss_before"]
    assert data["lr"] == 0.5


def test_update_requires_lr(client, bodies):
    r = client.post("/api/update", json=bodies.seed())
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "lr"]


def test_gradcheck_agrees_with_the_engine(client, bodies):
    body = bodies.random(engine.Config(6, 3, 2, 2), seed=4)
    r = client.post("/api/gradcheck", json=body)
    assert r.status_code == 200
    data = r.json()
    check = engine.gradcheck(body["x"], body["y"], body["params"], engine.Config(6, 3, 2, 2))
    for name in engine.PARAM_NAMES:
        assert np.array_equal(as_array(data["numeric"][name]), check.numeric[name])
        assert np.array_equal(as_array(data["analytic"][name]), check.analytic[name])
        assert data["rel_error"][name] == check.rel_error[name]
    assert data["max_rel_error"] == check.max_rel_error < 1e-6
