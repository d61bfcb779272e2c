"""A client generated from the app's OpenAPI schema by openapi-python-client, as a user of
the API would make one, works: generated without a warning, and against a real server it
runs a backward pass, walks a session (next, prev, goto, a cell's provenance, the
gradient check) and answers an exercise wrong then right, getting typed objects that hold
the engine's numbers."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

import engine
from app.main import create_app
from app.schemas import TENSOR_SHAPES
from tests.support.localserver import LocalServer

pytestmark = pytest.mark.slow
PACKAGE = "convlens_client"


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> ModuleType:
    """The generated package, imported from a temporary directory."""
    root = tmp_path_factory.mktemp("generated")
    spec = root / "openapi.json"
    spec.write_text(json.dumps(create_app().openapi()))
    bin_dir = str(Path(sys.executable).parent)  # the generator formats with this venv's ruff
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ.get("PATH", "")}
    run = subprocess.run(
        [sys.executable, "-m", "openapi_python_client", "generate", "--path", str(spec),
         "--output-path", str(root / PACKAGE), "--meta", "none"],
        capture_output=True, text=True, env=env, cwd=root, timeout=300)
    output = run.stdout + run.stderr
    assert run.returncode == 0, output
    warnings = [line for line in output.splitlines() if "warning" in line.lower()]
    assert warnings == [], output
    sys.path.insert(0, str(root))
    try:
        package = importlib.import_module(PACKAGE)
        for part in ("models", "types"):
            importlib.import_module(f"{PACKAGE}.{part}")
        yield package
    finally:
        sys.path.remove(str(root))
        for name in [m for m in sys.modules if m == PACKAGE or m.startswith(PACKAGE + ".")]:
            del sys.modules[name]


def endpoint(package: ModuleType, method: str, url: str) -> ModuleType:
    """The generated module that calls ``method url`` (found by what it sends, not by the
    operation id it was named after)."""
    root = Path(package.__file__).parent
    found = [path for path in (root / "api").rglob("*.py")
             if f'"method": "{method}"' in (text := path.read_text())
             and f'"url": "{url}"' in text]
    assert len(found) == 1, (method, url, found)
    dotted = ".".join(found[0].relative_to(root).with_suffix("").parts)
    return importlib.import_module(f"{PACKAGE}.{dotted}")


@pytest.fixture(scope="module")
def client(generated):
    with (LocalServer() as server,
          generated.Client(base_url=server.url, raise_on_unexpected_status=True) as c):
        yield c


def call(generated, client, method: str, url: str, **kwargs):
    response = endpoint(generated, method, url).sync_detailed(client=client, **kwargs)
    return response.status_code, response.parsed


def same(value, expected) -> bool:
    return np.shape(value) == np.shape(expected) and np.array_equal(
        np.asarray(value, dtype=np.float64), expected)


def test_a_backward_pass_answers_typed_objects_holding_the_engines_numbers(generated, client):
    models = generated.models
    config = engine.Config(input_size=7, kernel_size=2, filters=2, pool_size=3)
    rng = np.random.default_rng(14)
    x = rng.random((7, 7))
    params = engine.init_params(config, 5)
    body = models.BackwardRequest.from_dict({
        "config": config.to_dict(), "x": x.tolist(), "y": 0,
        "params": {k: v.tolist() for k, v in params.items()}, "lr": 0.3})
    status, answer = call(generated, client, "post", "/api/backward", body=body)
    assert status == 200
    assert isinstance(answer, models.BackwardResponse)
    assert isinstance(answer.tensors, models.BackwardTensors)
    assert isinstance(answer.params, models.ParamsOut)
    assert isinstance(answer.config, models.ConfigOut) and answer.config.filters == 2
    assert all(isinstance(step, models.StepOut) for step in answer.steps)
    assert [step.writes for step in answer.steps] == [s.writes for s in engine.STEPS]

    trace = engine.trace(x, 0, params, config)
    assert isinstance(answer.tensors.z1, list) and isinstance(answer.tensors.z1[0][0][0], float)
    assert same(answer.tensors.z1, trace["Z1"]) and same(answer.tensors.d_w1, trace["dW1"])
    assert answer.tensors.l == float(trace["L"]) and answer.tensors.d_a2 == float(trace["dA2"])
    served = answer.tensors.to_dict()
    assert set(served) == set(TENSOR_SHAPES) and answer.tensors.additional_properties == {}
    for name in TENSOR_SHAPES:
        assert same(served[name], trace[name]), name


def test_a_session_walks_through_the_generated_client(generated, client):
    models = generated.models
    lr = 0.5
    status, created = call(generated, client, "post", "/api/sessions",
                           body=models.SessionCreate.from_dict({"lr": lr}))
    assert status == 201 and isinstance(created, models.SessionOut)
    assert created.cursor == -1 and created.epoch == 0 and created.step is None
    sid = created.id
    x, y, params = engine.seed_example(engine.Config())
    epochs = [engine.trace(x, y, params, engine.Config())]
    epochs.append(engine.trace(x, y, engine.sgd_step(params, epochs[0], lr), engine.Config()))

    # Through the whole first epoch and two steps into the second.
    walk = [(0, i) for i in range(len(engine.STEPS))] + [(1, 0), (1, 1)]
    for epoch, index in walk:
        status, move = call(generated, client, "post", "/api/sessions/{session_id}/next",
                            session_id=sid)
        assert status == 200 and isinstance(move, models.SessionMove)
        assert (move.epoch, move.cursor) == (epoch, index)
        assert isinstance(move.step, models.StepOut)
        assert move.step.writes == engine.STEPS[index].writes
        expected = engine.step_value(epochs[epoch], index, lr)
        assert same(move.tensor, expected), (epoch, index)

    status, back = call(generated, client, "post", "/api/sessions/{session_id}/prev",
                        session_id=sid)
    assert status == 200 and isinstance(back, models.SessionMove)
    assert (back.epoch, back.cursor) == (1, 0)
    assert same(back.tensor, epochs[1]["Z1"])

    status, view = call(generated, client, "get", "/api/sessions/{session_id}",
                        session_id=sid)
    assert status == 200 and isinstance(view, models.SessionOut)
    assert isinstance(view.tensors, models.SessionTensors)
    assert same(view.tensors.z1, epochs[1]["Z1"]) and same(view.tensors.w1, epochs[1]["W1"])
    assert isinstance(view.tensors.a1, generated.types.Unset)  # not computed yet: absent
    assert view.loss_history == [float(epochs[0]["L"])]

    status, reset = call(generated, client, "post", "/api/sessions/{session_id}/reset",
                         session_id=sid)
    assert status == 200 and isinstance(reset, models.SessionOut)
    assert (reset.epoch, reset.cursor) == (0, -1)
    assert same(reset.params.w1, params["W1"])
    assert isinstance(reset.tensors.z1, generated.types.Unset)

    status, _ = call(generated, client, "delete", "/api/sessions/{session_id}",
                        session_id=sid)
    assert status == 204
    status, missing = call(generated, client, "get", "/api/sessions/{session_id}",
                           session_id=sid)
    assert status == 404 and isinstance(missing, models.Message)


def test_a_walk_goes_to_a_step_and_explains_a_cell(generated, client):
    models = generated.models
    status, created = call(generated, client, "post", "/api/sessions",
                           body=models.SessionCreate.from_dict({}))
    assert status == 201 and isinstance(created, models.SessionOut)
    sid = created.id
    x, y, params = engine.seed_example(engine.Config())
    trace = engine.trace(x, y, params, engine.Config())

    before = engine.STEP_NAMES.index("Z1")
    status, early = call(generated, client, "get", "/api/sessions/{session_id}/provenance/{tensor}",
                         session_id=sid, tensor="Z1", index="0,1,2")
    assert status == 409 and isinstance(early, models.Message)  # not shown yet

    status, view = call(generated, client, "post", "/api/sessions/{session_id}/goto",
                        session_id=sid, body=models.SessionGoto(epoch=0, cursor=before))
    assert status == 200 and isinstance(view, models.SessionOut)
    assert (view.epoch, view.cursor, view.step.writes) == (0, before, "Z1")
    assert same(view.tensors.z1, trace["Z1"])

    status, cell = call(generated, client, "get", "/api/sessions/{session_id}/provenance/{tensor}",
                        session_id=sid, tensor="Z1", index="0,1,2")
    assert status == 200 and isinstance(cell, models.ProvenanceOut)
    assert cell.value == trace["Z1"][0, 1, 2]
    window = trace["X"][1:4, 2:5]
    assert same(np.reshape(cell.factors, (9, 2))[:, 0], window.ravel())
    assert np.isclose(sum(cell.terms) + cell.bias, cell.value, rtol=0, atol=1e-12)

    last = engine.STEP_NAMES.index("db1")
    status, view = call(generated, client, "post", "/api/sessions/{session_id}/goto",
                        session_id=sid, body=models.SessionGoto(epoch=0, cursor=last))
    assert status == 200 and view.cursor == last
    status, check = call(generated, client, "post", "/api/sessions/{session_id}/gradcheck",
                         session_id=sid)
    assert status == 200 and isinstance(check, models.SessionGradcheck)
    assert isinstance(check.params, models.GradcheckParams)
    assert same(check.params.w1.analytic, trace["dW1"])
    assert same(check.params.b2.analytic, trace["db2"])
    assert check.max_rel_error is not None and check.max_rel_error < 1e-6


def test_an_exercise_is_answered_wrong_then_right(generated, client):
    models = generated.models
    status, exercise = call(generated, client, "post", "/api/exercises",
                            body=models.ExerciseCreate.from_dict({"step": "dA1", "seed": 11}))
    assert status == 201 and isinstance(exercise, models.ExerciseOut)
    assert isinstance(exercise.given, models.Givens) and exercise.answer is None
    truth = engine.exercise("dA1", engine.variant(11))
    a1, dp1 = np.asarray(exercise.given.a1), np.asarray(exercise.given.d_p1)
    assert same(a1, truth.given["A1"]) and same(dp1, truth.given["dP1"])
    assert isinstance(exercise.given.x, generated.types.Unset)  # dA1 does not read X

    every_cell = np.repeat(np.repeat(dp1, 2, axis=1), 2, axis=2)  # a known misconception
    status, wrong = call(generated, client, "post", "/api/exercises/{exercise_id}/answer",
                         exercise_id=exercise.id,
                         body=models.AnswerIn.from_dict({"answer": every_cell.tolist()}))
    assert status == 200 and isinstance(wrong, models.AnswerOut)
    assert wrong.correct is False and wrong.answer is None
    assert isinstance(wrong.misconception, models.MisconceptionOut)
    assert wrong.misconception.id == "da1-every-cell"
    assert isinstance(wrong.hint, models.HintOut) and wrong.hint.level == 1
    assert np.shape(wrong.cells) == truth.shape

    status, right = call(generated, client, "post", "/api/exercises/{exercise_id}/answer",
                         exercise_id=exercise.id,
                         body=models.AnswerIn.from_dict({"answer": truth.truth.tolist()}))
    assert status == 200 and isinstance(right, models.AnswerOut)
    assert right.correct is True and right.score == 1.0 and right.attempts == 2
    assert same(right.answer, truth.truth)
    status, solved = call(generated, client, "get", "/api/exercises/{exercise_id}",
                          exercise_id=exercise.id)
    assert status == 200 and isinstance(solved, models.ExerciseOut)
    assert same(solved.answer, truth.truth) and len(solved.hints) == 1
