"""Dependencies of the routes, as ``Annotated`` aliases."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Generic, TypeVar

from fastapi import Depends, HTTPException, Path, Request

from .. import schemas as s
from ..compute import ComputePool
from ..sessions import Session
from ..settings import Settings
from ..store.walks import NotFoundError, WalkStore

T = TypeVar("T")
R = TypeVar("R")


async def get_settings(request: Request) -> Settings:
    return request.app.state.settings


async def get_store(request: Request) -> WalkStore[Session]:
    return request.app.state.sessions


def get_compute(request: Request) -> ComputePool:
    return request.app.state.compute


def client_of(request: Request) -> str:
    """Who is asking: the client's address (as uvicorn reports it, behind a trusted proxy
    the forwarded one)."""
    return request.client.host if request.client else "unknown"


class Stored(Generic[T]):
    """One id in a store, as a route asked for it: ``read``/``change`` run a function on
    the item (:mod:`app.store.walks`); an id that is not there answers 404 with
    ``gone``."""

    def __init__(self, store: WalkStore[T], item_id: str, gone: str) -> None:
        self.store, self.id, self.gone = store, item_id, gone

    async def read(self, fn: Callable[[T], R]) -> R:
        try:
            return await self.store.read(self.id, fn)
        except NotFoundError:
            raise HTTPException(404, detail=self.gone) from None

    async def change(self, fn: Callable[[T], R]) -> R:
        try:
            return await self.store.change(self.id, fn)
        except NotFoundError:
            raise HTTPException(404, detail=self.gone) from None


BUSY = {503: {"model": s.Message, "description": (
    "Every compute worker is busy and the queue is full (Retry-After says when to try "
    "again), the computation ran past its time limit, or the server is shutting down.")}}

STORE_AWAY = {503: {"model": s.Message, "description": (
    "The store is full of walks or exercises all used too recently to evict; or, with "
    "Redis (CONVLENS_REDIS_URL), Redis is not answering, or this one is being changed by "
    "too many requests at once. Retry-After says when to try again.")}}

SettingsDep = Annotated[Settings, Depends(get_settings)]
ComputeDep = Annotated[ComputePool, Depends(get_compute)]
ClientDep = Annotated[str, Depends(client_of)]
StoreDep = Annotated[WalkStore[Session], Depends(get_store)]
SessionId = Annotated[str, Path(min_length=1, max_length=64,
                                description="The id POST /api/sessions returned.")]


async def get_session(session_id: SessionId, store: StoreDep) -> Stored[Session]:
    return Stored(store, session_id, (
        f"no session {session_id!r}: it never existed, was deleted, or expired after "
        f"{store.ttl:g} s unused"))


SessionDep = Annotated[Stored[Session], Depends(get_session)]
