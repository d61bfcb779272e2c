"""Sessions: step one example through training one operation at a time."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from starlette.responses import Response

from ... import schemas as s
from ... import serialize, sessions
from ..deps import ClientDep, SessionDep, SessionId, StoreDep

router = APIRouter(prefix="/api/sessions", tags=["sessions"])
NOT_FOUND = {404: {"model": s.Message, "description": "No such session (or it expired)."}}
BODY_ERRORS = {413: {"model": s.Message, "description": "The body is over the size limit."}}


@router.post("", status_code=201, response_model=s.SessionOut, responses=BODY_ERRORS)
async def create(body: s.SessionCreate, store: StoreDep, client: ClientDep) -> Response:
    """A new session before its first step (cursor -1, epoch 0). One client holds at most
    CONVLENS_MAX_SESSIONS_PER_CLIENT; beyond that its own least recently used goes."""
    session = sessions.create(body)
    store.add(session, client)
    with session.lock:
        return serialize.json_response(session.view(), status_code=201)


@router.get("/{session_id}", response_model=s.SessionOut, responses=NOT_FOUND)
async def read(session: SessionDep) -> Response:
    """The cursor, the current step and everything computed so far."""
    with session.lock:
        return serialize.json_response(session.view())


@router.post("/{session_id}/next", response_model=s.SessionMove,
             responses={**NOT_FOUND, 409: {"model": s.Message,
                                           "description": "The session's epoch limit."}})
async def next_step(session: SessionDep) -> Response:
    """One step on; after the last update step, the update is applied and the next epoch
    starts with its first step."""
    with session.lock:
        try:
            session.next()
        except sessions.EpochLimitError as exc:
            raise HTTPException(409, detail=str(exc)) from None
        return serialize.json_response(session.move())


@router.post("/{session_id}/prev", response_model=s.SessionMove,
             responses={**NOT_FOUND, 409: {"model": s.Message,
                                           "description": "Already before the first step."}})
async def prev_step(session: SessionDep) -> Response:
    """One step back, exactly (across epochs too)."""
    with session.lock:
        try:
            session.prev()
        except sessions.AtStartError as exc:
            raise HTTPException(409, detail=str(exc)) from None
        return serialize.json_response(session.move())


@router.patch("/{session_id}", response_model=s.SessionOut,
              responses={**NOT_FOUND, **BODY_ERRORS})
async def edit(body: s.SessionPatch, session: SessionDep) -> Response:
    """Change x, y, any parameters, lr, config or seed; back to epoch 0, before the first
    step."""
    with session.lock:
        sessions.edit(session, body)
        return serialize.json_response(session.view())


@router.post("/{session_id}/reset", response_model=s.SessionOut, responses=NOT_FOUND)
async def reset(session: SessionDep) -> Response:
    """Back to epoch 0's parameters, before the first step."""
    with session.lock:
        session.reset()
        return serialize.json_response(session.view())


@router.delete("/{session_id}", status_code=204, response_class=Response,
               responses=NOT_FOUND)
async def delete(session_id: SessionId, store: StoreDep) -> Response:
    try:
        store.delete(session_id)
    except KeyError:
        raise HTTPException(404, detail=f"no session {session_id!r}") from None
    return Response(status_code=204)
