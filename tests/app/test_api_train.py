"""Training, the data sets, the presets, health and meta."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from app import serialize
from app.api.routes.train import work


def arr(value) -> np.ndarray:
    return np.array(value, dtype=np.float64)


def test_train_matches_the_engine(client):
    body = {"dataset": "strokes", "epochs": 3, "batch_size": 16, "lr": 0.5, "seed": 2}
    r = client.post("/api/train", json=body)
    assert r.status_code == 200, r.text
    data = r.json()
    (xs, ys), (test_xs, test_ys) = engine.split_dataset(
        *engine.load_dataset("strokes", input_size=6))
    params = engine.init_params(engine.Config(), 2)
    # The route trains with a should_stop (it stops when its client leaves): the same
    # parameters bit for bit, and each epoch's loss as the engine sums it in slices.
    result = engine.train(xs, ys, params, lr=0.5, epochs=3, batch_size=16, seed=2,
                          should_stop=lambda: False)
    assert data["dataset"] == "strokes"
    assert [h["epoch"] for h in data["history"]] == [1, 2, 3]
    assert [h["loss"] for h in data["history"]] == result.loss.tolist()
    assert [h["accuracy"] for h in data["history"]] == result.accuracy.tolist()
    assert len(data["W1_history"]) == 4
    assert np.array_equal(arr(data["W1_history"]), result.W1)
    for name in engine.PARAM_NAMES:
        assert np.array_equal(arr(data["params"][name]), result.params[name])
    right = (engine.predict(xs, result.params) > 0.5) == (ys == 1)
    assert data["accuracy"] == float(np.mean(right))
    a2 = engine.predict(test_xs, result.params)
    assert data["test_size"] == len(test_xs) == 80  # one in five of 400 held out
    assert data["test_accuracy"] == float(np.mean((a2 > 0.5) == (test_ys == 1)))
    shown = data["examples"]
    assert len(shown) == 8
    truth = [e["a2"] if e["y"] == 1 else 1 - e["a2"] for e in shown]
    assert truth == sorted(truth)  # the most confidently wrong first
    assert all(e["right"] == (t > 0.5) for e, t in zip(shown, truth))
    assert any(np.array_equal(arr(shown[0]["x"]), x) for x in test_xs)


def test_the_held_out_split_is_one_in_five_and_disjoint():
    xs, ys = engine.load_dataset("x_vs_o", input_size=6)
    (a, _), (b, by) = engine.split_dataset(xs, ys)
    assert len(b) == len(xs) // 5 and len(a) + len(b) == len(xs)
    assert np.array_equal(b, xs[4::5]) and np.array_equal(by, ys[4::5])
    assert set(by.tolist()) == {0.0, 1.0}
    with pytest.raises(ValueError, match="every"):
        engine.split_dataset(xs, ys, every=1)


def test_training_in_chunks_continues_from_the_params_given(client):
    config = {"input_size": 8, "kernel_size": 3, "filters": 2, "pool_size": 2}
    body = {"config": config, "dataset": "digits_0_1", "epochs": 2, "batch_size": 32,
            "lr": 0.5}
    first = client.post("/api/train", json=body).json()
    second = client.post("/api/train", json={**body, "params": first["params"]}).json()
    assert second["W1_history"][0] == first["W1_history"][-1]
    assert second["history"][-1]["loss"] < first["history"][0]["loss"]


def test_any_digit_pair_trains(client):
    r = client.post("/api/train", json={"dataset": "digits_2_7", "epochs": 1,
                                        "batch_size": 64, "lr": 0.5})
    assert r.status_code == 200


@pytest.mark.parametrize(("change", "loc"), [
    ({"dataset": "mnist"}, ["body", "dataset"]),
    ({"dataset": "digits_3_3"}, ["body", "dataset"]),
    ({"epochs": 0}, ["body", "epochs"]), ({"epochs": 1001}, ["body", "epochs"]),
    ({"batch_size": 0}, ["body", "batch_size"]),
    ({"batch_size": 4097}, ["body", "batch_size"]),
    ({"lr": 0}, ["body", "lr"]), ({"seed": -1}, ["body", "seed"]),
    ({"params": {"W1": [[[0.0]]], "b1": [0.0], "W2": [[0.0] * 4], "b2": [0.0]}},
     ["body", "params", "W1"]),
])
def test_bad_training_requests(client, change, loc):
    body = {"dataset": "strokes", "epochs": 1, "batch_size": 16, "lr": 0.5, **change}
    r = client.post("/api/train", json=body)
    assert r.status_code == 422
    assert loc in [d["loc"] for d in r.json()["detail"]]


def test_batch_size_larger_than_the_data_set_is_one_batch(client):
    r = client.post("/api/train", json={"dataset": "strokes", "epochs": 1,
                                        "batch_size": 4096, "lr": 0.5})
    assert r.status_code == 200


def test_too_much_work_is_refused_naming_the_fields_and_the_limit(client):
    config = {"input_size": 28, "kernel_size": 1, "filters": 8, "pool_size": 1}
    body = {"config": config, "dataset": "strokes", "epochs": 2, "batch_size": 64,
            "lr": 0.1}
    r = client.post("/api/train", json=body)
    assert r.status_code == 422
    item = r.json()["detail"][0]
    assert item["loc"] == ["body", "epochs"]
    for word in ("epochs", "examples", "n²", "K", "m²", "steps per epoch", "2e+09"):
        assert word in item["msg"], word
    assert work(engine.Config(**config), 2, 400, 64) > 2e9


def test_the_work_cap_is_a_setting():
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import Settings

    # One epoch of strokes at 6×6, batch 16: 400 × 36 × 16 + 25 × 20,000 = 730,400.
    with TestClient(create_app(Settings(train_max_work=1e6))) as client:
        body = {"dataset": "strokes", "epochs": 2, "batch_size": 16, "lr": 0.5}
        r = client.post("/api/train", json=body)
        assert r.status_code == 422
        assert "at most 1 epochs" in r.json()["detail"][0]["msg"]
        assert client.post("/api/train", json={**body, "epochs": 1}).status_code == 200
        r = client.post("/api/train", json={**body, "epochs": 1, "batch_size": 1})
        assert r.status_code == 422  # 400 steps: the overhead of one-example steps counts


def test_one_example_steps_are_charged_their_overhead():
    config = engine.Config()
    assert work(config, 1, 400, 1) == 400 * 576 + 400 * 20_000
    assert work(config, 1, 400, 16) == 400 * 576 + 25 * 20_000
    assert work(config, 3, 400, 4096) == 3 * (400 * 576 + 20_000)


@pytest.mark.parametrize("input_size", [4, 6, 13, 28])
def test_datasets(client, input_size):
    r = client.get(f"/api/datasets?input_size={input_size}")
    assert r.status_code == 200
    data = r.json()
    assert [d["name"] for d in data] == list(engine.DATASETS)
    for d in data:
        info = engine.DATASETS[d["name"]]
        assert (d["title"], d["description"], d["classes"]) == (
            info.title, info.description, list(info.classes))
        xs, _ = engine.load_dataset(d["name"], input_size=input_size)
        assert d["size"] == len(xs)
        assert [s["y"] for s in d["samples"]] == [0, 1, 0, 1]
        for s, (x, _) in zip(d["samples"], engine.sample_images(d["name"],
                                                                  input_size=input_size)):
            assert np.array_equal(arr(s["x"]), x)


def test_presets(client):
    r = client.get("/api/presets?input_size=9")
    assert r.status_code == 200
    data = r.json()
    assert [p["name"] for p in data] == list(engine.PRESETS)
    for p in data:
        x, y = engine.preset(p["name"], 9)
        assert p["x"] == x.tolist() and p["y"] == y
        assert p["title"] == engine.PRESETS[p["name"]][0]


@pytest.mark.parametrize("path", ["/api/datasets", "/api/presets"])
@pytest.mark.parametrize("size", ["3", "29", "six", "6.5"])
def test_bad_input_size(client, path, size):
    r = client.get(f"{path}?input_size={size}")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["query", "input_size"]


def test_health(client):
    r = client.get("/api/health")
    assert r.status_code == 200
    assert r.json()["status"] == "ok" and r.json()["version"]


def test_meta_describes_defaults_limits_and_steps(client):
    r = client.get("/api/meta")
    assert r.status_code == 200
    data = r.json()
    assert data["defaults"] == serialize.config_out(engine.Config())
    assert data["limits"] == {k: list(v) for k, v in engine.LIMITS.items()}
    assert data["lr_max"] == engine.LR_MAX
    assert (data["train_max_work"], data["max_body_bytes"], data["max_sessions"],
            data["session_ttl"]) == (2e9, 1_000_000, 1000, 3600)
    assert [s["writes"] for s in data["steps"]] == [s.writes for s in engine.STEPS]
    for served, step in zip(data["steps"], engine.STEPS):
        assert served["latex"] == step.latex and served["text"] == step.text
        assert served["mathml"].startswith("<math")
        assert "latex_numbers" not in served
