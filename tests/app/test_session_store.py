"""The session store: capped with least-recently-used eviction (never of an item used in
the last ``protect`` seconds: a newcomer is refused instead), an idle TTL, per client.

Tests taking the ``backend`` fixture run on both stores (memory, and Redis with real
expiry); the clock-driven HTTP expiry, thread safety and history size are the memory
store's own."""

from __future__ import annotations

import asyncio
import math
import threading
import time

import pytest
from fastapi.testclient import TestClient

import engine
from app import serialize
from app.main import create_app
from app.sessions import Session
from app.settings import Settings
from app.store.walks import MemoryWalkStore, NotFoundError, StoreFullError, StoreUnavailableError
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
    """With no protection (0 s) the least recently used always goes."""
    settings = Settings(max_sessions=2, session_protect=0, **backend_settings(request, name))
    with TestClient(create_app(settings)) as client:
        ids = [client.post("/api/sessions", json={}).json()["id"] for _ in range(3)]
        assert client.get(f"/api/sessions/{ids[0]}").status_code == 404
        assert all(client.get(f"/api/sessions/{i}").status_code == 200 for i in ids[1:])


# ------------------------------------------------------------ a full store: protection
def test_a_full_store_refuses_a_newcomer_rather_than_evict_a_recent_item(backend):
    ttl = backend.ttl

    async def body(store):
        victim = new_session()
        await store.add(victim, "victim")
        await backend.advance(0.1 * ttl)
        others = [new_session() for _ in range(2)]
        for i, s in enumerate(others):
            await store.add(s, f"attacker-{i}")
        with pytest.raises(StoreFullError) as refused:
            await store.add(new_session(), "attacker-2")
        return (refused.value, [await held(store, s) for s in (victim, *others)],
                await store.count())

    refused, kept, count = backend.run(body, max_items=3, max_per_client=2,
                                       protect=0.5 * ttl)
    assert kept == [True] * 3 and count == 3  # nobody's item was evicted
    assert isinstance(refused, StoreUnavailableError)  # the app's 503 with Retry-After
    # the victim's protection ends 0.4 ttl from now: 24 fake seconds, or 0.4 s -> 1 s
    assert refused.retry_after == max(1, math.ceil(0.4 * ttl))
    assert "session" in str(refused)


def test_an_item_idle_past_its_protection_is_evicted_for_a_newcomer(backend):
    ttl = backend.ttl

    async def body(store):
        a, b, c = new_session(), new_session(), new_session()
        for s, who in ((a, "one"), (b, "two"), (c, "three")):
            await store.add(s, who)
        await backend.advance(0.6 * ttl)  # all idle past protect (0.5 ttl), none expired
        assert await held(store, b) and await held(store, c)  # used again: protected
        d = new_session()
        await store.add(d, "four")  # a, idle 0.6 ttl, goes
        return [await held(store, s) for s in (a, b, c, d)], await store.count()

    assert backend.run(body, max_items=3, protect=0.5 * ttl) == ([False, True, True, True], 3)


def test_a_client_s_own_cap_still_makes_room_in_a_full_store(backend):
    async def body(store):
        a, b, c, d = (new_session() for _ in range(4))
        await store.add(a, "one")
        await store.add(b, "one")
        await store.add(c, "two")  # full, every item protected
        await store.add(d, "one")  # its own least recently used goes: no refusal
        return [await held(store, s) for s in (a, b, c, d)]

    assert backend.run(body, max_items=3, max_per_client=2) == [False, True, True, True]


def test_protection_longer_than_the_ttl_waits_only_for_the_expiry(clock):
    store = MemoryWalkStore(kind="session", max_items=1, ttl=60, protect=600, clock=clock)
    asyncio.run(store.add(new_session(), "one"))
    clock.advance(20)
    with pytest.raises(StoreFullError) as refused:
        asyncio.run(store.add(new_session(), "two"))
    assert refused.value.retry_after == 40  # when the oldest expires, not 580 s
    clock.advance(41)
    asyncio.run(store.add(new_session(), "two"))  # the first expired: room again


def test_the_protection_is_a_setting_passed_to_both_stores():
    s = Settings.from_env({"CONVLENS_SESSION_PROTECT": "90", "CONVLENS_EXERCISE_PROTECT": "0"})
    assert (Settings().session_protect, s.session_protect, s.exercise_protect) == (600, 90, 0)
    app = create_app(s)
    assert (app.state.sessions.protect, app.state.exercises.protect) == (90, 0)
    for bad in ("-1", "nan", "inf"):
        with pytest.raises(ValueError, match="session_protect"):
            Settings.from_env({"CONVLENS_SESSION_PROTECT": bad})


ADDRESS = "x-test-address"


def from_address_header(app):
    """``app``, with the client address each request names in ``ADDRESS`` (one TestClient
    sends as many addresses as a test needs; the lifespan is the app's own)."""
    async def addressed(scope, receive, send):
        if scope["type"] == "http":
            named = dict(scope["headers"]).get(ADDRESS.encode())
            if named:
                scope = {**scope, "client": (named.decode(), 5000)}
        await app(scope, receive, send)

    return addressed


@pytest.mark.parametrize("name", BACKENDS)
def test_many_addresses_cannot_evict_a_recent_walk_or_exercise(request, name, clock):
    """Six addresses creating walks and exercises in a full store get 503s, not the
    victim's walk and exercise; once those sit unused past the protection, a newcomer may
    take their place."""
    protect = 600.0 if name == "memory" else 2.0  # fake seconds, or real ones in Redis
    settings = Settings(max_sessions=3, max_exercises=3, session_protect=protect,
                        exercise_protect=protect, **backend_settings(request, name))
    app = create_app(settings)
    if name == "memory":
        app.state.sessions.clock = app.state.exercises.clock = clock

    def wait(seconds: float) -> None:
        if name == "memory":
            clock.advance(seconds)
        else:
            time.sleep(seconds)  # Redis scores items by its own clock

    kinds = {"sessions": {}, "exercises": {"step": "Z1", "seed": 1}}
    with TestClient(from_address_header(app)) as client:
        def create(kind: str, address: str):
            return client.post(f"/api/{kind}", json=kinds[kind], headers={ADDRESS: address})

        def status(kind: str, item_id: str) -> int:
            return client.get(f"/api/{kind}/{item_id}").status_code

        victim = {kind: create(kind, "10.0.0.1").json()["id"] for kind in kinds}
        wait(0.2 * protect)
        made: dict[str, list[str]] = {kind: [] for kind in kinds}
        for i in range(6):
            for kind in kinds:
                for _ in range(2):
                    r = create(kind, f"10.0.1.{i}")
                    if r.status_code == 201:
                        made[kind].append(r.json()["id"])
                        continue
                    assert r.status_code == 503, r.text
                    assert 1 <= int(r.headers["retry-after"]) <= math.ceil(0.8 * protect)
                    assert "try again" in r.json()["detail"]
        assert {kind: len(ids) for kind, ids in made.items()} == {"sessions": 2, "exercises": 2}
        assert [status(kind, victim[kind]) for kind in kinds] == [200, 200]

        wait(1.2 * protect)  # the victim's items now sit unused past the protection
        for kind, ids in made.items():
            assert [status(kind, i) for i in ids] == [200, 200]  # used again: protected
        assert [create(kind, "10.0.2.1").status_code for kind in kinds] == [201, 201]
        assert [status(kind, victim[kind]) for kind in kinds] == [404, 404]


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
