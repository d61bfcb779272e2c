"""The practice API: exercises, answers, hints, reveal, the whole-pass chain and limits.

Every test that keeps an exercise (through ``client``, or the cap test) runs twice: on the
memory store and on the Redis store (a real redis-server). The expiry test moves the memory
store's clock by hand (Redis expiry is tested with real time in ``tests/app/store``); the
catalogue and schema tests keep nothing.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from app import exercises
from app.store.walks import MemoryWalkStore
from tests.app.conftest import BACKENDS, backend_settings, make_client
from tests.app.conftest import create_exercise as create

STEPS = engine.STEP_NAMES


@pytest.fixture(scope="module", params=BACKENDS)
def client(request):
    """One app per backend for the module's tests."""
    with make_client(**backend_settings(request)) as c:
        yield c


def truth_of(view) -> tuple[engine.Exercise, engine.Variant]:
    config = engine.Config(**{k: view["config"][k] for k in engine.LIMITS})
    v = engine.variant(view["seed"], config)
    return engine.exercise(view["step"], v), v


def rounded(value, digits=4):
    return np.vectorize(lambda x: float(f"{x:.{digits}g}"))(np.asarray(value)).tolist()


def numbers(document) -> list[float]:
    """Every number anywhere in a JSON document."""
    if isinstance(document, bool) or document is None or isinstance(document, str):
        return []
    if isinstance(document, int | float):
        return [float(document)]
    items = document.values() if isinstance(document, dict) else document
    return [n for item in items for n in numbers(item)]


def leaks(document, truth, given) -> list[float]:
    """Truth values found in a response that the givens do not hold already (a value the
    student is given cannot give the answer away). Zero is everywhere and leaks nothing; a
    given's negation and 1 are the bounds of the givens' colour ranges, which say nothing
    of the answer either."""
    values = [float(v) for v in numbers({k: np.asarray(v).tolist() for k, v in given.items()})]
    known = np.array([*values, *(-v for v in values), 0.0, 1.0])
    secret = [float(t) for t in np.ravel(truth)
              if not np.any(np.isclose(known, t, rtol=1e-12, atol=1e-15))]
    return [n for n in numbers(document)
            if any(math.isclose(n, s, rel_tol=1e-9, abs_tol=1e-15) for s in secret)]


# --------------------------------------------------------------------------- exercises
@pytest.mark.parametrize("step", STEPS)
def test_an_exercise_gives_exactly_what_the_step_reads_and_no_answer(client, step):
    view = create(client, step=step, seed=5)
    ex, _ = truth_of(view)
    s = engine.STEPS[ex.index]
    assert view["step"] == step and view["state"] == "open" and view["answer"] is None
    assert list(view["given"]) == list(s.reads)
    for name in s.reads:
        np.testing.assert_allclose(view["given"][name], ex.given[name], rtol=0, atol=0)
    assert view["shape"] == list(ex.shape)
    assert view["lr"] == (0.1 if s.phase == "update" else None)
    assert view["latex"] == s.latex and view["mathml"].startswith("<math")
    assert view["answer_range"] is None
    assert [m["id"] for m in view["misconceptions"]] == [
        m.id for m in engine.misconceptions_for(step)]


@given(seed=st.integers(0, 2**32 - 1), step=st.sampled_from(STEPS))
@settings(max_examples=30, deadline=None)
def test_no_response_before_reveal_holds_the_answer(client, seed, step):
    view = create(client, step=step, seed=seed)
    ex, _ = truth_of(view)
    responses = [view, client.get(f"/api/exercises/{view['id']}").json()]
    shifted = (ex.truth - 3).tolist()
    twice = (2 * ex.truth + 1).tolist()
    for wrong in (shifted, twice, shifted):  # three wrong attempts unlock both hints
        response = client.post(f"/api/exercises/{view['id']}/answer", json={"answer": wrong})
        assert response.status_code == 200
        responses.append(response.json())
    responses.append(client.get(f"/api/exercises/{view['id']}").json())
    for document in responses:
        assert document["answer"] is None
        assert leaks(document, ex.truth, ex.given) == [], step
    # and once revealed, it is there
    shown = client.post(f"/api/exercises/{view['id']}/reveal").json()
    np.testing.assert_array_equal(shown["answer"], ex.truth)
    if leaks({"answer": np.asarray(ex.truth).tolist()}, ex.truth, ex.given):
        assert leaks(shown, ex.truth, ex.given)  # the check would have seen it


@pytest.mark.parametrize("step", STEPS)
def test_the_right_answer_rounded_is_correct_and_then_shown(client, step):
    view = create(client, step=step, seed=9)
    ex, _ = truth_of(view)
    response = client.post(f"/api/exercises/{view['id']}/answer",
                           json={"answer": rounded(ex.truth, 3)})
    assert response.status_code == 200
    result = response.json()
    assert result["correct"] is True and result["score"] == 1.0
    assert result["misconception"] is None and result["hint"] is None
    assert result["state"] == "solved" and result["attempts"] == 1
    np.testing.assert_array_equal(result["answer"], ex.truth)
    assert np.all(result["cells"]) and np.shape(result["cells"]) == ex.shape
    assert client.get(f"/api/exercises/{view['id']}").json()["state"] == "solved"


def test_routing_to_every_cell_is_named_and_hints_unlock_one_by_one(client):
    view = create(client, step="dA1", seed=3)
    ex, v = truth_of(view)
    every = engine.MISCONCEPTIONS[[m.id for m in engine.MISCONCEPTIONS].index(
        "da1-every-cell")].wrong(ex.given, engine.Sizes.of(v.config), None)
    url = f"/api/exercises/{view['id']}/answer"
    first = client.post(url, json={"answer": every.tolist()}).json()
    assert first["correct"] is False and first["misconception"]["id"] == "da1-every-cell"
    assert "maximum" in first["misconception"]["message"]
    wrong = ~engine.practice.right_cells(every, ex.truth)
    assert np.array_equal(np.array(first["cells"]), ~wrong)
    assert first["score"] == pytest.approx(1 - wrong.mean())
    assert first["hint"]["level"] == 1
    cell = tuple(first["hint"]["cell"])
    assert wrong[cell]
    assert set(first["hint"]["feeds"]) == {"A1", "dP1"}
    second = client.post(url, json={"answer": every.tolist()}).json()
    assert second["hint"]["level"] == 2 and second["hint"]["text"].endswith("= ?")
    assert second["attempts"] == 2
    state = client.get(f"/api/exercises/{view['id']}").json()
    assert [h["level"] for h in state["hints"]] == [1, 2]
    right = client.post(url, json={"answer": ex.truth.tolist()}).json()
    assert right["correct"] and right["state"] == "solved"


def test_a_scalar_step_takes_a_number(client):
    view = create(client, step="L", seed=2)
    ex, _ = truth_of(view)
    url = f"/api/exercises/{view['id']}/answer"
    wrong = client.post(url, json={"answer": float(ex.truth) * 2 + 1}).json()
    assert wrong["cells"] is False and wrong["score"] == 0
    right = client.post(url, json={"answer": float(f"{float(ex.truth):.3g}")}).json()
    assert right["cells"] is True and right["correct"]


def test_reveal_marks_the_exercise_revealed_not_solved(client):
    view = create(client, step="dW1", seed=4)
    ex, _ = truth_of(view)
    shown = client.post(f"/api/exercises/{view['id']}/reveal")
    assert shown.status_code == 200
    body = shown.json()
    assert body["state"] == "revealed"
    np.testing.assert_array_equal(body["answer"], ex.truth)
    assert body["answer_range"]["scale"] == "diverging"
    after = client.post(f"/api/exercises/{view['id']}/answer",
                        json={"answer": ex.truth.tolist()}).json()
    assert after["correct"] and after["state"] == "revealed"


def test_same_seed_and_config_give_the_same_numbers_and_no_seed_a_fresh_one(client):
    a = create(client, step="Z1", seed=12, config={"input_size": 7})
    b = create(client, step="Z1", seed=12, config={"input_size": 7})
    assert a["given"] == b["given"] and a["id"] != b["id"]
    assert np.shape(a["given"]["X"]) == (7, 7)
    c = create(client, step="Z1")
    assert c["seed"] is None  # drawn by the server: kept until the step is over
    shown = client.post(f"/api/exercises/{c['id']}/reveal").json()
    assert 0 <= shown["seed"] < 2**32
    again = create(client, step="Z1", seed=shown["seed"])
    assert again["given"] == c["given"]


def test_a_drawn_seed_cannot_open_a_twin_that_gives_the_answer_away(client):
    chain = create(client, chain=True)
    assert chain["step"] == "Z1" and chain["seed"] is None
    assert client.get(f"/api/exercises/{chain['id']}").json()["seed"] is None


# -------------------------------------------------------------------------------- chain
def test_a_chain_walks_the_whole_pass_with_the_true_results_before(client):
    view = create(client, chain=True, seed=21)
    _, v = truth_of(view)
    eid = view["id"]
    assert view["chain"]["steps"] == list(STEPS)
    refused = client.post(f"/api/exercises/{eid}/next")
    assert refused.status_code == 409 and "Z1" in refused.json()["detail"]
    for i, step in enumerate(STEPS):
        assert view["step"] == step and view["chain"]["position"] == i
        for name in engine.STEPS[i].reads:
            np.testing.assert_array_equal(view["given"][name], np.asarray(v.trace[name]))
        truth = engine.exercise(step, v).truth
        if i % 5 == 4:  # now and then, reveal instead of answering
            assert client.post(f"/api/exercises/{eid}/reveal").json()["state"] == "revealed"
        else:
            result = client.post(f"/api/exercises/{eid}/answer",
                                 json={"answer": rounded(truth)}).json()
            assert result["correct"], step
        if i < len(STEPS) - 1:
            response = client.post(f"/api/exercises/{eid}/next")
            assert response.status_code == 200
            view = response.json()
            assert view["answer"] is None and view["state"] == "open"
    end = client.post(f"/api/exercises/{eid}/next")
    assert end.status_code == 409 and "last" in end.json()["detail"]
    done = client.get(f"/api/exercises/{eid}").json()
    assert all(done["chain"]["done"])


def test_a_single_step_has_no_next(client):
    view = create(client, step="A1", seed=1)
    client.post(f"/api/exercises/{view['id']}/reveal")
    assert client.post(f"/api/exercises/{view['id']}/next").status_code == 409


# ------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(("answer", "says"), [
    ([[1.0, 2.0]], "shape (1, 4, 4)"),
    ("0.5", "string"),
    ([[["a", 0, 0, 0]] * 4], "string"),
    (True, "bool"),
    ([[[0.0] * 4] * 4] * 2, "shape (1, 4, 4)"),
    ([[[[[0.0]]]]], "4 deep"),  # a conv's (K, C, k, k) weights nest 4 deep; none 5
    ([], "empty"),
    (None, "NoneType"),
    ([[[1e13, 0, 0, 0]] * 4], "finite"),
])
def test_a_malformed_answer_is_a_422_naming_the_field(client, answer, says):
    view = create(client, step="dA1", seed=0)
    response = client.post(f"/api/exercises/{view['id']}/answer", json={"answer": answer})
    assert response.status_code == 422
    detail = response.json()["detail"]
    assert len(detail) == 1 and detail[0]["loc"][:2] == ["body", "answer"]
    assert says in detail[0]["msg"]
    assert len(response.content) < 1000


def test_nan_in_an_answer_is_a_422(client):
    view = create(client, step="Z2", seed=0)
    response = client.post(f"/api/exercises/{view['id']}/answer", content=b'{"answer": NaN}',
                           headers={"content-type": "application/json"})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:2] == ["body", "answer"]
    assert client.get(f"/api/exercises/{view['id']}").json()["attempts"] == 0


@pytest.mark.parametrize(("body", "loc"), [
    ({"step": "dA3"}, ["body", "step"]),
    ({}, ["body", "step"]),
    ({"step": "Z1", "chain": True}, ["body", "step"]),
    ({"chain": 1}, ["body", "chain"]),
    ({"step": "Z1", "seed": -1}, ["body", "seed"]),
    ({"step": "Z1", "config": {"input_size": 3}}, ["body", "config", "input_size"]),
    ({"step": "Z1", "stepp": "Z1"}, ["body", "stepp"]),
])
def test_a_malformed_exercise_request_is_a_422_naming_the_field(client, body, loc):
    response = client.post("/api/exercises", json=body)
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:len(loc)] == loc


def test_unknown_exercises_are_404(client):
    for method, path in (("get", ""), ("post", "/reveal"), ("post", "/next")):
        response = getattr(client, method)(f"/api/exercises/nope{path}")
        assert response.status_code == 404 and "no exercise" in response.json()["detail"]
    response = client.post("/api/exercises/nope/answer", json={"answer": 1.0})
    assert response.status_code == 404


# ------------------------------------------------------------------------------- limits
@pytest.mark.parametrize("name", BACKENDS)
def test_exercises_are_capped_least_recently_used_first(request, name):
    """With no protection (0 s; see test_session_store for the default's) the least
    recently used always goes."""
    with make_client(max_exercises=2, exercise_protect=0,
                     **backend_settings(request, name)) as client:
        a, b = create(client, step="Z1", seed=1), create(client, step="Z1", seed=2)
        assert client.get(f"/api/exercises/{a['id']}").status_code == 200  # a is fresh now
        create(client, step="Z1", seed=3)
        assert client.get(f"/api/exercises/{b['id']}").status_code == 404
        assert client.get(f"/api/exercises/{a['id']}").status_code == 200


def test_exercises_expire_when_unused(clock):
    with make_client(exercise_ttl=60) as client:
        client.app.state.exercises = MemoryWalkStore(kind="exercise", max_items=10, ttl=60,
                                                     clock=clock)
        view = create(client, step="P1", seed=1)
        clock.advance(59)
        assert client.get(f"/api/exercises/{view['id']}").status_code == 200
        clock.advance(61)
        assert client.get(f"/api/exercises/{view['id']}").status_code == 404


def test_attempts_are_capped(client, monkeypatch):
    monkeypatch.setattr(exercises, "MAX_ATTEMPTS", 2)
    view = create(client, step="Z2", seed=1)
    url = f"/api/exercises/{view['id']}/answer"
    for _ in range(2):
        assert client.post(url, json={"answer": 1234.0}).status_code == 200
    refused = client.post(url, json={"answer": 1234.0})
    assert refused.status_code == 409 and "attempts" in refused.json()["detail"]
    assert client.post(f"/api/exercises/{view['id']}/reveal").status_code == 200


def test_the_catalogue_lists_steps_tolerance_limits_and_the_library():
    with make_client(max_exercises=7, exercise_ttl=90) as client:
        body = client.get("/api/exercises").json()
    assert [s["name"] for s in body["steps"]] == list(STEPS)
    assert body["limits"] == {"max_exercises": 7, "exercise_ttl": 90.0,
                              "max_attempts": exercises.MAX_ATTEMPTS}
    assert body["tolerance"]["significant"] == 3
    assert {m["id"] for m in body["misconceptions"]} == {m.id for m in engine.MISCONCEPTIONS}


def test_openapi_types_the_tensors_with_their_nesting(client):
    schema = client.get("/openapi.json").json()
    paths = schema["paths"]
    for path in ("/api/exercises", "/api/exercises/{exercise_id}",
                 "/api/exercises/{exercise_id}/answer", "/api/exercises/{exercise_id}/reveal",
                 "/api/exercises/{exercise_id}/next"):
        assert path in paths
    answer = schema["components"]["schemas"]["AnswerIn"]["properties"]["answer"]
    kinds = {"number" if a.get("type") == "number" else
             "array" * 1 for a in answer["anyOf"]}
    assert kinds == {"number", "array"}
    deepest = [a for a in answer["anyOf"] if a.get("type") == "array"
               and a["items"].get("type") == "array" and a["items"]["items"].get("type")
               == "array"]
    assert deepest and deepest[0]["items"]["items"]["items"]["type"] == "number"
    given = schema["components"]["schemas"]["ExerciseOut"]["properties"]["given"]
    assert "TensorValue" not in str(given)
    assert "409" in paths["/api/exercises/{exercise_id}/answer"]["post"]["responses"]


def test_settings_read_the_exercise_limits_from_the_environment():
    from app.settings import Settings
    s = Settings.from_env({"CONVLENS_MAX_EXERCISES": "5", "CONVLENS_EXERCISE_TTL": "30"})
    assert (s.max_exercises, s.exercise_ttl) == (5, 30.0)
    with pytest.raises(ValueError, match="max_exercises"):
        Settings(max_exercises=0)


def test_the_readme_notebook_example_runs_and_its_answer_is_right(client, capsys):
    from tests.support.localserver import ROOT
    readme = (ROOT / "README.md").read_text()
    after = readme.split("From a notebook, a student's own NumPy implementation", 1)[1]
    code = after.split("```python\n", 1)[1].split("```", 1)[0]
    assert 'httpx.Client(base_url="http://127.0.0.1:8000")' in code
    code = code.replace('httpx.Client(base_url="http://127.0.0.1:8000")', "client")
    scope = {"client": client}
    exec(compile(code, "README.md", "exec"), scope)
    assert scope["result"]["correct"] is True and scope["result"]["score"] == 1.0
    assert capsys.readouterr().out.startswith("True 1.0 None")


def test_the_readme_engine_example_runs():
    v = engine.variant(7)
    ex = engine.exercise("dA1", v)
    assert set(ex.given) == {"dP1", "A1"}
    my_answer = np.zeros(ex.shape)
    result = engine.grade("dA1", my_answer, ex.truth, ex.given)
    assert not result.correct and 0 < result.score < 1
    assert engine.hint("dA1", 1, (0, 0, 0), ex.given, config=v.config).text


# ------------------------------------------------------- the walk's own numbers (example)
def walk_example(view) -> dict:
    """What the explorer's "Practise this step" sends for a walk (static/js/common/api.js
    walkExample): X, Y, η and the parameters of the walk's current pass."""
    t = view["tensors"]
    return {"x": t["X"], "y": t["Y"], "lr": view["lr"],
            "params": {name: t[name] for name in engine.PARAM_NAMES}}


@pytest.mark.parametrize(("epoch", "step"), [(0, "dZ1"), (0, "Z1"), (1, "dW1"), (1, "W1")])
def test_practise_this_step_works_the_numbers_on_the_explorer_s_screen(client, epoch, step):
    walk = client.post("/api/sessions", json={"x": np.eye(6).tolist(), "y": 0, "seed": 3,
                                              "lr": 0.3}).json()
    cursor = engine.STEP_NAMES.index(step)
    view = client.post(f"/api/sessions/{walk['id']}/goto",
                       json={"epoch": epoch, "cursor": cursor}).json()
    exercise = create(client, step=step, example=walk_example(view))
    assert exercise["example"] is True and exercise["seed"] is None
    # the givens are the tensors the walk shows at this step, number for number
    for name, value in exercise["given"].items():
        assert value == view["tensors"][name], name
    if step == "W1":  # an update: the walk's own η
        assert exercise["lr"] == 0.3
    assert exercise["answer"] is None
    revealed = client.post(f"/api/exercises/{exercise['id']}/reveal").json()
    # the answer is what the walk computes at that step
    update = engine.STEPS[cursor].phase == "update"
    assert revealed["answer"] == (view["updated"] if update else view["tensors"])[step]


def test_an_example_exercise_grades_the_walk_s_truth_and_keeps_its_numbers(client):
    walk = client.post("/api/sessions", json={}).json()
    view = client.post(f"/api/sessions/{walk['id']}/goto",
                       json={"epoch": 0, "cursor": engine.STEP_NAMES.index("dZ1")}).json()
    exercise = create(client, step="dZ1", example=walk_example(view))
    wrong = client.post(f"/api/exercises/{exercise['id']}/answer",
                        json={"answer": view["tensors"]["dA1"]}).json()
    # dA1 copied unmasked is wrong exactly where ReLU blocks a routed gradient
    assert wrong["correct"] is False
    right = client.post(f"/api/exercises/{exercise['id']}/answer",
                        json={"answer": view["tensors"]["dZ1"]}).json()
    assert right["correct"] is True and right["answer"] == view["tensors"]["dZ1"]
    again = client.get(f"/api/exercises/{exercise['id']}").json()  # from the store
    assert again["given"] == exercise["given"] and again["state"] == "solved"


def test_a_whole_pass_on_an_example(client):
    walk = client.post("/api/sessions", json={"seed": 11}).json()
    exercise = create(client, chain=True, example=walk_example(walk))
    for step in engine.STEP_NAMES[:3]:
        assert exercise["step"] == step
        client.post(f"/api/exercises/{exercise['id']}/reveal")
        exercise = client.post(f"/api/exercises/{exercise['id']}/next").json()
    view = client.post(f"/api/sessions/{walk['id']}/goto", json={"epoch": 0, "cursor": 2}
                       ).json()
    assert exercise["given"]["P1"] == view["tensors"]["P1"]


@pytest.mark.parametrize(("change", "field"), [
    (lambda b: b.update(seed=3), ["body", "seed"]),
    (lambda b: b["example"].update(x=[[0.5] * 5] * 5), ["body", "example", "x"]),
    (lambda b: b["example"]["params"].update(W1=[[[0.1]]]), ["body", "example", "params", "W1"]),
    (lambda b: b["example"].update(y=2), ["body", "example", "y"]),
    (lambda b: b["example"].update(lr=0), ["body", "example", "lr"]),
    (lambda b: b["example"].pop("params"), ["body", "example", "params"]),
])
def test_a_bad_example_is_refused_naming_its_field(client, change, field):
    walk = client.post("/api/sessions", json={}).json()
    body = {"step": "Z1", "example": walk_example(walk)}
    change(body)
    response = client.post("/api/exercises", json=body)
    assert response.status_code == 422, response.text
    assert any(list(e["loc"])[:len(field)] == field for e in response.json()["detail"]), \
        response.json()


def saturated(b2: float) -> dict:
    """An example whose A2 is 1 to float precision (Z2 = b2, Y = 0)."""
    return {"x": [[1.0] * 6] * 6, "y": 0, "lr": 0.1,
            "params": {"W1": [[[0.0] * 3] * 3], "b1": [0.0], "W2": [[0.0] * 4], "b2": [b2]}}


@pytest.mark.parametrize("step", ["dA2", "dZ2"])
def test_an_example_whose_a2_is_1_is_graded_not_crashed(client, step):
    exercise = create(client, step=step, example=saturated(40.0))
    graded = client.post(f"/api/exercises/{exercise['id']}/answer", json={"answer": 5})
    assert graded.status_code == 200, graded.text  # the misconception that divides by
    assert graded.json()["correct"] is False  # A2(1 − A2) = 0 just does not apply


def test_an_example_whose_da2_is_infinite_is_refused(client):
    response = client.post("/api/exercises", json={"step": "dA2", "example": saturated(1000.0)})
    assert response.status_code == 422
    assert response.json()["detail"][0]["loc"][:2] == ["body", "example"]
    assert "infinite" in response.text
