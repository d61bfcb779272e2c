"""Rooms shared through Redis: two workers (a Hub and a backplane each) in one process, on
one real redis-server — moves, late joins, counts and caps across workers, a worker that
dies, frames and the key guard, and Redis restarting under them."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from types import SimpleNamespace

import pytest
import redis
from fastapi.testclient import TestClient
from starlette.websockets import WebSocketDisconnect

from app.demo.backend import MemoryRooms, RoomsUnavailableError
from app.demo.guard import KeyGuard, ThrottledError
from app.demo.mode import DemoSettings
from app.demo.rooms import CapacityError, Hub
from app.main import create_app
from app.settings import Settings
from app.store.backplane import Backplane
from app.store.rooms import RedisRooms
from tests.support.redisserver import RedisServer

KEY = "a-good-long-presenter-key"
BEATS = ((0, True), (1, False), (1, True), (2, True))
NAMES = ("intro", "dA1", "loss-after")
VIEWS = tuple(json.dumps({"beat": beat}).encode() for beat in range(len(BEATS)))
ROOM = "main-room"


class Conn:
    def __init__(self) -> None:
        self.sent: list[dict] = []
        self.closed: tuple[int, str] | None = None

    def push(self, text: str) -> bool:
        self.sent.append(json.loads(text))
        return True

    def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)

    def states(self) -> list[dict]:
        return [m for m in self.sent if m["type"] == "state"]

    def counts(self) -> list[int]:
        return [m["count"] for m in self.sent if m["type"] == "followers"]


async def until(check, timeout: float = 5.0) -> None:
    """Wait for ``check()`` to hold (messages cross Redis); fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("timed out waiting")
        await asyncio.sleep(0.01)


async def worker(url: str, *, guard: KeyGuard | None = None, **caps) -> SimpleNamespace:
    hub = Hub(key=KEY, beats=BEATS, names=NAMES, views=VIEWS, primary=ROOM, guard=guard,
              **caps)
    plane = Backplane(url, heartbeat=0.05, worker_ttl=0.3)
    rooms = RedisRooms(hub, plane, ns="test")
    await plane.start()
    await until(lambda: plane.reconnections >= 1)
    room = await rooms.get(ROOM)
    return SimpleNamespace(hub=hub, plane=plane, rooms=rooms, room=room)


async def stop(*workers: SimpleNamespace) -> None:
    for w in workers:
        await w.plane.stop()


def test_a_move_on_one_worker_reaches_the_followers_of_the_other(redis_url):
    async def run():
        a, b = await worker(redis_url), await worker(redis_url)
        try:
            presenter, follower = Conn(), Conn()
            await a.rooms.join(a.room, presenter, "10.0.0.1")
            await a.rooms.promote(a.room, presenter)
            await b.rooms.join(b.room, follower, "10.0.0.2")
            state = await a.rooms.move(a.room, 2, "projector")
            await until(lambda: follower.states())
            return state, follower.states()[-1], presenter.states()[-1], b.room
        finally:
            await stop(a, b)

    state, seen, echo, b_room = asyncio.run(run())
    assert (state["beat"], state["seq"], state["by"]) == (2, 1, "projector")
    assert (seen["beat"], seen["seq"], seen["by"], seen["view"]) == (2, 1, "projector",
                                                                      {"beat": 2})
    assert echo["by"] == "projector"  # the presenter's page knows its own move
    assert (b_room.beat, b_room.seq) == (2, 1)


def test_moves_made_at_once_on_two_workers_leave_every_copy_on_the_last_one(redis_url):
    async def run():
        a, b = await worker(redis_url), await worker(redis_url)
        try:
            on_a, on_b = Conn(), Conn()
            await a.rooms.join(a.room, on_a, "10.0.0.1")
            await b.rooms.join(b.room, on_b, "10.0.0.2")
            for round_ in range(10):
                await asyncio.gather(a.rooms.move(a.room, round_ % 4, "a"),
                                     b.rooms.move(b.room, (round_ + 1) % 4, "b"))
            await until(lambda: a.room.seq == b.room.seq == 20)
            return ([(r.beat, r.seq, r.by) for r in (a.room, b.room)],
                    [[s["seq"] for s in c.states()] for c in (on_a, on_b)])
        finally:
            await stop(a, b)

    copies, seqs = asyncio.run(run())
    assert copies[0] == copies[1]  # both workers agree on where the room is
    for seen in seqs:
        assert seen == sorted(set(seen))  # no page was ever moved back
        assert seen[-1] == 20


def test_a_late_join_on_another_worker_lands_on_the_current_slide(redis_url):
    async def run():
        a = await worker(redis_url)
        try:
            await a.rooms.move(a.room, 1)
            await a.rooms.move(a.room, 3, "laptop")
            b = await worker(redis_url)  # started later: its own copy begins at beat 0
            try:
                room = await b.rooms.get(ROOM)
                return room.beat, room.seq, room.by, json.loads(room.state_text())["view"]
            finally:
                await stop(b)
        finally:
            await stop(a)

    assert asyncio.run(run()) == (3, 2, "laptop", {"beat": 3})


def test_a_room_opened_on_one_worker_exists_on_the_other_and_rooms_are_capped(redis_url):
    async def run():
        a, b = await worker(redis_url, max_rooms=3), await worker(redis_url, max_rooms=3)
        try:
            _, created = await a.rooms.open("lecture-2")
            fresh, _ = await a.rooms.open()
            on_b = await b.rooms.get("lecture-2")
            _, created_again = await b.rooms.open("lecture-2")
            with pytest.raises(CapacityError, match="3 rooms are open"):
                await b.rooms.open("lecture-4")
            missing = await b.rooms.get("never-opened")
            return created, on_b is not None, created_again, fresh.id, missing
        finally:
            await stop(a, b)

    created, on_b, created_again, fresh, missing = asyncio.run(run())
    assert created and on_b and not created_again
    assert fresh not in ("lecture-2", ROOM)
    assert missing is None


def test_followers_and_caps_are_counted_across_workers(redis_url):
    async def run():
        caps = {"max_followers": 3, "max_per_client": 2}
        a, b = await worker(redis_url, **caps), await worker(redis_url, **caps)
        try:
            presenter = Conn()
            await a.rooms.join(a.room, presenter, "10.0.0.1")
            await a.rooms.promote(a.room, presenter)
            await a.rooms.join(a.room, Conn(), "10.0.0.7")
            await b.rooms.join(b.room, Conn(), "10.0.0.7")
            with pytest.raises(CapacityError, match="2 pages from one address"):
                await b.rooms.join(b.room, Conn(), "10.0.0.7")  # that address, on A and B
            leaving = Conn()
            await b.rooms.join(b.room, leaving, "10.0.0.8")
            with pytest.raises(CapacityError, match="3 followers"):
                await a.rooms.join(a.room, Conn(), "10.0.0.9")  # 1 on A + 2 on B
            await until(lambda: presenter.counts()[-1:] == [3])
            at_three = (await a.rooms.get(ROOM)).state()["followers"]
            await b.rooms.leave(b.room, leaving)
            await until(lambda: presenter.counts()[-1:] == [2])
            await a.rooms.join(a.room, Conn(), "10.0.0.9")  # the seat given back, taken
            await until(lambda: presenter.counts()[-1:] == [3])
            return at_three, len(a.room.followers), len(b.room.followers)
        finally:
            await stop(a, b)

    at_three, on_a, on_b = asyncio.run(run())
    assert at_three == 3  # the room's state shows every worker's audience
    assert (on_a, on_b) == (2, 1)


def test_presenter_seats_are_counted_across_workers(redis_url):
    async def run():
        a, b = await worker(redis_url, max_presenters=1), await worker(redis_url,
                                                                       max_presenters=1)
        try:
            await a.rooms.promote(a.room, Conn())
            with pytest.raises(CapacityError, match="1 presenter connections"):
                await b.rooms.promote(b.room, Conn())
        finally:
            await stop(a, b)

    asyncio.run(run())


@pytest.mark.slow  # a Redis of its own, real expiry or real processes
def test_a_worker_that_dies_stops_being_counted(redis_url):
    async def run():
        a, b = await worker(redis_url), await worker(redis_url)
        try:
            presenter = Conn()
            await a.rooms.promote(a.room, presenter)
            for i in range(3):
                await b.rooms.join(b.room, Conn(), f"10.0.1.{i}")
            await a.rooms.join(a.room, Conn(), "10.0.2.1")
            await until(lambda: presenter.counts()[-1:] == [4])
            for task in b.plane._tasks:  # b stops beating and listening, as if killed
                task.cancel()
            await until(lambda: presenter.counts()[-1:] == [1])
            return (await a.rooms.get(ROOM)).state()["followers"]
        finally:
            await stop(a, b)

    assert asyncio.run(run()) == 1


def test_question_frames_and_live_pushes_reach_every_worker(redis_url):
    async def run():
        a, b = await worker(redis_url), await worker(redis_url)
        try:
            follower, presenter = Conn(), Conn()
            await b.rooms.join(b.room, follower, "10.0.0.2")
            await b.rooms.promote(b.room, presenter)
            await a.rooms.tell(a.room, json.dumps({"type": "question", "state": "closed"}))
            await a.rooms.tell(a.room, json.dumps({"type": "answers", "n": 3}),
                               presenters_only=True)
            await until(lambda: any(m["type"] == "answers" for m in presenter.sent))
            return ([m["type"] for m in follower.sent if m["type"] != "state"],
                    [m["type"] for m in presenter.sent if m["type"] in ("question", "answers")])
        finally:
            await stop(a, b)

    to_follower, to_presenter = asyncio.run(run())
    assert to_follower == ["question"]  # the live distribution is the presenters' only
    assert to_presenter == ["question", "answers"]


def test_wrong_keys_and_join_windows_are_counted_across_workers(redis_url):
    async def run():
        a = await worker(redis_url, guard=KeyGuard(burst=2, refill=30))
        b = await worker(redis_url, guard=KeyGuard(burst=2, refill=30))
        try:
            right = await b.rooms.try_key(KEY, "10.0.0.5")
            assert not await a.rooms.try_key("wrong-key-number-1", "10.0.0.5")
            assert not await b.rooms.try_key("wrong-key-number-2", "10.0.0.5")
            with pytest.raises(ThrottledError) as throttled:
                await a.rooms.try_key(KEY, "10.0.0.5")  # even the right key waits now
            other = await a.rooms.try_key(KEY, "10.0.0.6")
            joins = [await w.rooms.take("join:r:10.0.0.5", 3, 60) for w in (a, b, a, b)]
            return right, throttled.value.retry_after, other, joins
        finally:
            await stop(a, b)

    right, retry_after, other, joins = asyncio.run(run())
    assert right and other
    assert 1 <= retry_after <= 30
    assert joins[:3] == [0, 0, 0] and 59 < joins[3] <= 60.01  # the 4th: when the 1st leaves


@pytest.mark.slow  # real time passes in Redis
def test_the_windows_slide_in_redis_as_in_memory(redis_url):
    # two events allowed in any 2 s: the first at 0, the second at 1; at 2.5 the first has
    # left the window and the second has not, so one more fits, not two (a fixed window
    # that began at 0 would have let two in).
    # The waits are held to when each take really ran (a loaded machine sleeps late).
    async def sequence(rooms) -> tuple[list[float], list[float]]:
        name = f"answer:r:{uuid.uuid4().hex}"
        started = time.monotonic()
        waits, times = [], []

        async def take() -> None:
            times.append(time.monotonic() - started)
            waits.append(await rooms.take(name, 2, 2.0))

        async def at(when: float) -> None:
            await asyncio.sleep(max(0.0, started + when - time.monotonic()))

        await take()
        await at(1.0)
        await take()
        await take()
        await at(2.5)
        await take()
        await take()
        return waits, times

    async def run():
        a = await worker(redis_url)
        try:
            return await asyncio.gather(sequence(a.rooms), sequence(MemoryRooms(a.hub)))
        finally:
            await stop(a)

    for waits, times in asyncio.run(run()):
        assert [w == 0 for w in waits] == [True, True, False, True, False], (waits, times)
        # refused at 1: the first (taken at times[0]) leaves the window 2 s after it
        assert waits[2] == pytest.approx(times[0] + 2.0 - times[2], abs=0.1), (waits, times)
        # refused at 2.5: the first has left, the second (times[1]) leaves 2 s after it
        assert waits[4] > 0.0, (waits, times)
        assert waits[4] == pytest.approx(times[1] + 2.0 - times[4], abs=0.1), (waits, times)


@pytest.mark.slow  # a Redis of its own, real expiry or real processes
def test_after_redis_restarts_both_workers_resync_and_follow_the_next_move():
    async def run(server: RedisServer):
        a, b = await worker(server.url), await worker(server.url)
        try:
            presenter, follower = Conn(), Conn()
            await a.rooms.promote(a.room, presenter)
            await b.rooms.join(b.room, follower, "10.0.0.2")
            await a.rooms.move(a.room, 2)
            await until(lambda: follower.states()[-1:] and follower.states()[-1]["beat"] == 2)
            await asyncio.to_thread(server.restart, 0.3)  # Redis comes back empty
            await until(lambda: a.plane.reconnections >= 2 and b.plane.reconnections >= 2,
                        timeout=15)
            state = await a.rooms.move(a.room, 3, "after")
            await until(lambda: follower.states()[-1]["beat"] == 3)
            await until(lambda: presenter.counts()[-1:] == [1])  # B's follower, counted again
            return state, follower.states()[-1]
        finally:
            await stop(a, b)

    with RedisServer() as server:
        state, seen = asyncio.run(run(server))
    assert (state["beat"], state["seq"]) == (3, 2)  # re-seeded at seq 1: no step back
    assert (seen["beat"], seen["seq"], seen["by"]) == (3, 2, "after")


@pytest.mark.slow  # a Redis of its own, real expiry or real processes
def test_a_worker_that_missed_a_move_while_away_catches_up_on_resync():
    async def run(server: RedisServer):
        a, b = await worker(server.url), await worker(server.url)
        try:
            follower = Conn()
            await b.rooms.join(b.room, follower, "10.0.0.2")
            for task in b.plane._tasks[1:]:  # b's subscriber away: it hears nothing
                task.cancel()
            await a.rooms.move(a.room, 3, "missed")
            await asyncio.sleep(0.2)  # (time for the message it would have heard)
            missed = follower.states()
            await b.rooms._resync()  # what its reconnection runs
            return missed, follower.states()[-1]
        finally:
            await stop(a, b)

    with RedisServer() as server:
        missed, seen = asyncio.run(run(server))
    assert missed == []  # (joining sends nothing: the socket sends the state itself)
    assert (seen["beat"], seen["by"]) == (3, "missed")


def test_a_worker_does_not_bring_back_a_room_its_copy_of_has_idled_out(redis_url):
    """A worker whose copy of a room has been idle past the rooms' idle time drops it
    before it re-seeds what it holds (after Redis restarts, or on a heartbeat): a room
    Redis let expire stays closed, its old slide does not come back."""
    from tests.conftest import FakeClock

    clock = FakeClock()

    async def run():
        a = await worker(redis_url, clock=clock, idle_ttl=60)
        try:
            await a.rooms.move(a.room, 3, "old")
            await a.plane.redis.delete(*await a.plane.redis.keys("convlens:demo:test:room:*"))
            clock.advance(61)  # nobody in the room and no move for longer than idle_ttl
            await a.rooms._resync()
            return await a.plane.redis.keys("convlens:demo:test:room:*"), dict(a.hub.rooms)
        finally:
            await stop(a)

    keys, held = asyncio.run(run())
    assert keys == [] and held == {}


@pytest.mark.slow  # a Redis of its own, real expiry or real processes
def test_without_redis_a_rest_call_is_a_clear_503_and_a_move_is_refused():
    with RedisServer() as server:
        app = create_app(Settings(redis_url=server.url),
                         demo_settings=DemoSettings(key=KEY, room=ROOM))
        with TestClient(app) as client:
            assert client.get(f"/api/demo/{ROOM}").status_code == 200
            server.stop()
            moved = client.post(f"/api/demo/{ROOM}/goto", json={"beat": 1},
                                headers={"X-Demo-Key": KEY})
            state = client.get(f"/api/demo/{ROOM}")
            with client.websocket_connect(f"/ws/follow/{ROOM}") as ws, \
                    pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_text()
            page = client.get(f"/follow/{ROOM}")
            health = client.get("/api/health")
            hub = app.state.demo.hub
            rooms = app.state.demo.rooms
            server.start()
    assert closed.value.code == 1013  # the page reconnects; the worker carries on
    assert health.status_code == 200
    assert page.status_code == 503 and "reconnecting" in page.text  # a page, not JSON
    assert moved.status_code == 503, moved.text
    assert "unavailable" in moved.json()["detail"]
    assert "127.0.0.1" not in moved.text and str(server.port) not in moved.text
    assert moved.headers["Retry-After"] == "1"
    assert state.status_code == 503
    assert hub.rooms[ROOM].beat == 0  # a move Redis did not take did not happen
    assert isinstance(rooms, RedisRooms)


def test_rooms_unavailable_is_raised_not_redis_errors():
    async def run():
        hub = Hub(key=KEY, beats=BEATS, names=NAMES, views=VIEWS, primary=ROOM)
        plane = Backplane("redis://127.0.0.1:1/0")  # nothing listens there
        rooms = RedisRooms(hub, plane, ns="test")
        try:
            with pytest.raises(RoomsUnavailableError, match="unavailable"):
                await rooms.move(hub.rooms[ROOM], 1)
            with pytest.raises(RoomsUnavailableError):
                await rooms.get(ROOM)
        finally:
            await plane.redis.aclose()
        return hub.rooms[ROOM].beat

    assert asyncio.run(run()) == 0


@pytest.mark.slow  # a Redis of its own, stopped
def test_a_move_over_the_socket_while_redis_is_away_is_answered_then_the_socket_closes():
    with RedisServer() as server:
        app = create_app(Settings(redis_url=server.url),
                         demo_settings=DemoSettings(key=KEY, room=ROOM))
        with TestClient(app) as client, \
                client.websocket_connect(f"/ws/follow/{ROOM}") as ws:
            ws.send_json({"type": "auth", "key": KEY})
            while (frame := ws.receive_json())["type"] != "auth":
                pass
            assert frame["ok"]
            server.stop()
            ws.send_json({"type": "goto", "beat": 1, "by": "page-7"})
            for _ in range(20):
                if (frame := ws.receive_json())["type"] == "dropped":
                    break
            ws.send_json({"type": "ping"})  # answered "pong" if the socket were still open
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_json()
            server.start()
    assert frame["by"] == "page-7" and "unavailable" in frame["detail"]
    assert closed.value.code == 1013  # the page says it is reconnecting, and sends again


# ------------------------------------------------------------------ windows that last
WINDOW = "join:main-room:10.0.0.7"


@pytest.mark.slow  # a Redis of its own, restarted
def test_after_redis_restarts_the_join_window_comes_back_from_every_worker():
    """Two workers admitted three joins of one address (a cap of 3); Redis restarts empty;
    each worker writes back the events it admitted, so the window still refuses the
    fourth, on either worker: a restart gives no one a fresh allowance."""
    async def run(server: RedisServer):
        a, b = await worker(server.url), await worker(server.url)
        try:
            taken = [await w.rooms.take(WINDOW, 3, 60) for w in (a, b, a)]
            await asyncio.to_thread(server.restart, 0.3)  # Redis comes back empty
            await until(lambda: a.plane.reconnections >= 2 and b.plane.reconnections >= 2,
                        timeout=15)
            key = a.rooms.prefix + "win:" + WINDOW
            deadline = time.monotonic() + 5
            while (back := await a.plane.redis.zcard(key)) < 3 and time.monotonic() < deadline:
                await asyncio.sleep(0.02)  # (the resyncs run just after the reconnections)
            ttl = await a.plane.redis.pttl(key)
            after = [await w.rooms.take(WINDOW, 3, 60) for w in (b, a)]
            return taken, back, ttl, after
        finally:
            await stop(a, b)

    with RedisServer() as server:
        taken, back, ttl, after = asyncio.run(run(server))
    assert taken == [0, 0, 0]
    assert back == 3 and 55_000 < ttl <= 60_000  # kept until its newest event leaves
    assert all(55 < wait <= 60.01 for wait in after), after  # refused, on both workers


def test_a_take_that_finds_its_events_gone_from_redis_writes_them_back_first(redis_url):
    """Redis lost a window (evicted, or restarted before the subscriber noticed): the next
    take of the worker that admitted its events restores them before it counts."""
    async def run():
        a = await worker(redis_url)
        try:
            taken = [await a.rooms.take(WINDOW, 2, 60) for _ in range(2)]
            await a.plane.redis.delete(a.rooms.prefix + "win:" + WINDOW)
            return taken, await a.rooms.take(WINDOW, 2, 60)
        finally:
            await stop(a)

    taken, refused = asyncio.run(run())
    assert taken == [0, 0] and 59 < refused <= 60.01


def test_the_windows_a_worker_remembers_stay_bounded(redis_url, monkeypatch):
    import app.demo.backend as backend
    monkeypatch.setattr(backend, "MAX_WINDOWS", 10)

    async def run():
        a = await worker(redis_url)
        try:
            for i in range(40):
                await a.rooms.take(f"join:main-room:10.0.1.{i}", 5, 60)
            return len(a.rooms._admitted)
        finally:
            await stop(a)

    assert asyncio.run(run()) <= 10


def _joins(client, names) -> list[int]:
    return [client.post(f"/api/demo/{ROOM}/join", json={"name": n}).status_code
            for n in names]


@pytest.mark.slow  # a Redis of its own, restarted
def test_after_redis_restarts_a_rest_join_over_the_address_cap_is_still_refused():
    with RedisServer() as server:
        app = create_app(Settings(redis_url=server.url),
                         demo_settings=DemoSettings(key=KEY, room=ROOM, per_client=1))
        with TestClient(app) as client:
            before = _joins(client, ["Ada", "Bo"])  # 2 joins per page an address may open
            server.restart(0.3)
            plane = app.state.backplane
            deadline = time.monotonic() + 15
            while plane.reconnections < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            after = client.post(f"/api/demo/{ROOM}/join", json={"name": "Cy"})
    assert before == [201, 201]
    assert after.status_code == 429, after.text
    assert int(after.headers["retry-after"]) > 500  # the window of 10 min, not a fresh one


@pytest.mark.slow  # a Redis of its own, filled to maxmemory
def test_at_maxmemory_a_join_is_refused_with_503_not_admitted():
    with RedisServer() as server:
        app = create_app(Settings(redis_url=server.url),
                         demo_settings=DemoSettings(key=KEY, room=ROOM, per_client=1))
        with TestClient(app) as client:
            assert client.get(f"/api/demo/{ROOM}").status_code == 200
            admin = redis.Redis.from_url(server.url)
            try:
                admin.config_set("maxmemory", 1)  # every write is refused now
                full = client.post(f"/api/demo/{ROOM}/join", json={"name": "Ada"})
                admin.config_set("maxmemory", 0)
            finally:
                admin.close()
            later = _joins(client, ["Bo", "Cy", "Di"])
    assert full.status_code == 503, full.text
    assert full.headers["retry-after"] == "1" and "unavailable" in full.json()["detail"]
    assert later == [201, 201, 429]  # the refused join used up none of the two
