"""The session store: capped with least-recently-used eviction, an idle TTL, thread-safe."""

from __future__ import annotations

import threading

import pytest

import engine
from app.main import create_app
from app.sessions import Session, SessionStore
from app.settings import Settings


def new_session() -> Session:
    x, y, params = engine.seed_example()
    return Session(engine.Config(), x, y, params, lr=0.1, seed=0)


def test_ids_are_unguessable_and_distinct():
    ids = {new_session().id for _ in range(200)}
    assert len(ids) == 200
    assert all(len(i) >= 20 for i in ids)


def test_the_least_recently_used_session_is_evicted(clock):
    store = SessionStore(max_sessions=3, ttl=100, clock=clock)
    a, b, c = new_session(), new_session(), new_session()
    for s in (a, b, c):
        store.add(s)
        clock.advance(1)
    store.get(a.id)  # a is now the most recently used; b the least
    d = new_session()
    store.add(d)
    assert len(store) == 3
    with pytest.raises(KeyError):
        store.get(b.id)
    for s in (a, c, d):
        assert store.get(s.id) is s


def test_idle_sessions_expire_and_use_keeps_them_alive(clock):
    store = SessionStore(max_sessions=10, ttl=60, clock=clock)
    a, b = new_session(), new_session()
    store.add(a)
    store.add(b)
    clock.advance(50)
    store.get(a.id)
    clock.advance(20)  # b idle 70 s, a 20 s
    with pytest.raises(KeyError):
        store.get(b.id)
    assert store.get(a.id) is a
    clock.advance(60.5)
    with pytest.raises(KeyError):
        store.get(a.id)
    assert len(store) == 0


def test_expiry_over_http(clock, bodies):
    app = create_app(Settings(session_ttl=30))
    app.state.sessions.clock = clock
    from fastapi.testclient import TestClient

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


def test_eviction_over_http(bodies):
    from fastapi.testclient import TestClient

    with TestClient(create_app(Settings(max_sessions=2))) as client:
        ids = [client.post("/api/sessions", json={}).json()["id"] for _ in range(3)]
        assert client.get(f"/api/sessions/{ids[0]}").status_code == 404
        assert all(client.get(f"/api/sessions/{i}").status_code == 200 for i in ids[1:])


def test_concurrent_use_keeps_the_store_consistent():
    store = SessionStore(max_sessions=50, ttl=1000)
    errors: list[BaseException] = []
    kept: list[Session] = []

    def work() -> None:
        try:
            for _ in range(40):
                s = new_session()
                store.add(s)
                kept.append(s)
                try:
                    got = store.get(s.id)
                except KeyError:  # evicted by another thread in between
                    continue
                with got.lock:
                    got.next()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(store) == 50
    assert len(kept) == 320


def test_concurrent_steps_on_one_session_are_serialised(fresh_client):
    sid = fresh_client.post("/api/sessions", json={}).json()["id"]
    store = fresh_client.app.state.sessions
    session = store.get(sid)

    def step() -> None:
        for _ in range(50):
            with session.lock:
                session.next()

    threads = [threading.Thread(target=step) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    steps = len(engine.STEPS)
    assert session.epoch * steps + session.cursor == 200 - 1


# ------------------------------------------------------------------ per client, in bytes
def test_one_client_cannot_evict_everyone_elses_sessions(clock):
    from app.sessions import SessionStore

    store = SessionStore(max_sessions=10, ttl=100, max_per_client=3, clock=clock)
    others = [new_session() for _ in range(4)]
    for i, s in enumerate(others):
        store.add(s, f"student-{i}")
    mine = [new_session() for _ in range(50)]
    for s in mine:
        store.add(s, "greedy")
        clock.advance(1)
    for s in others:
        assert store.get(s.id) is s
    kept = [s for s in mine if _alive(store, s)]
    assert kept == mine[-3:]  # its own most recent three, nobody else's
    assert len(store) == 7


def _alive(store, session) -> bool:
    try:
        store.get(session.id)
        return True
    except KeyError:
        return False


def test_the_per_client_cap_over_http():
    from fastapi.testclient import TestClient

    with TestClient(create_app(Settings(max_sessions_per_client=2))) as client:
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
