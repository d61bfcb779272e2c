"""Scale-out on Redis: ``python -m bench.scale_bench``.

Starts its own ``redis-server`` (a free port, no persistence) and measures, on this machine:

1. **Session next throughput** at concurrency 32 (one walk per connection, as one student
   each, stepping through whole passes and into the next): one worker without Redis (the
   default), one worker on Redis, and ``convlens serve --workers 2 --redis URL``.
2. **Broadcast latency to 1,000 followers spread over two workers**: two ``convlens``
   demo workers on one Redis (two processes on two ports, as two hosts behind a balancer
   would be), 500 followers on each, the presenter on the first; for every move and every
   follower, the time from the presenter sending ``goto`` to that follower receiving the
   new state. Target: p99 <= 100 ms, no delivery lost.

Server, Redis and the client share the machine's cores: the figures include the client's
own time (one asyncio process reading 1,000 sockets). Only 127.0.0.1 is contacted; every
run is bounded in time and stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import gc
import json
import os
import re
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.demo_bench import (
    KEY,
    Room,
    connect_all,
    describe,
    follower_address,
    time_moves,
    wait_listening,
)
from bench.load_bench import Connection, Result, drive
from tests.support.localserver import LocalServer
from tests.support.redisserver import RedisServer

HOST = "127.0.0.1"
ROOM = "scale-room"
MAX_FOLLOWERS = 2000


# --------------------------------------------------------------------------- throughput
def serve_command(workers: int, redis_url: str | None) -> list[str]:
    command = ["app.cli", "serve", "--host", HOST, "--port", "{port}"]
    if redis_url:
        command += ["--redis", redis_url]
    if workers > 1:
        command += ["--workers", str(workers)]
    return command


async def next_throughput(port: int, concurrency: int, seconds: float) -> Result:
    conn = await Connection.open(port)
    walks = []
    for _ in range(concurrency):
        status, created = await conn.request("POST", "/api/sessions", b"{}")
        if status != 201:
            raise RuntimeError(f"creating a walk: status {status}")
        walks.append(json.loads(created)["id"])
    conn.close()
    return await drive(port, "session next", concurrency, seconds,
                       lambda i: [("POST", f"/api/sessions/{walks[i]}/next", b"")])


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def throughput(redis: RedisServer, concurrency: int, seconds: float
               ) -> list[tuple[str, Result, float]]:
    """Each server's figures and Redis's CPU time per request (0 without Redis)."""
    out = []
    for label, workers, url in (("1 worker, memory (default)", 1, None),
                                ("1 worker, Redis", 1, redis.url),
                                ("2 workers, Redis", 2, redis.url)):
        redis.flush()
        one_client = {"CONVLENS_MAX_SESSIONS_PER_CLIENT": "256"}  # 32 walks from one address
        with LocalServer(serve_command(workers, url), env=one_client) as server:
            time.sleep(1.0 if workers > 1 else 0.2)  # every worker up, not only the first
            before = cpu_seconds(redis.proc.pid)
            result = asyncio.run(next_throughput(server.port, concurrency, seconds))
            used = cpu_seconds(redis.proc.pid) - before
            out.append((label, result, used / result.requests if url else 0.0))
        print(f"  measured: {label}", flush=True)
    return out


# ---------------------------------------------------------------------------- broadcast
SEQ = re.compile(rb'"seq":(\d+)')


async def light_follow(port: int, room: Room, ready_count: list[int], ready: asyncio.Event,
                       stop: asyncio.Event, address: str) -> None:
    """A follower with as little client cost as a socket allows: the WebSocket handshake,
    then frames read as bytes (no JSON parsing: the state's seq is found in its text), pings
    answered. The ``websockets`` client costs ~70 µs a message, which at 1,000 followers
    would put ~70 ms of the client's own time into every figure."""
    reader, writer = await asyncio.open_connection(HOST, port, local_addr=(address, 0))
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write((f"GET /ws/follow/{ROOM} HTTP/1.1\r\nHost: {HOST}:{port}\r\n"
                  f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}"
                  "\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
    status = await reader.readline()
    if b" 101 " not in status:
        raise RuntimeError(f"no WebSocket: {status!r}")
    while await reader.readline() not in (b"\r\n", b""):
        pass
    first = True
    stopping = asyncio.ensure_future(stop.wait())
    try:
        while True:
            reading = asyncio.ensure_future(reader.readexactly(2))
            await asyncio.wait({reading, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not reading.done():
                reading.cancel()
                return
            head = reading.result()
            opcode, length = head[0] & 0x0F, head[1] & 0x7F
            if length == 126:
                length = int.from_bytes(await reader.readexactly(2), "big")
            elif length == 127:
                length = int.from_bytes(await reader.readexactly(8), "big")
            payload = await reader.readexactly(length)
            at = time.perf_counter()
            if opcode == 0x8:  # close
                return
            if opcode == 0x9:  # ping: a masked pong with the same payload
                mask = os.urandom(4)
                writer.write(bytes([0x8A, 0x80 | len(payload)]) + mask
                             + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))
                continue
            if opcode == 0x1 and payload.startswith(b'{"type":"state"'):
                if first:
                    first = False
                    ready_count[0] += 1
                    if ready_count[0] == room.followers:
                        ready.set()
                    continue
                found = SEQ.search(payload)
                if found:
                    room.arrived(int(found.group(1)), at)
    finally:
        stopping.cancel()
        writer.close()


def demo_worker(redis_url: str | None, tmp: Path, followers: int) -> LocalServer:
    """One demo worker on its own port, configured as ``convlens demo --workers`` configures
    each of its workers (through the environment); without ``redis_url``, alone."""
    env = {"CONVLENS_REDIS_URL": redis_url or "", "CONVLENS_DEMO_KEY": KEY,
           "CONVLENS_DEMO_ROOM": ROOM, "CONVLENS_DEMO_RESULTS": str(tmp / "answers.sqlite3"),
           "CONVLENS_DEMO_FOLLOWERS": str(followers + 10)}  # the presenter too
    return LocalServer(["uvicorn", "app.main:app", "--host", HOST, "--port", "{port}",
                        "--log-level", "warning", "--ws-max-size", "16384"], env=env)


async def broadcast(ports: list[int], followers: int, moves: int, pause: float) -> dict:
    for port in ports:
        await wait_listening(port)
    urls = [f"ws://{HOST}:{port}/ws/follow/{ROOM}" for port in ports]
    room = Room(followers)
    ready, stop = asyncio.Event(), asyncio.Event()
    count = [0]
    tasks, connect_seconds = await connect_all(
        lambda i: light_follow(ports[i % len(ports)], room, count, ready, stop,
                               follower_address(i)), followers, count, ready, timeout=60)

    # The client's own garbage collector, walking 1,000 connections' objects, would add its
    # pauses to the figures: collected once here, off while the moves are timed.
    gc.collect()
    gc.freeze()
    gc.disable()
    cpu = time.process_time()
    timed = await time_moves(urls[0], room, moves, pause)
    client_cpu = (time.process_time() - cpu) / moves
    gc.enable()
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {**timed, "connect_seconds": connect_seconds,
            "counted": timed["first"]["followers"], "client_cpu": client_cpu}


# --------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale_bench", description=(
        "Session throughput and demo broadcast latency with workers on one Redis."))
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=8.0,
                        help="seconds per throughput measurement (default 8)")
    parser.add_argument("--followers", type=int, default=1000)
    parser.add_argument("--moves", type=int, default=40)
    parser.add_argument("--pause", type=float, default=0.5, help=(
        "seconds between moves (default 0.5: each move on its own, as a presenter's "
        "presses are; the client needs tens of ms of CPU to read 1,000 sockets)"))
    parser.add_argument("--skip", choices=("throughput", "broadcast"), default=None)
    parser.add_argument("--demo-workers", type=int, choices=(1, 2), default=2, help=(
        "demo workers for the broadcast (1: one process without Redis, to compare)"))
    args = parser.parse_args(argv)
    if not 1 <= args.concurrency <= 256 or not 1 <= args.seconds <= 60:
        parser.error("--concurrency must be 1..256 and --seconds 1..60")
    if not 2 <= args.followers <= MAX_FOLLOWERS or not 1 <= args.moves <= 500:
        parser.error(f"--followers must be 2..{MAX_FOLLOWERS} and --moves 1..500")

    print(f"{os.cpu_count()} cores shared by the servers, Redis and the client; "
          f"load average {os.getloadavg()[0]:.1f} at start")
    verdict = 0
    with RedisServer() as redis:
        if args.skip != "throughput":
            results = throughput(redis, args.concurrency, args.seconds)
            base = results[0][1].rate
            print(f"\nsession next, concurrency {args.concurrency}:")
            for label, r, redis_cpu in results:
                spent = f", Redis {redis_cpu * 1e6:.0f} µs CPU a request" if redis_cpu else ""
                print(f"  {label:28s} {r.rate:7.0f} req/s   p50 {r.percentile(0.5):6.1f} ms   "
                      f"p99 {r.percentile(0.99):6.1f} ms   ({r.rate / base:.0%} of the "
                      f"default{spent})")
        if args.skip != "broadcast":
            redis.flush()
            with tempfile.TemporaryDirectory(prefix="convlens-scale-") as tmp:
                url = redis.url if args.demo_workers > 1 else None
                workers = [demo_worker(url, Path(tmp), args.followers)
                           for _ in range(args.demo_workers)]
                try:
                    for w in workers:
                        w.start()
                    result = asyncio.run(asyncio.wait_for(
                        broadcast([w.port for w in workers], args.followers, args.moves,
                                  args.pause), timeout=300))
                finally:
                    for w in workers:
                        w.stop()
            where = ("2 workers on one Redis" if args.demo_workers > 1
                     else "1 worker without Redis")
            print(f"\ndemo broadcast: {args.followers} followers over {where}, "
                  f"{args.moves} moves (connected in {result['connect_seconds']:.1f} s; the "
                  f"presenter's page counted {result['counted']} followers)")
            print("  " + describe("each follower ", result["latencies"]))
            print("  " + describe("whole room    ", result["whole_room"]))
            print(f"  missed: {result['missed']} of {args.followers * args.moves} deliveries")
            print(f"  the client's own CPU per move (reading every follower's socket): "
                  f"{result['client_cpu'] * 1000:.0f} ms")
            p99 = (float(np.percentile(np.asarray(result["latencies"]) * 1000, 99))
                   if result["latencies"] else float("inf"))
            met = p99 <= 100 and result["missed"] == 0
            print(f"  target p99 <= 100 ms with nothing missed: {'met' if met else 'NOT met'}")
            verdict = 0 if met else 1
    return verdict


if __name__ == "__main__":
    raise SystemExit(main())
