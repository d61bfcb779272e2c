"""Dependencies of the routes, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request

from .. import schemas as s
from ..compute import ComputePool
from ..sessions import Session, SessionStore
from ..settings import Settings


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_store(request: Request) -> SessionStore:
    return request.app.state.sessions


def get_compute(request: Request) -> ComputePool:
    return request.app.state.compute


def client_of(request: Request) -> str:
    """Who is asking: the client's address (as uvicorn reports it, behind a trusted proxy
    the forwarded one)."""
    return request.client.host if request.client else "unknown"


BUSY = {503: {"model": s.Message, "description": (
    "Every compute worker is busy and the queue is full (Retry-After says when to try "
    "again), the computation ran past its time limit, or the server is shutting down.")}}

SettingsDep = Annotated[Settings, Depends(get_settings)]
ComputeDep = Annotated[ComputePool, Depends(get_compute)]
ClientDep = Annotated[str, Depends(client_of)]
StoreDep = Annotated[SessionStore, Depends(get_store)]
SessionId = Annotated[str, Path(min_length=1, max_length=64,
                                description="The id POST /api/sessions returned.")]


async def get_session(session_id: SessionId, store: StoreDep) -> Session:
    try:
        return store.get(session_id)
    except KeyError:
        raise HTTPException(404, detail=(
            f"no session {session_id!r}: it never existed, was deleted, or expired after "
            f"{store.ttl:g} s unused")) from None


SessionDep = Annotated[Session, Depends(get_session)]
