"""The practice API on any network: POST /api/exercises with ``network``, its catalogue,
its example, its 422s, and a stored exercise that keeps its network (memory and Redis)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import engine
from engine import practice
from tests.app.conftest import BACKENDS, backend_settings, make_client
from tests.app.conftest import create_exercise as create
from tests.app.test_api_exercises import leaks

TWO_CONV = {"input": {"size": 6}, "layers": [
    {"type": "conv", "filters": 2, "kernel": 3, "padding": 1}, {"type": "relu"},
    {"type": "avgpool", "size": 2}, {"type": "conv", "filters": 2, "kernel": 2},
    {"type": "relu"}, {"type": "flatten"}, {"type": "dense", "units": 3}],
    "output": "softmax_ce"}
NET = engine.network(TWO_CONV)


@pytest.fixture(scope="module", params=BACKENDS)
def client(request):
    with make_client(**backend_settings(request)) as c:
        yield c


def truth(step: str, seed: int) -> engine.Exercise:
    return practice.exercise(step, practice.variant(seed, NET))


def test_a_network_step_is_answered_wrong_with_its_misconception_then_right(client):
    view = create(client, network=TWO_CONV, step="dA1", seed=4)
    ex = truth("dA1", 4)
    assert view["step"] == "dA1" and view["config"] is None
    assert view["network"]["output"] == "softmax_ce" and view["shape"] == [2, 6, 6]
    assert list(view["given"]) == ["dP1"] and view["answer"] is None
    np.testing.assert_allclose(view["given"]["dP1"], ex.given["dP1"])
    ids = [m["id"] for m in view["misconceptions"]]
    assert "da1-not-divided" in ids and not any("every-cell" in i for i in ids)
    assert leaks(view, ex.truth, ex.given) == []
    wrong = (np.asarray(ex.truth) * 4).tolist()  # the window's gradient not divided by 4
    answered = client.post(f"/api/exercises/{view['id']}/answer", json={"answer": wrong})
    assert answered.status_code == 200, answered.text
    body = answered.json()
    assert not body["correct"] and body["answer"] is None
    assert body["misconception"]["id"] == "da1-not-divided"
    assert body["hint"]["level"] == 1 and "dP1" in body["hint"]["feeds"]
    assert leaks(body, ex.truth, ex.given) == []
    again = client.get(f"/api/exercises/{view['id']}").json()
    assert again["answer"] is None and again["state"] == "open"  # stored, still open
    right = client.post(f"/api/exercises/{view['id']}/answer",
                        json={"answer": np.asarray(ex.truth).tolist()}).json()
    assert right["correct"] and right["state"] == "solved"
    np.testing.assert_allclose(right["answer"], ex.truth)


def test_a_four_deep_conv_weight_step_takes_a_four_deep_answer(client):
    view = create(client, network=TWO_CONV, step="dW2", seed=2)
    assert view["shape"] == [2, 2, 2, 2]
    ex = truth("dW2", 2)
    right = client.post(f"/api/exercises/{view['id']}/answer",
                        json={"answer": np.asarray(ex.truth).tolist()}).json()
    assert right["correct"]


def test_a_chain_walks_every_step_of_the_network(client):
    view = create(client, network=TWO_CONV, chain=True, seed=1)
    names = list(practice.step_names(NET))
    assert view["chain"]["steps"] == names and "dX" in names
    for step in names[:4]:
        assert view["step"] == step
        client.post(f"/api/exercises/{view['id']}/reveal")
        view = client.post(f"/api/exercises/{view['id']}/next").json()
    assert view["step"] == names[4]


def test_the_catalogue_lists_a_networks_steps_and_its_kinds_misconceptions(client):
    seed = client.get("/api/exercises").json()
    assert [s["name"] for s in seed["steps"]] == list(engine.STEP_NAMES)
    body = client.get("/api/exercises", params={"network": json.dumps(TWO_CONV)})
    assert body.status_code == 200, body.text
    served = body.json()
    assert [s["name"] for s in served["steps"]] == list(practice.step_names(NET))
    by_name = {s["name"]: s for s in served["steps"]}
    assert by_name["dA1"]["kind"] == "avgpool" and by_name["dP1"]["role"] == "dinput"
    ids = {m["id"] for m in served["misconceptions"]}
    assert {"da1-not-divided", "dz3-p-only", "dz2-no-mask"} <= ids
    assert not {"da1-every-cell", "da1-average"} & ids  # max-pool's are not avgpool's


@pytest.mark.parametrize(("query", "loc"), [
    ("{not json", ["query", "network"]),
    (json.dumps({"layers": [{"type": "dense", "units": 1}, {"type": "flatten"}]}),
     ["query", "network", "layers", 0]),
])
def test_a_bad_network_query_is_a_422_naming_it(client, query, loc):
    response = client.get("/api/exercises", params={"network": query})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == loc


def test_bad_requests_are_422s_naming_the_field(client):
    def refused(body):
        response = client.post("/api/exercises", json=body)
        assert response.status_code == 422, response.text
        return [d["loc"] for d in response.json()["detail"]]

    assert refused({"network": TWO_CONV, "config": {"input_size": 6}, "step": "Z1"}) == [
        ["body", "network"]]
    assert refused({"network": TWO_CONV, "step": "P2"}) == [["body", "step"]]
    assert refused({"step": "dX"}) == [["body", "step"]]  # not a step of the seed's
    ordered = {"layers": [{"type": "conv"}, {"type": "dense", "units": 1},
                          {"type": "flatten"}]}
    assert ["body", "network", "layers", 1] in refused({"network": ordered, "step": "Z1"})


def _example(seed: int = 0) -> dict:
    v = practice.variant(seed, NET)
    return {"x": v.x.tolist(), "y": int(v.y), "lr": 0.1,
            "params": {k: np.asarray(p).tolist() for k, p in v.params.items()}}


def test_an_example_given_as_it_is_is_checked_against_the_networks_shapes(client):
    example = _example()
    view = create(client, network=TWO_CONV, step="Z2", example=example)
    assert view["example"] and view["seed"] is None
    assert set(view["given"]) == {"P1", "W2", "b2"}
    bad = {**example, "params": {**example["params"], "W3": [[0.1, 0.2]]}}
    response = client.post("/api/exercises", json={"network": TWO_CONV, "step": "Z2",
                                                   "example": bad})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "example", "params", "W3"]
    missing = {**example, "params": {k: v for k, v in example["params"].items() if k != "b3"}}
    response = client.post("/api/exercises", json={"network": TWO_CONV, "step": "Z2",
                                                   "example": missing})
    assert response.status_code == 422 and "b3" in response.json()["detail"][0]["msg"]
    response = client.post("/api/exercises", json={"network": TWO_CONV, "step": "Z2",
                                                   "example": {**example, "y": 3}})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"] == ["body", "example", "y"]


def test_an_old_seed_blob_still_opens_and_a_network_blob_keeps_its_network():
    import asyncio

    from app import exercises
    from app.store.codecs import ExerciseCodec, pack
    from app.store.walks import Loaded

    codec = ExerciseCodec()
    old = pack({"example": None, "seed": 7, "config": engine.Config().to_dict(),
                "chain": False, "seed_given": True, "steps": ["dA1"], "position": 0,
                "states": ["open"], "attempts": [0], "hints": [[]]}, {})
    restored = asyncio.run(codec.decode("old", Loaded(b"1", old, 0, {})))
    assert restored.net == engine.SEED and restored.current.step == "dA1"
    fresh = exercises.create("dW2", chain=False, seed=3, config=NET)
    blob = codec.encode(fresh).state
    back = asyncio.run(codec.decode(fresh.id, Loaded(b"1", blob, 0, {})))
    assert back.net == NET and back.config is None
    np.testing.assert_array_equal(back.current.truth, fresh.current.truth)
    given = exercises.create("Z2", chain=False, seed=None, config=NET,
                             example=practice.given_variant(**{**_example(1), "config": NET}))
    again = asyncio.run(codec.decode(given.id, Loaded(b"1", codec.encode(given).state, 0, {})))
    assert again.on_example and set(again.variant.params) == set(NET.param_names)
