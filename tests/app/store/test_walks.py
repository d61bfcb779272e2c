"""The Redis walk store against a real redis-server: what it keeps where, expiry that
slides over every key of an item at once, changes that are all or nothing, two workers
stepping one walk at once, and a Redis that is away. (What both stores share is tested on
both in ``tests/app/test_session_store.py``.)"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest
from fastapi.testclient import TestClient

import engine
from app.main import create_app
from app.sessions import LAST, Session
from app.settings import Settings
from app.store import walks
from app.store.backplane import SOCKET_TIMEOUT, Backplane
from app.store.codecs import SessionCodec
from app.store.walks import NotFoundError, RedisWalkStore, StoreUnavailableError
from tests.support.redisserver import RedisServer

STEPS = len(engine.STEPS)


def new_session() -> Session:
    x, y, params = engine.seed_example()
    return Session(engine.Config(), x, y, params, lr=0.1, seed=0)


def position(walk: Session) -> int:
    """Steps taken: epoch * STEPS + cursor + 1."""
    return walk.epoch * STEPS + walk.cursor + 1


def on_redis(url: str, body, *, stores: int = 1, **limits):
    """``await body(*stores)``: that many session stores, each with a Backplane (a worker)
    of its own, on the Redis at ``url``."""
    limits.setdefault("max_items", 100)
    limits.setdefault("ttl", 60)

    async def main():
        planes = [Backplane(url) for _ in range(stores)]
        try:
            return await body(*(RedisWalkStore(p, SessionCodec(), **limits) for p in planes))
        finally:
            for p in planes:
                await p.redis.aclose()

    return asyncio.run(main())


def keys_of(store: RedisWalkStore, item_id: str) -> tuple[str, str]:
    hash_key = store.plane.key("session", item_id)
    return hash_key, hash_key + ":list"


# -------------------------------------------------------------------------------- keys
def test_an_item_is_a_hash_a_list_of_epochs_and_two_index_entries(redis_url):
    async def body(store):
        walk = new_session()
        await store.add(walk, "10.0.0.7")
        await store.change(walk.id, lambda w: w.goto(2, 3))
        r = store.plane.redis
        hash_key, list_key = keys_of(store, walk.id)
        fields = await r.hgetall(hash_key)
        used = await r.zscore(store.plane.key("sessions", "used"), walk.id)
        own = await r.zscore(store.plane.key("sessions", "client", "10.0.0.7"), walk.id)
        return sorted(fields), int(fields[b"v"]), await r.llen(list_key), used, own

    fields, version, epochs, used, own = on_redis(redis_url, body)
    assert fields == [b"c", b"owner", b"state", b"v"]
    assert version == 2  # added, then changed once
    assert epochs == 3  # epochs 0, 1 and 2
    assert used is not None and used == own


def test_a_read_slides_the_expiry_of_every_key_of_the_item_in_one_call(redis_url):
    async def body(store):
        walk = new_session()
        await store.add(walk)
        await store.change(walk.id, lambda w: w.goto(1, 0))
        r = store.plane.redis
        hash_key, list_key = keys_of(store, walk.id)
        for key in (hash_key, list_key):  # as if 59 of the 60 s had passed
            await r.pexpire(key, 1000)
        before = [await r.pttl(k) for k in (hash_key, list_key)]
        await store.read(walk.id, lambda w: w.view())
        after = [await r.pttl(k) for k in (hash_key, list_key)]
        return before, after

    before, after = on_redis(redis_url, body, ttl=60)
    assert all(0 < t <= 1000 for t in before)
    assert all(59_000 < t <= 60_000 for t in after)


def test_an_evicted_or_deleted_item_leaves_no_key_behind(redis_url):
    async def body(store):
        a, b, c = new_session(), new_session(), new_session()
        for walk in (a, b):
            await store.add(walk, "one")
            await store.change(walk.id, lambda w: w.goto(1, 0))
        await store.add(c, "two")  # the store holds two: a, the least recently used, goes
        await store.delete(b.id)
        r = store.plane.redis
        left = [await r.exists(*keys_of(store, w.id)) for w in (a, b, c)]
        one = await r.zrange(store.plane.key("sessions", "client", "one"), 0, -1)
        used = await r.zrange(store.plane.key("sessions", "used"), 0, -1)
        return left, one, used, c.id.encode()

    left, one, used, c = on_redis(redis_url, body, max_items=2, protect=0)
    assert left == [0, 0, 2]
    assert one == [] and used == [c]


def test_a_refused_add_writes_nothing(redis_url):
    """A full store whose items are all protected refuses in the add script itself: the
    newcomer leaves no key and no index entry, and nobody's item was dropped."""
    async def body(store):
        a, b, newcomer = new_session(), new_session(), new_session()
        await store.add(a, "one")
        await store.add(b, "two")
        with pytest.raises(walks.StoreFullError) as refused:
            await store.add(newcomer, "three")
        r = store.plane.redis
        used = await r.zrange(store.plane.key("sessions", "used"), 0, -1)
        three = await r.exists(store.plane.key("sessions", "client", "three"))
        return (refused.value.retry_after, await r.exists(*keys_of(store, newcomer.id)),
                three, sorted(used) == sorted([a.id.encode(), b.id.encode()]))

    retry, left, three, kept = on_redis(redis_url, body, max_items=2, protect=30)
    assert 29 <= retry <= 30  # when a's protection ends
    assert (left, three, kept) == (0, 0, True)


@pytest.mark.slow  # a Redis of its own, real expiry or real processes
def test_the_count_and_the_caps_forget_ids_that_expired(redis_url):
    async def body(store):
        for _ in range(3):
            await store.add(new_session(), "one")
        counted = await store.count()
        await asyncio.sleep(0.5)  # every one has expired (ttl 0.3 s)
        after = await store.count()
        fresh = new_session()
        await store.add(fresh, "one")  # no room needs making: the expired ones are gone
        return counted, after, await store.count()

    assert on_redis(redis_url, body, ttl=0.3, max_per_client=3) == (3, 0, 1)


def test_a_load_fetches_the_first_and_last_two_epochs_only(redis_url):
    async def body(store):
        walk = new_session()
        await store.add(walk)
        await store.change(walk.id, lambda w: w.goto(6, 0))
        ends = await store._fetch(walk.id, "ends")
        whole = await store._fetch(walk.id, "all")
        return sorted(ends.entries), sorted(whole.entries), ends.length

    assert on_redis(redis_url, body) == ([0, 5, 6], list(range(7)), 7)


# --------------------------------------------------------------------------- changes
def test_a_change_that_raises_keeps_nothing(redis_url):
    def half_then_fail(walk: Session) -> None:
        walk.goto(1, 2)
        raise RuntimeError("refused")

    async def body(store):
        walk = new_session()
        await store.add(walk)
        await store.change(walk.id, Session.next)
        with pytest.raises(RuntimeError, match="refused"):
            await store.change(walk.id, half_then_fail)
        return await store.read(walk.id, lambda w: (w.epoch, w.cursor, len(w.history)))

    assert on_redis(redis_url, body) == (0, 0, 1)


def test_a_commit_sent_twice_is_kept_once(redis_url):
    """A commit whose reply was lost is sent again by the client, maybe after another
    worker's commits: it must not count as a conflict (which would run the step again)
    nor be applied twice."""
    async def body(store):
        walk = new_session()
        await store.add(walk)
        keys = [*keys_of(store, walk.id), store.plane.key("sessions", "used")]
        state = store.codec.encode(walk).state
        args = [walk.id, 60_000, b"1", "token-1", state, "-"]
        first = await store._commit(keys=keys, args=args)
        again = await store._commit(keys=keys, args=args)
        stale = await store._commit(keys=keys, args=[*args[:3], "token-2", *args[4:]])
        between = [await store._commit(keys=keys, args=[walk.id, 60_000, str(v).encode(),
                                                        f"other-{v}", state, "-"])
                   for v in range(2, 2 + walks.TOKENS - 1)]  # another worker's commits
        late = await store._commit(keys=keys, args=args)  # token-1's re-send, at last
        version = int(await store.plane.redis.hget(keys[0], "v"))
        remembered = await store._commit(keys=keys, args=[walk.id, 60_000, str(version)
                                                         .encode(), "other-3", state, "-"])
        return first, again, stale, set(between), late, version, remembered

    first, again, stale, between, late, version, remembered = on_redis(redis_url, body)
    assert (first, again, stale, between, late) == (1, 1, 0, {1}, 1)
    assert version == 1 + walks.TOKENS  # token-1 counted once, then the others
    assert remembered == 1  # other-3 is still remembered: it is not applied again either


def test_two_workers_stepping_one_walk_at_once_never_skip_or_repeat(redis_url):
    async def body(a, b):
        walk = new_session()
        await a.add(walk)

        async def step(store):
            def go(w: Session) -> int:
                w.next()
                return position(w)
            return await store.change(walk.id, go)

        got = await asyncio.gather(*(step(a if i % 2 else b) for i in range(2 * STEPS + 6)))
        final = await b.read(walk.id, position)
        return got, final

    got, final = on_redis(redis_url, body, stores=2)
    assert sorted(got) == list(range(1, 2 * STEPS + 7))  # each position once: none skipped
    assert final == 2 * STEPS + 6


@pytest.mark.slow  # a Redis of its own, real expiry or real processes
def test_two_apps_answer_concurrent_nexts_with_consecutive_steps(redis_url):
    """Two apps (two workers, each with its own Redis client and event loop) and eight
    threads sending next on one walk: every answer names a different step, and together
    they are every step from the first on."""
    settings = Settings(redis_url=redis_url)
    with TestClient(create_app(settings)) as one, TestClient(create_app(settings)) as two:
        sid = one.post("/api/sessions", json={}).json()["id"]
        answers: list[tuple[int, int]] = []
        failures: list[str] = []
        lock = threading.Lock()

        def send(client: TestClient) -> None:
            for _ in range(6):
                r = client.post(f"/api/sessions/{sid}/next")
                with lock:
                    if r.status_code != 200:
                        failures.append(r.text)
                    else:
                        answers.append((r.json()["epoch"], r.json()["cursor"]))

        threads = [threading.Thread(target=send, args=(one if i % 2 else two,))
                   for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        view = two.get(f"/api/sessions/{sid}").json()
    assert failures == []
    steps = sorted(e * STEPS + c for e, c in answers)
    assert steps == list(range(48))
    assert (view["epoch"], view["cursor"]) == divmod(47, STEPS)


# ---------------------------------------------------------------------- Redis away
@pytest.mark.slow  # a Redis of its own, real expiry or real processes
def test_a_store_whose_redis_is_away_says_so():
    server = RedisServer().start()
    url = server.url
    server.stop()

    async def body(store):
        errors = []
        for call in (lambda: store.add(new_session()), lambda: store.read("abc", repr),
                     lambda: store.change("abc", repr), lambda: store.count()):
            try:
                await call()
            except StoreUnavailableError as exc:
                errors.append(str(exc))
        return errors

    errors = on_redis(url, body)
    assert len(errors) == 4
    assert all("Redis" in e and "not answering" in e for e in errors)
    assert not any("127.0.0.1" in e or str(server.port) in e for e in errors)  # not for a page


@pytest.mark.slow  # a Redis of its own, real expiry or real processes
def test_requests_get_503_naming_redis_while_it_is_away_and_404_after_it_restarts(bodies):
    with RedisServer() as server:
        app = create_app(Settings(redis_url=server.url))
        with TestClient(app) as client:
            sid = client.post("/api/sessions", json=bodies.seed()).json()["id"]
            eid = client.post("/api/exercises", json={"step": "Z1", "seed": 1}).json()["id"]
            assert client.post(f"/api/sessions/{sid}/next").status_code == 200
            server.stop()
            answers = [client.get(f"/api/sessions/{sid}"),
                       client.post(f"/api/sessions/{sid}/next"),
                       client.post("/api/sessions", json={}),
                       client.get(f"/api/exercises/{eid}"),
                       client.post(f"/api/sessions/{sid}/gradcheck")]
            for r in answers:
                assert r.status_code == 503, r.text
                assert "Redis" in r.json()["detail"]
                assert int(r.headers["retry-after"]) >= 1
            server.start()  # empty: what it held is lost
            r = client.get(f"/api/sessions/{sid}")
            assert r.status_code == 404 and "no session" in r.json()["detail"]
            assert client.post("/api/sessions", json={}).status_code == 201


def test_an_id_no_store_can_hold_is_unknown_without_asking_redis():
    async def body(store):
        with pytest.raises(NotFoundError):
            await store.read("a:b", repr)  # would name another key; Redis is not even up
        return True

    assert on_redis("redis://127.0.0.1:1/0", body)


def test_the_last_epoch_walk_keeps_its_limit_in_redis(redis_url):
    async def body(store):
        walk = new_session()
        await store.add(walk)
        limit = walk.max_epochs
        await store.change(walk.id, lambda w: w.goto(limit, LAST))
        from app.sessions import EpochLimitError
        with pytest.raises(EpochLimitError):
            await store.change(walk.id, Session.next)
        return await store.read(walk.id, lambda w: (w.epoch, len(w.history))), limit

    (epoch, kept), limit = on_redis(redis_url, body)
    assert epoch == limit and kept == limit + 1


def test_a_full_redis_is_a_503_naming_it_not_a_500(bodies):
    with RedisServer() as server, \
            TestClient(create_app(Settings(redis_url=server.url))) as client:
        sid = client.post("/api/sessions", json=bodies.seed()).json()["id"]
        asyncio.run(_set_maxmemory(server.url, 1))  # every write is refused now
        r = client.post(f"/api/sessions/{sid}/next")
        assert r.status_code == 503, r.text
        assert "maxmemory" in r.json()["detail"] and "Redis" in r.json()["detail"]
        assert int(r.headers["retry-after"]) >= 1
        asyncio.run(_set_maxmemory(server.url, 0))
        r = client.post(f"/api/sessions/{sid}/next")
        assert r.status_code == 200 and r.json()["cursor"] == 0  # the refused one took none


async def _set_maxmemory(url: str, limit: int) -> None:
    plane = Backplane(url)
    try:
        await plane.redis.config_set("maxmemory", limit)
    finally:
        await plane.redis.aclose()


@pytest.mark.slow  # a Redis of its own, real expiry or real processes
def test_a_change_that_always_loses_the_race_gives_up_and_keeps_nothing(redis_url):
    """Every time fn runs, another writer changes the walk first (here: a plain Redis
    client bumping its version): the store runs fn again, RETRIES times, then says the walk
    is busy (503), and nothing fn did is kept."""
    import redis


    runs = []
    other = redis.Redis.from_url(redis_url)

    async def body(store):
        walk = new_session()
        await store.add(walk)
        hash_key, _ = keys_of(store, walk.id)

        def contested(w: Session) -> None:
            runs.append(w.cursor)
            other.hincrby(hash_key, "v", 1)  # someone else's change lands first
            w.next()

        with pytest.raises(walks.BusyStoreError, match="many requests") as caught:
            await store.change(walk.id, contested)
        assert isinstance(caught.value, StoreUnavailableError)
        return await store.read(walk.id, lambda w: w.cursor)

    try:
        assert on_redis(redis_url, body) == -1
    finally:
        other.close()
    assert runs == [-1] * walks.RETRIES


@pytest.mark.slow
def test_a_redis_that_hangs_is_a_503_not_a_hung_request(bodies):
    """Redis stopped mid-flight (SIGSTOP: the socket stays open, nothing answers): the
    client's timeouts turn the request into a 503 naming the timeout; once Redis resumes,
    the walk is there again."""
    import signal

    with RedisServer() as server, \
            TestClient(create_app(Settings(redis_url=server.url))) as client:
        sid = client.post("/api/sessions", json=bodies.seed()).json()["id"]
        server.proc.send_signal(signal.SIGSTOP)
        try:
            asked = time.monotonic()
            r = client.post(f"/api/sessions/{sid}/next")
            waited = time.monotonic() - asked
        finally:
            server.proc.send_signal(signal.SIGCONT)
        assert r.status_code == 503, r.text
        # one command's timeout (SOCKET_TIMEOUT, 1 s), not one per retry
        assert waited < 2 * SOCKET_TIMEOUT + 0.5
        assert "Redis" in r.json()["detail"] and "Timeout" in r.json()["detail"]
        r = client.post(f"/api/sessions/{sid}/next")
        assert r.status_code == 200 and r.json()["cursor"] == 0
