"""The practice API's exercises of issue 21: an update by momentum or Adam (W1@adam) and a
mini-batch's mean gradient (mean_dW1), on the memory store and on Redis: the givens are
the engine's, a right answer is right, each misconception's wrong answer is named, the
options and the batch size are kept, and names the network has not are a 422."""

from __future__ import annotations

import asyncio
import json

import numpy as np
import pytest

import engine
from app import exercises
from app.store.codecs import ExerciseCodec
from app.store.walks import Loaded
from engine import practice
from tests.app.conftest import BACKENDS, backend_settings, make_client
from tests.app.conftest import create_exercise as create

UPDATES = [f"{P}@{kind}" for kind in ("momentum", "adam") for P in engine.SEED.param_names]
MEANS = list(practice.mean_step_names())
ALL_IDS = {"momentum-no-velocity", "momentum-no-decay", "momentum-sign",
           "adam-no-bias-correction", "adam-eps-inside-root", "adam-no-root", "summed"}


@pytest.fixture(scope="module", params=BACKENDS)
def client(request):
    with make_client(**backend_settings(request)) as c:
        yield c


def answer(client, view, value):
    response = client.post(f"/api/exercises/{view['id']}/answer",
                           json={"answer": np.asarray(value).tolist()})
    assert response.status_code == 200, response.text
    return response.json()


def given_of(view) -> dict[str, np.ndarray]:
    return {name: np.asarray(value, dtype=np.float64) for name, value in view["given"].items()}


def truth_of(view, **options) -> practice.Exercise:
    return practice.extra_exercise(view["step"], engine.variant(view["seed"]), **options)


def rounded(value, digits=3):
    return np.vectorize(lambda x: float(f"{x:.{digits}g}"))(np.asarray(value))


# ---------------------------------------------------------------------- the exercises
@pytest.mark.parametrize("step", ["W1@momentum", "b2@momentum", "W1@adam", "W2@adam",
                                  "mean_dW1", "mean_db2"])
def test_a_right_answer_is_right_and_the_givens_are_the_engine_s(client, step):
    view = create(client, step=step, seed=7)
    ex = truth_of(view)
    assert view["step"] == step and view["answer"] is None and view["shape"] == list(ex.shape)
    assert list(view["given"]) == list(ex.given)
    for name, value in ex.given.items():
        np.testing.assert_array_equal(view["given"][name], value)
    assert view["lr"] == ex.lr and view["prompt"] == ex.prompt
    assert [m["id"] for m in view["misconceptions"]] == [
        m.id for m in engine.misconceptions_for(step)]
    again = client.get(f"/api/exercises/{view['id']}").json()  # from the store
    assert again["given"] == view["given"]
    result = answer(client, view, rounded(ex.truth))
    assert result["correct"] and result["misconception"] is None
    np.testing.assert_array_equal(result["answer"], ex.truth)
    assert client.get(f"/api/exercises/{view['id']}").json()["state"] == "solved"


def test_the_update_s_numbers_are_cards_and_its_second_moment_sequential(client):
    view = create(client, step="W1@adam", seed=7)
    assert view["ranges"]["t"]["scale"] == "diverging" and view["ranges"]["t"]["max"] >= 1
    assert view["ranges"]["s_W1"]["scale"] == "sequential"
    assert view["given"]["eps"] == 0.01  # Practice's ε: where it goes shows


def test_each_misconception_s_answer_is_named(client):
    diagnosed: set[str] = set()
    for seed in range(4):
        for step in UPDATES + MEANS:
            view = create(client, step=step, seed=seed)
            ex = truth_of(view)
            g = given_of(view)
            wrongs = {m.id: np.asarray(m.wrong(g, None, view["lr"]))
                      for m in engine.misconceptions_for(step)}
            for mid, wrong in wrongs.items():
                if practice.right_cells(wrong, ex.truth).all():
                    continue  # the right answer here: nothing to name
                result = answer(client, view, wrong)
                assert result["correct"] is False and result["misconception"], (step, mid)
                found = result["misconception"]["id"]
                assert found == mid or practice.right_cells(wrong, wrongs[found]).all(), \
                    (step, mid, found)
                assert result["hint"]["text"]
                diagnosed.add(mid.split("-", 1)[1])
    assert diagnosed == ALL_IDS


def test_the_named_misconceptions_from_hand_made_answers(client):
    view = create(client, step="W1@adam", seed=11)
    g, lr = given_of(view), view["lr"]
    b1, b2, eps, t = (float(g[k]) for k in ("beta1", "beta2", "eps", "t"))
    m = b1 * g["m_W1"] + (1 - b1) * g["dW1"]
    s = b2 * g["s_W1"] + (1 - b2) * g["dW1"] ** 2
    inside = g["W1"] - lr * (m / (1 - b1**t)) / np.sqrt(s / (1 - b2**t) + eps)
    result = answer(client, view, inside)
    assert result["misconception"]["title"] == "ε inside the square root"
    plain = g["W1"] - lr * m / (np.sqrt(s) + eps)
    assert answer(client, view, plain)["misconception"]["title"] == "Bias correction left out"
    right = g["W1"] - lr * (m / (1 - b1**t)) / (np.sqrt(s / (1 - b2**t)) + eps)
    assert answer(client, view, right)["correct"]
    view = create(client, step="mean_dW1", seed=11, batch=5)
    assert list(view["given"]) == [f"dW1({n})" for n in range(1, 6)]
    total = sum(given_of(view).values())
    result = answer(client, view, total)
    assert result["misconception"]["id"] == "mean_dW1-summed"
    assert result["misconception"]["title"] == "Summed instead of averaged"
    assert answer(client, view, total / 5)["correct"]


def test_the_options_and_the_batch_are_kept(client):
    view = create(client, step="W2@momentum", seed=3,
                  optimizer={"type": "momentum", "beta": 0.5})
    assert view["given"]["beta"] == 0.5
    ex = truth_of(view, optimizer={"type": "momentum", "beta": 0.5})
    again = client.get(f"/api/exercises/{view['id']}").json()
    assert again["given"] == view["given"]
    assert answer(client, view, rounded(ex.truth))["correct"]
    adam = create(client, step="b1@adam", seed=3, optimizer={"type": "adam", "beta1": 0.5})
    assert (adam["given"]["beta1"], adam["given"]["eps"]) == (0.5, 0.01)  # the rest Practice's
    mean = create(client, step="mean_dW2", seed=3, batch=16)
    assert len(client.get(f"/api/exercises/{mean['id']}").json()["given"]) == 16


def test_a_chain_with_an_optimizer_ends_in_its_updates(client):
    view = create(client, chain=True, seed=21, optimizer={"type": "adam"})
    steps = view["chain"]["steps"]
    assert steps == list(practice.step_names(optimizer="adam"))
    for _ in steps[:-4]:
        client.post(f"/api/exercises/{view['id']}/reveal")
        view = client.post(f"/api/exercises/{view['id']}/next").json()
    assert view["step"] == "W1@adam" and {"m_W1", "s_W1", "t"} <= set(view["given"])
    ex = practice.extra_exercise("W1@adam", engine.variant(21))
    assert answer(client, view, rounded(ex.truth))["correct"]


def test_the_catalogue_lists_the_updates_and_the_means(client):
    body = client.get("/api/exercises").json()
    more = {s["name"]: s for s in body["more_steps"]}
    assert list(more) == UPDATES + MEANS
    assert more["W1@adam"]["group"] == "optimizer" and more["W1@adam"]["title"] == "Adam"
    assert more["W1@adam"]["of"] == "W1" and more["mean_dW1"]["of"] == "dW1"
    assert more["mean_db1"]["group"] == "mean" and more["mean_db1"]["optimizer"] is None
    titles = {m["title"] for m in more["W1@adam"]["misconceptions"]}
    assert {"Bias correction left out", "ε inside the square root"} <= titles
    assert [m["id"] for m in more["mean_dW2"]["misconceptions"]] == ["mean_dW2-summed"]
    assert [s["name"] for s in body["steps"]] == list(engine.STEP_NAMES)  # unchanged


def test_another_network_s_updates_and_means():
    net = {"input": {"size": 6}, "layers": [
        {"type": "conv", "filters": 2, "kernel": 3}, {"type": "relu"},
        {"type": "maxpool", "size": 2}, {"type": "flatten"},
        {"type": "dense", "units": 3}, {"type": "tanh"}, {"type": "dense", "units": 1}],
        "output": "sigmoid_bce"}
    with make_client() as client:
        catalogue = client.get("/api/exercises", params={"network": json.dumps(net)})
        names = [s["name"] for s in catalogue.json()["more_steps"]]
        assert "W3@adam" in names and "mean_db3" in names
        view = create(client, step="W3@adam", seed=2, network=net)
        ex = practice.extra_exercise("W3@adam", engine.variant(2, engine.network(net)))
        assert answer(client, view, rounded(ex.truth))["correct"]


# ----------------------------------------------------------------------------- refusals
@pytest.mark.parametrize(("body", "loc", "says"), [
    ({"step": "W9@adam"}, ["body", "step"], "no step W9@adam"),
    ({"step": "W1@nesterov"}, ["body", "step"], "momentum, adam"),
    ({"step": "W1@sgd"}, ["body", "step"], "sgd's is P itself"),
    ({"step": "mean_dW9"}, ["body", "step"], "no step mean_dW9"),
    ({"step": "X@adam"}, ["body", "step"], ""),
    ({"step": "W1@Adam"}, ["body", "step"], ""),
    ({"step": "mean_W1"}, ["body", "step"], ""),
    ({"step": "W1@adam", "optimizer": {"type": "momentum"}}, ["body", "optimizer", "type"],
     "not by momentum"),
    ({"step": "W1@adam", "optimizer": {"type": "adam", "beta1": 1.5}},
     ["body", "optimizer"], ""),
    ({"step": "Z1", "optimizer": {"type": "adam"}}, ["body", "optimizer"], "no optimizer's"),
    ({"step": "mean_dW1", "batch": 1}, ["body", "batch"], ""),
    ({"step": "mean_dW1", "batch": 17}, ["body", "batch"], ""),
    ({"step": "mean_dW1", "batch": 3.0}, ["body", "batch"], ""),
    ({"step": "W1@adam", "batch": 3}, ["body", "batch"], "mean step"),
])
def test_what_the_network_has_not_is_a_422_naming_the_field(client, body, loc, says):
    response = client.post("/api/exercises", json={**body, "seed": 1})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"][0]
    assert detail["loc"][:len(loc)] == loc and says in detail["msg"]


# ------------------------------------------------------------------------------- codec
def test_the_codec_keeps_the_optimizer_the_batch_and_the_hints():
    codec = ExerciseCodec()
    adam = engine.optimizers.optimizer({"type": "adam", "beta1": 0.8, "eps": 0.005})
    original = exercises.create(None, chain=True, seed=4, config=engine.Config(),
                                optimizer=adam)
    original.position = len(original.steps) - 4
    original.states[:original.position] = ["revealed"] * original.position
    original.answer(np.zeros(original.current.shape))
    mean = exercises.create("mean_db1", chain=False, seed=4, config=engine.Config(), batch=6)
    for exercise in (original, mean):
        blob = codec.encode(exercise).state
        back = asyncio.run(codec.decode(exercise.id, Loaded(b"", blob, 0, {})))
        assert (back.optimizer, back.batch, back.steps) == (
            exercise.optimizer, exercise.batch, exercise.steps)
        _same(back.view(), exercise.view())


def _same(a, b) -> None:
    assert list(a) == list(b)
    for key in a:
        if key == "given":
            assert list(a[key]) == list(b[key])
            for name in a[key]:
                np.testing.assert_array_equal(a[key][name], b[key][name])
        else:
            assert a[key] == b[key], key


def test_an_old_blob_without_options_takes_practice_s():
    codec = ExerciseCodec()
    exercise = exercises.create("W1@adam", chain=False, seed=4, config=engine.Config())
    back = asyncio.run(codec.decode(exercise.id, Loaded(b"", codec.encode(exercise).state,
                                                        0, {})))
    assert back.optimizer is None and float(back.current.given["eps"]) == 0.01


def test_a_mean_s_examples_share_one_colour_range(client):
    view = create(client, step="mean_dW1", seed=5, batch=4)
    ranges = list(view["ranges"].values())
    top = max(float(np.max(np.abs(v))) for v in given_of(view).values())
    assert len(ranges) == 4 and all(r == ranges[0] for r in ranges)
    assert ranges[0] == {"min": -top, "max": top, "scale": "diverging"}
