"""Demo rooms shared by several workers through Redis (``CONVLENS_REDIS_URL``).

Each worker keeps a :class:`~app.demo.rooms.Hub`: its own connections, and a copy of every
room it serves (position, sequence number, the last move's mark). What every worker must
agree on lives in Redis, under ``convlens:demo:{ns}:`` (``ns``: a fingerprint of the key
and the lesson, so two lessons on one Redis never meet):

=========================  ===============================================================
``room:{id}``              hash ``beat``, ``seq``, ``by``: where the room is. Expires after
                           the Hub's idle time; every move, join and heartbeat of a worker
                           with connections in it refreshes that
``rooms``                  set of the open rooms' ids (the rooms cap; ids whose hash has
                           expired are dropped when counted)
``workers``                set of the workers that have written counts
``w:{worker}``             hash of one worker's counts: ``f:{room}`` followers,
                           ``p:{room}`` presenters, ``c:{address}`` audience pages of one
                           address, ``n`` all its connections
``cv``                     a counter bumped by every change of counts (orders the pushes)
``win:{name}``             a sliding window: sorted set of the events' times in ms (joins
                           per address and room, answers per student)
``keys:{address}``         a token bucket of wrong presenter keys (``tokens``, ``at``)
=========================  ===============================================================

Channels (JSON): ``moves`` ``{room, beat, seq, by}``; ``counts`` ``{room, followers, v}``;
``tell`` ``{w, room, presenters, text}`` (a frame for the room's pages: question states,
the presenter's live answers). A worker applies its own moves and frames at once and
ignores their echo.

Every check-and-change is one Lua script, so two workers never both take the last seat:
the caps (followers per room, presenters per room, pages per address, connections, rooms)
are checked against the sums over the *live* workers, and the same script adds this
worker's share. A worker is live while its backplane heartbeat key exists; the counts of
one that is not are deleted by the next script that looks (a killed worker stops being
counted within ``WORKER_TTL`` plus a heartbeat). On every heartbeat a worker writes its
counts again from its Hub — the truth for its own connections — so drift from a failed
call heals within a heartbeat, and counts come back after Redis restarts.

A move is one script too: it sets ``beat``/``by``, increments ``seq`` and publishes.
Workers apply a move only if its ``seq`` is higher than their copy's, so a late or
repeated message never moves a room back.

What a Redis restart loses, and how it comes back: everything above. After the
subscriber reconnects (:meth:`Backplane.on_resync`) each worker writes its counts and
re-seeds every room it holds from its copy — the highest ``seq`` wins, atomically — and a
room that moved while the worker was away is sent again to its connections. Moves made
while Redis was down are refused (REST 503; a socket gets ``dropped`` and may retry).
The join and answer windows come back from the workers: each keeps the events it admitted
(bounded as :class:`~app.demo.backend.Windows` are) and writes them back on resync, and a
``take`` that finds fewer events in Redis than it admitted writes its own back first.
Wrong-key buckets still restart full. Answers are not here at all: the SQLite results file
(:mod:`app.demo.answers`) is their record, shared by the workers of one host, and only the
pushes that tell pages about them travel through Redis.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import math
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import orjson
from redis.exceptions import RedisError

from ..demo.backend import RoomsUnavailableError, Windows
from ..demo.guard import ThrottledError
from ..demo.rooms import (
    ROOM_ID,
    CapacityError,
    Connection,
    Hub,
    Room,
    check_move,
    new_room_id,
)
from .backplane import Backplane

log = logging.getLogger("convlens.rooms")

# ARGV[1] this store's prefix, ARGV[2] the backplane's, ARGV[3] this worker; then the
# script's own arguments from ARGV[4].
PREAMBLE = """
local P, BP, ME = ARGV[1], ARGV[2], ARGV[3]
local function live()
  local out = {ME}
  for _, w in ipairs(redis.call('SMEMBERS', P .. 'workers')) do
    if w ~= ME then
      if redis.call('EXISTS', BP .. 'worker:' .. w) == 1 then
        out[#out + 1] = w
      else
        redis.call('SREM', P .. 'workers', w)
        redis.call('DEL', P .. 'w:' .. w)
      end
    end
  end
  return out
end
local function total(ws, field)
  local n = 0
  for _, w in ipairs(ws) do
    n = n + tonumber(redis.call('HGET', P .. 'w:' .. w, field) or '0')
  end
  return n
end
local function add(field, by)
  local k = P .. 'w:' .. ME
  redis.call('SADD', P .. 'workers', ME)
  if redis.call('HINCRBY', k, field, by) <= 0 then redis.call('HDEL', k, field) end
end
local function counted(room, ws)
  local v = redis.call('INCR', P .. 'cv')
  local n = total(ws, 'f:' .. room)
  redis.call('PUBLISH', P .. 'counts', cjson.encode({room = room, followers = n, v = v}))
  return {'ok', n, v}
end
"""

# room, client, max followers, max per client, max connections less the reserve, ttl ms
JOIN = """
local room, client = ARGV[4], ARGV[5]
local ws = live()
if total(ws, 'n') >= tonumber(ARGV[8]) then return {'server'} end
if total(ws, 'f:' .. room) >= tonumber(ARGV[6]) then return {'room'} end
if total(ws, 'c:' .. client) >= tonumber(ARGV[7]) then return {'client'} end
add('f:' .. room, 1)
add('c:' .. client, 1)
add('n', 1)
redis.call('PEXPIRE', P .. 'room:' .. room, ARGV[9])
return counted(room, ws)
"""

# room, client, was a follower (0/1), max presenters, max connections, ttl ms
PROMOTE = """
local room, client, was = ARGV[4], ARGV[5], ARGV[6] == '1'
local ws = live()
if total(ws, 'p:' .. room) >= tonumber(ARGV[7]) then return {'presenters'} end
if not was and total(ws, 'n') >= tonumber(ARGV[8]) then return {'server'} end
add('p:' .. room, 1)
if was then
  add('f:' .. room, -1)
  add('c:' .. client, -1)
else
  add('n', 1)
end
redis.call('PEXPIRE', P .. 'room:' .. room, ARGV[9])
return counted(room, ws)
"""

# room, client, was a follower (0/1), was a presenter (0/1)
LEAVE = """
local room, client = ARGV[4], ARGV[5]
if ARGV[6] == '1' then
  add('f:' .. room, -1)
  add('c:' .. client, -1)
  add('n', -1)
end
if ARGV[7] == '1' then
  add('p:' .. room, -1)
  add('n', -1)
end
return counted(room, live())
"""

# room, beat, by ('' for none), this worker's seq for the room, ttl ms -> the move's seq
MOVE = """
local room = ARGV[4]
local key = P .. 'room:' .. room
local seq = math.max(tonumber(redis.call('HGET', key, 'seq') or '0'), tonumber(ARGV[7])) + 1
redis.call('HSET', key, 'beat', ARGV[5], 'seq', seq, 'by', ARGV[6])
redis.call('PEXPIRE', key, ARGV[8])
redis.call('SADD', P .. 'rooms', room)
redis.call('PUBLISH', P .. 'moves',
  cjson.encode({room = room, beat = tonumber(ARGV[5]), seq = seq, by = ARGV[6]}))
return seq
"""

# room, held here (0/1), beat, seq, by, ttl ms -> {} (no such room) or
# {beat, seq, by, followers, counts version}. A room held here but missing (Redis lost it,
# or it expired) is seeded from this worker's copy; a copy ahead of Redis wins and is
# published.
SEED = """
local room = ARGV[4]
local key = P .. 'room:' .. room
local held = ARGV[5] == '1'
if redis.call('EXISTS', key) == 0 then
  if not held then return {} end
  redis.call('HSET', key, 'beat', ARGV[6], 'seq', ARGV[7], 'by', ARGV[8])
  redis.call('PEXPIRE', key, ARGV[9])
  redis.call('SADD', P .. 'rooms', room)
elseif held and tonumber(ARGV[7]) > tonumber(redis.call('HGET', key, 'seq') or '0') then
  redis.call('HSET', key, 'beat', ARGV[6], 'seq', ARGV[7], 'by', ARGV[8])
  redis.call('PUBLISH', P .. 'moves', cjson.encode({room = room, beat = tonumber(ARGV[6]),
    seq = tonumber(ARGV[7]), by = ARGV[8]}))
end
local h = redis.call('HMGET', key, 'beat', 'seq', 'by')
local ws = live()
return {h[1], h[2], h[3], total(ws, 'f:' .. room),
        tonumber(redis.call('GET', P .. 'cv') or '0')}
"""

# room, max rooms, ttl ms -> {created 1/0, beat, seq, by} or {-1} when the rooms are full
OPEN = """
local room = ARGV[4]
local key = P .. 'room:' .. room
if redis.call('EXISTS', key) == 1 then
  redis.call('PEXPIRE', key, ARGV[6])
  redis.call('SADD', P .. 'rooms', room)
  local h = redis.call('HMGET', key, 'beat', 'seq', 'by')
  return {0, h[1], h[2], h[3]}
end
local n = 0
for _, r in ipairs(redis.call('SMEMBERS', P .. 'rooms')) do
  if redis.call('EXISTS', P .. 'room:' .. r) == 1 then n = n + 1
  else redis.call('SREM', P .. 'rooms', r) end
end
if n >= tonumber(ARGV[5]) then return {-1} end
redis.call('HSET', key, 'beat', 0, 'seq', 0, 'by', '')
redis.call('PEXPIRE', key, ARGV[6])
redis.call('SADD', P .. 'rooms', room)
return {1, '0', '0', ''}
"""

# ttl ms, number of count fields, field value ..., then the rooms this worker holds ->
# {counts version, followers of each room}. Writes this worker's counts afresh, refreshes
# the rooms it has connections in and drops the counts of dead workers.
BEAT = """
local k = P .. 'w:' .. ME
local pairs_n = tonumber(ARGV[5])
redis.call('DEL', k)
for i = 0, pairs_n - 1 do
  redis.call('HSET', k, ARGV[6 + 2 * i], ARGV[7 + 2 * i])
end
redis.call('SADD', P .. 'workers', ME)
local ws = live()
local out = {redis.call('INCR', P .. 'cv')}
for i = 6 + 2 * pairs_n, #ARGV do
  local room = ARGV[i]
  if redis.call('HEXISTS', k, 'f:' .. room) == 1 or redis.call('HEXISTS', k, 'p:' .. room) == 1
  then redis.call('PEXPIRE', P .. 'room:' .. room, ARGV[4]) end
  out[#out + 1] = total(ws, 'f:' .. room)
end
return out
"""

# name, limit, window ms, events of the window this worker admitted -> {0, time ms,
# member} if taken (and counted); {ms until the oldest leaves} if not; {-1} if Redis holds
# fewer events than this worker admitted (it restarted, or evicted them): nothing taken,
# the worker writes them back (RESTORE) and asks again. The first write is the ZADD, which
# Redis refuses at maxmemory (OOM, an error): a join is never let in unchecked. (Redis
# checks OOM at a script's first write only: a ZREMRANGEBYSCORE first would let it pass.)
TAKE = """
local key = P .. 'win:' .. ARGV[4]
local limit, window, mine = tonumber(ARGV[5]), tonumber(ARGV[6]), tonumber(ARGV[7])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local since = now - window
local n = redis.call('ZCOUNT', key, since, '+inf')
if n < mine then return {-1} end
if n >= limit then
  local oldest = redis.call('ZRANGEBYSCORE', key, since, '+inf', 'WITHSCORES', 'LIMIT', 0, 1)
  return {math.max(1, tonumber(oldest[2]) + window - now + 1)}
end
local member = t[1] .. '.' .. t[2]
while redis.call('ZADD', key, 'NX', now, member) == 0 do member = member .. '+' end
redis.call('ZREMRANGEBYSCORE', key, '-inf', '(' .. since)
redis.call('PEXPIRE', key, window)
return {0, now, member}
"""

# groups of: name, window ms, n, then n pairs (time ms, member) -> 0. The events this
# worker admitted, written back where they were (those still in their window; the same
# member twice is one event), each window kept until its newest event leaves it.
RESTORE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local i = 4
while i <= #ARGV do
  local key = P .. 'win:' .. ARGV[i]
  local window, n = tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  local newest = nil
  for j = i + 3, i + 1 + 2 * n, 2 do
    local at = tonumber(ARGV[j])
    if at >= now - window then
      redis.call('ZADD', key, 'NX', at, ARGV[j + 1])
      newest = math.max(newest or at, at)
    end
  end
  if newest then
    local left = math.max(1, newest + window - now)
    if redis.call('PTTL', key) < left then redis.call('PEXPIRE', key, left) end
  end
  i = i + 3 + 2 * n
end
return 0
"""
RESTORE_ARGS = 2000  # arguments per RESTORE call at most (one name's events may exceed it)

# address, burst, refill ms, 'check' or 'fail' -> the tokens left, as text
KEYS_BUCKET = """
local key = P .. 'keys:' .. ARGV[4]
local burst, refill = tonumber(ARGV[5]), tonumber(ARGV[6])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local h = redis.call('HMGET', key, 'tokens', 'at')
local tokens = tonumber(h[1]) or burst
local at = tonumber(h[2]) or now
tokens = math.min(burst, tokens + (now - at) / refill)
if ARGV[7] == 'fail' then
  tokens = tokens - 1
  redis.call('HSET', key, 'tokens', tostring(tokens), 'at', now)
  redis.call('PEXPIRE', key, math.ceil(refill * (burst - tokens)) + 1000)
end
return tostring(tokens)
"""

SCRIPTS = {"join": JOIN, "promote": PROMOTE, "leave": LEAVE, "move": MOVE, "seed": SEED,
           "open": OPEN, "beat": BEAT, "take": TAKE, "restore": RESTORE, "keys": KEYS_BUCKET}


def namespace(key: str, lesson: bytes) -> str:
    """The rooms' namespace: the same key and lesson give the same one on every worker."""
    return hashlib.sha256(key.encode() + b"\0" + lesson).hexdigest()[:16]


def _text(value: Any) -> str:
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else str(value)


class RedisRooms:
    """The :class:`~app.demo.backend.Rooms` interface over Redis (see the module's text)."""

    shared = True

    def __init__(self, hub: Hub, plane: Backplane, *, ns: str) -> None:
        self.hub, self.plane = hub, plane
        self.prefix = plane.key("demo", ns) + ":"
        self.ttl_ms = max(1, int(hub.idle_ttl * 1000))
        self._scripts = {name: plane.redis.register_script(PREAMBLE + body)
                         for name, body in SCRIPTS.items()}
        # count changes a script has made in Redis that this worker's Hub has not yet: a
        # heartbeat that writes the counts meanwhile includes them
        self._in_flight: Counter[str] = Counter()
        # a heartbeat's snapshot of the counts and its write are one step no change runs
        # inside: a change that ran between them would be overwritten by the stale snapshot
        # (a seat given back, still counted until the next beat). Changes run together; a
        # heartbeat waits for those running, and new ones wait for it (it cannot starve).
        self._gate = asyncio.Condition()
        self._changes = 0
        self._beating = False
        # the window events (joins, answers) this worker admitted, as Redis has them
        # (time ms, member), until they leave their window: written back after Redis
        # restarts, so that every live worker's share of a window comes back
        self._admitted = Windows()
        self._restore_owed = False  # a write-back failed: the next heartbeat tries again
        plane.on_message(self.prefix + "moves", self._on_move)
        plane.on_message(self.prefix + "counts", self._on_counts)
        plane.on_message(self.prefix + "tell", self._on_tell)
        plane.on_heartbeat(self._heartbeat)
        plane.on_resync(self._resync)

    async def _raw(self, name: str, *args: object) -> Any:
        """Run a script; Redis's own errors pass (the backplane's loops reconnect on them)."""
        return await self._scripts[name](
            args=[self.prefix, self.plane.prefix, self.plane.worker, *args])

    async def _run(self, name: str, *args: object) -> Any:
        try:
            return await self._raw(name, *args)
        except (RedisError, OSError) as exc:
            # (the class of error only: its text names Redis's address, not for the page)
            raise RoomsUnavailableError("the rooms' shared state is unavailable "
                                        f"({type(exc).__name__}): try again in a moment"
                                        ) from None

    # ------------------------------------------------------------------ local copies
    def _apply(self, room: Room, beat: int, seq: int, by: str | None) -> bool:
        """Bring this worker's copy to a position seen in Redis; True if it moved."""
        if seq <= room.seq:
            return False
        room.beat = beat if 0 <= beat < room.beats else 0
        room.seq, room.by = seq, by or None
        room.last_active = self.hub.clock()
        return True

    def _counts(self, room: Room, followers: int, version: int, *, tell: bool) -> None:
        if version < room.counted_v:
            return
        changed = followers != room.counted
        room.counted, room.counted_v = followers, version
        if tell and changed:
            room.tell_presenters()

    @contextlib.asynccontextmanager
    async def _changing(self, deltas: dict[str, int]) -> AsyncIterator[None]:
        async with self._gate:
            await self._gate.wait_for(lambda: not self._beating)
            self._changes += 1
        for field, delta in deltas.items():
            self._in_flight[field] += delta
        try:
            yield
        finally:
            for field, delta in deltas.items():
                self._in_flight[field] -= delta
                if not self._in_flight[field]:
                    del self._in_flight[field]
            async with self._gate:
                self._changes -= 1
                self._gate.notify_all()

    @contextlib.asynccontextmanager
    async def _beat_alone(self) -> AsyncIterator[None]:
        async with self._gate:
            self._beating = True
            try:
                await self._gate.wait_for(lambda: self._changes == 0)
            except BaseException:
                self._beating = False
                self._gate.notify_all()
                raise
        try:
            yield
        finally:
            async with self._gate:
                self._beating = False
                self._gate.notify_all()

    def _held(self, room: Room | None) -> list[object]:
        if room is None:
            return [0, 0, 0, ""]
        return [1, room.beat, room.seq, room.by or ""]

    # -------------------------------------------------------------------------- rooms
    async def get(self, room_id: str) -> Room | None:
        self.hub.sweep(forget=False)  # this worker's idle copies; Redis keeps the rooms
        room = self.hub.rooms.get(room_id)
        out = await self._run("seed", room_id, *self._held(room), self.ttl_ms)
        if not out:
            return None
        room = room or self.hub.local(room_id)
        if self._apply(room, int(out[0]), int(out[1]), _text(out[2])):
            room.broadcast()  # a move this worker did not hear of
        self._counts(room, int(out[3]), int(out[4]), tell=True)
        return room

    async def open(self, room_id: str | None = None) -> tuple[Room, bool]:
        if room_id is not None and not ROOM_ID.match(room_id):
            raise ValueError(f"a room id is 4 to 32 letters, digits, - or _, got {room_id!r}")
        while True:
            rid = room_id or new_room_id()
            out = await self._run("open", rid, self.hub.max_rooms, self.ttl_ms)
            if int(out[0]) < 0:
                raise self.hub.refusal("rooms")
            if room_id is not None or int(out[0]) == 1:
                break  # (a fresh id that someone holds already: draw again)
        created = int(out[0]) == 1
        room = self.hub.local(rid)
        if created and room.seq:  # a local copy of a room that had closed: start over
            room.beat, room.seq, room.by = 0, 0, None
        self._apply(room, int(out[1]), int(out[2]), _text(out[3]))
        room.last_active = self.hub.clock()
        if created:
            self.hub.save(room)
        return room, created

    # -------------------------------------------------------------------- connections
    async def join(self, room: Room, conn: Connection, client: str = "") -> None:
        hub = self.hub
        async with self._changing({f"f:{room.id}": 1, f"c:{client}": 1, "n": 1}):
            out = await self._run("join", room.id, client, hub.max_followers,
                                  hub.max_per_client,
                                  hub.max_connections - hub.presenter_reserve, self.ttl_ms)
            refusal = _text(out[0])
            if refusal != "ok":  # or "server", "room", "client": the cap the script met
                raise hub.refusal(refusal, room)
            self._counts(room, int(out[1]), int(out[2]), tell=False)
            try:
                hub.join(room, conn, client)  # tells this worker's presenters
            except CapacityError:
                await self._run("leave", room.id, client, 1, 0)
                raise

    async def promote(self, room: Room, conn: Connection) -> None:
        if conn in room.presenters:
            return
        hub = self.hub
        was = conn in room.followers
        client = hub.client_of(conn)
        deltas = ({f"p:{room.id}": 1, f"f:{room.id}": -1, f"c:{client}": -1} if was
                  else {f"p:{room.id}": 1, "n": 1})
        async with self._changing(deltas):
            out = await self._run("promote", room.id, client, int(was), hub.max_presenters,
                                  hub.max_connections, self.ttl_ms)
            refusal = _text(out[0])
            if refusal != "ok":  # or "presenters", "server"
                raise hub.refusal(refusal, room)
            self._counts(room, int(out[1]), int(out[2]), tell=False)
            hub.promote(room, conn)

    async def leave(self, room: Room, conn: Connection) -> None:
        was_follower, was_presenter = conn in room.followers, conn in room.presenters
        client = self.hub.client_of(conn)
        deltas: Counter[str] = Counter()
        if was_follower:
            deltas.update({f"f:{room.id}": -1, f"c:{client}": -1, "n": -1})
        if was_presenter:
            deltas.update({f"p:{room.id}": -1, "n": -1})
        async with self._changing(deltas):
            if deltas:
                try:
                    out = await self._run("leave", room.id, client, int(was_follower),
                                          int(was_presenter))
                except RoomsUnavailableError as exc:  # the next heartbeat writes the counts
                    log.warning("%s", exc)
                else:
                    self._counts(room, int(out[1]), int(out[2]), tell=False)
            self.hub.leave(room, conn)

    async def move(self, room: Room, beat: int, by: str | None = None) -> dict[str, object]:
        check_move(room, beat, by)
        seq = int(await self._run("move", room.id, beat, by or "", room.seq, self.ttl_ms))
        if self._apply(room, beat, seq, by):
            room.broadcast()
            try:
                self.hub.save(room)
            except sqlite3.Error as exc:  # the move stands: Redis has it, every page too
                log.warning("room %s not saved to its file: %s", room.id, exc)
        return room.state()

    async def tell(self, room: Room, text: str, *, presenters_only: bool = False) -> None:
        if not presenters_only:
            room.to_followers(text)
        room.to_presenters(text)
        data = orjson.dumps({"w": self.plane.worker, "room": room.id,
                             "presenters": presenters_only, "text": text})
        try:
            await self.plane.publish(self.prefix + "tell", data)
        except RedisError as exc:
            log.warning("a frame for room %s reached this worker only: %s", room.id, exc)

    async def take(self, name: str, limit: int, window: float) -> float:
        """The window in Redis, every worker's events together. Fails closed: a Redis
        that is away or refuses the write (maxmemory) is RoomsUnavailableError (503),
        never an event let in unchecked."""
        window_ms = max(1, int(window * 1000))
        mine = self._admitted.events(name, window)
        out = await self._run("take", name, limit, window_ms, len(mine))
        if int(out[0]) < 0:  # Redis lost events this worker admitted: back, and again
            await self._run("restore", *self._restore_args(name, window, list(mine)))
            out = await self._run("take", name, limit, window_ms, 0)
        wait = int(out[0])
        if wait == 0:
            self._admitted.add(name, window, int(out[1]), _text(out[2]))
        return wait / 1000

    @staticmethod
    def _restore_args(name: str, window: float, events: list[tuple[Any, ...]]) -> list[object]:
        return [name, max(1, int(window * 1000)), len(events),
                *(x for _, at, member in events for x in (at, member))]

    async def _restore_windows(self) -> None:
        """Write back every window event this worker admitted that is still in its
        window (in batches of about RESTORE_ARGS arguments)."""
        self._restore_owed = True
        batch: list[object] = []
        for name, window, events in self._admitted.live():
            batch += self._restore_args(name, window, events)
            if len(batch) >= RESTORE_ARGS:
                await self._raw("restore", *batch)
                batch = []
        if batch:
            await self._raw("restore", *batch)
        self._restore_owed = False

    async def try_key(self, given: object, client: str) -> bool:
        """The key, with wrong ones counted per address in Redis (every worker's); when
        Redis is away, this worker's own guard counts them."""
        if given is None or given == "":
            return False
        guard = self.hub.guard
        refill_ms = max(1, int(guard.refill * 1000))
        try:
            tokens = float(await self._run("keys", client, guard.burst, refill_ms, "check"))
        except RoomsUnavailableError:
            return self.hub.try_key(given, client)
        if tokens < 1:
            raise ThrottledError(max(1, math.ceil((1 - tokens) * guard.refill)))
        if self.hub.check_key(given if isinstance(given, str) else None):
            return True
        try:
            await self._run("keys", client, guard.burst, refill_ms, "fail")
        except RoomsUnavailableError:
            guard.failed(client)
        return False

    # ------------------------------------------------------------------ from Redis
    async def _on_move(self, data: bytes) -> None:
        msg = orjson.loads(data)
        room = self.hub.rooms.get(msg["room"])
        if room is not None and self._apply(room, int(msg["beat"]), int(msg["seq"]),
                                            msg.get("by") or None):
            room.broadcast()

    async def _on_counts(self, data: bytes) -> None:
        msg = orjson.loads(data)
        room = self.hub.rooms.get(msg["room"])
        if room is not None:
            self._counts(room, int(msg["followers"]), int(msg["v"]), tell=True)

    async def _on_tell(self, data: bytes) -> None:
        msg = orjson.loads(data)
        if msg.get("w") == self.plane.worker:
            return
        room = self.hub.rooms.get(msg["room"])
        if room is None:
            return
        if not msg.get("presenters"):
            room.to_followers(msg["text"])
        room.to_presenters(msg["text"])

    async def _heartbeat(self) -> None:
        """Write this worker's counts afresh; read every held room's audience (and write
        the window events back, if the last write-back failed)."""
        if self._restore_owed:
            await self._restore_windows()
        hub = self.hub
        hub.sweep(forget=False)  # an idle copy is not held: Redis may have let it go
        async with self._beat_alone():
            counts: Counter[str] = Counter(self._in_flight)
            for room in hub.rooms.values():
                counts[f"f:{room.id}"] += len(room.followers)
                counts[f"p:{room.id}"] += len(room.presenters)
            for client, n in hub.per_client.items():
                counts[f"c:{client}"] += n
            counts["n"] += hub.connections
            fields: list[object] = [x for field, n in counts.items() if n > 0
                                    for x in (field, n)]
            rooms = list(hub.rooms.values())
            out = await self._raw("beat", self.ttl_ms, len(fields) // 2, *fields,
                                  *(room.id for room in rooms))
        version = int(out[0])
        for room, followers in zip(rooms, out[1:], strict=True):
            self._counts(room, int(followers), version, tell=True)

    async def _resync(self) -> None:
        """After (re)connecting: re-seed or re-read every room this worker holds (its idle
        copies dropped first: re-seeding one would bring back a room Redis let expire),
        and write back the window events it admitted (a Redis that restarted has every
        live worker's again)."""
        self.hub.sweep(forget=False)
        for room in list(self.hub.rooms.values()):
            room.counted_v = -1  # the counts' version restarts with Redis
            out = await self._raw("seed", room.id, *self._held(room), self.ttl_ms)
            if self._apply(room, int(out[0]), int(out[1]), _text(out[2])):
                room.broadcast()
            self._counts(room, int(out[3]), int(out[4]), tell=True)
        try:
            await self._restore_windows()
        except (RedisError, OSError) as exc:  # (maxmemory, say) not a reason to stay deaf
            log.warning("window events not written back yet (%s): at the next heartbeat",
                        type(exc).__name__)
