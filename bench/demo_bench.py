"""Broadcast latency of demo mode: ``python -m bench.demo_bench``.

Starts ``convlens demo`` on 127.0.0.1 (a free port, a subprocess), connects N WebSocket
followers to its room (200 by default) and one presenter, and has the presenter move the
lesson M times (50 by default), one move at a time. For every move and every follower it
measures the time from the presenter sending ``goto`` to that follower receiving the new
state, and prints p50, p90, p99 and the maximum over all of them, and the same for the last
follower of each move (the time until the whole room has it). Target: p99 <= 100 ms at 200
followers. The followers come from ten loopback addresses (127.0.1.1 ...), 20 each, the
server's default share per address.

``--attack`` runs the moves under attack from one more address (127.0.0.66): it squats the
room with 300 sockets that stop reading, and guesses keys over REST and sockets as fast as
it can. The figures then say how many seats it got and how many guesses were even tried.

The followers and the presenter share one client process (asyncio, the ``websockets``
package that uvicorn[standard] installs), on the same machine as the server: the figures
include the client's own time to read 200 sockets. Only 127.0.0.1 is contacted; counts and
times are capped and every run stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from websockets.asyncio.client import ClientConnection, connect

from tests.support.localserver import LocalServer

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
KEY = "bench-presenter-key-000"
ROOM = "bench-room"
MAX_FOLLOWERS = 500  # the server's cap per room
MAX_MOVES = 500
MOVE_TIMEOUT = 2.0  # seconds to wait for every follower to see one move
CONNECT_BATCH = 50  # followers connecting at once
PER_ADDRESS = 20  # followers per loopback address (the server's default share)
ATTACKER = "127.0.0.66"
CLOSE_THROTTLED = 4429  # the server's close code for too many wrong keys
SQUAT = 300  # sockets the attacker opens


def follower_address(i: int) -> str:
    return f"127.0.1.{i // PER_ADDRESS + 1}"


def start_server(state: Path) -> LocalServer:
    """``convlens demo`` in a subprocess (tests/support's LocalServer), its rooms in a
    throwaway ``state`` file, with its default limits."""
    key_file = state.parent / "presenter.key"
    key_file.write_text(KEY + "\n", encoding="utf-8")
    key_file.chmod(0o600)
    return LocalServer(["app.cli", "demo", "--host", HOST, "--port", "{port}", "--key-file",
                        str(key_file), "--state", str(state), "--room", ROOM]).start()


async def wait_listening(port: int, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            _, writer = await asyncio.open_connection(HOST, port)
            writer.close()
            return
        except OSError:
            await asyncio.sleep(0.05)
    raise RuntimeError(f"nothing listens on {HOST}:{port}")


class Room:
    """Arrival times of each state (by seq) at each follower."""

    def __init__(self, followers: int) -> None:
        self.followers = followers
        self.arrivals: dict[int, list[float]] = {}
        self.complete: dict[int, asyncio.Event] = {}

    def expect(self, seq: int) -> asyncio.Event:
        self.arrivals.setdefault(seq, [])
        return self.complete.setdefault(seq, asyncio.Event())

    def arrived(self, seq: int, at: float) -> None:
        times = self.arrivals.setdefault(seq, [])
        times.append(at)
        if len(times) == self.followers:
            self.expect(seq).set()


async def follow(url: str, room: Room, ready: asyncio.Event, ready_count: list[int],
                 stop: asyncio.Event, address: str) -> None:
    async with connect(url, compression=None, max_queue=None, open_timeout=20,
                       local_addr=(address, 0)) as ws:
        first = json.loads(await ws.recv())
        assert first["type"] == "state"
        ready_count[0] += 1
        if ready_count[0] == room.followers:
            ready.set()
        reader = asyncio.ensure_future(_read(ws, room))
        await stop.wait()
        reader.cancel()


async def _read(ws: ClientConnection, room: Room) -> None:
    async for text in ws:
        at = time.perf_counter()
        message = json.loads(text)
        if message.get("type") == "state":
            room.arrived(message["seq"], at)


class Attack:
    """One address squatting the room and guessing keys while the lesson goes on."""

    def __init__(self, port: int, room_id: str) -> None:
        self.url = f"ws://{HOST}:{port}/ws/follow/{room_id}"
        self.base = f"http://{HOST}:{port}"
        self.room_id = room_id
        self.seated = 0
        self.refused_seats = 0
        self.tried = 0  # wrong keys the server checked
        self.throttled = 0  # guesses refused before any check
        self.sockets: list[ClientConnection] = []
        self.tasks: list[asyncio.Task] = []

    async def squat(self) -> None:
        async def one() -> None:
            try:
                ws = await connect(self.url, local_addr=(ATTACKER, 0), max_queue=1,
                                   open_timeout=10)
                await asyncio.wait_for(ws.recv(), timeout=8)
            except Exception:
                self.refused_seats += 1
                return
            self.seated += 1
            self.sockets.append(ws)  # kept open, never read again

        await asyncio.gather(*(one() for _ in range(SQUAT)))

    async def guess_rest(self, stop: asyncio.Event) -> None:
        import httpx

        transport = httpx.AsyncHTTPTransport(local_address=ATTACKER)
        async with httpx.AsyncClient(transport=transport, timeout=5) as client:
            n = 0
            while not stop.is_set():
                n += 1
                response = await client.post(f"{self.base}/api/demo/{self.room_id}/goto",
                                             json={"beat": 0},
                                             headers={"X-Demo-Key": f"guess-{n:012d}"})
                if response.status_code == 429:
                    self.throttled += 1
                    await asyncio.sleep(0.01)
                else:
                    self.tried += 1

    async def guess_socket(self, stop: asyncio.Event) -> None:
        from websockets.exceptions import ConnectionClosed

        n = 0
        while not stop.is_set():
            sent = False
            try:
                async with connect(self.url, local_addr=(ATTACKER, 0), open_timeout=5) as ws:
                    n += 1
                    await ws.send(json.dumps({"type": "auth", "key": f"sock-{n:012d}"}))
                    sent = True
                    while (json.loads(await ws.recv())).get("type") != "auth":
                        pass
                    self.tried += 1
            except ConnectionClosed as closed:
                throttled = closed.rcvd is not None and closed.rcvd.code == CLOSE_THROTTLED
                if throttled or not sent:
                    self.throttled += 1
                else:
                    self.tried += 1  # checked, then closed: no seat for a wrong key
                await asyncio.sleep(0.01)
            except OSError:
                await asyncio.sleep(0.01)

    async def start(self, stop: asyncio.Event) -> None:
        await self.squat()
        self.tasks = [asyncio.ensure_future(self.guess_rest(stop)),
                      asyncio.ensure_future(self.guess_socket(stop))]

    async def end(self) -> None:
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        for ws in self.sockets:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), timeout=1)


async def connect_all(follower, followers: int, count: list[int], ready: asyncio.Event,
                      timeout: float) -> tuple[list[asyncio.Future], float]:
    """Start ``follower(i)`` for every follower, CONNECT_BATCH at a time (each batch
    connected before the next starts; ``count`` counts the connected), until ``ready``:
    the tasks and the seconds it took."""
    tasks: list[asyncio.Future] = []
    started = time.perf_counter()
    for i in range(0, followers, CONNECT_BATCH):
        batch = [asyncio.ensure_future(follower(i + j))
                 for j in range(min(CONNECT_BATCH, followers - i))]
        tasks += batch
        while count[0] < i + len(batch):
            await asyncio.sleep(0.01)
            failed = [t for t in batch if t.done() and t.exception()]
            if failed:
                raise RuntimeError(f"a follower could not connect: {failed[0].exception()!r}")
    await asyncio.wait_for(ready.wait(), timeout=timeout)
    return tasks, time.perf_counter() - started


async def run(port: int, room_id: str, followers: int, moves: int, pause: float,
              attack: Attack | None = None) -> dict:
    await wait_listening(port)
    url = f"ws://{HOST}:{port}/ws/follow/{room_id}"
    room = Room(followers)
    ready, stop = asyncio.Event(), asyncio.Event()
    count = [0]
    tasks, connect_seconds = await connect_all(
        lambda i: follow(url, room, ready, count, stop, follower_address(i)), followers,
        count, ready, timeout=30)

    if attack is not None:
        await attack.start(stop)
    timed = await time_moves(url, room, moves, pause)
    stop.set()
    if attack is not None:
        await attack.end()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {**timed, "connect_seconds": connect_seconds}


async def time_moves(url: str, room: Room, moves: int, pause: float) -> dict:
    """A presenter connects at ``url``, gives the key and moves the lesson ``moves`` times,
    ``pause`` seconds apart, waiting for ``room``'s followers to have each move. Returns
    every follower's latency, the whole room's per move, the deliveries missed and the
    state the presenter first saw."""
    latencies: list[float] = []
    whole_room: list[float] = []
    missed = 0
    async with connect(url, compression=None, max_queue=None) as presenter:
        first = json.loads(await presenter.recv())
        beats, seq = first["beats"], first["seq"]
        await presenter.send(json.dumps({"type": "auth", "key": KEY}))
        while json.loads(await presenter.recv()).get("type") != "auth":
            pass
        drain = asyncio.ensure_future(_drain(presenter))
        for i in range(moves):
            seq += 1
            done = room.expect(seq)
            sent = time.perf_counter()
            await presenter.send(json.dumps({"type": "goto", "beat": (i + 1) % beats}))
            with contextlib.suppress(TimeoutError):  # what did not arrive counts as missed
                await asyncio.wait_for(done.wait(), timeout=MOVE_TIMEOUT)
            times = room.arrivals.get(seq, [])
            missed += room.followers - len(times)
            latencies += [t - sent for t in times]
            if len(times) == room.followers:
                whole_room.append(max(times) - sent)
            await asyncio.sleep(pause)
        drain.cancel()
    return {"latencies": latencies, "whole_room": whole_room, "missed": missed,
            "first": first}


async def _drain(ws: ClientConnection) -> None:
    async for _ in ws:
        pass


def describe(name: str, seconds: list[float]) -> str:
    if not seconds:
        return f"{name}: no samples"
    ms = np.asarray(seconds) * 1000
    p50, p90, p99 = np.percentile(ms, [50, 90, 99])
    return (f"{name}: p50 {p50:6.2f} ms   p90 {p90:6.2f} ms   p99 {p99:6.2f} ms   "
            f"max {ms.max():6.2f} ms   ({ms.size} samples)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.demo_bench", description=(
        "Broadcast latency of demo mode: presenter send -> each follower receive."))
    parser.add_argument("--followers", type=int, default=200,
                        help=f"WebSocket followers (1..{MAX_FOLLOWERS}, default 200)")
    parser.add_argument("--moves", type=int, default=50,
                        help=f"moves of the presenter (1..{MAX_MOVES}, default 50)")
    parser.add_argument("--pause", type=float, default=0.05,
                        help="seconds between moves (default 0.05)")
    parser.add_argument("--seconds", type=float, default=120,
                        help="the whole run stops after this long (default 120)")
    parser.add_argument("--attack", action="store_true",
                        help=f"squat the room and guess keys from {ATTACKER} meanwhile")
    args = parser.parse_args(argv)
    if not 1 <= args.followers <= MAX_FOLLOWERS or not 1 <= args.moves <= MAX_MOVES:
        parser.error(f"--followers must be 1..{MAX_FOLLOWERS} and --moves 1..{MAX_MOVES}")
    if not 0 <= args.pause <= 5 or not 1 <= args.seconds <= 600:
        parser.error("--pause must be 0..5 and --seconds 1..600")

    with tempfile.TemporaryDirectory(prefix="convlens-bench-") as tmp:
        server = start_server(Path(tmp) / "rooms.sqlite3")
        attack = Attack(server.port, ROOM) if args.attack else None
        try:
            result = asyncio.run(asyncio.wait_for(
                run(server.port, ROOM, args.followers, args.moves, args.pause, attack),
                timeout=args.seconds))
        finally:
            server.stop()
    print(f"demo broadcast on {HOST}: {args.followers} followers, {args.moves} moves, "
          f"{os.cpu_count()} cores shared by server and client "
          f"(followers connected in {result['connect_seconds']:.2f} s)")
    if attack is not None:
        print(f"under attack from {ATTACKER}: {attack.seated} of {SQUAT} squatting sockets "
              f"seated ({attack.refused_seats} refused); {attack.tried} wrong keys checked, "
              f"{attack.throttled} guesses refused unchecked")
    print(describe("each follower ", result["latencies"]))
    print(describe("whole room    ", result["whole_room"]))
    print(f"missed: {result['missed']} of {args.followers * args.moves} deliveries")
    p99 = float(np.percentile(np.asarray(result["latencies"]) * 1000, 99)) if result[
        "latencies"] else float("inf")
    verdict = "met" if p99 <= 100 and result["missed"] == 0 else "NOT met"
    print(f"target p99 <= 100 ms with nothing missed: {verdict}")
    return 0 if verdict == "met" else 1


if __name__ == "__main__":
    raise SystemExit(main())
