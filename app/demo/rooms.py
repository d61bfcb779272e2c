"""Rooms: where the presenter's position in the lesson lives, and who follows it.

A room holds one number that matters, the *beat*: the position in the lesson's sequence of
beats (one per slide, two for a slide with a "predict, then reveal" prompt: the question,
then the answer). Only the holder of the presenter key moves it; every move goes to every
connection of the room at once, as one JSON text serialized once.

Limits (the defaults; :class:`Hub` takes others):

==========================  =======  ===================================================
MAX_ROOMS                   16       rooms open at once; opening one more is refused
MAX_FOLLOWERS               500      audience connections per room
MAX_PER_CLIENT              20       audience connections from one address, all rooms
                                     together: no one client takes a room's seats
MAX_PRESENTERS              4        presenter connections per room (laptop, phone, ...)
MAX_CONNECTIONS             2000     connections across all rooms; the last
                                     PRESENTER_RESERVE of them only for presenters
IDLE_TTL                    4 h      a room with no connection and no move for this long
                                     is closed (the presenter's page opens it again)
==========================  =======  ===================================================

The presenter is never refused for want of a seat: a connection that finds the room (or
its address's share) full may still give the key (see :mod:`.routes`) and is then seated
among the presenters, who have places of their own. Wrong keys are throttled per address
(:mod:`.guard`). With a :class:`~.store.RoomStore`, every room's id and position are saved
on every move and come back when the server starts again.

The hub is plain Python with an injectable clock: the socket layer (:mod:`.routes`) gives it
connections, anything with ``push(text) -> bool`` (False when the connection cannot keep
up; the hub then closes it with ``close(code, reason)``, and the client reconnects).

The routes reach the hub through :mod:`.backend`: alone it is the whole state; with Redis
(:mod:`app.store.rooms`) it holds this worker's connections and its copy of each room, the
caps above count every worker's connections together, and a move made on any worker
reaches every worker's connections.
"""

from __future__ import annotations

import hmac
import re
import secrets
import time
from collections.abc import Callable
from typing import Protocol

import orjson

from .guard import KeyGuard
from .store import RoomStore

MAX_ROOMS = 16
MAX_FOLLOWERS = 500
MAX_PRESENTERS = 4
MAX_CONNECTIONS = 2000
MAX_PER_CLIENT = 20
PRESENTER_RESERVE = 64
IDLE_TTL = 4 * 3600.0
ROOM_ID = re.compile(r"^[A-Za-z0-9_-]{4,32}$")
# Room codes made here: no 0/O, 1/l/I, no leading hyphen; read aloud or typed from a slide.
CODE_ALPHABET = "23456789abcdefghjkmnpqrstuvwxyz"
CODE_LENGTH = 6
MOVE_MARK = re.compile(r"^[A-Za-z0-9_-]{1,40}$")
KEY_MIN_LENGTH = 12
KEY_PATTERN = re.compile(r"^[\x21-\x7e]+$")  # printable ASCII without spaces: fits a URL

# WebSocket close codes: 1008 policy violation, 1013 try again later; 4404 (private range):
# no such room.
CLOSE_POLICY = 1008
CLOSE_TOO_BIG = 1009
CLOSE_TRY_LATER = 1013
CLOSE_NO_ROOM = 4404


class Connection(Protocol):
    def push(self, text: str) -> bool: ...

    def close(self, code: int, reason: str) -> None: ...


class CapacityError(Exception):
    """A cap was reached; the message says which."""


def check_key_format(key: str) -> str:
    """A presenter key as given on the command line: long enough and URL-safe."""
    if len(key) < KEY_MIN_LENGTH or not KEY_PATTERN.match(key):
        raise ValueError(f"the presenter key must be at least {KEY_MIN_LENGTH} printable "
                         "characters without spaces")
    return key


def check_move(room: Room, beat: object, by: object) -> None:
    """Raise ValueError, naming the field, unless ``beat`` and ``by`` make a move."""
    if isinstance(beat, bool) or not isinstance(beat, int) or not 0 <= beat < room.beats:
        raise ValueError(f"beat must be an integer from 0 to {room.beats - 1}, got {beat!r}")
    if by is not None and not (isinstance(by, str) and MOVE_MARK.match(by)):
        raise ValueError(f"by must be 1 to 40 letters, digits, - or _, got {by!r}")


def new_key() -> str:
    return secrets.token_urlsafe(16)


def new_room_id() -> str:
    """A short room code of unambiguous characters (31⁶ ≈ 900 million of them)."""
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


class Room:
    def __init__(self, room_id: str, beats: int, names: tuple[str, ...],
                 slide_of: tuple[int, ...], revealed: tuple[bool, ...],
                 views: tuple[bytes, ...], now: float) -> None:
        self.id = room_id
        self.beats = beats
        self.names = names  # per beat: the data-step name of its slide
        self.slide_of = slide_of
        self.revealed = revealed
        self.views = views  # per beat: what the audience sees there, as JSON
        self.beat = 0
        self.seq = 0  # counts moves
        self.by: str | None = None  # the mark the last move's sender put on it
        self.followers: set[Connection] = set()
        self.presenters: set[Connection] = set()
        self.last_active = now
        # Shared rooms (:mod:`app.store.rooms`): the audience on every worker, and the
        # version of the counts it was read at. None: this worker's audience is all of it.
        self.counted: int | None = None
        self.counted_v = -1

    @property
    def audience(self) -> int:
        """How many follow the room: on this worker, or on every worker when shared."""
        return len(self.followers) if self.counted is None else self.counted

    @property
    def connections(self) -> int:
        return len(self.followers) + len(self.presenters)

    def state(self) -> dict[str, object]:
        return {"type": "state", "room": self.id, "beat": self.beat,
                "slide": self.slide_of[self.beat], "reveal": self.revealed[self.beat],
                "step": self.names[self.beat], "beats": self.beats, "seq": self.seq,
                "by": self.by,
                "followers": self.audience}

    def state_bytes(self) -> bytes:
        """The state and the current beat's view: all an audience page needs to draw it."""
        head = orjson.dumps(self.state())
        return b"".join((head[:-1], b',"view":', self.views[self.beat], b"}"))

    def state_text(self) -> str:
        return self.state_bytes().decode()

    def _send(self, targets: set[Connection] | list[Connection], text: str) -> None:
        for conn in list(targets):
            if not conn.push(text):
                conn.close(CLOSE_TRY_LATER, "too far behind: reconnect for the current slide")

    def broadcast(self) -> None:
        text = self.state_text()
        self._send(self.presenters, text)
        self._send(self.followers, text)

    def tell_presenters(self) -> None:
        text = orjson.dumps({"type": "followers", "count": self.audience}).decode()
        self._send(self.presenters, text)

    def to_presenters(self, text: str) -> None:
        """A message for the presenters' connections only (the room's answers, live)."""
        self._send(self.presenters, text)

    def to_followers(self, text: str) -> None:
        self._send(self.followers, text)


class Hub:
    """The rooms of one server in demo mode: one lesson, one presenter key."""

    def __init__(self, *, key: str, beats: tuple[tuple[int, bool], ...],
                 names: tuple[str, ...], views: tuple[bytes, ...] | None = None,
                 primary: str | None = None,
                 max_rooms: int = MAX_ROOMS, max_followers: int = MAX_FOLLOWERS,
                 max_presenters: int = MAX_PRESENTERS, max_connections: int = MAX_CONNECTIONS,
                 max_per_client: int = MAX_PER_CLIENT, presenter_reserve: int = PRESENTER_RESERVE,
                 idle_ttl: float = IDLE_TTL, clock: Callable[[], float] = time.monotonic,
                 guard: KeyGuard | None = None, store: RoomStore | None = None) -> None:
        if not beats:
            raise ValueError("a lesson needs at least one slide")
        self._key = key.encode()
        self._slide_of = tuple(slide for slide, _ in beats)
        self._revealed = tuple(shown for _, shown in beats)
        self._names = tuple(names[slide] for slide in self._slide_of)
        self._views = views if views is not None else (b"null",) * len(beats)
        if len(self._views) != len(beats):
            raise ValueError(f"{len(self._views)} views for {len(beats)} beats")
        self.max_rooms, self.max_followers = max_rooms, max_followers
        self.max_presenters, self.max_connections = max_presenters, max_connections
        self.max_per_client, self.presenter_reserve = max_per_client, presenter_reserve
        self.idle_ttl = idle_ttl
        self.clock = clock
        self.guard = guard or KeyGuard(clock=clock)
        self.store = store
        self.rooms: dict[str, Room] = {}
        self._client_of: dict[Connection, str] = {}  # audience connection -> its address
        self.per_client: dict[str, int] = {}
        self.waiting: dict[str, int] = {}  # connections without a seat, given time for a key
        saved = store.load() if store is not None else []
        for row in saved[-max_rooms:]:  # the rooms of the last run, where they were
            room = self._new_room(row.id)
            room.beat = row.beat if 0 <= row.beat < room.beats else 0
            room.seq = row.seq
        restored = next((row.id for row in saved if row.primary and row.id in self.rooms),
                        None)
        self.primary = primary or restored or new_room_id()
        if not ROOM_ID.match(self.primary):
            raise ValueError(f"a room id is 4 to 32 letters, digits, - or _, got "
                             f"{self.primary!r}")
        self.open(self.primary)
        if store is not None:
            store.set_primary(self.primary)

    @property
    def beats(self) -> int:
        return len(self._slide_of)

    @property
    def connections(self) -> int:
        return sum(room.connections for room in self.rooms.values())

    def check_key(self, given: str | None) -> bool:
        """Whether ``given`` is the presenter key, compared in constant time."""
        if not isinstance(given, str):
            return False
        return hmac.compare_digest(given.encode("utf-8", "surrogatepass"), self._key)

    def try_key(self, given: object, client: str) -> bool:
        """Whether ``given`` is the key, for a client the guard lets try: raises
        :class:`~.guard.ThrottledError` after too many wrong keys from ``client``. No key at
        all is no attempt."""
        if given is None or given == "":
            return False
        self.guard.check(client)
        if self.check_key(given if isinstance(given, str) else None):
            return True
        self.guard.failed(client)
        return False

    # --------------------------------------------------------------------------- rooms
    def sweep(self, *, forget: bool = True) -> list[str]:
        """Close the rooms that have had no connection and no move for ``idle_ttl``
        (``forget``: in the room store too; shared rooms keep their rows, another worker
        may still serve them)."""
        now = self.clock()
        gone = [rid for rid, room in self.rooms.items()
                if room.connections == 0 and now - room.last_active >= self.idle_ttl]
        for rid in gone:
            del self.rooms[rid]
            if forget and self.store is not None:
                self.store.forget(rid)
        return gone

    def get(self, room_id: str) -> Room | None:
        self.sweep()
        return self.rooms.get(room_id)

    def open(self, room_id: str | None = None) -> tuple[Room, bool]:
        """The room ``room_id`` (opened again if it expired), or a new room with a fresh id.
        Returns (room, whether it was created). Only the key holder may call this."""
        self.sweep()
        if room_id is not None and room_id in self.rooms:
            return self.rooms[room_id], False
        if room_id is not None and not ROOM_ID.match(room_id):
            raise ValueError(f"a room id is 4 to 32 letters, digits, - or _, got {room_id!r}")
        if len(self.rooms) >= self.max_rooms:
            raise self.refusal("rooms")
        while room_id is None or room_id in self.rooms:
            room_id = new_room_id()
        room = self._new_room(room_id)
        self.save(room)
        return room, True

    def local(self, room_id: str) -> Room:
        """This worker's copy of a room, made (at the first beat) if it has none: for a
        room another worker opened. No cap is checked here: the shared state checked it."""
        return self.rooms.get(room_id) or self._new_room(room_id)

    def _new_room(self, room_id: str) -> Room:
        room = Room(room_id, self.beats, self._names, self._slide_of, self._revealed,
                    self._views, self.clock())
        self.rooms[room_id] = room
        return room

    def save(self, room: Room) -> None:
        if self.store is not None:
            self.store.save(room.id, room.beat, room.seq, primary=room.id == self.primary,
                            opened=time.time())

    def refusal(self, cap: str, room: Room | None = None) -> CapacityError:
        """The error for the cap named ``cap`` (``rooms``, ``server``, ``room``, ``client``
        or ``presenters``), saying which limit it is; here and in the shared rooms."""
        rid = room.id if room is not None else ""
        return CapacityError({
            "rooms": f"{self.max_rooms} rooms are open, the most this server keeps; idle "
                     f"ones close after {self.idle_ttl:g} s",
            "server": f"the server has {self.max_connections} connections, its limit",
            "room": f"room {rid} has {self.max_followers} followers, its limit",
            "client": f"{self.max_per_client} pages from one address are following already, "
                      "the most this server allows",
            "presenters": f"room {rid} has {self.max_presenters} presenter connections, its "
                          "limit",
        }[cap])

    # --------------------------------------------------------------------- connections
    def join(self, room: Room, conn: Connection, client: str = "") -> None:
        """Add an audience connection from address ``client``; raises CapacityError at a
        cap (the room's, the address's, or the server's less the presenters' reserve)."""
        if self.connections >= self.max_connections - self.presenter_reserve:
            raise self.refusal("server")
        if len(room.followers) >= self.max_followers:
            raise self.refusal("room", room)
        if self.per_client.get(client, 0) >= self.max_per_client:
            raise self.refusal("client")
        room.followers.add(conn)
        self._client_of[conn] = client
        self.per_client[client] = self.per_client.get(client, 0) + 1
        room.last_active = self.clock()
        room.tell_presenters()

    def promote(self, room: Room, conn: Connection) -> None:
        """Make a connection of the room a presenter's (after it gave the key): from the
        audience, or a connection not yet seated (it found the audience's seats taken)."""
        if conn in room.presenters:
            return
        if len(room.presenters) >= self.max_presenters:
            raise self.refusal("presenters", room)
        if conn not in room.followers and self.connections >= self.max_connections:
            raise self.refusal("server")
        self._unseat(room, conn)
        room.presenters.add(conn)
        room.last_active = self.clock()
        room.tell_presenters()

    def client_of(self, conn: Connection) -> str:
        """The address an audience connection came from ("" for a presenter's)."""
        return self._client_of.get(conn, "")

    def _unseat(self, room: Room, conn: Connection) -> bool:
        if conn not in room.followers:
            return False
        room.followers.discard(conn)
        client = self._client_of.pop(conn, "")
        left = self.per_client.get(client, 1) - 1
        if left > 0:
            self.per_client[client] = left
        else:
            self.per_client.pop(client, None)
        return True

    def leave(self, room: Room, conn: Connection) -> None:
        was_follower = self._unseat(room, conn)
        room.presenters.discard(conn)
        room.last_active = self.clock()
        if was_follower:
            room.tell_presenters()

    def move(self, room: Room, beat: int, by: str | None = None) -> dict[str, object]:
        """Move the room to ``beat`` and tell every connection. The caller has checked
        the key. ``by`` is the sender's own mark for the move, carried in the state, so a
        presenter's page can tell the echoes of its own moves from another's."""
        check_move(room, beat, by)
        room.beat = beat
        room.by = by
        room.seq += 1
        room.last_active = self.clock()
        self.save(room)
        room.broadcast()
        return room.state()
