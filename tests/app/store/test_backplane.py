"""The Redis backplane against a real redis-server: pub/sub between two workers, the
heartbeat that marks a worker alive, and the re-read after Redis restarts."""

from __future__ import annotations

import asyncio
import contextlib
import time

import pytest

from app.store.backplane import Backplane
from tests.support.redisserver import RedisServer


async def _until(check, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        await asyncio.sleep(0.01)


def test_a_message_published_by_one_worker_reaches_the_other(redis_url: str) -> None:
    async def run() -> list[bytes]:
        a, b = Backplane(redis_url), Backplane(redis_url)
        got: list[bytes] = []

        async def handler(data: bytes) -> None:
            got.append(data)

        b.on_message(b.key("rooms"), handler)
        await a.start()
        await b.start()
        try:
            await asyncio.wait_for(b.subscribed.wait(), 5)
            await a.publish(a.key("rooms"), b"moved")
            await _until(lambda: got)
        finally:
            await a.stop()
            await b.stop()
        return got

    assert asyncio.run(run()) == [b"moved"]


@pytest.mark.slow  # a Redis of its own, real expiry or real processes
def test_a_worker_counts_as_alive_only_while_it_beats(redis_url: str) -> None:
    async def run() -> tuple[set[str], set[str], set[str], tuple[str, str]]:
        a = Backplane(redis_url, heartbeat=0.05, worker_ttl=0.3)
        b = Backplane(redis_url, heartbeat=0.05, worker_ttl=0.3)
        await a.start()
        await b.start()
        both = await a.alive([a.worker, b.worker, "never-was"])
        b._tasks[0].cancel()  # b stops beating, as a killed process would
        await asyncio.sleep(0.5)
        after = await a.alive([a.worker, b.worker])
        await b.stop()
        stopped = await a.alive([b.worker])
        await a.stop()
        return both, after, stopped, (a.worker, b.worker)

    both, after, stopped, (a_id, b_id) = asyncio.run(run())
    assert both == {a_id, b_id}  # "never-was" has no heartbeat
    assert after == {a_id}
    assert stopped == set()


@pytest.mark.slow
def test_after_redis_restarts_the_worker_resyncs_and_hears_again() -> None:
    async def run(server: RedisServer) -> tuple[int, list[bytes], bool]:
        a, b = Backplane(server.url), Backplane(server.url)
        got: list[bytes] = []
        resyncs = 0

        async def handler(data: bytes) -> None:
            got.append(data)

        async def resync() -> None:
            nonlocal resyncs
            resyncs += 1

        b.on_message(b.key("rooms"), handler)
        b.on_resync(resync)
        await a.start()
        await b.start()
        try:
            await _until(lambda: resyncs == 1)
            await asyncio.to_thread(server.restart, 0.3)
            await _until(lambda: resyncs == 2, timeout=10)
            await a.publish(a.key("rooms"), b"after")
            await _until(lambda: got)
            alive = bool(await a.alive([b.worker]))  # the heartbeat key is back
        finally:
            await a.stop()
            await b.stop()
        return resyncs, got, alive

    with RedisServer() as server:
        resyncs, got, alive = asyncio.run(run(server))
    assert resyncs == 2
    assert got == [b"after"]
    assert alive


def test_a_resync_that_fails_is_tried_again_and_the_worker_keeps_hearing(redis_url):
    """A store's callback that raises (a bug, not Redis) must not end the subscriber: it
    reconnects, resyncs again, and messages still arrive."""
    async def run() -> tuple[int, list[bytes]]:
        a, b = Backplane(redis_url), Backplane(redis_url)
        got: list[bytes] = []
        calls = 0

        async def handler(data: bytes) -> None:
            got.append(data)

        async def resync() -> None:
            nonlocal calls
            calls += 1
            if calls == 1:
                raise TypeError("a bug in a store's resync")

        b.on_message(b.key("rooms"), handler)
        b.on_resync(resync)
        await a.start()
        await b.start()
        try:
            await _until(lambda: calls >= 2)
            await asyncio.wait_for(b.subscribed.wait(), 5)
            await a.publish(a.key("rooms"), b"heard")
            await _until(lambda: got)
        finally:
            await a.stop()
            await b.stop()
        return calls, got

    calls, got = asyncio.run(run())
    assert calls == 2 and got == [b"heard"]


def test_stop_ends_the_subscriber_even_when_a_cancellation_is_swallowed(redis_url, monkeypatch):
    # On Python 3.11 a cancellation that lands as a read's timeout expires can be taken for
    # the timeout: the read returns None as if nothing came. Here every cancellation is
    # swallowed that way, and stop() must still end the subscriber (it did not, once, and
    # the shutdown of a test's app waited for it for ever).
    from redis.asyncio.client import PubSub
    read = PubSub.get_message

    async def swallowing(self, *args, **kwargs):
        try:
            return await read(self, *args, **kwargs)
        except asyncio.CancelledError:
            asyncio.current_task().uncancel()
            return None

    monkeypatch.setattr(PubSub, "get_message", swallowing)

    async def run() -> tuple[bool, float]:
        plane = Backplane(redis_url)
        await plane.start()
        await asyncio.wait_for(plane.subscribed.wait(), 5)
        subscriber = next(t for t in plane._tasks if t.get_name() == "redis-subscriber")
        await asyncio.sleep(0.3)  # past its first steps: waiting for a message
        started = time.monotonic()
        await plane.stop()
        with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
            await asyncio.wait_for(asyncio.shield(subscriber), 5)
        done, took = subscriber.done(), time.monotonic() - started
        monkeypatch.undo()  # reads take cancellations again: a failing run still ends
        for _ in range(100):
            if subscriber.done():
                break
            subscriber.cancel()
            await asyncio.sleep(0.05)
        return done, took

    done, took = asyncio.run(run())
    assert done and took < 5
