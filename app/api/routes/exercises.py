"""Practice: compute a step by hand and have it graded cell by cell, with the mistake named.

The right answer stays on the server: no response holds it until the step is answered
right or revealed.
"""

from __future__ import annotations

from typing import Annotated

import numpy as np
from fastapi import APIRouter, Depends, Path, Request
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


@router.get("", response_model=ps.Catalogue)
async def catalogue(request: Request) -> Response:
    """The steps that can be practised, the grading tolerance, the limits and the
    misconception library (ids and messages)."""
    return _catalogue(request.app.state.settings)


def _catalogue(settings: Settings) -> Response:
    p = engine.practice
    return serialize.json_response({
        "steps": [{"name": s.writes, "phase": s.phase, "reads": list(s.reads),
                   "latex": s.latex, "mathml": static_mathml(s.latex), "text": s.text}
                  for s in engine.STEPS],
        "tolerance": {"significant": p.SIGNIFICANT, "slack": p.SLACK, "floor": p.FLOOR,
                      "text": p.TOLERANCE_TEXT},
        "limits": {"max_exercises": settings.max_exercises,
                   "exercise_ttl": settings.exercise_ttl,
                   "max_attempts": exercises.MAX_ATTEMPTS},
        "misconceptions": [{"id": m.id, "step": m.step, "title": m.title,
                            "message": m.message} for m in engine.MISCONCEPTIONS],
    })


@router.post("", status_code=201, response_model=ps.ExerciseOut, responses=STORE_AWAY)
async def create(body: ps.ExerciseCreate, store: ExerciseStore,
                 client: ClientDep) -> Response:
    """A new exercise: one step (``step``) or the whole pass (``chain: true``), on numbers
    drawn from ``seed`` for ``config``. The givens are exactly what the step reads."""
    if body.chain and body.step is not None:
        raise InputError(("body", "step"), "give either step or chain: true, not both")
    if not body.chain and body.step is None:
        raise InputError(("body", "step"), "give a step (Z1 … b2) or chain: true")
    if body.example is not None and body.seed is not None:
        raise InputError(("body", "seed"), "give either seed or example, not both")
    config = body.config.to_engine()
    example = None if body.example is None else _example(body.example, config)
    # drawing a variant for a big config can take half a second: off the event loop
    exercise = await run_in_threadpool(exercises.create, body.step, chain=body.chain,
                                       seed=body.seed, config=config, example=example)
    await store.add(exercise, client)
    return serialize.json_response(exercise.view(), status_code=201)


def _example(body: ps.ExampleIn, config: engine.Config) -> engine.Variant:
    loc = ("body", "example")
    x = convert.image(body.x, config, (*loc, "x"))
    params = convert.params_of(body.params.model_dump(), config, (*loc, "params"))
    variant = engine.given_variant(x, float(body.y), params, body.lr, config)
    if not np.isfinite(variant.trace["dA2"]):  # A2 rounds to Y's opposite: −1/A2 overflows
        raise InputError(loc, "dA2 = (A2 − Y) / (A2(1 − A2)) is infinite for these numbers "
                              "(A2 is 0 or 1 to float precision): no answer could be right")
    return variant


def _view(exercise: exercises.Exercise) -> Response:
    return serialize.json_response(exercise.view())


@router.get("/{exercise_id}", response_model=ps.ExerciseOut, responses=NOT_FOUND)
async def read(exercise: ExerciseDep) -> Response:
    """The current step, its givens, attempts and hints; the answer once solved or
    revealed."""
    return await exercise.read(_view)


@router.post("/{exercise_id}/answer", response_model=ps.AnswerOut, responses={
    **NOT_FOUND, 409: {"model": Message, "description": "No attempts left on this step."}})
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
