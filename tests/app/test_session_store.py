"""The session store: capped with least-recently-used eviction, an idle TTL, per client.

Tests taking the ``backend`` fixture run on both stores (memory, and Redis with real
expiry); the clock-driven HTTP expiry, thread safety and history size are the memory
store's own."""

from __future__ import annotations

import asyncio
import threading

import pytest
from fastapi.testclient import TestClient

import engine
from app import serialize
from app.main import create_app
from app.sessions import Session
from app.settings import Settings
from app.store.walks import MemoryWalkStore, NotFoundError
from tests.app.conftest import BACKENDS, backend_settings


def new_session() -> Session:
    x, y, params = engine.seed_example()
    return Session(engine.Config(), x, y, params, lr=0.1, seed=0)


def view_bytes(session: Session) -> bytes:
    return serialize.dumps(session.view())


async def held(store, session: Session) -> bool:
    """Whether the store still holds ``session`` (marking it used): in memory the very
    object, in Redis one that shows the same bytes."""
    try:
        if isinstance(store, MemoryWalkStore):
            return await store.read(session.id, lambda got: got is session)
        return await store.read(session.id, view_bytes) == view_bytes(session)
    except NotFoundError:
        return False


def test_ids_are_unguessable_and_distinct():
    ids = {new_session().id for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) >= 20 for i in ids)


def test_the_least_recently_used_session_is_evicted(backend):
    async def body(store):
        a, b, c = new_session(), new_session(), new_session()
        for s in (a, b, c):
            await store.add(s)
        assert await held(store, a)  # a is now the most recently used; b the least
        d = new_session()
        await store.add(d)
        assert await store.count() == 3
        with pytest.raises(KeyError):
            await store.read(b.id, view_bytes)
        return [await held(store, s) for s in (a, c, d)]

    assert backend.run(body, max_items=3) == [True, True, True]


def test_idle_sessions_expire_and_use_keeps_them_alive(backend):
    ttl = backend.ttl

    async def body(store):
        a, b = new_session(), new_session()
        await store.add(a)
        await store.add(b)
        await backend.advance(0.6 * ttl)
        assert await held(store, a)
        await backend.advance(0.6 * ttl)  # b idle 1.2 ttl, a 0.6
        with pytest.raises(KeyError):
            await store.read(b.id, view_bytes)
        assert await held(store, a)
        await backend.advance(1.1 * ttl)
        with pytest.raises(KeyError):
            await store.read(a.id, view_bytes)
        return await store.count()

    assert backend.run(body, max_items=10) == 0


def test_a_change_slides_the_expiry_as_a_read_does(backend):
    ttl = backend.ttl

    async def body(store):
        a = new_session()
        await store.add(a)
        await backend.advance(0.6 * ttl)
        await store.change(a.id, Session.next)
        await backend.advance(0.6 * ttl)  # 1.2 ttl since it was added, 0.6 since changed
        return await store.read(a.id, lambda s: s.cursor)

    assert backend.run(body, max_items=10) == 0


def test_expiry_over_http(clock, bodies):
    app = create_app(Settings(session_ttl=30))
    app.state.sessions.clock = clock

    with TestClient(app) as client:
        sid = client.post("/api/sessions", json=bodies.seed()).json()["id"]
        clock.advance(29)
        assert client.post(f"/api/sessions/{sid}/next").status_code == 200
        clock.advance(29)
        assert client.get(f"/api/sessions/{sid}").status_code == 200
        clock.advance(31)
        r = client.get(f"/api/sessions/{sid}")
        assert r.status_code == 404
        assert "expired" in r.json()["detail"]


@pytest.mark.parametrize("name", BACKENDS)
def test_eviction_over_http(request, name):
    settings = Settings(max_sessions=2, **backend_settings(request, name))
    with TestClient(create_app(settings)) as client:
        ids = [client.post("/api/sessions", json={}).json()["id"] for _ in range(3)]
        assert client.get(f"/api/sessions/{ids[0]}").status_code == 404
        assert all(client.get(f"/api/sessions/{i}").status_code == 200 for i in ids[1:])


def test_concurrent_use_keeps_the_store_consistent():
    store = MemoryWalkStore(kind="session", max_items=50, ttl=1000)
    errors: list[BaseException] = []
    kept: list[Session] = []

    async def work() -> None:
        for _ in range(40):
            s = new_session()
            await store.add(s)
            kept.append(s)
            try:
                await store.change(s.id, Session.next)
            except KeyError:  # evicted by another thread in between
                continue

    def thread() -> None:
        try:
            asyncio.run(work())
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=thread) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert asyncio.run(store.count()) == 50
    assert len(kept) == 320


def test_concurrent_steps_on_one_session_are_serialised(fresh_client):
    sid = fresh_client.post("/api/sessions", json={}).json()["id"]
    store = fresh_client.app.state.sessions

    def step() -> None:
        async def fifty() -> None:
            for _ in range(50):
                await store.change(sid, Session.next)
        asyncio.run(fifty())

    threads = [threading.Thread(target=step) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    steps = len(engine.STEPS)
    epoch, cursor = asyncio.run(store.read(sid, lambda s: (s.epoch, s.cursor)))
    assert epoch * steps + cursor == 200 - 1


# ------------------------------------------------------------------ per client, in bytes
def test_one_client_cannot_evict_everyone_elses_sessions(backend):
    async def body(store):
        others = [new_session() for _ in range(4)]
        for i, s in enumerate(others):
            await store.add(s, f"student-{i}")
        mine = [new_session() for _ in range(50)]
        for s in mine:
            await store.add(s, "greedy")
            if backend.name == "memory":
                backend.clock.advance(1)
        assert [await held(store, s) for s in others] == [True] * 4
        kept = [s for s in mine if await held(store, s)]
        assert kept == mine[-3:]  # its own most recent three, nobody else's
        return await store.count()

    assert backend.run(body, max_items=10, max_per_client=3) == 7


def test_a_client_s_own_least_recently_used_goes_first(backend):
    async def body(store):
        a, b, c = new_session(), new_session(), new_session()
        await store.add(a, "one")
        await store.add(b, "one")
        await store.add(c, "two")
        assert await held(store, a)  # b is now the least recently used of client one
        d = new_session()
        await store.add(d, "one")
        return [await held(store, s) for s in (a, b, c, d)]

    assert backend.run(body, max_items=10, max_per_client=2) == [True, False, True, True]


def test_delete_and_unknown_ids(backend):
    async def body(store):
        a, b = new_session(), new_session()
        await store.add(a)
        await store.add(b)
        await store.delete(a.id)
        outcomes = []
        for call in (lambda: store.read(a.id, view_bytes),
                     lambda: store.change(a.id, Session.next),
                     lambda: store.delete(a.id),
                     lambda: store.read("never-made", view_bytes),
                     lambda: store.read("no:such*id", view_bytes)):
            try:
                await call()
                outcomes.append("found")
            except NotFoundError as exc:
                assert isinstance(exc, KeyError)
                outcomes.append("gone")
        return outcomes, await held(store, b), await store.count()

    assert backend.run(body) == (["gone"] * 5, True, 1)


@pytest.mark.parametrize("name", BACKENDS)
def test_the_per_client_cap_over_http(request, name):
    settings = Settings(max_sessions_per_client=2, **backend_settings(request, name))
    with TestClient(create_app(settings)) as client:
        ids = [client.post("/api/sessions", json={}).json()["id"] for _ in range(3)]
        assert [client.get(f"/api/sessions/{i}").status_code for i in ids] == [404, 200, 200]


def test_a_session_s_history_is_counted_in_the_bytes_it_really_holds():
    import gc
    import tracemalloc

    from app.sessions import MAX_KEPT_BYTES, epoch_bytes

    config = engine.Config()
    x, y, params = engine.seed_example(config)
    session = Session(config, x, y, params, lr=0.1, seed=0)
    steps = len(engine.STEPS)
    for _ in range(steps):  # the first epoch's trace and records are made once
        session.next()
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    epochs = 200
    for _ in range(epochs * steps):
        session.next()
    session._trace, session._records = None, None  # compare history alone
    gc.collect()
    grown = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    per_epoch = grown / epochs
    assert 0.7 * per_epoch < epoch_bytes(config) < 1.3 * per_epoch
    assert session.max_epochs * epoch_bytes(config) <= MAX_KEPT_BYTES
