"""Load benchmark of the server: ``python -m bench.load_bench``.

Starts uvicorn on 127.0.0.1 (a free port, a subprocess, ``bench.floor:app``, the app with the floor
route) and drives, for a bounded time each, at concurrency 1 and 32:

- the endpoints the explorer page calls per step, one session per connection (as one
  student each): ``POST /api/sessions/{id}/next`` (through whole passes and into the next),
  ``POST .../prev`` (walking a pass back; each prev request follows a next so it never
  meets the start) and ``GET .../provenance/{tensor}?index=`` (a hover: every cell of Z1,
  P1, dA1 and dW1 in turn, with the walk at dW1);
- ``POST /api/backward`` with 64 different examples (the whole trace at once; the page no
  longer calls it);
- ``POST /bench/floor?size=N``, a constant response of the same size N as each of those:
  the framework's floor (routing, middleware, HTTP) with no work behind it.

It prints requests/s and p50/p99 latency of each, and each endpoint's throughput as a share
of its floor (target for the per-step endpoints: >= 50% at both concurrencies). The client is a
minimal HTTP/1.1 keep-alive client on asyncio streams, cheap enough not to be the
bottleneck on a 2-core machine. Only 127.0.0.1 is contacted; every run stops by itself.

Options choose how uvicorn runs (``--loop``, ``--http``, ``--workers``) so the recommended
configuration can be measured, ``--seconds`` the time per measurement.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import engine
from tests.support.localserver import LocalServer

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
DW1 = next(i for i, s in enumerate(engine.STEPS) if s.writes == "dW1")
FLOORS = {"session next/prev": "floor (next size)", "provenance": "floor (provenance size)",
          "backward": "floor (backward size)"}
PER_STEP = ("session next/prev", "provenance")  # what the page asks for per step and hover


class Connection:
    """One keep-alive HTTP/1.1 connection; enough protocol for this server's responses
    (every one carries a Content-Length)."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def open(cls, port: int) -> Connection:
        reader, writer = await asyncio.open_connection(HOST, port)
        sock = writer.get_extra_info("socket")
        if sock is not None:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    async def request(self, method: str, path: str, body: bytes = b"") -> tuple[int, bytes]:
        head = (f"{method} {path} HTTP/1.1\r\nHost: {HOST}\r\n"
                f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n")
        self.writer.write(head.encode() + body)
        await self.writer.drain()
        status_line = await self.reader.readline()
        if not status_line:
            raise ConnectionError("the server closed the connection")
        status = int(status_line.split()[1])
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        return status, await self.reader.readexactly(length)

    def close(self) -> None:
        self.writer.close()


@dataclass
class Result:
    name: str
    concurrency: int
    requests: int
    seconds: float
    latencies: list[float]

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def percentile(self, q: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e3


async def drive(port: int, name: str, concurrency: int, seconds: float,
                make_request) -> Result:
    """``concurrency`` connections, each sending requests back to back until the time is
    up. ``make_request(worker)`` returns the (method, path, body) requests that worker
    sends in turn."""
    connections = [await Connection.open(port) for _ in range(concurrency)]
    plans = [make_request(i) for i in range(concurrency)]
    for conn, plan in zip(connections, plans):  # warm up each connection
        await conn.request(*plan[0])
    latencies: list[float] = []
    deadline = time.perf_counter() + seconds

    async def worker(conn: Connection, plan: list[tuple[str, str, bytes]]) -> None:
        k = 0
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            status, _ = await conn.request(*plan[k % len(plan)])
            k += 1
            latencies.append(time.perf_counter() - start)
            if status != 200:
                raise RuntimeError(f"{name}: status {status}")

    start = time.perf_counter()
    await asyncio.gather(*(worker(c, p) for c, p in zip(connections, plans)))
    elapsed = time.perf_counter() - start
    for conn in connections:
        conn.close()
    return Result(name, concurrency, len(latencies), elapsed, latencies)


def server(args: argparse.Namespace) -> LocalServer:
    command = ["uvicorn", "bench.floor:app", "--host", HOST, "--port", "{port}", "--log-level",
               "warning", "--no-access-log", "--loop", args.loop, "--http", args.http]
    if args.workers > 1:
        command += ["--workers", str(args.workers)]
    return LocalServer(command, quiet=False)


async def run(port: int, args: argparse.Namespace) -> list[Result]:
    # 64 different examples, so nothing is measured from a warm cache of one input.
    rng = np.random.default_rng(0)
    x, y, _ = engine.seed_example()
    body = json.dumps({"x": x.tolist(), "y": y}).encode()
    varied = [json.dumps({"x": rng.random(x.shape).round(3).tolist(),
                          "y": int(rng.integers(2))}).encode() for _ in range(64)]
    conn = await Connection.open(port)
    status, backward_bytes = await conn.request("POST", "/api/backward", body)
    assert status == 200, status
    sessions, hovering = [], []
    for _ in range(max(args.concurrency)):
        status, created = await conn.request("POST", "/api/sessions", body)
        assert status == 201, status
        sessions.append(json.loads(created)["id"])
        status, created = await conn.request("POST", "/api/sessions", body)
        sid = json.loads(created)["id"]
        goto = json.dumps({"epoch": 0, "cursor": DW1}).encode()
        status, _ = await conn.request("POST", f"/api/sessions/{sid}/goto", goto)
        assert status == 200, status
        hovering.append(sid)
    status, next_bytes = await conn.request("POST", f"/api/sessions/{sessions[0]}/next")
    config = engine.Config()
    cells = [(name, ",".join(map(str, index))) for name in ("Z1", "P1", "dA1", "dW1")
             for index in np.ndindex(config.shapes()[name])]
    sizes = []
    for name, index in cells:
        status, found = await conn.request(
            "GET", f"/api/sessions/{hovering[0]}/provenance/{name}?index={index}")
        assert status == 200, status
        sizes.append(len(found))
    provenance_size = int(np.median(sizes))
    conn.close()

    def next_prev(i: int) -> list[tuple[str, str, bytes]]:
        at = f"/api/sessions/{sessions[i]}"
        return [("POST", f"{at}/next", b""), ("POST", f"{at}/next", b""),
                ("POST", f"{at}/prev", b"")]

    plans = {
        "session next/prev": next_prev,
        "floor (next size)": lambda i: [
            ("POST", f"/bench/floor?size={len(next_bytes)}", b"")],
        "provenance": lambda i: [
            ("GET", f"/api/sessions/{hovering[i]}/provenance/{name}?index={index}", b"")
            for name, index in cells[i:] + cells[:i]],
        "floor (provenance size)": lambda i: [
            ("POST", f"/bench/floor?size={provenance_size}", b"")],
        "backward": lambda i: [("POST", "/api/backward", b) for b in varied[i:] + varied[:i]],
        "floor (backward size)": lambda i: [
            ("POST", f"/bench/floor?size={len(backward_bytes)}", body)],
    }
    results = []
    for concurrency in args.concurrency:
        for name, plan in plans.items():
            results.append(await drive(port, name, concurrency, args.seconds, plan))
    print(f"response sizes: session next {len(next_bytes)} B, provenance {provenance_size} B "
          f"(median), backward {len(backward_bytes)} B")
    return results


def report(results: list[Result]) -> None:
    by_key = {(r.name, r.concurrency): r for r in results}
    print(f"{'endpoint':<24}{'conc':>5}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'of floor':>10}")
    for r in results:
        floor_name = FLOORS.get(r.name)
        share = ""
        if floor_name:
            share = f"{100 * r.rate / by_key[floor_name, r.concurrency].rate:9.0f}%"
        print(f"{r.name:<24}{r.concurrency:>5}{r.rate:>9.0f}{r.percentile(0.5):>9.2f}"
              f"{r.percentile(0.99):>9.2f}{share:>10}")
    for name in PER_STEP:
        shares = [by_key[name, c].rate / by_key[FLOORS[name], c].rate
                  for c in sorted({r.concurrency for r in results})]
        verdict = "met" if min(shares) >= 0.5 else "NOT met"
        print(f"target {name} >= 50% of the floor at every concurrency: {verdict} "
              f"({', '.join(f'{100 * s:.0f}%' for s in shares)})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load_bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0,
                        help="duration of each measurement (default 5, at most 60)")
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 32])
    parser.add_argument("--loop", choices=["asyncio", "uvloop", "auto"], default="asyncio")
    parser.add_argument("--http", choices=["h11", "httptools", "auto"], default="httptools")
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    args.seconds = min(max(args.seconds, 0.5), 60.0)
    args.concurrency = [min(max(c, 1), 256) for c in args.concurrency]
    with server(args) as running:
        print(f"uvicorn --loop {args.loop} --http {args.http} --workers {args.workers}, "
              f"{args.seconds:g} s per measurement, on {HOST}:{running.port}")
        report(asyncio.run(run(running.port, args)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
