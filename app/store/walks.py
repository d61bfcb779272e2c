"""Walks (sessions) and exercises by id: one interface, two backends.

Both stores keep items that have an ``id`` and answer the same five calls, all async:

- ``add(item, client)``: keep ``item`` for ``client`` (its address), making room first: the
  client's own least recently used item when it holds ``max_per_client``; then, when the
  store holds ``max_items``, the least recently used item of anyone, but only once it has
  sat unused for ``protect`` seconds (600 by default; 0 evicts it whenever needed). If it
  has not, nothing is evicted and the newcomer is refused with :class:`StoreFullError`
  (the app answers 503, ``Retry-After`` saying when that item's protection ends, at
  least 1 s): many addresses creating walks at once can fill the store, but never take a
  walk or exercise someone used a moment ago;
- ``read(id, fn)``: ``fn(item)``'s result; the item counts as used now (its idle
  time-to-live starts again);
- ``change(id, fn)``: the same, and what ``fn`` changed in the item is kept, at once and
  whole; if ``fn`` raises, nothing is kept and the exception goes to the caller;
- ``delete(id)`` and ``count()``.

An id that is unknown, deleted, evicted or idle for more than ``ttl`` seconds is a
:class:`NotFoundError` (a ``KeyError``); the routes answer 404.

:class:`MemoryWalkStore` (the default) keeps the items themselves in this process: an
ordered dict, least recently used first, each item with its own lock, under which ``fn``
runs. Its clock is injectable for tests. The items' own methods check everything before
they change anything, so an ``fn`` that raises leaves the item as it was.

:class:`RedisWalkStore` keeps them in Redis (:mod:`.backplane`), so that every worker of
every host serves the same walks. An item is never pickled: a :class:`Codec`
(:mod:`.codecs`) turns it into bytes and back, and the item ``fn`` sees is decoded afresh
for each call. Keys (``{p}`` is the backplane's prefix, ``convlens:``; ``{kind}`` is
``session`` or ``exercise``):

=============================  ==========  ============================================
key                            type        holds
=============================  ==========  ============================================
``{p}{kind}:{id}``             hash        ``state`` (the codec's bytes), ``v`` (a version
                                           number, +1 per change), ``owner`` (the key of
                                           the client's index), ``c`` (the last change's
                                           token)
``{p}{kind}:{id}:list``        list        the codec's per-entry blobs (a walk's
                                           parameters, one per epoch); only the changed
                                           tail is written
``{p}{kind}s:used``            sorted set  every id, scored by its last use (server
                                           microseconds, strictly increasing): the LRU
``{p}{kind}s:client:{addr}``   sorted set  one client's ids, scored the same way
``{p}{kind}s:used:tick``       string      the last score given (keeps scores increasing)
=============================  ==========  ============================================

Five Lua scripts, each atomic on the server, do the work: ``add`` (make room or refuse,
then write), ``load`` (slide the idle expiry of all the item's keys, mark it used, return
its state and the list entries asked for), ``commit`` (compare the version, write the
state and the list's changed tail, slide the expiry), ``delete`` and ``count``. ``add``, ``read``,
``delete`` and ``count`` are one script each; ``change`` is a load and a commit. Idle expiry
is Redis's own (PEXPIRE on every key of the item, renewed by every load and commit); ids
that expired are dropped from the indexes by score when ``add`` checks the caps and when
``count`` counts, and a client's index expires with its last item. An item whose keys Redis
dropped for another reason (``maxmemory`` eviction) answers 404 and leaves the indexes at
its next read; until then it counts towards the caps. A change is optimistic: load,
run ``fn`` on the decoded item, commit if the version is still the one loaded; otherwise
load again and run ``fn`` again (at most ``RETRIES`` times, then :class:`BusyStoreError`).
Two workers stepping one walk at once therefore never skip or repeat a step; within one
worker, changes to one id also wait for each other (no needless conflicts). A commit
carries a token and the item remembers the last ``TOKENS`` kept, so a commit sent again
after its reply was lost (even after other workers' commits) is not applied twice.

Both backends apply the caps the same way, in one step under the store's lock (memory) or
in the ``add`` script (Redis): first they work out what the client's own cap evicts and
whether the global cap then needs anyone else's oldest item; if that item is still
protected they refuse before evicting anything.

When Redis does not answer (connection refused, 1 s timeouts), calls raise
:class:`StoreUnavailableError`, which the app answers with 503 and ``Retry-After``. (A
commit that timed out may still have been kept, as with any request whose answer is lost:
the walk's view says where it is.) A Redis
that restarts without persistence has lost every walk and exercise: their ids then answer
404, as expired ones do. The scripts name the client index they read from an item's hash,
so they need one Redis (or a primary), not Redis Cluster.
"""

from __future__ import annotations

import asyncio
import itertools
import math
import random
import re
import secrets
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, Protocol, TypeVar

from redis.exceptions import BusyLoadingError, OutOfMemoryError, ReadOnlyError, ResponseError

from .backplane import UNAVAILABLE, Backplane

T = TypeVar("T")
R = TypeVar("R")

RETRIES = 30  # loads and re-runs of fn after a conflicting change, at most
RETRY_AFTER = 2  # seconds a client is told to wait when Redis is away or the walk is busy
PROTECT = 600.0  # seconds after its last use during which no other client's add evicts an item
LIST_CHUNK = 1000  # list entries pushed by one RPUSH inside a script (Lua's stack is finite)
TOKENS = 32  # commits' tokens remembered per item: a re-sent commit is recognised among them
ID_PATTERN = re.compile(r"^[A-Za-z0-9_-]{1,64}$")  # what secrets.token_urlsafe makes
MAX_CLIENT_TEXT = 200  # characters of a client's address used in its index's key
# Redis's answers that mean "not now" rather than a mistake of ours: still loading its data,
# out of memory, a read-only replica, running a long script, unable to persist.
REDIS_REFUSALS = (BusyLoadingError, OutOfMemoryError, ReadOnlyError)
REDIS_REFUSED_TEXTS = ("BUSY", "MISCONF", "MASTERDOWN")


class NotFoundError(KeyError):
    """No such item: never added, deleted, evicted or expired."""


class StoreUnavailableError(Exception):
    """The store cannot answer now (Redis is away, or one item is changed by too many
    requests at once); try again after ``retry_after`` seconds."""

    def __init__(self, message: str, retry_after: int = RETRY_AFTER) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class BusyStoreError(StoreUnavailableError):
    """A change lost the race for its item RETRIES times in a row."""


class StoreFullError(StoreUnavailableError):
    """The store holds ``max_items`` and even its least recently used item was used less
    than ``protect`` seconds ago: the new item is refused (503), and ``retry_after`` is when
    that item's protection ends (at least 1 s)."""

    def __init__(self, kind: str, max_items: int, protect: float, wait: float) -> None:
        retry_after = max(1, math.ceil(wait))
        super().__init__(f"this server holds as many {kind}s as it may ({max_items}), every "
                         f"one used within the last {protect:g} s; try again in "
                         f"{retry_after} s", retry_after)


class HistoryNotLoadedError(Exception):
    """An item's ``fn`` reached a list entry the load did not fetch; the store loads the
    whole list and runs ``fn`` again (nothing was kept)."""


class WalkStore(Protocol[T]):
    """What the routes use; both backends implement it."""

    kind: str
    ttl: float
    max_items: int
    max_per_client: int
    protect: float

    async def add(self, item: T, client: str = "") -> None: ...

    async def read(self, item_id: str, fn: Callable[[T], R]) -> R: ...

    async def change(self, item_id: str, fn: Callable[[T], R]) -> R: ...

    async def delete(self, item_id: str) -> None: ...

    async def count(self) -> int: ...


# ------------------------------------------------------------------------------- memory
@dataclass
class _Entry(Generic[T]):
    item: T
    owner: str
    last_used: float
    lock: threading.Lock = field(default_factory=threading.Lock)


class MemoryWalkStore(Generic[T]):
    """Items by id in this process's memory; thread-safe, capped in all and per client,
    least recently used evicted first once idle ``protect`` seconds, idle ones expired (see
    the module's text)."""

    def __init__(self, *, kind: str, max_items: int, ttl: float,
                 max_per_client: int | None = None, protect: float = PROTECT,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.kind, self.max_items, self.ttl, self.clock = kind, max_items, ttl, clock
        self.max_per_client = max_items if max_per_client is None else max_per_client
        self.protect = protect
        self._guard = min(protect, ttl)  # an item idle past ttl has expired anyway
        self._entries: OrderedDict[str, _Entry[T]] = OrderedDict()  # least recently used first
        self._lock = threading.Lock()

    def _expire(self, now: float) -> None:
        while self._entries:
            oldest_id, oldest = next(iter(self._entries.items()))
            if now - oldest.last_used <= self.ttl:
                break
            del self._entries[oldest_id]

    def _use(self, item_id: str) -> _Entry[T]:
        with self._lock:
            now = self.clock()
            self._expire(now)
            entry = self._entries.get(item_id)
            if entry is None:
                raise NotFoundError(item_id)
            entry.last_used = now
            self._entries.move_to_end(item_id)
            return entry

    async def add(self, item: T, client: str = "") -> None:
        item_id: str = item.id  # type: ignore[attr-defined]
        with self._lock:
            now = self.clock()
            self._expire(now)
            own = [i for i, e in self._entries.items() if e.owner == client]  # by use
            mine = own[:max(0, len(own) - self.max_per_client + 1)]
            need = len(self._entries) - len(mine) - self.max_items + 1
            dropping = set(mine)
            others = list(itertools.islice(
                (i for i in self._entries if i not in dropping), max(0, need)))
            if others:  # the newest of them is the last whose protection must have ended
                wait = self._guard - (now - self._entries[others[-1]].last_used)
                if wait > 0:
                    raise StoreFullError(self.kind, self.max_items, self._guard, wait)
            for old in (*mine, *others):
                del self._entries[old]
            self._entries[item_id] = _Entry(item, client, now)

    async def read(self, item_id: str, fn: Callable[[T], R]) -> R:
        entry = self._use(item_id)
        with entry.lock:
            return fn(entry.item)

    change = read  # the item is changed in place, under its lock

    async def delete(self, item_id: str) -> None:
        with self._lock:
            self._expire(self.clock())
            if self._entries.pop(item_id, None) is None:
                raise NotFoundError(item_id)

    async def count(self) -> int:
        with self._lock:
            self._expire(self.clock())
            return len(self._entries)


# -------------------------------------------------------------------------------- Redis
@dataclass
class Loaded:
    """What a load returned: the item's version and state, how many list entries it has
    and those fetched (by index)."""

    version: bytes
    state: bytes
    length: int
    entries: dict[int, bytes]


@dataclass
class Encoded:
    """An item as bytes: its state, and for an item with a list, how many leading entries
    are unchanged (``stable``) and the entries after them (``tail``)."""

    state: bytes
    stable: int | None = None  # None: the item has no list
    tail: list[bytes] = field(default_factory=list)


class Codec(Protocol[T]):
    """Turns one kind of item into bytes and back (:mod:`.codecs`)."""

    kind: str  # "session", "exercise": the keys' second part
    has_list: bool  # whether items keep a list of entries besides their state

    def encode(self, item: T) -> Encoded:
        """The item's bytes: for an item this codec decoded, only its list's changed tail;
        for a new one, all of its list."""
        ...

    async def decode(self, item_id: str, loaded: Loaded) -> T: ...

    def remember(self, item: T) -> None:
        """Keep what the item derived (its trace, say) for the next decode in this worker."""
        ...


_NOW = """
local function now()
  local t = redis.call('TIME')
  local us = tonumber(t[1]) * 1000000 + tonumber(t[2])
  local last = tonumber(redis.call('GET', KEYS[3] .. ':tick') or '0')
  if us <= last then us = last + 1 end
  local text = string.format('%.0f', us)
  redis.call('SET', KEYS[3] .. ':tick', text)
  return us, text
end
local function touch(hash, list, used, owner, id, ttl_ms, score)
  redis.call('PEXPIRE', hash, ttl_ms)
  redis.call('PEXPIRE', list, ttl_ms)
  redis.call('ZADD', used, score, id)
  redis.call('ZADD', owner, score, id)
  redis.call('PEXPIRE', owner, ttl_ms)
end
local function push(list, from)
  for i = from, #ARGV, CHUNK do
    redis.call('RPUSH', list, unpack(ARGV, i, math.min(#ARGV, i + CHUNK - 1)))
  end
end
""".replace("CHUNK", str(LIST_CHUNK))

# KEYS: hash, list, used index, client index. ARGV: id, ttl ms, max items, max per client,
# item key prefix, protect ms, state, list entries... Returns 1 (kept), 0 (the id exists)
# or -ms: the store is full and its oldest item is protected for ms more (nothing changed).
_ADD = _NOW + """
if redis.call('EXISTS', KEYS[1]) == 1 then return 0 end
local us, score = now()
local ttl_ms = tonumber(ARGV[2])
local protect_us = tonumber(ARGV[6]) * 1000
local gone = string.format('(%.0f', us - ttl_ms * 1000)
local function drop(id)
  local key = ARGV[5] .. id
  local owner = redis.call('HGET', key, 'owner')
  redis.call('DEL', key, key .. ':list')
  redis.call('ZREM', KEYS[3], id)
  if owner then redis.call('ZREM', owner, id) end
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', gone)
redis.call('ZREMRANGEBYSCORE', KEYS[4], '-inf', gone)
local own, most_own = redis.call('ZCARD', KEYS[4]), tonumber(ARGV[4])
local mine, dropping, others = {}, {}, {}
if own >= most_own then mine = redis.call('ZRANGE', KEYS[4], 0, own - most_own) end
for _, id in ipairs(mine) do dropping[id] = true end
local need = redis.call('ZCARD', KEYS[3]) - #mine - tonumber(ARGV[3]) + 1
if need > 0 then
  local oldest = redis.call('ZRANGE', KEYS[3], 0, need + #mine - 1, 'WITHSCORES')
  local last_used
  for i = 1, #oldest, 2 do
    if #others < need and not dropping[oldest[i]] then
      others[#others + 1] = oldest[i]
      last_used = tonumber(oldest[i + 1])
    end
  end
  if last_used and us - last_used < protect_us then
    return -math.max(1, math.ceil((protect_us - (us - last_used)) / 1000))
  end
end
for _, id in ipairs(mine) do drop(id) end
for _, id in ipairs(others) do drop(id) end
redis.call('HSET', KEYS[1], 'state', ARGV[7], 'v', 1, 'owner', KEYS[4], 'c', '')
push(KEYS[2], 8)
touch(KEYS[1], KEYS[2], KEYS[3], KEYS[4], ARGV[1], ttl_ms, score)
return 1
"""

# KEYS: hash, list, used index. ARGV: id, ttl ms, which entries ("none", "ends", "all").
# Returns nil when the item is gone, else {version, state, list length, first entries,
# last entries}: "ends" fetches the first and the last two, "all" every one (as first).
_LOAD = _NOW + """
local fields = redis.call('HMGET', KEYS[1], 'v', 'state', 'owner')
if not fields[1] then
  redis.call('ZREM', KEYS[3], ARGV[1])
  return false
end
local _, score = now()
touch(KEYS[1], KEYS[2], KEYS[3], fields[3], ARGV[1], tonumber(ARGV[2]), score)
local n = redis.call('LLEN', KEYS[2])
local first, last = {}, {}
if ARGV[3] == 'all' then
  first = redis.call('LRANGE', KEYS[2], 0, -1)
elseif ARGV[3] == 'ends' then
  first = redis.call('LRANGE', KEYS[2], 0, 0)
  last = redis.call('LRANGE', KEYS[2], -2, -1)
end
return {fields[1], fields[2], n, first, last}
"""

# KEYS: hash, list, used index. ARGV: id, ttl ms, version loaded, token, state, stable
# ("-" for no list), tail entries... Returns 1 (kept), 0 (changed meanwhile: load again)
# or -1 (gone). A commit whose token is among the last TOKENS kept was kept before: 1
# (its reply was lost and the client sent it again, maybe after other commits).
_COMMIT = _NOW + """
local fields = redis.call('HMGET', KEYS[1], 'v', 'owner', 'c')
if not fields[1] then
  redis.call('ZREM', KEYS[3], ARGV[1])
  return -1
end
local kept = fields[3] or ''
if string.find(' ' .. kept .. ' ', ' ' .. ARGV[4] .. ' ', 1, true) then return 1 end
if fields[1] ~= ARGV[3] then return 0 end
local recent = {ARGV[4]}
for token in string.gmatch(kept, '%S+') do
  if #recent >= """ + str(TOKENS) + """ then break end
  recent[#recent + 1] = token
end
redis.call('HSET', KEYS[1], 'state', ARGV[5], 'c', table.concat(recent, ' '))
redis.call('HINCRBY', KEYS[1], 'v', 1)
if ARGV[6] ~= '-' then
  local stable = tonumber(ARGV[6])
  if stable == 0 then
    redis.call('DEL', KEYS[2])
  else
    redis.call('LTRIM', KEYS[2], 0, stable - 1)
  end
  push(KEYS[2], 7)
end
local _, score = now()
touch(KEYS[1], KEYS[2], KEYS[3], fields[2], ARGV[1], tonumber(ARGV[2]), score)
return 1
"""

# KEYS: hash, list, used index. ARGV: id. Returns 1, or 0 when there was no such item.
_DELETE = """
local owner = redis.call('HGET', KEYS[1], 'owner')
redis.call('ZREM', KEYS[3], ARGV[1])
if not owner then return 0 end
redis.call('ZREM', owner, ARGV[1])
redis.call('DEL', KEYS[1], KEYS[2])
return 1
"""

# KEYS: a hash (unused), a list (unused), used index. ARGV: ttl ms.
_COUNT = _NOW + """
local us = now()
local gone = string.format('(%.0f', us - tonumber(ARGV[1]) * 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', gone)
return redis.call('ZCARD', KEYS[3])
"""


class RedisWalkStore(Generic[T]):
    """Items by id in Redis, shared by every worker (see the module's text)."""

    def __init__(self, plane: Backplane, codec: Codec[T], *, max_items: int, ttl: float,
                 max_per_client: int | None = None, protect: float = PROTECT) -> None:
        self.plane, self.codec, self.kind = plane, codec, codec.kind
        self.max_items, self.ttl, self.protect = max_items, ttl, protect
        self.max_per_client = max_items if max_per_client is None else max_per_client
        self.ttl_ms = max(1, round(ttl * 1000))
        self.protect_ms = max(0, round(min(protect, ttl) * 1000))  # past ttl it has expired
        self._item_prefix = plane.key(self.kind) + ":"
        self._used = plane.key(self.kind + "s", "used")
        redis = plane.redis
        self._add = redis.register_script(_ADD)
        self._load = redis.register_script(_LOAD)
        self._commit = redis.register_script(_COMMIT)
        self._delete = redis.register_script(_DELETE)
        self._count = redis.register_script(_COUNT)
        self._changing: weakref.WeakValueDictionary[str, asyncio.Lock] = \
            weakref.WeakValueDictionary()

    # ------------------------------------------------------------------------ keys
    def _keys(self, item_id: str) -> list[str]:
        hash_key = self._item_prefix + item_id
        return [hash_key, hash_key + ":list", self._used]

    def _client_key(self, client: str) -> str:
        return self.plane.key(self.kind + "s", "client", client[:MAX_CLIENT_TEXT])

    def _checked(self, item_id: str) -> str:
        if not ID_PATTERN.match(item_id):  # no key of ours can hold it
            raise NotFoundError(item_id)
        return item_id

    async def _call(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            return await script(keys=keys, args=args)
        except UNAVAILABLE as exc:  # (the class of error only: its text names Redis's address)
            raise StoreUnavailableError(
                f"Redis, where this server keeps its {self.kind}s, is not answering "
                f"({type(exc).__name__}); try again in a few seconds") from None
        except ResponseError as exc:
            if isinstance(exc, REDIS_REFUSALS) or str(exc).startswith(REDIS_REFUSED_TEXTS):
                raise StoreUnavailableError(
                    f"Redis, where this server keeps its {self.kind}s, refused the request "
                    f"({type(exc).__name__}: {exc}); try again in a few seconds") from None
            raise

    # --------------------------------------------------------------------- the calls
    async def add(self, item: T, client: str = "") -> None:
        item_id: str = item.id  # type: ignore[attr-defined]
        encoded = self.codec.encode(item)
        self.codec.remember(item)
        kept = await self._call(self._add, [*self._keys(self._checked(item_id)),
                                            self._client_key(client)],
                                [item_id, self.ttl_ms, self.max_items, self.max_per_client,
                                 self._item_prefix, self.protect_ms, encoded.state,
                                 *encoded.tail])
        if kept < 0:
            raise StoreFullError(self.kind, self.max_items, self.protect_ms / 1000, -kept / 1000)

    async def _fetch(self, item_id: str, which: str) -> Loaded:
        got = await self._call(self._load, self._keys(item_id), [item_id, self.ttl_ms, which])
        if got is None:
            raise NotFoundError(item_id)
        version, state, length, first, last = got
        entries = dict(enumerate(first))
        entries.update({int(length) - len(last) + i: e for i, e in enumerate(last)})
        return Loaded(version, state, int(length), entries)

    async def _decoded(self, item_id: str, whole: bool) -> tuple[Loaded, T]:
        which = "none" if not self.codec.has_list else "all" if whole else "ends"
        loaded = await self._fetch(item_id, which)
        try:
            item = await self.codec.decode(item_id, loaded)
        except (ValueError, KeyError, TypeError) as exc:  # not bytes this version wrote
            raise NotFoundError(item_id) from exc
        return loaded, item

    async def _applied(self, item_id: str, fn: Callable[[T], R]) -> tuple[Loaded, T, R]:
        """Load the item and run ``fn`` on it: with the list's ends first, and with all of
        it if ``fn`` reaches an entry the ends did not hold."""
        for whole in (False, True):
            loaded, item = await self._decoded(item_id, whole)
            try:
                result = fn(item)
            except HistoryNotLoadedError:
                if whole:
                    raise
                continue
            self.codec.remember(item)
            return loaded, item, result
        raise AssertionError("unreachable")

    async def read(self, item_id: str, fn: Callable[[T], R]) -> R:
        self._checked(item_id)
        _, _, result = await self._applied(item_id, fn)
        return result

    async def change(self, item_id: str, fn: Callable[[T], R]) -> R:
        self._checked(item_id)
        lock = self._changing.get(item_id)
        if lock is None:
            lock = self._changing[item_id] = asyncio.Lock()
        async with lock:
            return await self._change(item_id, fn)

    async def _change(self, item_id: str, fn: Callable[[T], R]) -> R:
        for attempt in range(RETRIES):
            loaded, item, result = await self._applied(item_id, fn)
            encoded = self.codec.encode(item)
            if encoded.state == loaded.state and encoded.stable in (None, loaded.length) \
                    and not encoded.tail:
                return result  # nothing changed: the load has marked it used already
            stable = "-" if encoded.stable is None else encoded.stable
            kept = await self._call(self._commit, self._keys(item_id), [
                item_id, self.ttl_ms, loaded.version, secrets.token_hex(8), encoded.state,
                stable, *encoded.tail])
            if kept == 1:
                return result
            if kept == -1:
                raise NotFoundError(item_id)
            await asyncio.sleep(random.uniform(0, 0.002 * (1 + attempt)))
        raise BusyStoreError(f"this {self.kind} is being changed by many requests at once; "
                             "try again")

    async def delete(self, item_id: str) -> None:
        if not await self._call(self._delete, self._keys(self._checked(item_id)), [item_id]):
            raise NotFoundError(item_id)

    async def count(self) -> int:
        return int(await self._call(self._count, self._keys("-"), [self.ttl_ms]))
