"""Practice: compute a step by hand and have it graded cell by cell, with the mistake named.

The right answer stays on the server: no response holds it until the step is answered
right or revealed.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
import orjson
from fastapi import APIRouter, Depends, Path, Query, Request
from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

import engine

from ... import convert, exercises, serialize
from ... import practice_schemas as ps
from ...errors import InputError
from ...mathml import static_mathml
from ...schemas import Message
from ...settings import Settings
from ...store.walks import WalkStore
from ..deps import STORE_AWAY, ClientDep, Stored

router = APIRouter(prefix="/api/exercises", tags=["practice"])

ExerciseStore = Annotated[WalkStore[exercises.Exercise], Depends(exercises.store)]
ExerciseId = Annotated[str, Path(min_length=1, max_length=64,
                                 description="The id POST /api/exercises returned.")]
NOT_FOUND = {404: {"model": Message, "description": "No such exercise (or it expired)."},
             **STORE_AWAY}


def get_exercise(exercise_id: ExerciseId, store: ExerciseStore) -> Stored[exercises.Exercise]:
    return Stored(store, exercise_id, (
        f"no exercise {exercise_id!r}: it never existed, or expired after "
        f"{store.ttl:g} s unused, or made room for newer ones"))


ExerciseDep = Annotated[Stored[exercises.Exercise], Depends(get_exercise)]


NetworkQuery = Annotated[str | None, Query(max_length=20_000, description=(
    "A network as JSON (the body's network of POST /api/exercises): list its steps and "
    "misconceptions instead of the seed's."))]


@router.get("", response_model=ps.Catalogue)
async def catalogue(request: Request, network: NetworkQuery = None) -> Response:
    """The steps that can be practised (the seed's network's, or ``network``'s), the
    grading tolerance, the limits and the misconception library (ids and messages)."""
    net = None
    if network is not None:
        loc = ("query", "network")
        try:
            spec = orjson.loads(network)
        except orjson.JSONDecodeError:
            raise InputError(loc, "network must be a JSON object: input, layers, output"
                             ) from None
        net = convert.network_of(spec, loc)
    return _catalogue(request.app.state.settings, net)


def _catalogue(settings: Settings, net: engine.Network | None = None) -> Response:
    p = engine.practice
    network = engine.as_network(net)
    library = (engine.MISCONCEPTIONS if network.config is not None
               else engine.misconceptions.library(network))
    return serialize.json_response({
        "more_steps": exercises.more_steps(network),
        "steps": [{"name": s.name, "phase": s.phase, "reads": list(s.reads),
                   "kind": s.node.layer.type, "role": s.role,
                   "latex": s.latex, "mathml": static_mathml(s.latex), "text": s.text}
                  for s in p.practice_steps(network)],
        "tolerance": {"significant": p.SIGNIFICANT, "slack": p.SLACK, "floor": p.FLOOR,
                      "text": p.TOLERANCE_TEXT},
        "limits": {"max_exercises": settings.max_exercises,
                   "exercise_ttl": settings.exercise_ttl,
                   "max_attempts": exercises.MAX_ATTEMPTS},
        "misconceptions": [{"id": m.id, "step": m.step, "title": m.title,
                            "message": m.message} for m in library],
    })


BODY_TOO_LARGE = {413: {"model": Message, "description": "The body is over the size limit."}}


@router.post("", status_code=201, response_model=ps.ExerciseOut,
             responses={**STORE_AWAY, **BODY_TOO_LARGE})
async def create(body: ps.ExerciseCreate, store: ExerciseStore,
                 client: ClientDep) -> Response:
    """A new exercise: one step (``step``) or the whole pass (``chain: true``), on numbers
    drawn from ``seed`` for ``config`` or ``network``. The givens are exactly what the
    step reads."""
    if body.chain and body.step is not None:
        raise InputError(("body", "step"), "give either step or chain: true, not both")
    if not body.chain and body.step is None:
        raise InputError(("body", "step"), "give a step (Z1 … b2) or chain: true")
    if body.example is not None and body.seed is not None:
        raise InputError(("body", "seed"), "give either seed or example, not both")
    net = convert.network_or_config(body)
    if body.step is not None:
        _check_step(body.step, net)
    optimizer = _optimizer(body)
    if body.batch is not None and not (body.step and exercises.is_mean(body.step)):
        raise InputError(("body", "batch"), "batch is the size of a mean step's mini-batch "
                                            "(mean_dW1 …); this exercise has none")
    example = None if body.example is None else _example(body.example, net)
    # drawing a variant for a big network can take half a second: off the event loop
    try:
        exercise = await run_in_threadpool(exercises.create, body.step, chain=body.chain,
                                           seed=body.seed, config=net, example=example,
                                           optimizer=optimizer, batch=body.batch)
    except ValueError as exc:  # no hand-computable example in the budget
        raise InputError(("body", "network" if net.config is None else "config"),
                         str(exc)) from None
    await store.add(exercise, client)
    return serialize.json_response(exercise.view(), status_code=201)


def _check_step(step: str, net: engine.Network) -> None:
    """A 422 naming body.step for a step ``net`` has not: its walk's steps, and every
    parameter's update by momentum or Adam and mean gradient."""
    walk = engine.practice.step_names(net)
    more = exercises.more_step_names(net)
    if step in walk or step in more:
        return
    why = f"this network has no step {step}"
    try:
        engine.misconceptions_for(step, net)  # the engine's word on an unknown optimizer
    except ValueError as exc:
        why = str(exc)
    raise InputError(("body", "step"), f"{why} (its steps: {' '.join(walk)}; updates and "
                                       f"means: {' '.join(more)})")


def _optimizer(body: ps.ExerciseCreate) -> engine.optimizers.Optimizer | None:
    """The request's optimizer, its options left out taking Practice's; None for none (or
    sgd). Only a chain or an update by that optimizer takes one."""
    if body.optimizer is None:
        return None
    given = body.optimizer.model_dump(exclude_unset=True)
    kind = given["type"]
    if body.step is not None and not exercises.is_update(body.step):
        raise InputError(("body", "optimizer"), f"{body.step} is no optimizer's update: only "
                                                "P@momentum, P@adam or a chain take one")
    if body.step is not None and not body.step.endswith(engine.practice.AT + kind):
        raise InputError(("body", "optimizer", "type"),
                         f"{body.step} is an update by {body.step.partition('@')[2]}, "
                         f"not by {kind}")
    if kind == "sgd":
        return None
    practice = engine.optimizers.practice_optimizer(kind).to_dict()
    return convert.optimizer_of({**practice, **given})


def _example(body: ps.ExampleIn, net: engine.Network) -> engine.Variant:
    loc = ("body", "example")
    x = convert.image(body.x, net, (*loc, "x"))
    y = convert.label(body.y, net, (*loc, "y"))
    params = convert.params_or_init(body.params, net, 0, (*loc, "params"))
    variant = engine.given_variant(x, y, params, body.lr, net)
    dA = "d" + net.last
    if not np.isfinite(variant.trace[dA]).all():  # A rounds to 0 at the label: −1/A overflows
        raise InputError(loc, f"{dA} is infinite for these numbers ({net.last} is 0 or 1 to "
                              "float precision): no answer could be right")
    return variant


def _view(exercise: exercises.Exercise) -> Response:
    return serialize.json_response(exercise.view())


@router.get("/{exercise_id}", response_model=ps.ExerciseOut, responses=NOT_FOUND)
async def read(exercise: ExerciseDep) -> Response:
    """The current step, its givens, attempts and hints; the answer once solved or
    revealed."""
    return await exercise.read(_view)


@router.post("/{exercise_id}/answer", response_model=ps.AnswerOut, responses={
    **NOT_FOUND, **BODY_TOO_LARGE,
    409: {"model": Message, "description": "No attempts left on this step."}})
async def answer(body: ps.AnswerIn, exercise: ExerciseDep) -> Response:
    """Grade an answer cell by cell: which cells are right, the score, the misconception
    that explains the wrong ones (if one does) and, for a wrong answer, the next hint."""
    def grade(task: exercises.Exercise) -> Response:
        try:
            engine.practice.check_answer(body.answer, task.current.shape)
        except ValueError as exc:
            raise InputError(("body", "answer"), f"{exc} for step {task.current.step}"
                             ) from None
        return serialize.json_response(task.answer(body.answer))

    return await exercise.change(grade)


@router.post("/{exercise_id}/reveal", response_model=ps.ExerciseOut, responses=NOT_FOUND)
async def reveal(exercise: ExerciseDep) -> Response:
    """Show the answer; the step counts as revealed (not solved) from now on."""
    def change(task: exercises.Exercise) -> Response:
        task.reveal()
        return _view(task)

    return await exercise.change(change)


@router.post("/{exercise_id}/next", response_model=ps.ExerciseOut, responses={
    **NOT_FOUND, 409: {"model": Message, "description": (
        "Not a chain, the current step is still open, or it was the last.")}})
async def next_step(exercise: ExerciseDep) -> Response:
    """A chain's next step, once the current one is solved or revealed."""
    def change(task: exercises.Exercise) -> Response:
        task.next()
        return _view(task)

    return await exercise.change(change)
