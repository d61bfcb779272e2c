"""Demo mode attacked for real, on 127.0.0.1 only, bounded in count and time: a socket
flood from one address, and ``convlens demo`` killed with SIGKILL and started again."""

from __future__ import annotations

import asyncio
import json
import time

import httpx
import pytest
import websockets

from tests.support.localserver import free_port

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
