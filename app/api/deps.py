"""Dependencies of the routes, as ``Annotated`` aliases."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Path, Request

from ..sessions import Session, SessionStore
from ..settings import Settings


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_store(request: Request) -> SessionStore:
    return request.app.state.sessions


SettingsDep = Annotated[Settings, Depends(get_settings)]
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
