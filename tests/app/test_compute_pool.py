"""The compute pool: bounded, queued, cancellable; and the routes that use it."""

from __future__ import annotations

import asyncio
import threading

import pytest

import engine
from app.compute import BusyError, ClientGoneError, ComputePool, TooLongError
from engine.model import StoppedError


class FakeRequest:
    """What the pool reads of a request: ``receive``, which says http.disconnect once the
    test lets the client go."""

    def __init__(self) -> None:
        self.gone = asyncio.Event()

    async def receive(self) -> dict:
        await self.gone.wait()
        return {"type": "http.disconnect"}


def spin(started: threading.Event | None = None, seen: list | None = None):
    """Work that runs until it is told to stop, and records that it was."""

    def work(should_stop) -> str:
        if started is not None:
            started.set()
        for _ in range(2_000_000):  # bounded: ~seconds at most
            if should_stop():
                if seen is not None:
                    seen.append("stopped")
                raise StoppedError("stopped")
            threading.Event().wait(0.001)
        return "finished"

    return work


async def until(condition, limit: float = 10.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + limit
    while not condition():
        assert loop.time() < deadline, "the condition never came true"
        await asyncio.sleep(0.01)


def test_results_and_errors_come_back():
    async def main() -> None:
        pool = ComputePool(workers=2, queue=2, timeout=10)
        assert await pool.run(FakeRequest(), lambda stop: 6 * 7) == 42
        with pytest.raises(ValueError, match="bad"):
            await pool.run(FakeRequest(), lambda stop: (_ for _ in ()).throw(ValueError("bad")))
        assert pool.running == 0

    asyncio.run(main())


def test_at_most_workers_run_and_the_queue_is_capped():
    async def main() -> None:
        pool = ComputePool(workers=2, queue=3, timeout=30)
        active, most, lock = [0], [0], threading.Lock()
        release = threading.Event()

        def work(stop) -> int:
            with lock:
                active[0] += 1
                most[0] = max(most[0], active[0])
            release.wait(10)
            with lock:
                active[0] -= 1
            return 1

        jobs = [asyncio.ensure_future(pool.run(FakeRequest(), work)) for _ in range(5)]
        await until(lambda: pool.running == 2 and pool.waiting == 3)
        with pytest.raises(BusyError) as refused:
            await pool.run(FakeRequest(), work)
        assert refused.value.retry_after >= 1
        release.set()
        assert await asyncio.gather(*jobs) == [1] * 5
        assert most[0] == 2
        assert (pool.running, pool.waiting) == (0, 0)

    asyncio.run(main())


def test_a_job_that_waits_past_max_wait_is_refused_and_leaves_the_queue():
    """The wait for a worker is bounded apart from the running time: behind a long job, a
    queued one is refused (503, Retry-After) once it has waited max_wait seconds."""
    async def main() -> None:
        pool = ComputePool(workers=1, queue=2, timeout=60, max_wait=0.2)
        started, release = threading.Event(), threading.Event()

        def long(stop) -> str:
            started.set()
            release.wait(10)
            return "long"

        running = asyncio.ensure_future(pool.run(FakeRequest(), long))
        await until(started.is_set)
        ran = []
        loop = asyncio.get_running_loop()
        asked = loop.time()
        with pytest.raises(BusyError, match=r"waited 0\.2 s") as refused:
            await pool.run(FakeRequest(), lambda stop: ran.append(1))
        waited = loop.time() - asked
        assert 0.2 <= waited < 2
        assert refused.value.retry_after >= 1
        assert (pool.waiting, ran) == (0, [])
        release.set()
        assert await running == "long"
        await until(lambda: pool.running == 0)

    asyncio.run(main())


def test_a_job_that_gets_its_worker_within_max_wait_runs():
    async def main() -> None:
        pool = ComputePool(workers=1, queue=1, timeout=60, max_wait=5)
        started = threading.Event()

        def short(stop) -> str:
            started.set()
            threading.Event().wait(0.3)
            return "first"

        first = asyncio.ensure_future(pool.run(FakeRequest(), short))
        await until(started.is_set)
        second = asyncio.ensure_future(pool.run(FakeRequest(), lambda stop: "second"))
        await until(lambda: pool.waiting == 1)
        assert await asyncio.gather(first, second) == ["first", "second"]
        assert (pool.running, pool.waiting) == (0, 0)

    asyncio.run(main())


def test_the_wait_does_not_count_towards_the_running_time():
    """A job that waited nearly max_wait still gets its whole timeout to run."""
    async def main() -> None:
        pool = ComputePool(workers=1, queue=1, timeout=0.6, max_wait=1)
        started = threading.Event()

        def hold(stop) -> str:
            started.set()
            threading.Event().wait(0.5)
            return "held"

        def runs_a_while(stop) -> str:
            for _ in range(40):  # 0.4 s: past timeout - wait, within timeout
                if stop():
                    raise StoppedError("stopped")
                threading.Event().wait(0.01)
            return "done"

        first = asyncio.ensure_future(pool.run(FakeRequest(), hold))
        await until(started.is_set)
        assert await asyncio.gather(first, pool.run(FakeRequest(), runs_a_while)) == [
            "held", "done"]

    asyncio.run(main())


def test_a_pool_s_max_wait_defaults_to_its_timeout_and_must_be_positive():
    assert ComputePool(workers=1, queue=0, timeout=7).max_wait == 7
    with pytest.raises(ValueError, match="max_wait"):
        ComputePool(workers=1, queue=0, timeout=7, max_wait=0)


def test_the_app_s_pool_takes_its_wait_from_the_settings():
    from app.main import create_app
    from app.settings import Settings

    assert create_app(Settings(compute_max_wait=4.5)).state.compute.max_wait == 4.5
    assert Settings.from_env({"CONVLENS_COMPUTE_MAX_WAIT": "12"}).compute_max_wait == 12
    with pytest.raises(ValueError, match="compute_max_wait"):
        Settings.from_env({"CONVLENS_COMPUTE_MAX_WAIT": "0"})


def test_a_client_that_leaves_stops_its_work_and_frees_the_worker():
    async def main() -> None:
        pool = ComputePool(workers=1, queue=1, timeout=60)
        started, seen = threading.Event(), []
        request = FakeRequest()
        job = asyncio.ensure_future(pool.run(request, spin(started, seen)))
        await until(started.is_set)
        request.gone.set()
        with pytest.raises(ClientGoneError):
            await job
        await until(lambda: pool.running == 0)
        assert seen == ["stopped"]
        assert await pool.run(FakeRequest(), lambda stop: "next") == "next"

    asyncio.run(main())


def test_a_client_that_leaves_the_queue_never_runs():
    async def main() -> None:
        pool = ComputePool(workers=1, queue=2, timeout=60)
        started = threading.Event()
        first = FakeRequest()
        running = asyncio.ensure_future(pool.run(first, spin(started)))
        await until(started.is_set)
        ran = []
        waiting_request = FakeRequest()
        waiting = asyncio.ensure_future(pool.run(waiting_request, lambda stop: ran.append(1)))
        await until(lambda: pool.waiting == 1)
        waiting_request.gone.set()
        with pytest.raises(ClientGoneError):
            await waiting
        assert pool.waiting == 0
        first.gone.set()
        with pytest.raises(ClientGoneError):
            await running
        await until(lambda: pool.running == 0)
        assert ran == []

    asyncio.run(main())


def test_work_past_the_time_limit_is_stopped():
    async def main() -> None:
        pool = ComputePool(workers=1, queue=0, timeout=0.2)
        seen = []
        with pytest.raises(TooLongError, match=r"0\.2 s"):
            await pool.run(FakeRequest(), spin(seen=seen))
        assert seen == ["stopped"]

    asyncio.run(main())


def test_shutdown_stops_running_work_and_refuses_the_queue():
    async def main() -> None:
        pool = ComputePool(workers=1, queue=2, timeout=60)
        started, seen = threading.Event(), []
        running = asyncio.ensure_future(pool.run(FakeRequest(), spin(started, seen)))
        await until(started.is_set)
        waiting = asyncio.ensure_future(pool.run(FakeRequest(), lambda stop: "never"))
        await until(lambda: pool.waiting == 1)
        pool.close()  # what stop_all() does to every pool on SIGTERM (test_serving: for real)
        for job in (running, waiting):
            with pytest.raises(BusyError, match="shutting down"):
                await job
        await until(lambda: pool.running == 0)
        assert seen == ["stopped"]
        with pytest.raises(BusyError):
            await pool.run(FakeRequest(), lambda stop: "after")

    asyncio.run(main())


def test_an_abandoned_gradient_check_stops_part_way(monkeypatch, bodies):
    """The whole app, a client that hangs up: the gradient check stops long before it has
    made its 2 x 6,289 forward passes, and the worker is free again."""
    import engine.model as model
    from app.main import create_app
    from app.settings import Settings

    calls = [0]
    original = model.loss

    def counted(*args, **kwargs):
        calls[0] += 1
        return original(*args, **kwargs)

    monkeypatch.setattr(model, "loss", counted)
    config = engine.Config(input_size=28, kernel_size=1, filters=8, pool_size=1)
    body = bodies.random(config, seed=0)
    app = create_app(Settings(compute_workers=1, compute_queue=0))

    async def main() -> list[dict]:
        import orjson

        payload = orjson.dumps(body)
        left = asyncio.Event()
        sent: list[dict] = []
        messages = [{"type": "http.request", "body": payload, "more_body": False}]

        async def receive() -> dict:
            if messages:
                return messages.pop(0)
            await left.wait()
            return {"type": "http.disconnect"}

        async def send(message: dict) -> None:
            sent.append(message)

        scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
                 "method": "POST", "path": "/api/gradcheck", "raw_path": b"/api/gradcheck",
                 "query_string": b"", "root_path": "", "scheme": "http",
                 "server": ("127.0.0.1", 8000), "client": ("127.0.0.1", 5000),
                 "headers": [(b"host", b"127.0.0.1:8000"),
                             (b"content-type", b"application/json"),
                             (b"content-length", str(len(payload)).encode())]}
        call = asyncio.ensure_future(app(scope, receive, send))
        pool = app.state.compute
        await until(lambda: calls[0] > 20)
        left.set()
        await call
        await until(lambda: pool.running == 0)
        return sent

    sent = asyncio.run(main())
    assert calls[0] < config.n_params  # not 2 x 6,289: it stopped part way
    assert sent[0]["status"] == 499


def test_a_walks_gradient_check_runs_in_the_compute_pool(client):
    """Like /api/gradcheck, a session's check is heavy work: queued, capped, stoppable."""
    pool = client.app.state.compute
    used = []
    original = pool.run

    async def counted(request, work):
        used.append(work)
        return await original(request, work)

    pool.run = counted
    try:
        walk = client.post("/api/sessions", json={}).json()
        db1 = engine.STEP_NAMES.index("db1")
        client.post(f"/api/sessions/{walk['id']}/goto", json={"cursor": db1})
        r = client.post(f"/api/sessions/{walk['id']}/gradcheck")
    finally:
        pool.run = original
    assert r.status_code == 200 and len(used) == 1
    assert set(r.json()["params"]) == {"W1", "b1", "W2", "b2"}
