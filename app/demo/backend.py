"""The rooms' state as the routes see it: one async interface, two backends.

- :class:`MemoryRooms` (the default): one process. The :class:`~.rooms.Hub` holds
  everything — positions, connections, counts, the key guard — and every call is answered
  from it at once.
- :class:`app.store.rooms.RedisRooms` (``CONVLENS_REDIS_URL``): several workers, on one
  host or more. Each worker's Hub still owns that worker's connections and a copy of each
  room it serves; the shared facts (a room's position, who follows it on every worker, the
  caps, the key guard) live in Redis, and moves and frames reach every worker by pub/sub.

Both take the same calls; the routes (:mod:`.routes`, :mod:`.answering`) never know which
one they talk to. A backend that cannot reach its shared state raises
:class:`RoomsUnavailableError`: a REST call answers 503, a socket closes with 1013 and the
page reconnects.
"""

from __future__ import annotations

import itertools
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any, Protocol

from ..store.walks import StoreUnavailableError
from .rooms import Connection, Hub, Room

MAX_WINDOWS = 10_000  # names a process's Windows remember (joins per address, answers per
# student): when full, the names whose last event has left their window go, then the
# oldest names, down to nine tenths


class Windows:
    """Sliding windows kept in this process: per name, its length in seconds and its
    events, oldest first. An event is a tuple whose first item is the time it was taken
    (by ``clock``); what follows is the keeper's own (RedisRooms: where Redis has it).
    Bounded: events leave when they leave their window, and at most MAX_WINDOWS names are
    kept."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._by_name: dict[str, tuple[float, deque[tuple[Any, ...]]]] = {}

    def __len__(self) -> int:
        return len(self._by_name)

    def events(self, name: str, window: float) -> deque[tuple[Any, ...]]:
        """``name``'s events still in its window (a new, empty window if none; making
        room for it when full)."""
        now = self.clock()
        if name not in self._by_name and len(self._by_name) >= MAX_WINDOWS:
            self._forget(now)
        events = self._by_name.setdefault(name, (window, deque()))[1]
        while events and now - events[0][0] > window:
            events.popleft()
        return events

    def add(self, name: str, window: float, *extra: Any) -> None:
        """One more event named ``name``, now."""
        self.events(name, window).append((self.clock(), *extra))

    def live(self) -> Iterator[tuple[str, float, list[tuple[Any, ...]]]]:
        """Every name with events still in its window: name, window, events."""
        now = self.clock()
        for name, (window, events) in list(self._by_name.items()):
            kept = [e for e in events if now - e[0] <= window]
            if kept:
                yield name, window, kept

    def _forget(self, now: float) -> None:
        for stale in [n for n, (w, t) in self._by_name.items() if not t or now - t[-1][0] > w]:
            del self._by_name[stale]
        extra = len(self._by_name) - MAX_WINDOWS * 9 // 10
        for oldest in list(itertools.islice(self._by_name, max(0, extra))):
            del self._by_name[oldest]


class RoomsUnavailableError(StoreUnavailableError):
    """The shared room state cannot be reached right now: the app's one 503 for a store
    that is away (:func:`app.errors.busy`), with Retry-After 1."""

    def __init__(self, message: str) -> None:
        super().__init__(message, retry_after=1)


class Rooms(Protocol):
    hub: Hub
    shared: bool  # True when other workers serve the same rooms

    async def get(self, room_id: str) -> Room | None: ...

    async def open(self, room_id: str | None = None) -> tuple[Room, bool]: ...

    async def join(self, room: Room, conn: Connection, client: str = "") -> None: ...

    async def promote(self, room: Room, conn: Connection) -> None: ...

    async def leave(self, room: Room, conn: Connection) -> None: ...

    async def move(self, room: Room, beat: int, by: str | None = None
                   ) -> dict[str, object]: ...

    async def tell(self, room: Room, text: str, *, presenters_only: bool = False) -> None:
        """Send ``text`` to the room's connections on every worker (or its presenters')."""

    async def take(self, name: str, limit: int, window: float) -> float:
        """0 when one more event named ``name`` fits ``limit`` in any ``window`` seconds (it
        is counted then); otherwise the seconds until one does."""

    async def try_key(self, given: object, client: str) -> bool:
        """:meth:`Hub.try_key`, with the wrong keys counted where every worker sees them."""


class MemoryRooms:
    """One process: the Hub is the whole state."""

    shared = False

    def __init__(self, hub: Hub, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.hub = hub
        self.clock = clock
        self._windows = Windows(clock)

    async def get(self, room_id: str) -> Room | None:
        return self.hub.get(room_id)

    async def open(self, room_id: str | None = None) -> tuple[Room, bool]:
        return self.hub.open(room_id)

    async def join(self, room: Room, conn: Connection, client: str = "") -> None:
        self.hub.join(room, conn, client)

    async def promote(self, room: Room, conn: Connection) -> None:
        self.hub.promote(room, conn)

    async def leave(self, room: Room, conn: Connection) -> None:
        self.hub.leave(room, conn)

    async def move(self, room: Room, beat: int, by: str | None = None) -> dict[str, object]:
        return self.hub.move(room, beat, by)

    async def tell(self, room: Room, text: str, *, presenters_only: bool = False) -> None:
        if not presenters_only:
            room.to_followers(text)
        room.to_presenters(text)

    async def take(self, name: str, limit: int, window: float) -> float:
        """A sliding window: the last ``limit`` events' times per name."""
        times = self._windows.events(name, window)
        if len(times) >= limit:
            return max(0.001, window - (self.clock() - times[0][0]))
        times.append((self.clock(),))
        return 0.0

    async def try_key(self, given: object, client: str) -> bool:
        return self.hub.try_key(given, client)
