"""The OpenAPI schema says each tensor's real depth, and every request and response carries
an example that is what the server really answers."""

from __future__ import annotations

import numpy as np
import pytest
from fastapi.testclient import TestClient

import engine
from app import openapi_examples as examples
from app import practice_schemas as ps
from app import schemas as s
from app.demo import routes as demo_routes
from app.demo.mode import DemoSettings
from app.main import create_app
from app.settings import Settings


def _resolve(schema: dict, spec: dict) -> dict:
    """The model behind a reference (or behind an optional one: ``anyOf [ref, null]``)."""
    if "anyOf" in schema:
        [schema] = [s for s in schema["anyOf"] if s.get("type") != "null"]
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _depth(schema: dict) -> int:
    """How deep a schema nests arrays before its numbers; -1 for anything else."""
    if schema.get("type") == "number":
        return 0
    if schema.get("type") == "array":
        inner = _depth(schema["items"])
        return -1 if inner < 0 else inner + 1
    return -1


def _depths(schema: dict) -> set[int]:
    """The depths a schema allows: one, or each of a union's (null left out)."""
    if "anyOf" in schema:
        return {_depth(o) for o in schema["anyOf"] if o.get("type") != "null"}
    return {_depth(schema)}


def _nullable(schema: dict) -> bool:
    return any(o.get("type") == "null" for o in schema.get("anyOf", []))


@pytest.fixture(scope="module")
def spec(client) -> dict:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json()


def test_symbolic_shapes_are_the_engines_for_many_configs():
    rng = np.random.default_rng(14)
    checked = 0
    while checked < 40:
        n = int(rng.integers(4, 29))
        k = int(rng.integers(1, min(7, n) + 1))
        p = int(rng.integers(1, min(4, n - k + 1) + 1))
        config = engine.Config(input_size=n, kernel_size=k, filters=int(rng.integers(1, 9)),
                               pool_size=p)
        m, q = n - k + 1, (n - k + 1) // p
        symbols = {"n": n, "k": k, "K": config.filters, "m": m, "q": q,
                   "D": config.filters * q * q, "1": 1}
        shapes = {name: tuple(symbols[d] for d in dims)
                  for name, dims in s.TENSOR_SHAPES.items()}
        assert shapes == config.shapes()
        checked += 1


@pytest.mark.parametrize("model", ["BackwardTensors", "SessionTensors"])
def test_every_tensor_is_typed_as_deep_as_its_shape(spec, model):
    properties = spec["components"]["schemas"][model]["properties"]
    walk = set(s.WALK_NAMES) if model == "SessionTensors" else set()  # a batch's, an optimizer's
    assert set(properties) == set(s.TENSOR_NAMES) | walk
    assert set(engine.Config().shapes()) <= set(properties)
    for name, field in properties.items():
        assert field["description"].startswith(f"{name}: ")
        assert _depths(field) == set(s.tensor_depths(name)), (name, field)
        assert _nullable(field) == name.startswith("dA"), name  # an output's dA overflows
    for name, dims in s.TENSOR_SHAPES.items():  # the seed's shapes, written out
        field = properties[name]
        assert f"shape ({', '.join(dims)}" in field["description"] if dims else (
            "a number" in field["description"])
        assert len(dims) in _depths(field), name


def test_no_tensor_is_typed_recursively_or_nullable(spec):
    text = str(spec)
    assert "TensorValue" not in text
    for model in ("ForwardTensors", "BackwardTensors", "SessionTensors", "UpdatedParams",
                  "ParamsOut", "Grads", "RevealedTensors", "Givens"):
        schema = spec["components"]["schemas"][model]
        nullable = [name for name, field in schema["properties"].items() if _nullable(field)]
        assert nullable == [n for n in schema["properties"] if n.startswith("dA")], model
    session = spec["components"]["schemas"]["SessionTensors"]
    assert sorted(session["required"]) == ["W1", "X", "Y", "b1"]  # the rest: absent, not null
    for model in ("RevealedTensors", "Givens", "GradcheckParams"):
        assert "required" not in spec["components"]["schemas"][model], model


def test_the_served_tensors_have_the_schemas_depths(client, bodies):
    config = engine.Config(input_size=9, kernel_size=2, filters=3, pool_size=2)
    response = client.post("/api/backward", json=bodies.random(config, 3))
    assert response.status_code == 200
    tensors = response.json()["tensors"]
    assert set(tensors) == set(s.TENSOR_SHAPES)
    for name, value in tensors.items():
        assert np.shape(value) == config.shapes()[name], name
        assert s.BackwardTensors.model_fields[name].annotation == s.tensor_type(name)


NETWORKS = [
    {"input": {"size": 8}, "layers": [
        {"type": "conv", "filters": 2, "kernel": 3, "padding": 1},
        {"type": "leaky_relu"}, {"type": "avgpool", "size": 2},
        {"type": "conv", "filters": 3, "kernel": 2, "stride": 2}, {"type": "tanh"},
        {"type": "flatten"}, {"type": "dense", "units": 4}, {"type": "dense", "units": 3}],
     "output": "softmax_ce"},
    {"input": {"size": 5}, "layers": [{"type": "flatten"}, {"type": "dense", "units": 3},
                                      {"type": "sigmoid"}, {"type": "dense", "units": 1}]},
    {"input": {"size": 7}, "layers": [{"type": "conv", "filters": 2, "kernel": 2},
                                      {"type": "relu"},
                                      {"type": "maxpool", "size": 3, "stride": 2},
                                      {"type": "flatten"}, {"type": "dense", "units": 1}]},
]


@pytest.mark.parametrize("spec_index", range(len(NETWORKS)))
def test_any_networks_tensors_have_depths_the_schema_allows(client, spec_index):
    network = NETWORKS[spec_index]
    net = engine.network(network)
    x = np.random.default_rng(spec_index).random((net.input_size,) * 2).tolist()
    response = client.post("/api/backward", json={"network": network, "x": x, "y": 1})
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["config"] is None and body["network"]["text"] == str(net)
    tensors = body["tensors"]
    assert set(tensors) == set(engine.model.names(net)) and set(tensors) <= set(s.TENSOR_NAMES)
    for name, value in tensors.items():
        assert np.ndim(value) in s.tensor_depths(name), name
        assert list(np.shape(value)) == body["network"]["shapes"][name], name
    s.BackwardResponse.model_validate(body)


def test_every_operation_has_request_and_response_examples(spec):
    missing = []
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/"):
            continue
        for method, op in operations.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body and "examples" not in _resolve(body["schema"], spec):
                missing.append(f"{method} {path} request")
            for status, answer in op["responses"].items():
                content = answer.get("content", {}).get("application/json")
                if status == "422" or not content or not content["schema"]:
                    continue
                schema = _resolve(content["schema"], spec)
                if schema.get("type") == "array":
                    schema = _resolve(schema["items"], spec)
                if "examples" not in schema:
                    missing.append(f"{method} {path} {status}")
    assert missing == []


@pytest.mark.parametrize(("model", "path", "request_model"), [
    ("ForwardResponse", "/api/forward", s.ForwardRequest),
    ("BackwardResponse", "/api/backward", s.BackwardRequest),
    ("UpdateResponse", "/api/update", s.UpdateRequest),
    ("GradcheckResponse", "/api/gradcheck", s.ExampleRequest),
    ("TrainResponse", "/api/train", s.TrainRequest),
])
def test_a_response_example_is_the_answer_to_the_request_example(client, model, path,
                                                                 request_model):
    response = client.post(path, json=examples.request(request_model))
    assert response.status_code == 200
    assert examples.responses()[model] == response.json()
    getattr(s, model).model_validate(examples.responses()[model])


def test_the_get_examples_are_what_the_server_serves(client):
    for model, path, pick in [("DatasetOut", "/api/datasets", 0), ("PresetOut", "/api/presets", 0),
                              ("Health", "/api/health", None), ("Meta", "/api/meta", None)]:
        response = client.get(path)
        assert response.status_code == 200
        served = response.json() if pick is None else response.json()[pick]
        assert examples.responses()[model] == served, model
        getattr(s, model).model_validate(served)


def test_the_session_examples_are_a_served_session_three_steps_in(client):
    created = client.post("/api/sessions", json=examples.request(s.SessionCreate))
    assert created.status_code == 201
    sid = created.json()["id"]
    for _ in range(examples.SESSION_STEPS):
        moved = client.post(f"/api/sessions/{sid}/next")
        assert moved.status_code == 200
    view = client.get(f"/api/sessions/{sid}")
    assert view.status_code == 200
    assert examples.responses()["SessionOut"] == {**view.json(), "id": examples.SESSION_ID}
    assert examples.responses()["SessionMove"] == moved.json()
    assert "P1" in view.json()["tensors"] and "F" not in view.json()["tensors"]


def test_the_session_routes_examples_are_served_answers(client):
    created = client.post("/api/sessions", json=examples.request(s.SessionCreate))
    assert created.status_code == 201
    sid = created.json()["id"]
    went = client.post(f"/api/sessions/{sid}/goto", json=examples.request(s.SessionGoto))
    assert went.status_code == 200
    assert {**went.json(), "id": examples.SESSION_ID} == examples.responses()["SessionOut"]
    name, cell = examples.PROVENANCE
    one = client.get(f"/api/sessions/{sid}/provenance/{name}",
                     params={"index": ",".join(map(str, cell))})
    assert one.status_code == 200
    assert one.json() == examples.responses()["ProvenanceOut"]
    every = client.get(f"/api/sessions/{sid}/provenance/{name}/cells")
    assert every.status_code == 200
    assert every.json() == examples.responses()["ProvenanceCells"]
    assert every.json()["cells"][0] == one.json()
    early = client.post(f"/api/sessions/{sid}/gradcheck")
    assert early.status_code == 200 and early.json()["params"] == {}  # no gradient yet

    went = client.post(f"/api/sessions/{sid}/goto",
                       json={"epoch": 0, "cursor": engine.STEP_NAMES.index("db1")})
    assert went.status_code == 200
    check = client.post(f"/api/sessions/{sid}/gradcheck")
    assert check.status_code == 200
    assert check.json() == examples.responses()["SessionGradcheck"]
    assert set(check.json()["params"]) == set(engine.PARAM_NAMES)
    for model in ("SessionOut", "ProvenanceOut", "ProvenanceCells", "SessionGradcheck"):
        getattr(s, model).model_validate(examples.responses()[model])


def test_the_gradcheck_params_are_typed_as_deep_as_their_parameters(spec):
    schemas = spec["components"]["schemas"]
    params = schemas["GradcheckParams"]["properties"]
    assert set(params) == set(s.PARAM_SLOTS) and set(engine.PARAM_NAMES) <= set(params)
    for name in s.PARAM_SLOTS:
        param = _resolve(params[name], spec)
        for side in ("analytic", "numeric"):
            assert _depths(param["properties"][side]) == set(s.tensor_depths(name)), name


def test_the_exercise_examples_are_served_answers(client):
    catalogue = client.get("/api/exercises")
    assert catalogue.status_code == 200
    assert catalogue.json() == examples.responses()["Catalogue"]
    created = client.post("/api/exercises", json=examples.request(ps.ExerciseCreate))
    assert created.status_code == 201
    eid = created.json()["id"]
    assert {**created.json(), "id": examples.EXERCISE_ID} == examples.responses()["ExerciseOut"]
    wrong = client.post(f"/api/exercises/{eid}/answer", json=examples.request(ps.AnswerIn))
    assert wrong.status_code == 200
    assert wrong.json() == examples.responses()["AnswerOut"]
    assert not wrong.json()["correct"] and wrong.json()["hint"]["level"] == 1
    assert wrong.json()["misconception"]["id"] == "da1-every-cell"
    right = client.post(f"/api/exercises/{eid}/answer", json=examples.request(ps.AnswerIn, 1))
    assert right.status_code == 200
    assert right.json()["correct"] and right.json()["state"] == "solved"
    for model in ("Catalogue", "ExerciseOut", "AnswerOut"):
        getattr(ps, model).model_validate(examples.responses()[model])


def test_every_steps_givens_and_answer_have_the_schemas_depths(client, spec):
    givens = spec["components"]["schemas"]["Givens"]["properties"]
    for step in engine.STEPS:
        created = client.post("/api/exercises", json={"step": step.writes, "seed": 3})
        assert created.status_code == 201
        exercise = created.json()
        assert list(exercise["given"]) == list(step.reads)
        for name, value in exercise["given"].items():
            assert np.ndim(value) == len(s.TENSOR_SHAPES[name]), (step.writes, name)
            assert np.ndim(value) in _depths(givens[name]), (step.writes, name)
        revealed = client.post(f"/api/exercises/{exercise['id']}/reveal")
        assert revealed.status_code == 200
        answer = revealed.json()["answer"]
        assert list(np.shape(answer)) == exercise["shape"], step.writes
        assert np.ndim(answer) == len(s.TENSOR_SHAPES[step.writes]), step.writes
        ps.ExerciseOut.model_validate(revealed.json())
    # one field per tensor any network's step can read (the seed's among them)
    assert {name for step in engine.STEPS for name in step.reads} <= set(givens)
    # and, for an optimizer's update, its state before (v_W1; m_W1, s_W1), t and the options
    numbers = {"t"} | {option for kind in engine.optimizers.OPTIMIZERS.values()
                       for option in kind.OPTIONS}
    assert set(givens) == set(s.TENSOR_NAMES) | set(ps.STATE_NAMES) | numbers
    assert {"v_W1", "m_W1", "s_b2"} <= set(ps.STATE_NAMES)


def test_the_demo_examples_are_what_a_server_in_demo_mode_answers():
    demo = create_app(Settings(), demo_settings=DemoSettings(key=examples.DEMO_KEY))
    key = {"X-Demo-Key": examples.DEMO_KEY}
    with TestClient(demo) as client:
        lesson = client.get("/api/demo/lesson")
        assert lesson.status_code == 200
        assert lesson.json() == examples.responses()["LessonOut"]
        opened = client.post("/api/demo/rooms", headers=key,
                             json=examples.request(demo_routes.RoomOpen))
        assert opened.status_code == 200
        assert opened.json() == examples.responses()["RoomOpened"]
        moved = client.post(f"/api/demo/{opened.json()['room']}/goto", headers=key,
                            json=examples.request(demo_routes.Goto))
        assert moved.status_code == 200
        assert moved.json() == examples.responses()["RoomState"]
        refused = client.post(f"/api/demo/{opened.json()['room']}/goto",
                              json=examples.request(demo_routes.Goto))
        assert refused.status_code == 403
        assert refused.json() == examples.responses()["Detail"]
    for model in ("LessonOut", "RoomOpened", "RoomState", "Detail"):
        getattr(demo_routes, model).model_validate(examples.responses()[model])
