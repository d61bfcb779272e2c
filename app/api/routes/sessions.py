"""Sessions: step one example through training one operation at a time."""

from __future__ import annotations

import functools
from typing import Annotated

import numpy as np
from fastapi import APIRouter, HTTPException, Path, Query, Request
from starlette.responses import Response

import engine
from engine.model import ShouldStop

from ... import errors, serialize, sessions
from ... import schemas as s
from ...demo import lesson_file
from ...store.walks import NotFoundError
from ..deps import BUSY, STORE_AWAY, ClientDep, ComputeDep, SessionDep, SessionId, StoreDep

router = APIRouter(prefix="/api/sessions", tags=["sessions"])
NOT_FOUND = {404: {"model": s.Message, "description": "No such session (or it expired)."},
             **STORE_AWAY}
BODY_ERRORS = {413: {"model": s.Message, "description": "The body is over the size limit."}}
BUSY_OR_AWAY = {503: {"model": s.Message, "description": " ".join(
    d[503]["description"] for d in (BUSY, STORE_AWAY))}}


@router.post("", status_code=201, response_model=s.SessionOut,
             responses={**BODY_ERRORS, **STORE_AWAY})
async def create(body: s.SessionCreate, store: StoreDep, client: ClientDep) -> Response:
    """A new session before its first step (cursor -1, epoch 0). One client holds at most
    CONVLENS_MAX_SESSIONS_PER_CLIENT; beyond that its own least recently used goes."""
    session = sessions.create(body)
    await store.add(session, client)
    return serialize.json_response(session.view(), status_code=201)


Example = Annotated[int, Query(ge=0, lt=engine.walk.MAX_BATCH, description=(
    "For a mini-batch: whose tensors to show, 0 … N-1 (every example is computed at "
    "every step; the averaging steps show them all)."))]


def _view(session: sessions.Session, example: int = 0) -> Response:
    with errors.field("query", "example"):
        session.check_example(example)
    return serialize.json_response(session.view(example))


def _move(session: sessions.Session, example: int = 0) -> Response:
    with errors.field("query", "example"):
        session.check_example(example)
    return serialize.json_response(session.move(example))


@router.get("/{session_id}", response_model=s.SessionOut, responses=NOT_FOUND)
async def read(session: SessionDep, example: Example = 0) -> Response:
    """The cursor, the current step and everything computed so far."""
    return await session.read(functools.partial(_view, example=example))


@router.post("/{session_id}/next", response_model=s.SessionMove,
             responses={**NOT_FOUND, 409: {"model": s.Message,
                                           "description": "The session's epoch limit."}})
async def next_step(session: SessionDep, example: Example = 0) -> Response:
    """One step on; after the last update step, the update is applied and the next epoch
    starts with its first step."""
    def step(walk: sessions.Session) -> Response:
        with errors.field("query", "example"):
            walk.check_example(example)
        walk.next()
        return _move(walk, example)

    return await session.change(step)


@router.post("/{session_id}/prev", response_model=s.SessionMove,
             responses={**NOT_FOUND, 409: {"model": s.Message,
                                           "description": "Already before the first step."}})
async def prev_step(session: SessionDep, example: Example = 0) -> Response:
    """One step back, exactly (across epochs too)."""
    def step(walk: sessions.Session) -> Response:
        with errors.field("query", "example"):
            walk.check_example(example)
        walk.prev()
        return _move(walk, example)

    return await session.change(step)


@router.patch("/{session_id}", response_model=s.SessionOut,
              responses={**NOT_FOUND, **BODY_ERRORS})
async def edit(body: s.SessionPatch, session: SessionDep) -> Response:
    """Change x, y, any parameters, lr, config or seed; back to epoch 0, before the first
    step."""
    def change(walk: sessions.Session) -> Response:
        sessions.edit(walk, body)
        return _view(walk)

    return await session.change(change)


@router.post("/{session_id}/reset", response_model=s.SessionOut, responses=NOT_FOUND)
async def reset(session: SessionDep) -> Response:
    """Back to epoch 0's parameters, before the first step."""
    def change(walk: sessions.Session) -> Response:
        walk.reset()
        return _view(walk)

    return await session.change(change)


@router.post("/{session_id}/goto", response_model=s.SessionOut,
             responses={**NOT_FOUND, 409: {"model": s.Message,
                                           "description": "The session's epoch limit."}})
async def goto(body: s.SessionGoto, session: SessionDep, example: Example = 0) -> Response:
    """Step to ``cursor`` of pass ``epoch`` (0 is the first), exactly as next and prev
    would: ``{"epoch": e, "cursor": -1}`` goes back to the start of a pass. Returns the
    view."""
    def change(walk: sessions.Session) -> Response:
        if body.cursor > walk.last:
            raise errors.InputError(("body", "cursor"), (
                f"cursor must be in [-1, {walk.last}] for this walk's network, "
                f"got {body.cursor}"))
        with errors.field("query", "example"):
            walk.check_example(example)
        with errors.field("body", "epoch"):
            walk.goto(body.epoch, body.cursor)
        return _view(walk, example)

    return await session.change(change)


MAX_INDEX_TEXT = 40  # "f,r,c" of the largest tensor fits in far less


@router.get("/{session_id}/provenance/{tensor}", response_model=s.ProvenanceOut,
            responses={**NOT_FOUND, 409: {"model": s.Message,
                                          "description": "The walk has not reached it."}})
async def provenance(
        tensor: Annotated[str, Path(max_length=8)], session: SessionDep,
        index: Annotated[str, Query(max_length=MAX_INDEX_TEXT, pattern=r"^\d*(,\d+)*$",
                                    description="The cell, comma separated: 0,1,2")] = ""
) -> Response:
    """Which cells made ``tensor[index]`` (and the products summed, where it is a sum).
    Refused (409) for a tensor the walk has not shown yet."""
    cell = tuple(int(i) for i in index.split(",")) if index else ()

    def answer(walk: sessions.Session) -> Response:
        with errors.field("path", "tensor"):
            _has_sources(walk, tensor)
        with errors.field("query", "index"):
            return serialize.json_response(walk.provenance(tensor, cell))

    return await session.read(answer)


@router.get("/{session_id}/provenance/{tensor}/cells", response_model=s.ProvenanceCells,
            responses={**NOT_FOUND, 409: {"model": s.Message,
                                          "description": "The walk has not reached it."}})
async def provenance_cells(tensor: Annotated[str, Path(max_length=8)],
                           session: SessionDep) -> Response:
    """The provenance of every cell of ``tensor`` in row-major order, up to a bound on the
    answer's size (``complete`` false: ask the rest cell by cell). What a page fetches once
    a step has revealed a tensor, so hovering it needs no request."""
    def answer(walk: sessions.Session) -> Response:
        with errors.field("path", "tensor"):
            _has_sources(walk, tensor)
        return serialize.json_response(walk.provenance_cells(tensor))

    return await session.read(answer)


def _has_sources(walk: sessions.Session, tensor: str) -> None:
    known = engine.provenance_sources(walk.net)
    if tensor not in known:
        raise ValueError(f"no provenance for {tensor!r}; known: {', '.join(known)}")


@router.post("/{session_id}/gradcheck", response_model=s.SessionGradcheck,
             responses={**NOT_FOUND, **BUSY_OR_AWAY})
async def gradcheck(session: SessionDep, pool: ComputeDep, request: Request) -> Response:
    """Central differences beside the analytic gradient, for the parameters whose gradient
    the walk has reached (none before dW2). Two forward passes per parameter: it runs in the
    compute pool (queued; stopped if the client leaves), on the walk as it was when asked."""
    taken = await session.read(sessions.Session.gradcheck_input)
    return await pool.run(request, functools.partial(_gradcheck, taken))


def _gradcheck(taken: sessions.GradcheckInput, should_stop: ShouldStop = lambda: False
               ) -> Response:
    out: dict[str, object] = {}
    if taken.reached:
        check = engine.gradcheck(taken.x, taken.y, taken.params, taken.net,
                                 should_stop=should_stop)
        for grad in taken.reached:
            name = grad[1:]
            err = check.rel_error[name]
            both = np.concatenate([np.ravel(check.analytic[name]), np.ravel(check.numeric[name])])
            out[name] = {"analytic": check.analytic[name], "numeric": check.numeric[name],
                         "rel_error": err if np.isfinite(err) else None,
                         "range": serialize.ranges({grad: both}, taken.net)[grad]}
    errs = [p["rel_error"] for p in out.values()]  # type: ignore[index]
    worst = max(errs) if errs and None not in errs else None
    return serialize.json_response({"epoch": taken.epoch, "cursor": taken.cursor,
                                    "params": out, "max_rel_error": worst})


@router.get("/{session_id}/lesson", response_class=Response, responses={
    **NOT_FOUND, 409: {"model": s.Message, "description": (
        "The walk cannot become a lesson: its network is too big to draw on a phone, it "
        "takes a mini-batch, or its optimizer's state is past its start.")},
    200: {"description": (
        "The lesson file (TOML, as `convlens demo --script` reads it), as an attachment; "
        "what to check before class is listed at its top."),
        "content": {"text/plain": {"schema": {"type": "string"}}}}})
async def lesson(session: SessionDep) -> Response:
    """The default lesson on this walk's example, at the start of the pass it is on: its
    X, Y, η and parameters, for ``convlens demo --script``. It says nothing of what later
    steps show (``convlens demo --check FILE`` names the slides whose point its numbers do
    not show)."""
    def make(walk: sessions.Session) -> Response:
        try:
            example = lesson_file.walk_example(walk)
            text, _ = lesson_file.lesson_text(example)
        except ValueError as exc:
            raise errors.ConflictError(str(exc)) from None
        # TOML is text: served as such, so that any client reads it (a download by name)
        return Response(text.encode("utf-8"), media_type="text/plain; charset=utf-8", headers={
            "Content-Disposition": 'attachment; filename="convlens-lesson.toml"'})

    return await session.read(make)


@router.delete("/{session_id}", status_code=204, response_class=Response,
               responses=NOT_FOUND)
async def delete(session_id: SessionId, store: StoreDep) -> Response:
    try:
        await store.delete(session_id)
    except NotFoundError:
        raise HTTPException(404, detail=f"no session {session_id!r}") from None
    return Response(status_code=204)
