"""The demo's pages, its REST API and the room socket.

Pages: ``/demo`` (the presenter's; the key comes in the query, once) and ``/follow/{room}``
(the audience's). API under ``/api/demo``: the lesson, opening a room, a room's state and
``POST /api/demo/{room}/goto``. The key travels in the ``X-Demo-Key`` header.

Socket ``/ws/follow/{room}``, JSON text messages:

- server → client: ``{"type": "state", "room", "beat", "slide", "reveal", "step", "beats",
  "seq", "by", "followers", "view"}`` on connect and after every move (``view``: the beat as
  the audience sees it, only what the room has reached — see :mod:`.slides`);
  ``{"type": "followers", "count"}`` to presenters when the audience changes;
  ``{"type": "auth", "ok"}``;
  ``{"type": "refused", "detail"}`` when an audience connection tries to move the lesson;
  ``{"type": "dropped", "detail", "by"?}`` for a malformed or unknown message, or a move
  the room could not take (``by``: the move's mark); ``{"type": "pong"}``.
- client → server: ``{"type": "auth", "key"}`` (the connection becomes the presenter's),
  ``{"type": "goto", "beat", "by"?}`` (presenter only; ``by``, the sender's mark for the
  move, comes back in the state it produces), ``{"type": "ping"}``.

A message over MAX_MESSAGE_BYTES closes the connection (1009); every malformed, unknown or
refused message is dropped and counted, and the connection is closed (1008) after
MAX_STRIKES of them, or after MAX_WRONG_KEYS wrong keys. None of it touches the room. A
socket from another origin is refused before it opens.

Seats: a connection that finds the audience's seats taken (the room's, its address's share
or the server's) is not refused at once: for AUTH_WAIT seconds it may send the key as its
first message and is then seated among the presenters — so a full room never locks its
presenter out. Such waiting connections are capped too (MAX_WAITING, MAX_WAITING_PER_CLIENT,
per worker).

Room calls go through ``demo.rooms`` (:mod:`.backend`): when the rooms are shared on Redis
and it cannot be reached, a REST call answers 503 with Retry-After and a socket is closed
with 1013 (a move it sends is answered ``dropped`` first); the page reconnects.

Keys are throttled per address across sockets, REST and the presenter link
(:mod:`.guard`): 429 with Retry-After, or close code 4429 on a socket.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import Annotated, Any
from urllib.parse import urlsplit

import orjson
from fastapi import APIRouter, Body, FastAPI, Header, HTTPException, Query, Request, WebSocket
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ..pages import templates
from ..schemas import SERVED_EXAMPLE
from .answers import canvas_title
from .backend import RoomsUnavailableError
from .guard import CLOSE_THROTTLED, ThrottledError
from .mode import DemoMode
from .qr import qr_svg
from .rooms import (
    CLOSE_NO_ROOM,
    CLOSE_POLICY,
    CLOSE_TOO_BIG,
    CLOSE_TRY_LATER,
    MOVE_MARK,
    ROOM_ID,
    CapacityError,
    Hub,
    Room,
)

MAX_MESSAGE_BYTES = 1024
MAX_STRIKES = 8
MAX_WRONG_KEYS = 3
AUTH_WAIT = 3.0  # seconds a connection without a seat has to give the key
MAX_WAITING = 32
MAX_WAITING_PER_CLIENT = 2
OUTBOX = 64  # messages waiting for a slow connection before it is closed
OFF = "demo mode is off: start the server with `convlens demo`"
ROOM_PATTERN = ROOM_ID.pattern


def demo_of(app: FastAPI) -> DemoMode | None:
    return getattr(app.state, "demo", None)


def _demo(request: Request) -> DemoMode:
    demo = demo_of(request.app)
    if demo is None:
        raise HTTPException(404, detail=OFF)
    return demo


async def _room(demo: DemoMode, room_id: str) -> Room:
    room = await demo.rooms.get(room_id)
    if room is None:
        raise HTTPException(404, detail=(
            f"no room {room_id!r}: it never existed or closed after "
            f"{demo.hub.idle_ttl:g} s idle (the presenter's page opens it again)"))
    return room


def client_of(connection: Request | WebSocket) -> str:
    """The address a request or socket came from (behind a proxy: the proxy's)."""
    return connection.client.host if connection.client else ""


async def _is_key(demo: DemoMode, key: str | None, request: Request) -> bool:
    """Whether the request carries the key; 429 when its address gave too many wrong ones."""
    try:
        return await demo.rooms.try_key(key, client_of(request))
    except ThrottledError as exc:
        raise HTTPException(429, detail=str(exc),
                            headers={"Retry-After": str(exc.retry_after)}) from None


async def _require_key(demo: DemoMode, key: str | None, request: Request) -> None:
    if not await _is_key(demo, key, request):
        raise HTTPException(403, detail="the presenter key is missing or wrong")


# ------------------------------------------------------------------------------ schemas
KeyHeader = Annotated[str | None, Header(alias="X-Demo-Key", max_length=256, description=(
    "The presenter key `convlens demo` printed (in the presenter link)."))]
RoomId = Annotated[str, PathParam(pattern=ROOM_PATTERN, description="The room's id.")]


class RoomOpen(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"room": "cnn-3"}]})
    room: str | None = Field(default=None, pattern=ROOM_PATTERN, description=(
        "Open this room (again, if it closed); missing: a new room with a fresh id."))


class Goto(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"beat": 2, "by": "projector"}]})
    beat: int = Field(strict=True, ge=0, le=10_000, description=(
        "The position in the lesson: one beat per slide, two for a slide that asks a "
        "question first and reveals the answer on the next press."))
    by: str | None = Field(default=None, pattern=MOVE_MARK.pattern, description=(
        "A mark of the sender's choosing, carried in the state this move produces."))


class RoomState(BaseModel):
    model_config = SERVED_EXAMPLE
    type: str = "state"
    room: str
    beat: int
    slide: int
    reveal: bool
    step: str = Field(description="The slide's name: the tensor its engine step writes, "
                                  "or its own name (intro, loss-after).")
    beats: int
    seq: int = Field(description="How many moves the room has seen.")
    by: str | None = Field(description="The mark the last move's sender gave it.")
    followers: int
    view: dict[str, Any] = Field(description=(
        "The slide as the room sees it at this beat: only what the lesson has shown so "
        "far (a hidden tensor keeps its name and shape; no answer before it is revealed)."))


class RoomOpened(BaseModel):
    model_config = SERVED_EXAMPLE
    room: str
    created: bool
    follow: str = Field(description="The audience page's path.")
    state: RoomState


class LessonOut(BaseModel):
    model_config = SERVED_EXAMPLE
    title: str
    config: dict[str, Any] | None = Field(description=(
        "The seed-shaped network's four sizes and shapes; null for any other network."))
    network: dict[str, Any] = Field(description=(
        "The lesson's network: its layers, nodes, parameters and every shape."))
    lr: float
    y: int
    slides: int = Field(description="How many slides the lesson has.")
    beats: int = Field(description="How many presses it takes, one per slide and one more "
                                   "for each slide that asks before it answers.")
    views: list[dict[str, Any]] | None = Field(default=None, description=(
        "With the presenter key only: every beat's view, speaker notes and answers "
        "included."))


class Detail(BaseModel):
    model_config = SERVED_EXAMPLE
    detail: str


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    text = {403: "The presenter key is missing or wrong.",
            404: "Demo mode is off, or there is no such room.",
            429: "Too many wrong keys from this address: see Retry-After.",
            503: "A cap on rooms or connections was reached, or the rooms' shared state "
                 "(Redis, with several workers) is unreachable: see Retry-After."}
    return {code: {"model": Detail, "description": text[code]} for code in codes}


def _state(room: Room) -> Response:
    return Response(room.state_bytes(), media_type="application/json",
                    headers={"Cache-Control": "no-store"})


# ---------------------------------------------------------------------------------- API
api = APIRouter(prefix="/api/demo", tags=["demo"])


@api.get("/lesson", response_model=LessonOut, responses=_errors(404, 429))
async def lesson(request: Request, key: KeyHeader = None) -> Response:
    """The lesson: its title and sizes; with the key, every beat's view as well (what the
    audience sees comes only with the room's state, beat by beat)."""
    demo = _demo(request)
    body = demo.presenter_json if await _is_key(demo, key, request) else demo.public_json
    return Response(body, media_type="application/json",
                    headers={"Cache-Control": "no-cache"})


@api.post("/rooms", response_model=RoomOpened, responses=_errors(403, 404, 429, 503))
async def open_room(request: Request, key: KeyHeader = None,
                    body: Annotated[RoomOpen | None, Body()] = None) -> Response:
    """Open a room (presenter only): the one named, again if it closed, or a new one."""
    demo = _demo(request)
    await _require_key(demo, key, request)
    try:
        room, created = await demo.rooms.open(body.room if body else None)
    except CapacityError as exc:
        raise HTTPException(503, detail=str(exc)) from None
    head = orjson.dumps({"room": room.id, "created": created, "follow": f"/follow/{room.id}"})
    return Response(head[:-1] + b',"state":' + room.state_bytes() + b"}",
                    media_type="application/json")


@api.get("/{room}", response_model=RoomState, responses=_errors(404, 503))
async def room_state(request: Request, room: RoomId) -> Response:
    """Where the room is in the lesson."""
    return _state(await _room(_demo(request), room))


@api.post("/{room}/goto", response_model=RoomState,
          responses=_errors(403, 404, 429, 503))
async def goto(request: Request, room: RoomId, body: Goto, key: KeyHeader = None) -> Response:
    """Move the room to a beat (presenter only); every follower sees it at once."""
    demo = _demo(request)
    await _require_key(demo, key, request)
    target = await _room(demo, room)
    if body.beat >= target.beats:
        raise HTTPException(422, detail=[{
            "loc": ["body", "beat"], "type": "value_error",
            "msg": f"beat must be below {target.beats}, the number of beats in the lesson"}])
    await demo.move(target, body.beat, body.by)
    return _state(target)


# -------------------------------------------------------------------------------- pages
pages = APIRouter(include_in_schema=False)


def _page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    return templates.TemplateResponse(request, template, context, status_code=status)


@pages.get("/demo", response_class=HTMLResponse)
async def presenter_page(request: Request,
                         key: Annotated[str | None, Query(max_length=256)] = None,
                         room: Annotated[str | None, Query(max_length=64)] = None
                         ) -> HTMLResponse:
    demo = demo_of(request.app)
    if demo is None:
        return _page(request, "demo.html", 404, problem="Demo mode is off.",
                     hint="Start the server with `convlens demo`: it prints the presenter's "
                          "link and the audience's.")
    try:
        right = key is None or await demo.rooms.try_key(key, client_of(request))
    except ThrottledError as exc:
        response = _page(request, "demo.html", 429, problem="Too many wrong keys.",
                         hint=f"This address gave too many wrong presenter keys: try again "
                              f"in {exc.retry_after} s, with the link `convlens demo` printed.")
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    if not right:
        return _page(request, "demo.html", 403, problem="This presenter link's key is wrong.",
                     hint="Use the presenter link `convlens demo` printed. To follow the "
                          "lesson, open the audience link the presenter shares.")
    if room is not None and not ROOM_ID.match(room):
        return _page(request, "demo.html", 404, problem="There is no such room.",
                     hint="Room ids are letters, digits, - and _.")
    room = room or demo.hub.primary
    base = demo.settings.public_url or str(request.base_url).rstrip("/")
    join_url = f"{base}/follow/{room}"
    return _page(request, "demo.html", room=room, title=demo.lesson.title, join_url=join_url,
                 join_qr=qr_svg(join_url), require_id=demo.lesson.require_id,
                 canvas_column=canvas_title(demo.lesson.title,
                                            demo.settings.canvas_assignment),
                 canvas_assignment=demo.settings.canvas_assignment,
                 canvas_plain=canvas_title(demo.lesson.title))


@pages.get("/follow/{room}", response_class=HTMLResponse)
async def follow_page(request: Request, room: str) -> Response:
    demo = demo_of(request.app)
    if demo is None:
        return _page(request, "follow.html", 404, problem="No lesson is running here.",
                     hint="The presenter starts one with `convlens demo`.")
    try:
        found = await demo.rooms.get(room) if ROOM_ID.match(room) else None
        if found is None and ROOM_ID.match(room) and room != room.lower() \
                and await demo.rooms.get(room.lower()) is not None:
            # a room code typed in capitals (codes are made in lower case)
            return RedirectResponse(f"/follow/{room.lower()}", status_code=307)
    except RoomsUnavailableError:
        response = _page(request, "follow.html", 503, problem="The lesson is reconnecting.",
                         hint="Reload this page in a moment.")
        response.headers["Retry-After"] = "1"
        return response
    if found is None:
        return _page(request, "follow.html", 404, problem="There is no such room.",
                     hint="Check the audience link the presenter shared: the room's code "
                          "is at its end.")
    return _page(request, "follow.html", room=room, title=demo.lesson.title)


# ------------------------------------------------------------------------------- socket
class SocketConnection:
    """One socket: an outbox drained by its own task, so a slow reader never holds up a
    broadcast (when the outbox is full the hub closes the connection)."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.outbox: asyncio.Queue[str | None] = asyncio.Queue(maxsize=OUTBOX)
        self.closing: tuple[int, str] | None = None

    def push(self, text: str) -> bool:
        if self.closing is not None:
            return True
        try:
            self.outbox.put_nowait(text)
        except asyncio.QueueFull:
            return False
        return True

    def close(self, code: int, reason: str, *, flush: bool = False) -> None:
        """Close after the messages already queued (``flush``) or at once (the hub closes
        a connection that fell behind: what it has not read is stale anyway)."""
        if self.closing is not None:
            return
        self.closing = (code, reason[:120])
        while not self.outbox.empty() and (not flush or self.outbox.full()):
            self.outbox.get_nowait()  # (when flushing, only to make room for the end mark)
        self.outbox.put_nowait(None)

    async def pump(self) -> None:
        while (text := await self.outbox.get()) is not None:
            await self.ws.send_text(text)
        code, reason = self.closing or (1000, "")
        await self.ws.close(code, reason)


def _same_origin(ws: WebSocket) -> bool:
    """A browser names the page that opened the socket; it must be this server's."""
    origin = ws.headers.get("origin")
    if origin is None:  # not a browser (a script, the benchmark): nothing to protect
        return True
    return urlsplit(origin).netloc.lower() == ws.headers.get("host", "").lower()


class _Reader:
    def __init__(self, demo: DemoMode, room: Room, conn: SocketConnection, client: str
                 ) -> None:
        self.demo, self.rooms, self.room = demo, demo.rooms, room
        self.conn, self.client = conn, client
        self.strikes = 0
        self.wrong_keys = 0
        self.presenter = False

    def reply(self, kind: str, **fields: object) -> None:
        self.conn.push(orjson.dumps({"type": kind, **fields}).decode())

    def strike(self, kind: str, detail: str) -> bool:
        """Drop a message; False once the connection has had too many."""
        self.strikes += 1
        if self.strikes > MAX_STRIKES:
            self.conn.close(CLOSE_POLICY, "too many malformed or refused messages", flush=True)
            return False
        self.reply(kind, detail=detail)
        return True

    async def run(self) -> None:
        ws = self.conn.ws
        while self.conn.closing is None:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            if text is None:
                if not self.strike("dropped", "messages are JSON text"):
                    return
                continue
            if len(text) > MAX_MESSAGE_BYTES or len(text.encode()) > MAX_MESSAGE_BYTES:
                self.conn.close(CLOSE_TOO_BIG, f"messages are at most {MAX_MESSAGE_BYTES} bytes",
                                flush=True)
                return
            if not await self.handle(text):
                return

    async def handle(self, text: str) -> bool:
        try:
            data = orjson.loads(text)
        except orjson.JSONDecodeError:
            return self.strike("dropped", "not JSON")
        kind = data.get("type") if isinstance(data, dict) else None
        if kind == "ping":
            self.reply("pong")
            return True
        if kind == "auth":
            return await self.auth(data.get("key"))
        if kind == "goto":
            if not self.presenter:
                return self.strike("refused", "only the presenter moves the lesson")
            try:
                await self.demo.move(self.room, data.get("beat"), data.get("by"))
            except ValueError as exc:
                return self.strike("dropped", str(exc))
            except RoomsUnavailableError as exc:  # not the sender's fault: no strike
                # Said, then closed (1013): the page shows it is reconnecting, and once the
                # room is back it sends its slide again (the move it made is the presenter's).
                self.reply("dropped", detail=str(exc), by=data.get("by"))
                self.conn.close(CLOSE_TRY_LATER, "the room is unavailable", flush=True)
                return False
            return True
        return self.strike("dropped", "unknown message: expected a type of auth, goto or ping")

    async def auth(self, key: object) -> bool:
        try:
            right = await self.rooms.try_key(key if isinstance(key, str) else None,
                                             self.client)
        except ThrottledError as exc:
            self.conn.close(CLOSE_THROTTLED, str(exc), flush=True)
            return False
        if right:
            try:
                await self.rooms.promote(self.room, self.conn)
            except (CapacityError, RoomsUnavailableError) as exc:
                self.conn.close(CLOSE_TRY_LATER, str(exc))
                return False
            self.presenter = True
            self.reply("auth", ok=True)
            self.conn.push(self.room.state_text())
            return True
        self.wrong_keys += 1
        self.reply("auth", ok=False, detail="wrong key")
        if self.wrong_keys >= MAX_WRONG_KEYS:
            self.conn.close(CLOSE_POLICY, "too many wrong keys", flush=True)
            return False
        return True


sockets = APIRouter()


@sockets.websocket("/ws/follow/{room_id}")
async def follow_socket(ws: WebSocket, room_id: str) -> None:
    if not _same_origin(ws):
        await ws.close(CLOSE_POLICY)  # before accepting: the handshake is refused
        return
    await ws.accept()
    demo = demo_of(ws.app)
    try:
        room = await demo.rooms.get(room_id) if demo is not None else None
    except RoomsUnavailableError as exc:
        await ws.close(CLOSE_TRY_LATER, str(exc)[:120])
        return
    if demo is None or room is None:
        await ws.close(CLOSE_NO_ROOM, "no such room" if demo else OFF[:120])
        return
    conn = SocketConnection(ws)
    client = client_of(ws)
    reader = _Reader(demo, room, conn, client)
    try:
        await demo.rooms.join(room, conn, client)
    except CapacityError as exc:  # no seat: only the key gets this connection in
        if not await _presenter_or_close(demo.hub, reader, str(exc)):
            return
    except RoomsUnavailableError as exc:
        await ws.close(CLOSE_TRY_LATER, str(exc)[:120])
        return
    else:
        conn.push(room.state_text())
    pump = asyncio.create_task(conn.pump())
    reading = asyncio.create_task(reader.run())
    try:
        await asyncio.wait({pump, reading}, return_when=asyncio.FIRST_COMPLETED)
        if reading.done() and not pump.done() and conn.closing is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(pump, timeout=2)  # send the close frame
    finally:
        await demo.rooms.leave(room, conn)
        for task in (pump, reading):
            task.cancel()
        for task in (pump, reading):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task  # a task that ended with the client gone: nothing to report


async def _presenter_or_close(hub: Hub, reader: _Reader, refusal: str) -> bool:
    """A connection without a seat: seated among the presenters if its first message,
    within AUTH_WAIT, is the key; closed (1013, saying why) otherwise."""
    ws, client = reader.conn.ws, reader.client
    waiting = hub.waiting
    if sum(waiting.values()) >= MAX_WAITING or waiting.get(client, 0) >= MAX_WAITING_PER_CLIENT:
        await ws.close(CLOSE_TRY_LATER, refusal[:120])
        return False
    waiting[client] = waiting.get(client, 0) + 1
    try:
        message = await asyncio.wait_for(ws.receive(), timeout=AUTH_WAIT)
    except Exception:  # no word in time, or the client went away
        message = {}
    finally:
        waiting[client] -= 1
        if not waiting[client]:
            del waiting[client]
    text = message.get("text") if message.get("type") == "websocket.receive" else None
    data = None
    if isinstance(text, str) and len(text) <= MAX_MESSAGE_BYTES:
        with contextlib.suppress(orjson.JSONDecodeError):
            data = orjson.loads(text)
    if isinstance(data, dict) and data.get("type") == "auth":
        if await reader.auth(data.get("key")) and reader.presenter:
            return True
    if message.get("type") != "websocket.disconnect":
        with contextlib.suppress(Exception):
            code, reason = reader.conn.closing or (CLOSE_TRY_LATER, refusal)
            await ws.close(code, reason[:120])
    return False


def install(app: FastAPI, demo: DemoMode | None) -> None:
    """Demo mode's routes; they answer 404 (or a page saying so) when ``demo`` is None.
    With a Redis backplane (``app.state.backplane``) the rooms are shared by every worker
    on it (:mod:`app.store.rooms`); without, they live in this process."""
    plane = getattr(app.state, "backplane", None)
    if demo is not None and plane is not None:
        from ..store.rooms import RedisRooms, namespace

        assert demo.settings.key is not None
        demo.rooms = RedisRooms(demo.hub, plane,
                                ns=namespace(demo.settings.key, demo.presenter_json))
    app.state.demo = demo
    app.include_router(api)
    app.include_router(pages)
    app.include_router(sockets)
