"""The examples in the API's schema: real answers, for the seed's example.

Each response example is what the server answers to its request's example (for the
network and training routes the route itself computes it; a session's example is a
session three steps in), encoded by :mod:`app.serialize` exactly as it is served. They are
built once, on first use, when the schema is generated; ``tests/app/test_schema_types.py``
holds each to the schema and to the answer a running app gives.
"""

from __future__ import annotations

import functools
from collections.abc import Coroutine
from typing import Any

import orjson
from starlette.responses import Response

from . import schemas as s
from . import serialize, sessions
from .settings import Settings

SESSION_ID = "6BsWyzRZxs9mYb2E0v5kLQ"  # ids are random: the example shows one, fixed
SESSION_STEPS = 3  # the example session has computed Z1, A1 and P1


def _answer(response: Response | Coroutine[Any, Any, Response]) -> Any:
    """A route's JSON, from its Response or from its coroutine: the routes await nothing,
    so one send runs a coroutine to its end without an event loop."""
    if isinstance(response, Coroutine):
        try:
            response.send(None)
        except StopIteration as done:
            response = done.value
        else:
            response.close()
            raise RuntimeError("a route awaited while building an example")
    return orjson.loads(response.body)


def request(model: type[s.BaseModel]) -> dict[str, Any]:
    """The first example of a request model."""
    extra = model.model_config.get("json_schema_extra")
    assert isinstance(extra, dict), model
    return extra["examples"][0]


def _session() -> sessions.Session:
    session = sessions.create(s.SessionCreate.model_validate(request(s.SessionCreate)))
    for _ in range(SESSION_STEPS):
        session.next()
    return session


@functools.cache
def responses() -> dict[str, Any]:
    """Response model name -> its example."""
    from .api.routes import meta, network, train  # the routes import this module's models

    settings = Settings()
    session = _session()
    ask = s.TrainRequest.model_validate(request(s.TrainRequest))
    return {
        "ForwardResponse": _answer(network.forward(
            s.ForwardRequest.model_validate(request(s.ForwardRequest)))),
        "BackwardResponse": _answer(network.backward(
            s.BackwardRequest.model_validate(request(s.BackwardRequest)))),
        "UpdateResponse": _answer(network.update(
            s.UpdateRequest.model_validate(request(s.UpdateRequest)))),
        "GradcheckResponse": _answer(network.gradcheck(
            s.ExampleRequest.model_validate(request(s.ExampleRequest)))),
        "TrainResponse": _answer(train.train(ask, settings)),
        "DatasetOut": _answer(train.datasets(6))[0],
        "PresetOut": _answer(train.presets(6))[0],
        "Health": _answer(meta.health()),
        "Meta": _answer(meta.meta(settings)),
        "SessionOut": {**orjson.loads(serialize.dumps(session.view())), "id": SESSION_ID},
        "SessionMove": orjson.loads(serialize.dumps(session.move())),
        "Message": {"detail": "no session 'abc': it never existed, was deleted, or expired "
                              "after 3600 s unused"},
    }
