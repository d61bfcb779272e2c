"""Demo mode attacked for real, on 127.0.0.1 only, bounded in count and time: a socket
flood from one address, ``convlens demo`` killed with SIGKILL and started again, and a
local process forging ``X-Forwarded-For`` to slip the per-address caps."""

from __future__ import annotations

import asyncio
import json
import time
from contextlib import ExitStack

import httpx
import pytest
import websockets

from app.demo.guard import KEY_BURST
from tests.support.localserver import free_port
from tests.support.redisserver import RedisServer

from .conftest import KEY, DemoServer

pytestmark = pytest.mark.slow

FLOOD = 300  # sockets one address opens at once
PER_CLIENT = 10


async def _open(url: str, source: str, first: bool = True):
    ws = await websockets.connect(url, local_addr=(source, 0), open_timeout=10,
                                  close_timeout=1)
    if not first:
        return ws, None
    return ws, json.loads(await asyncio.wait_for(ws.recv(), timeout=10))


async def _flood(url: str) -> tuple[int, dict[int, int]]:
    """Open FLOOD sockets from 127.0.0.1; how many got a seat, and the close codes of the
    rest."""
    async def one():
        try:
            ws = await websockets.connect(url, local_addr=("127.0.0.1", 0), open_timeout=10)
        except Exception:  # refused at the handshake
            return "refused", None
        try:
            message = await asyncio.wait_for(ws.recv(), timeout=8)
            return "seated", ws if json.loads(message)["type"] == "state" else None
        except websockets.ConnectionClosed as closed:
            return closed.rcvd.code if closed.rcvd else "dropped", None
        except TimeoutError:
            return "silent", ws

    results = await asyncio.wait_for(asyncio.gather(*(one() for _ in range(FLOOD))), 30)
    seated = [ws for kind, ws in results if kind == "seated"]
    codes: dict = {}
    for kind, _ in results:
        codes[kind] = codes.get(kind, 0) + 1
    return seated, codes


def test_one_address_flooding_the_room_leaves_seats_for_students_and_the_presenter(tmp_path):
    server = DemoServer(port=free_port(), state=tmp_path / "rooms.sqlite3",
                        options=("--per-client", str(PER_CLIENT)))
    server.start()
    url = f"ws://127.0.0.1:{server.port}/ws/follow/{server.room}"

    async def attack() -> dict:
        seated, codes = await _flood(url)
        assert len(seated) == PER_CLIENT, codes
        # the rest are told why (1013) or, past the server's connections per address,
        # refused at the handshake: none is left hanging
        assert codes.get(1013, 0) + codes.get("refused", 0) == FLOOD - PER_CLIENT, codes
        assert codes.get(1013, 0) > 0, codes
        started = time.perf_counter()
        student, state = await _open(url, "127.0.0.2")  # a fresh student, another address
        joined = time.perf_counter() - started
        assert state["type"] == "state" and state["followers"] == PER_CLIENT + 1
        presenter, _ = await _open(url, "127.0.0.1", first=False)  # the squatter's address
        await presenter.send(json.dumps({"type": "auth", "key": KEY}))
        kinds = []
        while "auth" not in kinds:
            message = json.loads(await asyncio.wait_for(presenter.recv(), timeout=10))
            kinds.append(message["type"])
            if message["type"] == "auth":
                assert message["ok"] is True
        await presenter.send(json.dumps({"type": "goto", "beat": 4}))
        moved = json.loads(await asyncio.wait_for(student.recv(), timeout=10))
        assert moved["beat"] == 4
        for ws in [*seated, student, presenter]:
            await ws.close()
        return {"student_join_s": joined}

    try:
        figures = asyncio.run(attack())
        health = httpx.get(f"{server.url}/api/health", timeout=5)
        assert health.status_code == 200
    finally:
        server.stop()
    print(f"\nflood of {FLOOD} sockets: a fresh student joined in "
          f"{figures['student_join_s'] * 1000:.0f} ms")


def test_after_kill_9_and_a_restart_the_room_and_its_slide_are_back(tmp_path):
    server = DemoServer(port=free_port(), state=tmp_path / "rooms.sqlite3")
    server.start()
    url = f"ws://127.0.0.1:{server.port}/ws/follow/{server.room}"
    try:
        server.goto(7)
        server.kill()
        with pytest.raises(httpx.HTTPError):
            httpx.get(f"{server.url}/api/health", timeout=2)
        server.start()
        state = httpx.get(f"{server.url}/api/demo/{server.room}", timeout=5).json()
        assert state["room"] == server.room and state["beat"] == 7 and state["seq"] == 1

        async def follow() -> dict:
            _, first = await _open(url, "127.0.0.1")
            return first

        assert asyncio.run(follow())["beat"] == 7
        missing = httpx.get(f"{server.url}/follow/no-such-room", timeout=5)
        assert missing.status_code == 404 and "no such room" in missing.text
    finally:
        server.stop()


def _forging(server: DemoServer) -> dict[str, list[int]]:
    """Requests from 127.0.0.1 that each claim another address in X-Forwarded-For: joins
    (2 per address with --per-client 1) and wrong presenter keys (KEY_BURST per address),
    each on a new connection (so, with --workers, spread over the workers)."""
    def join(name: str, forged: str) -> int:
        return httpx.post(f"{server.url}/api/demo/{server.room}/join", json={"name": name},
                          headers={"X-Forwarded-For": forged}, timeout=10).status_code

    def wrong_key(forged: str) -> int:
        return httpx.get(f"{server.url}/api/demo/lesson", timeout=10,
                         headers={"X-Forwarded-For": forged, "X-Forwarded-Proto": "https",
                                  "X-Demo-Key": "not-the-presenter-key-0"}).status_code

    return {"joins": [join(f"s{i}", f"1.2.3.{i}") for i in range(1, 4)],
            "same": [join(f"t{i}", "1.2.3.99") for i in range(3)],
            "keys": [wrong_key(f"1.2.4.{i}") for i in range(1, KEY_BURST + 2)]}


@pytest.mark.parametrize("workers", [1, 2])
def test_a_forged_forwarded_for_is_believed_only_from_the_proxies_named(tmp_path, workers):
    """Without --forwarded-allow-ips, X-Forwarded-For is ignored even from 127.0.0.1 (any
    local process could otherwise wear any address): forged addresses share the
    connection's caps. With it, each forwarded address has its own (in every worker)."""
    seen = {}
    with ExitStack() as stack:
        options: tuple[str, ...] = ("--per-client", "1")
        if workers > 1:
            redis = stack.enter_context(RedisServer())
            options += ("--workers", str(workers), "--redis", redis.url)
        for name, trust in (("ignored", ()), ("trusted", ("--forwarded-allow-ips", "127.0.0.1"))):
            if workers > 1:
                redis.flush()  # (the same key and lesson: the same windows and buckets)
            run = tmp_path / name
            run.mkdir()
            server = DemoServer(port=free_port(), state=run / "rooms.sqlite3",
                                options=(*options, "--results", str(run / "answers.db"),
                                         *trust))
            server.start()
            try:
                seen[name] = _forging(server)
            finally:
                server.stop()
    ignored, trusted = seen["ignored"], seen["trusted"]
    assert ignored["joins"] == [201, 201, 429]  # all three are 127.0.0.1's
    assert ignored["keys"] == [200] * KEY_BURST + [429]
    assert trusted["joins"] == [201, 201, 201]  # three addresses, three allowances
    assert trusted["same"] == [201, 201, 429]  # and each is still capped
    assert trusted["keys"] == [200] * (KEY_BURST + 1)
