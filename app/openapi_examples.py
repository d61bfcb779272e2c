"""The examples in the API's schema: real answers, for the seed's example.

Each response example is what the server answers to its request's example, built by the
functions the routes call (the network and training answers, a walk's view and moves, an
exercise and its grading) and encoded by :mod:`app.serialize` exactly as it is served; no
route coroutine is driven, so routes may await (the compute pool, a thread) freely. A
walk's example is a session three steps in (where the goto example leads); an exercise's
is dA1 on seed 7, answered with its example's wrong answer; demo mode's are the default
lesson and a room opened and moved by the requests' examples. They are built once, on first
use, when the schema is generated; ``tests/app/test_schema_types.py`` holds each to the
schema and to the answer a running app gives.
"""

from __future__ import annotations

import functools
from typing import Any

import orjson
from starlette.responses import Response

import engine

from . import exercises, serialize, sessions
from . import practice_schemas as ps
from . import schemas as s
from .settings import Settings

SESSION_ID = "6BsWyzRZxs9mYb2E0v5kLQ"  # ids are random: the examples show one, fixed
EXERCISE_ID = "Qz3vN8kYb1TfR0pXw5mUeA"
SESSION_STEPS = 3  # the example session has computed Z1, A1 and P1
PROVENANCE = ("P1", (0, 0, 0))  # a cell the example session has shown, and its window


def _never() -> bool:
    return False


def _json(answer: Response | bytes | object) -> Any:
    """What the server sends for a route's Response or bytes, or for what it passes to
    :func:`app.serialize.json_response`."""
    if isinstance(answer, Response):
        answer = answer.body
    return orjson.loads(answer if isinstance(answer, bytes) else serialize.dumps(answer))


def request(model: type[s.BaseModel], which: int = 0) -> dict[str, Any]:
    """An example of a request model (the first by default)."""
    extra = model.model_config.get("json_schema_extra")
    assert isinstance(extra, dict), model
    return extra["examples"][which]


def session(steps: int = SESSION_STEPS) -> sessions.Session:
    """The example session, ``steps`` steps in, as POST /api/sessions and next make it."""
    walk = sessions.create(s.SessionCreate.model_validate(request(s.SessionCreate)))
    for _ in range(steps):
        walk.next()
    return walk


def exercise() -> exercises.Exercise:
    """The example exercise, as POST /api/exercises makes it."""
    body = ps.ExerciseCreate.model_validate(request(ps.ExerciseCreate))
    return exercises.create(body.step, chain=body.chain, seed=body.seed,
                            config=body.config.to_engine())


DEMO_KEY = "example-presenter-key"  # demo mode needs one; the examples hold no key


def _demo() -> dict[str, Any]:
    """Demo mode's examples: the default lesson, room cnn-3 opened and moved by the
    requests' examples, as a server in demo mode answers them."""
    from .demo.mode import DemoMode, DemoSettings
    from .demo.routes import Goto, RoomOpen

    demo = DemoMode(DemoSettings(key=DEMO_KEY))
    room, created = demo.hub.open(request(RoomOpen)["room"])
    opened = {"room": room.id, "created": created, "follow": f"/follow/{room.id}",
              "state": _json(room.state_bytes())}
    move = request(Goto)
    demo.hub.move(room, move["beat"], move["by"])
    return {"LessonOut": _json(demo.public_json), "RoomOpened": opened,
            "RoomState": _json(room.state_bytes()),
            "Detail": {"detail": "the presenter key is missing or wrong"}}


def _compared(moved: bool = False) -> dict[str, Any]:
    """The pool switch at its step that routes dP1 back to A1 (both walks' ids fixed)."""
    from . import compare

    c = compare.create(s.CompareCreate.model_validate(request(s.CompareCreate)))
    c.id, c.a.id, c.b.id = SESSION_ID, SESSION_ID + "a", SESSION_ID + "b"
    c.goto(0, engine.STEP_NAMES.index("dA1"))
    return _json(c.move() if moved else c.view())


@functools.cache
def responses() -> dict[str, Any]:
    """Response model name -> its example."""
    # the routes import this module's models, so they are imported only here
    from .api.routes import exercises as practice
    from .api.routes import meta, network, train
    from .api.routes import sessions as walk

    settings = Settings()
    three = session()
    to_db1 = session(engine.STEP_NAMES.index("db1") + 1)  # every gradient reached
    task = exercise()
    catalogue = practice._catalogue(settings)
    created = _json(task.view())
    graded = _json(task.answer(request(ps.AnswerIn)["answer"]))
    return {
        "ForwardResponse": _json(network._forward(
            s.ForwardRequest.model_validate(request(s.ForwardRequest)))),
        "BackwardResponse": _json(network._backward(
            s.BackwardRequest.model_validate(request(s.BackwardRequest)))),
        "UpdateResponse": _json(network._update(
            s.UpdateRequest.model_validate(request(s.UpdateRequest)))),
        "GradcheckResponse": _json(network._gradcheck(
            s.ExampleRequest.model_validate(request(s.ExampleRequest)), _never)),
        "TrainResponse": _json(train._train(
            s.TrainRequest.model_validate(request(s.TrainRequest)), settings, _never)),
        "DatasetOut": _json(train._datasets(6))[0],
        "PresetOut": _json(train._presets(6))[0],
        "Health": _json(meta._health()),
        "Meta": _json(meta._meta(settings)),
        "SessionOut": {**_json(three.view()), "id": SESSION_ID},
        "CompareOut": _compared(),
        "CompareMove": _compared(moved=True),
        "SessionMove": _json(three.move()),
        "ProvenanceOut": _json(three.provenance(*PROVENANCE)),
        "ProvenanceCells": _json(three.provenance_cells(PROVENANCE[0])),
        "SessionGradcheck": _json(walk._gradcheck(to_db1.gradcheck_input())),
        "Catalogue": _json(catalogue),
        "ExerciseOut": {**created, "id": EXERCISE_ID},
        "AnswerOut": graded,
        "Message": {"detail": "no session 'abc': it never existed, was deleted, or expired "
                              "after 3600 s unused"},
        **_demo(),
    }
