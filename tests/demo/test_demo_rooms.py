"""Rooms: the key, the caps, expiry (with a clock the test moves) and broadcasting."""

from __future__ import annotations

import asyncio
import json

import pytest

from app.demo.rooms import (
    CLOSE_TRY_LATER,
    IDLE_TTL,
    CapacityError,
    Hub,
    check_key_format,
    new_key,
)

KEY = "a-good-long-presenter-key"
BEATS = ((0, True), (1, False), (1, True), (2, True))
NAMES = ("intro", "dA1", "loss-after")


class Conn:
    """A connection that records what it is sent; ``full`` makes it fall behind."""

    def __init__(self, full: bool = False) -> None:
        self.sent: list[dict] = []
        self.closed: tuple[int, str] | None = None
        self.full = full

    def push(self, text: str) -> bool:
        if self.full:
            return False
        self.sent.append(json.loads(text))
        return True

    def close(self, code: int, reason: str) -> None:
        self.closed = (code, reason)


VIEWS = tuple(json.dumps({"beat": beat}).encode() for beat in range(len(BEATS)))


def hub(clock, **caps) -> Hub:
    return Hub(key=KEY, beats=BEATS, names=NAMES, views=VIEWS, primary="main-room",
               clock=clock, **caps)


def test_the_key_is_checked_exactly(clock):
    h = hub(clock)
    assert h.check_key(KEY)
    for wrong in (None, "", KEY[:-1], KEY + "x", KEY.upper(), "é" * 25, 12345):
        assert not h.check_key(wrong)


def test_keys_given_on_the_command_line_must_be_long_and_url_safe():
    assert check_key_format("0123456789ab") == "0123456789ab"
    for bad in ("short", "has a space in it", "ключ-ключ-ключ"):
        with pytest.raises(ValueError, match="at least 12"):
            check_key_format(bad)
    assert len(new_key()) >= 20 and new_key() != new_key()


def test_the_primary_room_is_open_at_start_on_the_first_beat(clock):
    h = hub(clock)
    room = h.get("main-room")
    assert room is not None and room.state() == {
        "type": "state", "room": "main-room", "beat": 0, "slide": 0, "reveal": True,
        "step": "intro", "beats": 4, "seq": 0, "by": None, "followers": 0}


def test_a_move_reaches_every_connection_and_says_where_the_room_is(clock):
    h = hub(clock)
    room = h.get("main-room")
    followers = [Conn() for _ in range(3)]
    for c in followers:
        h.join(room, c)
    presenter = Conn()
    h.join(room, presenter)
    h.promote(room, presenter)
    state = h.move(room, 1)
    assert state["beat"] == 1 and state["slide"] == 1 and state["reveal"] is False
    assert state["step"] == "dA1" and state["seq"] == 1 and state["followers"] == 3
    for c in [*followers, presenter]:
        assert c.sent[-1] == {**state, "view": {"beat": 1}}  # the beat's view comes along


@pytest.mark.parametrize("beat", [-1, 4, 1.0, "1", None, True])
def test_a_move_outside_the_lesson_is_refused_and_changes_nothing(clock, beat):
    h = hub(clock)
    room = h.get("main-room")
    with pytest.raises(ValueError, match="beat must be an integer from 0 to 3"):
        h.move(room, beat)
    assert room.beat == 0 and room.seq == 0


def test_presenters_hear_how_many_follow(clock):
    h = hub(clock)
    room = h.get("main-room")
    presenter = Conn()
    h.join(room, presenter)
    h.promote(room, presenter)
    a, b = Conn(), Conn()
    h.join(room, a)
    h.join(room, b)
    h.leave(room, a)
    counts = [m["count"] for m in presenter.sent if m["type"] == "followers"]
    assert counts == [0, 1, 2, 1]
    assert not any(m["type"] == "followers" for m in b.sent)


def test_a_connection_that_cannot_keep_up_is_closed_and_the_others_still_hear(clock):
    h = hub(clock)
    room = h.get("main-room")
    slow, fine = Conn(full=True), Conn()
    h.join(room, slow)
    h.join(room, fine)
    h.move(room, 2)
    assert slow.closed is not None and slow.closed[0] == CLOSE_TRY_LATER
    assert fine.sent[-1]["beat"] == 2


def test_followers_per_room_are_capped(clock):
    h = hub(clock, max_followers=2)
    room = h.get("main-room")
    h.join(room, Conn())
    h.join(room, Conn())
    with pytest.raises(CapacityError, match="2 followers"):
        h.join(room, Conn())
    assert len(room.followers) == 2


def test_connections_across_rooms_are_capped_with_places_kept_for_presenters(clock):
    h = hub(clock, max_connections=4, presenter_reserve=1)
    other, _ = h.open()
    h.join(h.get("main-room"), Conn(), "10.0.0.1")
    h.join(other, Conn(), "10.0.0.2")
    h.join(other, Conn(), "10.0.0.3")
    with pytest.raises(CapacityError, match="4 connections"):
        h.join(h.get("main-room"), Conn(), "10.0.0.4")
    presenter = Conn()
    h.promote(h.get("main-room"), presenter)  # the reserve: the presenter gets in
    assert presenter in h.get("main-room").presenters and h.connections == 4
    with pytest.raises(CapacityError, match="4 connections"):
        h.promote(other, Conn())


def test_one_address_cannot_take_a_rooms_seats(clock):
    h = hub(clock, max_followers=5, max_per_client=2)
    room = h.get("main-room")
    squatter = [Conn(), Conn()]
    for conn in squatter:
        h.join(room, conn, "10.0.0.66")
    with pytest.raises(CapacityError, match="2 pages from one address"):
        h.join(room, Conn(), "10.0.0.66")
    student = Conn()
    h.join(room, student, "10.0.0.7")  # a fresh student still gets a seat
    assert student in room.followers and h.per_client == {"10.0.0.66": 2, "10.0.0.7": 1}
    h.leave(room, squatter[0])
    h.join(room, Conn(), "10.0.0.66")  # a seat given back can be taken again
    assert h.per_client["10.0.0.66"] == 2


def test_the_presenter_gets_in_when_every_audience_seat_is_taken(clock):
    h = hub(clock, max_followers=3, max_per_client=3)
    room = h.get("main-room")
    for _ in range(3):
        h.join(room, Conn(), "10.0.0.66")
    with pytest.raises(CapacityError, match="3 followers"):
        h.join(room, Conn(), "10.0.0.8")
    presenter = Conn()  # never seated in the audience: it gave the key first
    h.promote(room, presenter)
    assert presenter in room.presenters and len(room.followers) == 3
    h.leave(room, presenter)
    assert h.per_client == {"10.0.0.66": 3}


def test_wrong_keys_are_throttled_per_address(clock):
    from app.demo.guard import KeyGuard, ThrottledError

    h = hub(clock, guard=KeyGuard(burst=3, refill=10.0, clock=clock))
    for _ in range(3):
        assert h.try_key("not-the-key-at-all", "10.0.0.66") is False
    with pytest.raises(ThrottledError) as info:
        h.try_key("still-not-the-key", "10.0.0.66")
    assert info.value.retry_after == 10
    with pytest.raises(ThrottledError):  # not even the right key is tried now
        h.try_key(KEY, "10.0.0.66")
    assert h.try_key(KEY, "10.0.0.9") is True  # another address is not held up
    assert h.try_key(None, "10.0.0.66") is False  # no key is no attempt
    clock.advance(10)
    assert h.try_key(KEY, "10.0.0.66") is True
    assert h.try_key("wrong-again-wrong", "10.0.0.66") is False
    with pytest.raises(ThrottledError):
        h.try_key(KEY, "10.0.0.66")


def test_room_codes_are_short_and_unambiguous():
    from app.demo.rooms import new_room_id

    codes = {new_room_id() for _ in range(200)}
    assert len(codes) == 200
    for code in codes:
        assert len(code) == 6 and not set(code) & set("01ilIoO-_")


def test_rooms_come_back_after_a_restart_with_the_same_key(clock, tmp_path):
    from app.demo.store import RoomStore

    path = tmp_path / "state" / "rooms.sqlite3"

    def started(key: str = KEY, lesson: str = "lesson-1", primary: str | None = None) -> Hub:
        store = RoomStore(path, key=key, lesson=lesson)
        return Hub(key=key, beats=BEATS, names=NAMES, views=VIEWS, primary=primary,
                   clock=clock, store=store)

    first = started()
    room = first.get(first.primary)
    other, _ = first.open()
    first.move(room, 2)
    first.move(other, 1)
    assert path.stat().st_mode & 0o777 == 0o600
    again = started()  # (the first is never closed: as after kill -9)
    assert again.primary == first.primary
    assert again.get(room.id).beat == 2 and again.get(room.id).seq == 1
    assert again.get(other.id).beat == 1
    changed = started(lesson="lesson-2")  # another lesson: same rooms, from the start
    assert changed.primary == first.primary and changed.get(room.id).beat == 0
    named = started(lesson="lesson-2", primary="lecture-3")
    assert named.primary == "lecture-3" and room.id in named.rooms
    assert started(lesson="lesson-2").primary == "lecture-3"
    other_key = started(key="another-long-presenter-key")  # another key: a fresh start
    assert other_key.primary != first.primary and list(other_key.rooms) == [other_key.primary]
    assert started(key="another-long-presenter-key").primary == other_key.primary


def test_presenter_connections_are_capped(clock):
    h = hub(clock, max_presenters=1)
    room = h.get("main-room")
    first, second = Conn(), Conn()
    h.join(room, first)
    h.join(room, second)
    h.promote(room, first)
    with pytest.raises(CapacityError, match="1 presenter"):
        h.promote(room, second)
    assert second in room.followers


def test_rooms_are_capped_and_named_safely(clock):
    h = hub(clock, max_rooms=3)
    a, created = h.open()
    assert created and a.id != "main-room"
    assert h.open(a.id) == (a, False)
    h.open("second-room")
    with pytest.raises(CapacityError, match="3 rooms"):
        h.open()
    with pytest.raises(ValueError, match="room id"):
        h.open("../etc")


def test_idle_rooms_expire_and_busy_ones_do_not(clock):
    h = hub(clock)
    busy, _ = h.open("busy-room")
    h.join(busy, Conn())
    quiet, _ = h.open("quiet-room")
    clock.advance(IDLE_TTL - 1)
    h.move(h.get("main-room"), 1)  # a move keeps a room alive
    assert h.get("quiet-room") is quiet
    clock.advance(2)
    assert h.get("quiet-room") is None
    assert h.get("busy-room") is busy
    assert h.get("main-room") is not None
    clock.advance(IDLE_TTL)
    assert h.get("main-room") is None and h.get("busy-room") is busy


def test_an_expired_room_opens_again_from_the_start(clock):
    h = hub(clock)
    room = h.get("main-room")
    h.move(room, 3)
    clock.advance(IDLE_TTL + 1)
    again, created = h.open("main-room")
    assert created and again is not room and again.beat == 0


def test_leaving_starts_the_idle_clock(clock):
    h = hub(clock)
    room = h.get("main-room")
    c = Conn()
    h.join(room, c)
    clock.advance(IDLE_TTL * 2)
    assert h.get("main-room") is room  # connected all along
    h.leave(room, c)
    clock.advance(IDLE_TTL - 1)
    assert h.get("main-room") is room
    clock.advance(1)
    assert h.get("main-room") is None


def test_a_hub_needs_beats_and_a_sane_primary_id(clock):
    with pytest.raises(ValueError, match="at least one slide"):
        Hub(key=KEY, beats=(), names=(), clock=clock)
    with pytest.raises(ValueError, match="room id"):
        Hub(key=KEY, beats=BEATS, names=NAMES, primary="a b", clock=clock)


def test_a_move_carries_its_senders_mark(clock):
    h = hub(clock)
    room = h.get("main-room")
    assert h.move(room, 2, "page1-7")["by"] == "page1-7"
    assert h.move(room, 1)["by"] is None
    for bad in ("", "x" * 41, "a b", 7):
        with pytest.raises(ValueError, match="by must be"):
            h.move(room, 3, bad)
    assert room.beat == 1 and room.seq == 2


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_the_windows_forget_by_their_own_length_and_stay_bounded(monkeypatch):
    import app.demo.backend as backend
    monkeypatch.setattr(backend, "MAX_WINDOWS", 10)
    clock = Clock()
    rooms = backend.MemoryRooms(Hub(key=KEY, beats=BEATS, names=NAMES), clock=clock)

    async def run() -> tuple[list[float], int, int]:
        waits = [await rooms.take("join:r:10.0.0.1", 1, 600)]  # a long window, used up
        for i in range(9):
            waits.append(await rooms.take(f"answer:r:{i}", 1, 10))  # short ones
        clock.now += 20  # the short windows are over; the long one is not
        waits.append(await rooms.take("answer:r:new", 1, 10))  # full: makes room
        left = len(rooms._windows)
        waits.append(await rooms.take("join:r:10.0.0.1", 1, 600))  # still counted
        for i in range(40):  # a flood of live names: the oldest go, the count stays bounded
            await rooms.take(f"flood:{i}", 1, 600)
        return waits, left, len(rooms._windows)

    waits, left, bounded = asyncio.run(run())
    assert waits == [0.0] * 11 + [580.0]  # the join fits again 600 s after it was taken
    assert left == 2  # the join's window and the new answer's
    assert bounded <= 10
