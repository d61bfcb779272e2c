"""The Redis connection a worker's stores share.

- ``redis``: one ``redis.asyncio`` client (a connection pool), with short timeouts: a Redis
  that is away makes a request fail in about a second (503), never hang.
- ``worker``: this process's random id. Every ``HEARTBEAT`` seconds the worker refreshes
  ``{prefix}worker:{id}`` (it expires after ``WORKER_TTL``) and runs the stores' heartbeat
  callbacks, which write again what this worker holds (its connections' counts): a worker
  that dies stops refreshing and its counts are dropped by the others; after a Redis restart
  the next heartbeat writes them back.
- pub/sub: one subscriber connection per worker, listening on the channels stores ask for.
  Redis drops messages for a subscriber that is away, so after every (re)connection the
  stores' ``resync`` callbacks re-read the shared state: no worker stays deaf, or behind,
  after a Redis restart.

Nothing here is pickled: stores write bytes they encode themselves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit, urlunsplit

import redis.asyncio as aioredis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

log = logging.getLogger("convlens.redis")

PREFIX = "convlens:"
HEARTBEAT = 2.0  # seconds between a worker's heartbeats
WORKER_TTL = 6.0  # seconds a worker counts as alive after its last heartbeat
SOCKET_TIMEOUT = 1.0  # seconds a command may take before it fails
STOP_WAIT = 1.0  # seconds each step of stopping may take
RECONNECT_MAX = 1.0  # seconds between attempts to reach a Redis that is away, at most
UNAVAILABLE = (RedisConnectionError, RedisTimeoutError, OSError)

Handler = Callable[[bytes], Awaitable[None]]
Callback = Callable[[], Awaitable[None]]


def redacted(url: str) -> str:
    """``url`` without its password, for messages and logs."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    where = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=where))


class Backplane:
    """A worker's Redis: client, id, heartbeat and pub/sub (see the module's text)."""

    def __init__(self, url: str, *, prefix: str = PREFIX, heartbeat: float = HEARTBEAT,
                 worker_ttl: float = WORKER_TTL) -> None:
        self.url, self.prefix = url, prefix
        self.heartbeat, self.worker_ttl = heartbeat, worker_ttl
        self.worker = secrets.token_hex(6)
        self.redis = aioredis.Redis.from_url(
            url, socket_timeout=SOCKET_TIMEOUT, socket_connect_timeout=SOCKET_TIMEOUT,
            health_check_interval=10,
            # A dropped connection (a Redis that restarted) is tried once more on a fresh
            # one; a timeout is not: it would triple the wait for a Redis that hangs.
            retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), 1),
            retry_on_error=[RedisConnectionError])
        self._handlers: dict[str, Handler] = {}
        self._resyncs: list[Callback] = []
        self._beats: list[Callback] = []
        self._tasks: list[asyncio.Task[None]] = []
        # Set by stop() before it cancels the tasks, and checked by their loops: a
        # cancellation that lands as a read's own timeout expires is taken for that timeout
        # (asyncio.timeout on Python 3.11), and only this flag then ends the loop.
        self._stopping = False
        self.subscribed = asyncio.Event()  # set while the subscriber is connected
        self.reconnections = 0  # subscriber connections made, the first included

    def key(self, *parts: str) -> str:
        return self.prefix + ":".join(parts)

    def worker_key(self, worker: str | None = None) -> str:
        return self.key("worker", worker or self.worker)

    # ------------------------------------------------------------------- registration
    def on_message(self, channel: str, handler: Handler) -> None:
        """Call ``handler(data)`` for every message on ``channel`` (a full key name)."""
        self._handlers[channel] = handler

    def on_resync(self, callback: Callback) -> None:
        """Call ``callback()`` after every connection of the subscriber, the first too."""
        self._resyncs.append(callback)

    def on_heartbeat(self, callback: Callback) -> None:
        """Call ``callback()`` with every heartbeat (after the worker's key is refreshed)."""
        self._beats.append(callback)

    # ---------------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Check that Redis answers (a clear error at start-up, not at the first request),
        then start the heartbeat and the subscriber."""
        try:
            await self.redis.ping()
        except RedisError as exc:
            raise RuntimeError(f"cannot reach Redis at {redacted(self.url)}: {exc}") from None
        await self._beat()
        self._stopping = False
        self._tasks = [asyncio.create_task(self._heartbeats(), name="redis-heartbeat"),
                       asyncio.create_task(self._listen(), name="redis-subscriber")]

    async def stop(self) -> None:
        """Stop listening and beating, say this worker is gone; each part waits at most
        STOP_WAIT seconds (a shutdown never hangs on a Redis that is away)."""
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        if self._tasks:
            await asyncio.wait(self._tasks, timeout=STOP_WAIT)
        self._tasks = []
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.redis.delete(self.worker_key()), STOP_WAIT)
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.redis.aclose(), STOP_WAIT)

    async def publish(self, channel: str, data: bytes) -> None:
        await self.redis.publish(channel, data)

    async def alive(self, workers: list[str]) -> set[str]:
        """Which of ``workers`` have a heartbeat that has not expired."""
        if not workers:
            return set()
        pipe = self.redis.pipeline(transaction=False)
        for w in workers:
            pipe.exists(self.worker_key(w))
        flags = await pipe.execute()
        return {w for w, flag in zip(workers, flags, strict=True) if flag}

    # ---------------------------------------------------------------------- internals
    async def _beat(self) -> None:
        await self.redis.set(self.worker_key(), b"1", px=int(self.worker_ttl * 1000))
        for callback in self._beats:
            await callback()

    async def _heartbeats(self) -> None:
        while not self._stopping:
            await asyncio.sleep(self.heartbeat)
            try:
                await self._beat()
            except UNAVAILABLE as exc:
                log.warning("redis heartbeat failed: %s", exc)
            except Exception:  # a store's callback: log it, keep beating
                log.exception("redis heartbeat callback failed")

    async def _listen(self) -> None:
        delay = 0.05
        while not self._stopping:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(*self._handlers) if self._handlers else \
                    await pubsub.subscribe(self.key("none"))
                self.reconnections += 1
                self.subscribed.set()
                delay = 0.05
                await self._beat()  # a Redis that restarted has lost this worker's key
                for callback in self._resyncs:
                    await callback()
                while not self._stopping:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is None:
                        await pubsub.ping()  # a dead connection shows here, within a second
                        continue
                    if message.get("type") != "message":
                        continue
                    channel = message["channel"]
                    name = channel.decode() if isinstance(channel, bytes) else channel
                    handler = self._handlers.get(name)
                    if handler is not None:
                        try:
                            await handler(message["data"])
                        except UNAVAILABLE:
                            raise
                        except Exception:
                            log.exception("redis message handler failed on %s", name)
            except asyncio.CancelledError:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(pubsub.aclose(), STOP_WAIT)
                raise
            except UNAVAILABLE as exc:
                self.subscribed.clear()
                log.warning("redis subscriber lost its connection (%s); reconnecting", exc)
            except RedisError as exc:
                self.subscribed.clear()
                log.warning("redis subscriber failed (%s); reconnecting", exc)
            except Exception:  # a store's resync or heartbeat callback: never stay deaf
                self.subscribed.clear()
                log.exception("redis subscriber's callback failed; reconnecting")
            with contextlib.suppress(Exception):
                await pubsub.aclose()
            if self._stopping:
                return
            await asyncio.sleep(delay)
            delay = min(RECONNECT_MAX, delay * 2)
