"""Compare mode: two walks stepped in lockstep (app.compare)."""

from __future__ import annotations

import functools
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Request
from starlette.responses import Response

from ... import compare, errors, serialize
from ... import schemas as s
from ...store.walks import NotFoundError, WalkStore
from ..deps import STORE_AWAY, ClientDep, SessionId, Stored
from .sessions import BODY_ERRORS, Example

router = APIRouter(prefix="/api/compare", tags=["compare"])
NOT_FOUND = {404: {"model": s.Message, "description": "No such comparison (or it expired)."},
             **STORE_AWAY}
LIMIT = {409: {"model": s.Message, "description": "The comparison's epoch limit."}}


async def get_compare_store(request: Request) -> WalkStore[compare.Comparison]:
    return request.app.state.compares


CompareStoreDep = Annotated[WalkStore[compare.Comparison], Depends(get_compare_store)]


async def get_comparison(compare_id: SessionId, store: CompareStoreDep
                         ) -> Stored[compare.Comparison]:
    return Stored(store, compare_id, (
        f"no comparison {compare_id!r}: it never existed, was deleted, or expired after "
        f"{store.ttl:g} s unused"))


ComparisonDep = Annotated[Stored[compare.Comparison], Depends(get_comparison)]


def _view(c: compare.Comparison, example: int = 0) -> Response:
    with errors.field("query", "example"):
        _check_example(c, example)
    return serialize.json_response(c.view(example))


@router.post("", status_code=201, response_model=s.CompareOut,
             responses={**BODY_ERRORS, **STORE_AWAY})
async def create(body: s.CompareCreate, store: CompareStoreDep, client: ClientDep
                 ) -> Response:
    """Two walks before their first step: ``{"a": WALK, "b": WALK}`` or ``{"base": WALK,
    "switch": NAME}`` (names from GET /api/meta's ``switches``). Each walk is what POST
    /api/sessions takes; both get the same input, label and, wherever the two networks have a
    parameter of the same name and shape, the same weights."""
    c = compare.create(body)
    await store.add(c, client)
    response = _view(c)
    response.status_code = 201
    return response


@router.get("/{compare_id}", response_model=s.CompareOut, responses=NOT_FOUND)
async def read(c: ComparisonDep, example: Example = 0) -> Response:
    """Both walks, the cells where they differ, and the sentence."""
    return await c.read(functools.partial(_view, example=example))


def _moved(move: str, example: int):
    def change(c: compare.Comparison) -> Response:
        with errors.field("query", "example"):
            _check_example(c, example)
        getattr(c, move)()
        return serialize.json_response(c.move(example))
    return change


def _check_example(c: compare.Comparison, example: int) -> None:
    most = max(c.a.batch, c.b.batch)
    if example >= most:
        raise ValueError(f"example must be in [0, {most - 1}], got {example}")


@router.post("/{compare_id}/next", response_model=s.CompareMove,
             responses={**NOT_FOUND, **LIMIT})
async def next_step(c: ComparisonDep, example: Example = 0) -> Response:
    """Both walks one position on (a step only one network has moves that walk alone);
    after the last, both apply their update and start the next pass. Answers what the move
    adds, as a walk's next does, for both; GET or goto answer both whole views."""
    return await c.change(_moved("next", example))


@router.post("/{compare_id}/prev", response_model=s.CompareMove,
             responses={**NOT_FOUND, 409: {"model": s.Message,
                                           "description": "Already before the first step."}})
async def prev_step(c: ComparisonDep, example: Example = 0) -> Response:
    """Both walks one position back, exactly."""
    return await c.change(_moved("prev", example))


@router.post("/{compare_id}/reset", response_model=s.CompareOut, responses=NOT_FOUND)
async def reset(c: ComparisonDep) -> Response:
    """Both walks back to their first pass, before its first step."""
    def change(walks: compare.Comparison) -> Response:
        walks.reset()
        return _view(walks)

    return await c.change(change)


@router.post("/{compare_id}/goto", response_model=s.CompareOut,
             responses={**NOT_FOUND, **LIMIT})
async def goto(body: s.CompareGoto, c: ComparisonDep, example: Example = 0) -> Response:
    """Both walks to ``position`` of pass ``epoch``, by stepping (as next and prev would)."""
    def change(walks: compare.Comparison) -> Response:
        compare.check_position(walks, body.position)
        with errors.field("body", "epoch"):
            walks.goto(body.epoch, body.position)
        return _view(walks, example)

    return await c.change(change)


@router.delete("/{compare_id}", status_code=204, response_class=Response,
               responses=NOT_FOUND)
async def delete(compare_id: SessionId, store: CompareStoreDep) -> Response:
    """Forget a comparison (and both its walks)."""
    try:
        await store.delete(compare_id)
    except NotFoundError:
        raise HTTPException(404, detail=f"no comparison {compare_id!r}") from None
    return Response(status_code=204)
