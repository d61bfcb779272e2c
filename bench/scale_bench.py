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
import contextlib
import json
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from websockets.asyncio.client import connect

from bench.demo_bench import Room, _drain, describe, follow, follower_address, wait_listening
from bench.load_bench import Connection, Result, drive
from tests.support.localserver import LocalServer
from tests.support.redisserver import RedisServer

HOST = "127.0.0.1"
KEY = "bench-presenter-key-000"
ROOM = "scale-room"
MOVE_TIMEOUT = 2.0
CONNECT_BATCH = 50
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


def throughput(redis: RedisServer, concurrency: int, seconds: float) -> list[tuple[str, Result]]:
    out = []
    for label, workers, url in (("1 worker, memory (default)", 1, None),
                                ("1 worker, Redis", 1, redis.url),
                                ("2 workers, Redis", 2, redis.url)):
        redis.flush()
        one_client = {"CONVLENS_MAX_SESSIONS_PER_CLIENT": "256"}  # 32 walks from one address
        with LocalServer(serve_command(workers, url), env=one_client) as server:
            time.sleep(1.0 if workers > 1 else 0.2)  # every worker up, not only the first
            out.append((label, asyncio.run(next_throughput(server.port, concurrency,
                                                           seconds))))
        print(f"  measured: {label}", flush=True)
    return out


# ---------------------------------------------------------------------------- broadcast
def demo_worker(redis_url: str, tmp: Path, followers: int) -> LocalServer:
    """One demo worker on its own port, configured as ``convlens demo --workers`` configures
    each of its workers (through the environment)."""
    env = {"CONVLENS_REDIS_URL": redis_url, "CONVLENS_DEMO_KEY": KEY,
           "CONVLENS_DEMO_ROOM": ROOM, "CONVLENS_DEMO_RESULTS": str(tmp / "answers.sqlite3"),
           "CONVLENS_DEMO_FOLLOWERS": str(followers)}
    return LocalServer(["uvicorn", "app.main:app", "--host", HOST, "--port", "{port}",
                        "--log-level", "warning", "--ws-max-size", "16384"], env=env)


async def broadcast(ports: list[int], followers: int, moves: int, pause: float) -> dict:
    for port in ports:
        await wait_listening(port)
    urls = [f"ws://{HOST}:{port}/ws/follow/{ROOM}" for port in ports]
    room = Room(followers)
    ready, stop = asyncio.Event(), asyncio.Event()
    count = [0]
    tasks = []
    started = time.perf_counter()
    for i in range(0, followers, CONNECT_BATCH):
        batch = [asyncio.ensure_future(follow(urls[(i + j) % len(urls)], room, ready, count,
                                              stop, follower_address(i + j)))
                 for j in range(min(CONNECT_BATCH, followers - i))]
        tasks += batch
        while count[0] < i + len(batch):
            await asyncio.sleep(0.01)
            failed = [t for t in batch if t.done() and t.exception()]
            if failed:
                raise RuntimeError(f"a follower could not connect: {failed[0].exception()!r}")
    await asyncio.wait_for(ready.wait(), timeout=60)
    connect_seconds = time.perf_counter() - started

    latencies: list[float] = []
    whole_room: list[float] = []
    missed = 0
    async with connect(urls[0], compression=None, max_queue=None) as presenter:
        state = json.loads(await presenter.recv())
        beats, seq = state["beats"], state["seq"]
        counted = state["followers"]
        await presenter.send(json.dumps({"type": "auth", "key": KEY}))
        while json.loads(await presenter.recv()).get("type") != "auth":
            pass
        drain = asyncio.ensure_future(_drain(presenter))
        for i in range(moves):
            seq += 1
            done = room.expect(seq)
            sent = time.perf_counter()
            await presenter.send(json.dumps({"type": "goto", "beat": (i + 1) % beats}))
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), timeout=MOVE_TIMEOUT)
            times = room.arrivals.get(seq, [])
            missed += followers - len(times)
            latencies += [t - sent for t in times]
            if len(times) == followers:
                whole_room.append(max(times) - sent)
            await asyncio.sleep(pause)
        drain.cancel()
    stop.set()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"latencies": latencies, "whole_room": whole_room, "missed": missed,
            "connect_seconds": connect_seconds, "counted": counted}


# --------------------------------------------------------------------------------- main
def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scale_bench", description=(
        "Session throughput and demo broadcast latency with workers on one Redis."))
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--seconds", type=float, default=8.0,
                        help="seconds per throughput measurement (default 8)")
    parser.add_argument("--followers", type=int, default=1000)
    parser.add_argument("--moves", type=int, default=40)
    parser.add_argument("--pause", type=float, default=0.1)
    parser.add_argument("--skip", choices=("throughput", "broadcast"), default=None)
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
            for label, r in results:
                print(f"  {label:28s} {r.rate:7.0f} req/s   p50 {r.percentile(0.5):6.1f} ms   "
                      f"p99 {r.percentile(0.99):6.1f} ms   ({r.rate / base:.0%} of the "
                      f"default)")
        if args.skip != "broadcast":
            redis.flush()
            with tempfile.TemporaryDirectory(prefix="convlens-scale-") as tmp:
                workers = [demo_worker(redis.url, Path(tmp), args.followers) for _ in range(2)]
                try:
                    for w in workers:
                        w.start()
                    result = asyncio.run(asyncio.wait_for(
                        broadcast([w.port for w in workers], args.followers, args.moves,
                                  args.pause), timeout=300))
                finally:
                    for w in workers:
                        w.stop()
            print(f"\ndemo broadcast: {args.followers} followers over 2 workers on one Redis, "
                  f"{args.moves} moves (connected in {result['connect_seconds']:.1f} s; the "
                  f"presenter's page counted {result['counted']} followers)")
            print("  " + describe("each follower ", result["latencies"]))
            print("  " + describe("whole room    ", result["whole_room"]))
            print(f"  missed: {result['missed']} of {args.followers * args.moves} deliveries")
            p99 = (float(np.percentile(np.asarray(result["latencies"]) * 1000, 99))
                   if result["latencies"] else float("inf"))
            met = p99 <= 100 and result["missed"] == 0
            print(f"  target p99 <= 100 ms with nothing missed: {'met' if met else 'NOT met'}")
            verdict = 0 if met else 1
    return verdict


if __name__ == "__main__":
    raise SystemExit(main())
