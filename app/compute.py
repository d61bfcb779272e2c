"""The compute pool: heavy work (training, the gradient check) apart from everything else.

Pages, static files, sockets and the light API routes run on the event loop; the work a
request may make last seconds runs here, in at most ``workers`` threads of its own (never
the thread pool that serves files), so it can never take the threads or the loop the rest
of the app needs. Around it:

- **a queue cap**: at most ``queue`` requests wait for a free worker; the next one is
  refused at once with 503 and ``Retry-After`` (:class:`BusyError`);
- **a bounded wait**: a request that has waited ``max_wait`` seconds (by default
  ``timeout``) without getting a worker leaves the queue, refused the same way; so a
  request is answered within about ``max_wait + timeout`` seconds, however long the queue;
- **cancellation**: each job gets a ``should_stop`` callable that the engine asks between
  mini-batches and between the gradient check's forward passes
  (``engine.model.StoppedError``);
  it turns True when the client disconnects (a waiting job just leaves the queue), when
  the job has run ``timeout`` seconds (counted from when it got its worker: the wait is
  bounded by ``max_wait`` alone), and when the server shuts down (:func:`stop_all`);
- **a memory bound**: at most ``workers`` jobs hold their working memory at once, and a
  worker counts as busy until its thread has really finished, not just until its client
  left. What one job may hold is measured by ``bench/abuse_bench.py`` (README, "Running it
  for a class").

Threads are daemons: a job that ignored ``should_stop`` could never keep the process alive.
"""

from __future__ import annotations

import asyncio
import threading
import time
import weakref
from collections import deque
from collections.abc import Callable
from typing import TypeVar

from starlette.requests import Request

from engine.model import ShouldStop, StoppedError

T = TypeVar("T")

_pools: weakref.WeakSet[ComputePool] = weakref.WeakSet()


class BusyError(Exception):
    """Every worker is busy and the queue is full, the request waited ``max_wait`` seconds
    for a worker, or the server is shutting down."""

    def __init__(self, message: str, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TooLongError(Exception):
    """The job ran past the pool's time limit (its running time) and was stopped."""


class ClientGoneError(Exception):
    """The client disconnected before the answer was ready; the work was stopped."""


class ComputePool:
    """At most ``workers`` jobs at once, each stopped after running ``timeout`` seconds; at
    most ``queue`` more waiting, each for at most ``max_wait`` seconds (``timeout`` when not
    given)."""

    def __init__(self, *, workers: int, queue: int, timeout: float,
                 max_wait: float | None = None) -> None:
        max_wait = timeout if max_wait is None else max_wait
        if workers < 1 or queue < 0 or not timeout > 0 or not max_wait > 0:
            raise ValueError(f"a compute pool needs workers >= 1, queue >= 0, timeout > 0 and "
                             f"max_wait > 0, got {workers}, {queue}, {timeout}, {max_wait}")
        self.workers, self.queue, self.timeout = workers, queue, timeout
        self.max_wait = max_wait
        self.running = 0  # jobs whose thread has not finished yet
        self._waiting: deque[asyncio.Future[None]] = deque()
        self._stops: set[threading.Event] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self.closed = False
        _pools.add(self)

    @property
    def waiting(self) -> int:
        return len(self._waiting)

    def retry_after(self) -> int:
        """A guess, in whole seconds, of when a worker will be free again."""
        return max(1, min(60, round(self.timeout * (1 + len(self._waiting)) / self.workers / 4)))

    async def run(self, request: Request, work: Callable[[ShouldStop], T]) -> T:
        """``work(should_stop)`` on a worker thread, once one is free; its result.

        Raises :class:`BusyError` (the queue is full, or no worker came free within
        ``max_wait`` seconds), :class:`ClientGoneError` and :class:`TooLongError` (it ran
        past ``timeout`` seconds).
        """
        self._loop = asyncio.get_running_loop()
        gone = asyncio.ensure_future(_disconnected(request))
        gone.add_done_callback(_retrieve)  # a receive that failed counts as a client gone
        try:
            await self._slot(gone)
            return await self._start(work, gone)
        finally:
            gone.cancel()

    async def _slot(self, gone: asyncio.Future[None]) -> None:
        if self.closed:
            raise BusyError("the server is shutting down", 5)
        if self.running < self.workers and not self._waiting:
            self.running += 1
            return
        if len(self._waiting) >= self.queue:
            raise BusyError(f"the server is busy: {self.running} computations are running and "
                       f"{len(self._waiting)} are waiting, the most it queues; "
                       "try again shortly", self.retry_after())
        turn: asyncio.Future[None] = self._loop.create_future()  # type: ignore[union-attr]
        self._waiting.append(turn)
        try:
            await asyncio.wait({turn, gone}, timeout=self.max_wait,
                               return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            self._leave(turn)
            raise
        if not turn.done():
            self._leave(turn)
            if gone.done():
                raise ClientGoneError("the client left while its computation waited")
            raise BusyError(f"the server is busy: this computation waited {self.max_wait:g} s "
                            "for a worker, the most it waits; try again shortly",
                            self.retry_after())
        turn.result()  # raises BusyError when the pool closed meanwhile

    def _leave(self, turn: asyncio.Future[None]) -> None:
        if turn in self._waiting:
            self._waiting.remove(turn)
        elif turn.done() and not turn.cancelled() and turn.exception() is None:
            self._release()  # the slot was handed over just now: pass it on

    async def _start(self, work: Callable[[ShouldStop], T], gone: asyncio.Future[None]) -> T:
        loop = self._loop
        assert loop is not None
        stop = threading.Event()
        deadline = time.monotonic() + self.timeout
        result: asyncio.Future[T] = loop.create_future()

        def should_stop() -> bool:
            return stop.is_set() or time.monotonic() > deadline

        def finish(outcome: Callable[[], None]) -> None:
            self._stops.discard(stop)
            self._release()
            if not result.done():
                outcome()

        def body() -> None:
            try:
                value = work(should_stop)
            except BaseException as exc:  # handed to the awaiting request
                error = exc
                loop.call_soon_threadsafe(finish, lambda: result.set_exception(error))
            else:
                loop.call_soon_threadsafe(finish, lambda: result.set_result(value))

        self._stops.add(stop)
        if self.closed:
            stop.set()
        threading.Thread(target=body, name="convlens-compute", daemon=True).start()
        try:
            await asyncio.wait({result, gone}, return_when=asyncio.FIRST_COMPLETED)
        except asyncio.CancelledError:
            stop.set()
            result.cancel()  # nobody will read it
            raise
        if not result.done():
            stop.set()
            result.cancel()
            raise ClientGoneError("the client left; its computation was stopped")
        try:
            return result.result()
        except StoppedError:
            if self.closed:
                raise BusyError("the server is shutting down", 5) from None
            raise TooLongError(f"the computation took longer than the limit of {self.timeout:g} s "
                          "and was stopped") from None

    def _release(self) -> None:
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_result(None)  # the slot passes to it: running stays the same
                return
        self.running -= 1

    def close(self) -> None:
        """Stop every job and refuse the waiting ones (thread-safe: signal handlers call it)."""
        self.closed = True
        for stop in list(self._stops):
            stop.set()
        loop = self._loop
        if loop is not None and not loop.is_closed():
            loop.call_soon_threadsafe(self._refuse_waiting)

    def _refuse_waiting(self) -> None:
        while self._waiting:
            turn = self._waiting.popleft()
            if not turn.done():
                turn.set_exception(BusyError("the server is shutting down", 5))


def stop_all() -> None:
    """Shut every pool of this process: running work stops, waiting work is refused."""
    for pool in list(_pools):
        pool.close()


def _retrieve(future: asyncio.Future[None]) -> None:
    if not future.cancelled():
        future.exception()


async def _disconnected(request: Request) -> None:
    """Returns when the client has gone (the request's body has been read already)."""
    while True:
        message = await request.receive()
        if message["type"] == "http.disconnect":
            return

