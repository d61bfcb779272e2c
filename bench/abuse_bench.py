"""Abuse benchmark: ``python -m bench.abuse_bench [--quick] [--only NAME ...]``.

Starts ``convlens serve`` on 127.0.0.1 (a free port, a subprocess, a fresh server for each
attack) and runs, one at a time, the attacks of issue 13 that hit the server itself, each
bounded in count and time and stopping by itself, while a separate prober process measures
what an honest student sees: ``GET /api/health`` and the explorer page with every file it
loads (``GET /``, its scripts, its CSS, plotly.js). The prober connects from 127.0.0.2 (still
this machine's loopback) so that per-client limits count it as a different student from
the attacker.

Attacks (``--only`` picks some):

keys       4 clients post, again and again, a ~1 MB JSON body of 124,000 unknown keys
           to /api/backward. Reported: the largest response body to a bad request and
           the slowest such answer.
abandon    60 maximum-cost /api/gradcheck requests whose clients hang up after 0.2 s.
           Reported: how long the server keeps computing after the last hang-up (its CPU
           time, read from /proc, falls under 10% of a core).
memory     40 concurrent maximum-cost /api/train requests, and 20 clients each sending a
           50 MB header that never ends. Reported: the server's peak RSS (VmHWM).
slowloris  up to 1,000 connections that send an incomplete request a byte at a time.
           Reported: how many the server still held at the end.
header     one request with a 50 MB header. Reported: its status (or that the server cut
           it off).
sigterm    SIGTERM while 20 maximum-cost gradchecks are running or queued. Reported: the
           time until the process exits.

Against ``convlens demo`` (a lesson with questions, ``--per-client 500`` as behind a NAT):

fill       one address joins the room's answers as fast as it can (at most 1,500 joins or
           20 s). Reported: the joins admitted, whether an honest student from another
           address still joins, the places held, and the rows left in the gradebook after
           the presenter removes everyone who never answered.
late       for each question of the lesson, a student who watches the room's state
           (``GET /api/demo/{room}``, as fast as it can) answers with the right value the
           moment the beat that shows it arrives; and again after the presenter reopens
           it. Reported: the answers scored after their result was on screen.

Targets: health p99 <= 100 ms and page files p99 <= 500 ms under every attack; no bad
request's body over 64 kB; abandoned work stops within 1 s; SIGTERM exits within 5 s; peak
RSS under 1 GB; at most 300 joins from one address in 10 minutes, the honest student
joins, no answer scores after its result is shown. Only 127.0.0.1 is contacted.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import csv
import io
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import engine
from tests.support.localserver import LocalServer

HOST = "127.0.0.1"
PROBE_FROM = "127.0.0.2"  # loopback too: a different client address for the same machine
# The largest network, 6,289 parameters: two forward passes each, several seconds.
MAX_COST_GRADCHECK = {"config": {"input_size": 28, "kernel_size": 1, "filters": 8,
                                 "pool_size": 1},
                      "x": [[(i * 28 + j) % 7 / 7 for j in range(28)] for i in range(28)],
                      "y": 1}
# 400 examples x 28^2 x 8 x 28^2 + 25 steps x 20,000 = 1.97e9: just under the work cap.
MAX_COST_TRAIN = {"config": {"input_size": 28, "kernel_size": 1, "filters": 8, "pool_size": 1},
                  "dataset": "strokes", "epochs": 1, "batch_size": 16, "lr": 0.1, "seed": 0}


# ------------------------------------------------------------------------ a tiny client
async def _open(port: int, local: str | None = None,
                timeout: float = 5.0) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.wait_for(asyncio.open_connection(
        HOST, port, local_addr=(local, 0) if local else None, limit=2**20), timeout)


def _head(method: str, path: str, body: bytes = b"", extra: str = "") -> bytes:
    return (f"{method} {path} HTTP/1.1\r\nHost: {HOST}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\n{extra}\r\n").encode() + body


async def _response(reader: asyncio.StreamReader) -> tuple[int, dict[bytes, bytes], bytes]:
    line = await reader.readline()
    if not line:
        raise ConnectionError("closed")
    status = int(line.split()[1])
    headers: dict[bytes, bytes] = {}
    while True:
        line = await reader.readline()
        if line in (b"\r\n", b""):
            break
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip()
    if b"content-length" in headers:
        body = await reader.readexactly(int(headers[b"content-length"]))
    elif headers.get(b"transfer-encoding", b"").lower() == b"chunked":
        parts = []
        while True:
            size = int((await reader.readline()).strip(), 16)
            parts.append(await reader.readexactly(size + 2))
            if size == 0:
                break
        body = b"".join(p[:-2] for p in parts)
    else:
        body = await reader.read()
    return status, headers, body


async def request(port: int, method: str, path: str, body: bytes = b"",
                  timeout: float = 60.0) -> tuple[int, bytes]:
    reader, writer = await _open(port)
    try:
        writer.write(_head(method, path, body))
        await writer.drain()
        status, _, data = await asyncio.wait_for(_response(reader), timeout)
        return status, data
    finally:
        writer.close()


# ---------------------------------------------------------------------------- the prober
def _probe(port: int, seconds: float, results: multiprocessing.Queue) -> None:
    """In its own process: GET /api/health every 50 ms on one keep-alive connection, and the
    whole explorer page (/, then every file it names) every 500 ms on another."""

    async def main() -> dict[str, list[float]]:
        health: list[float] = []
        page: list[float] = []
        failures: list[str] = []
        stop = time.monotonic() + seconds

        async def keepalive(paths: Callable[[], list[str]], out: list[float],
                            pause: float) -> None:
            conn = None
            while time.monotonic() < stop:
                for path in paths():
                    start = time.perf_counter()
                    try:
                        if conn is None:
                            conn = await _open(port, PROBE_FROM)
                        reader, writer = conn
                        writer.write(f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n\r\n".encode())
                        await writer.drain()
                        status, headers, _ = await asyncio.wait_for(_response(reader), 30)
                        if status != 200:
                            failures.append(f"{path}: {status}")
                        if headers.get(b"connection") == b"close":
                            writer.close()
                            conn = None
                    except (TimeoutError, OSError, ConnectionError,
                            asyncio.IncompleteReadError) as exc:
                        failures.append(f"{path}: {type(exc).__name__}")
                        if conn is not None:
                            conn[1].close()
                        conn = None
                    out.append(time.perf_counter() - start)
                await asyncio.sleep(pause)
            if conn is not None:
                conn[1].close()

        files = ["/"]

        def page_paths() -> list[str]:
            return files

        try:
            _status, html = await request(port, "GET", "/")
            names = re.findall(rb'(?:src|href)="(/[^"]+)"', html)
            files.extend(n.decode() for n in names if not n.startswith(b"//"))
        except (TimeoutError, OSError, ConnectionError):
            pass
        await asyncio.gather(keepalive(lambda: ["/api/health"], health, 0.05),
                             keepalive(page_paths, page, 0.5))
        return {"health": health, "page": page, "failures": failures[:20],
                "failure_count": [len(failures)]}

    results.put(asyncio.run(main()))


class Prober:
    def __init__(self, port: int, seconds: float) -> None:
        self.queue: multiprocessing.Queue = multiprocessing.Queue()
        self.proc = multiprocessing.Process(target=_probe, args=(port, seconds, self.queue))

    def __enter__(self) -> Prober:
        self.proc.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.result = self.queue.get(timeout=120)
        self.proc.join(timeout=10)


def p99(values: list[float]) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


# ------------------------------------------------------------------------- server state
def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_mb(pid: int, key: str = "VmRSS") -> float:
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1]) / 1024
    return float("nan")


def server_pid(server: LocalServer) -> int:
    """The uvicorn process: `python -m app.cli serve` runs it in-process."""
    assert server.proc is not None
    return server.proc.pid


def start_server() -> LocalServer:
    return LocalServer(["app.cli", "serve", "--port", "{port}"], timeout=60).start()


@dataclass
class Report:
    name: str
    figures: dict[str, object] = field(default_factory=dict)
    health: list[float] = field(default_factory=list)
    page: list[float] = field(default_factory=list)
    failures: int = 0

    def line(self) -> str:
        parts = [f"health p99 {p99(self.health) * 1000:.0f} ms ({len(self.health)})",
                 f"page files p99 {p99(self.page) * 1000:.0f} ms ({len(self.page)})",
                 f"probe failures {self.failures}"]
        parts += [f"{k} {v}" for k, v in self.figures.items()]
        return f"{self.name:10s} " + "; ".join(parts)


async def _during(port: int, seconds: float, attack: Callable[[], Awaitable[None]],
                  report: Report) -> None:
    prober = Prober(port, seconds)
    with prober:
        await asyncio.sleep(0.3)
        await attack()
    report.health, report.page = prober.result["health"], prober.result["page"]
    report.failures = prober.result["failure_count"][0]
    if prober.result["failures"]:
        report.figures["first failures"] = prober.result["failures"][:3]


# ------------------------------------------------------------------------------ attacks
def many_keys_body() -> bytes:
    alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
    keys = (a + b + c for a in alphabet for b in alphabet for c in alphabet)
    body = "{" + ",".join(f'"{k}":0' for k, _ in zip(keys, range(124_000))) + "}"
    return body.encode()


async def attack_keys(port: int, quick: bool) -> Report:
    report = Report("keys")
    body = many_keys_body()
    seconds = 6 if quick else 12
    sizes: list[int] = []
    times: list[float] = []
    statuses: set[int] = set()

    async def client(stop: float) -> None:
        while time.monotonic() < stop:
            start = time.perf_counter()
            try:
                status, data = await request(port, "POST", "/api/backward", body, timeout=30)
            except (TimeoutError, OSError, ConnectionError, asyncio.IncompleteReadError):
                await asyncio.sleep(0.1)
                continue
            times.append(time.perf_counter() - start)
            sizes.append(len(data))
            statuses.add(status)

    async def attack() -> None:
        stop = time.monotonic() + seconds - 1
        await asyncio.gather(*(client(stop) for _ in range(4)))

    await _during(port, seconds, attack, report)
    report.figures.update({
        "body bytes sent": len(body), "answers": len(sizes), "statuses": sorted(statuses),
        "largest bad-request body": f"{max(sizes, default=0) / 1000:.1f} kB",
        "slowest answer": f"{max(times, default=float('nan')):.2f} s"})
    return report


async def _hang_up(port: int, path: str, body: bytes, after: float) -> None:
    try:
        reader, writer = await _open(port)
        writer.write(_head("POST", path, body))
        await writer.drain()
        with contextlib.suppress(TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            await asyncio.wait_for(_response(reader), after)
        writer.transport.abort()
    except (TimeoutError, OSError):
        pass


async def busy_until_idle(pid: int, limit: float) -> float:
    """Seconds until the process's CPU use falls under 10% of a core over 0.3 s."""
    start = time.monotonic()
    before, then = cpu_seconds(pid), time.monotonic()
    while time.monotonic() - start < limit:
        await asyncio.sleep(0.3)
        now_cpu, now = cpu_seconds(pid), time.monotonic()
        if (now_cpu - before) / (now - then) < 0.10:
            return max(0.0, then - start)
        before, then = now_cpu, now
    return float("inf")


async def attack_abandon(port: int, pid: int, quick: bool) -> Report:
    report = Report("abandon")
    body = json.dumps(MAX_COST_GRADCHECK).encode()
    count = 20 if quick else 60
    limit = 30 if quick else 60
    stop_time: list[float] = []

    async def attack() -> None:
        await asyncio.gather(*(_hang_up(port, "/api/gradcheck", body, 0.2)
                               for _ in range(count)))
        stop_time.append(await busy_until_idle(pid, limit))

    await _during(port, 8 if quick else 15, attack, report)
    report.figures["requests"] = count
    report.figures["work stopped after"] = (f"{stop_time[0]:.2f} s" if stop_time[0] < limit
                                            else f"still computing after {limit} s")
    return report


async def _large_header(port: int, total: int, seconds: float) -> str:
    """Send up to ``total`` bytes of one header line that never ends; hold it open."""
    sent = 0
    try:
        reader, writer = await _open(port)
    except (TimeoutError, OSError):
        return "refused"
    try:
        writer.write(f"GET /api/health HTTP/1.1\r\nHost: {HOST}\r\nX-Big: ".encode())
        chunk = b"a" * 65536
        stop = time.monotonic() + seconds
        while sent < total and time.monotonic() < stop:
            writer.write(chunk)
            await asyncio.wait_for(writer.drain(), 5)
            sent += len(chunk)
            if reader.at_eof():
                return f"cut off after {sent / 1e6:.1f} MB"
        # holds it open, unfinished, for the rest of the attack
        data = await asyncio.wait_for(reader.read(200), max(0.1, stop - time.monotonic()))
        if data:
            return f"answered {data.split(b' ', 2)[1].decode()} after {sent / 1e6:.1f} MB"
        return f"cut off after {sent / 1e6:.1f} MB"
    except TimeoutError:
        return f"held open with {sent / 1e6:.1f} MB"
    except (OSError, ConnectionError):
        return f"cut off after {sent / 1e6:.1f} MB"
    finally:
        writer.transport.abort()


async def attack_memory(port: int, pid: int, quick: bool) -> Report:
    report = Report("memory")
    body = json.dumps(MAX_COST_TRAIN).encode()
    count = 40
    seconds = 40 if quick else 60
    statuses: list[object] = []
    headers: list[str] = []
    peak = [rss_mb(pid)]

    async def train() -> None:
        try:
            status, _ = await request(port, "POST", "/api/train", body, timeout=seconds)
            statuses.append(status)
        except (TimeoutError, OSError, ConnectionError, asyncio.IncompleteReadError) as exc:
            statuses.append(type(exc).__name__)

    async def watch(stop: float) -> None:
        while time.monotonic() < stop:
            peak.append(rss_mb(pid))
            await asyncio.sleep(0.2)

    async def attack() -> None:
        stop = time.monotonic() + seconds - 2
        watcher = asyncio.ensure_future(watch(stop))
        big = [asyncio.ensure_future(_large_header(port, 50_000_000, seconds - 5))
               for _ in range(20)]
        await asyncio.gather(*(train() for _ in range(count)))
        headers.extend(await asyncio.gather(*big))
        watcher.cancel()

    await _during(port, seconds, attack, report)
    report.figures.update({
        "train answers": {s: [str(t) for t in statuses].count(s)
                          for s in sorted(set(map(str, statuses)))},
        "large headers": sorted(set(headers))[:4],
        "peak RSS": f"{max(rss_mb(pid, 'VmHWM'), max(peak)):.0f} MB"})
    return report


async def attack_slowloris(port: int, quick: bool) -> Report:
    report = Report("slowloris")
    count = 300 if quick else 1000
    seconds = 20 if quick else 30
    held: list[bool] = []

    async def one(stop: float) -> None:
        try:
            reader, writer = await _open(port)
        except (TimeoutError, OSError):
            held.append(False)
            return
        line = f"POST /api/backward HTTP/1.1\r\nHost: {HOST}\r\nX-a: ".encode()
        try:
            for i in range(10_000):
                if time.monotonic() >= stop:
                    break
                writer.write(line[i:i + 1] if i < len(line) else b"b")
                await writer.drain()
                try:
                    if await asyncio.wait_for(reader.read(1), 1.0) == b"":
                        held.append(False)
                        return
                    held.append(False)  # answered something: not held
                    return
                except TimeoutError:
                    pass
            held.append(True)
        except (OSError, ConnectionError):
            held.append(False)
        finally:
            writer.transport.abort()

    async def attack() -> None:
        stop = time.monotonic() + seconds - 2
        await asyncio.gather(*(one(stop) for _ in range(count)))

    await _during(port, seconds, attack, report)
    report.figures.update({"connections": count,
                           f"still held after {seconds - 2} s": sum(held)})
    return report


async def attack_header(port: int, quick: bool) -> Report:
    report = Report("header")
    outcome: list[str] = []

    async def attack() -> None:
        try:
            reader, writer = await _open(port)
        except (TimeoutError, OSError):
            outcome.append("refused")
            return
        total, sent = 50_000_000, 0
        try:
            writer.write(f"GET /api/health HTTP/1.1\r\nHost: {HOST}\r\nX-Big: ".encode())
            chunk = b"a" * 65536
            while sent < total:
                writer.write(chunk)
                await asyncio.wait_for(writer.drain(), 5)
                sent += len(chunk)
            writer.write(b"\r\n\r\n")
            await writer.drain()
            status, _, _data = await asyncio.wait_for(_response(reader), 30)
            outcome.append(f"answered {status} after {sent / 1e6:.1f} MB")
        except (OSError, ConnectionError, asyncio.IncompleteReadError):
            try:
                line = await asyncio.wait_for(reader.readline(), 1)
                status = line.split(b" ")[1].decode() if line else "nothing"
            except (TimeoutError, OSError, IndexError):
                status = "nothing"
            outcome.append(f"cut off after {sent / 1e6:.1f} MB (answered {status})")
        except TimeoutError:
            outcome.append(f"stalled after {sent / 1e6:.1f} MB")
        finally:
            writer.transport.abort()

    await _during(port, 6, attack, report)
    report.figures["50 MB header"] = outcome[0]
    return report


async def attack_sigterm(server: LocalServer, quick: bool) -> Report:
    report = Report("sigterm")
    body = json.dumps(MAX_COST_GRADCHECK).encode()
    tasks = [asyncio.ensure_future(_hang_up(server.port, "/api/gradcheck", body, 20))
             for _ in range(20)]
    await asyncio.sleep(1.0)
    assert server.proc is not None
    start = time.monotonic()
    server.proc.send_signal(signal.SIGTERM)
    limit = 30
    while server.proc.poll() is None and time.monotonic() - start < limit:
        await asyncio.sleep(0.05)
    took = time.monotonic() - start
    exited = server.proc.poll() is not None
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    report.figures["exit after SIGTERM"] = f"{took:.2f} s" if exited else f"> {limit} s"
    return report


# ------------------------------------------------------------------ the room's answers
DEMO_KEY = "abuse-bench-presenter-key"
DEMO_ROOM = "bench"
KEYED = {"X-Demo-Key": DEMO_KEY}


def start_demo(folder: str) -> LocalServer:
    key_file = os.path.join(folder, "presenter.key")
    with open(key_file, "w", encoding="utf-8") as out:
        out.write(DEMO_KEY + "\n")
    os.chmod(key_file, 0o600)
    return LocalServer(["app.cli", "demo", "--port", "{port}", "--key-file", key_file,
                        "--room", DEMO_ROOM, "--per-client", "500",
                        "--state", os.path.join(folder, "rooms.sqlite3"),
                        "--results", os.path.join(folder, "results.sqlite3")],
                       timeout=60).start()


def _client(port: int, local: str = HOST):
    import httpx

    return httpx.AsyncClient(base_url=f"http://{HOST}:{port}", timeout=10,
                             transport=httpx.AsyncHTTPTransport(local_address=local))


async def attack_fill(port: int, quick: bool) -> Report:
    report = Report("fill")
    tries, seconds = (400, 8.0) if quick else (1_500, 20.0)
    room = f"/api/demo/{DEMO_ROOM}"
    admitted, refused, first_refusal = 0, 0, None

    async def attack() -> None:
        nonlocal admitted, refused, first_refusal
        start = time.monotonic()
        async with _client(port) as client:
            for i in range(tries):
                if time.monotonic() - start > seconds:
                    break
                r = await client.post(f"{room}/join", json={"name": f"bot {i}"})
                if r.status_code == 201:
                    admitted += 1
                else:
                    refused += 1
                    first_refusal = first_refusal or f"{r.status_code} after {admitted}"

    await _during(port, seconds + 1, attack, report)
    async with _client(port, PROBE_FROM) as honest, _client(port) as presenter:
        student = await honest.post(f"{room}/join", json={"name": "Ada", "student_id": "s-1"})
        places = (await presenter.get(f"{room}/students", headers=KEYED)).json()["places"]
        beat, q = _first_question()
        await presenter.post(f"{room}/goto", json={"beat": beat}, headers=KEYED)
        if student.status_code == 201:
            await honest.put(f"{room}/questions/{q.id}/answer",
                             json={"answer": q.answer_json()},
                             headers={"X-Student-Token": student.json()["token"]})
        removed = await presenter.post(f"{room}/students/remove",
                                       json={"never_answered": True}, headers=KEYED)
        book = await presenter.get(f"{room}/results.csv", headers=KEYED)
    report.figures.update({
        "joins admitted": f"{admitted} of {admitted + refused} (first refusal: "
                          f"{first_refusal})",
        "honest student": student.status_code, "places held": places,
        "removed": removed.json().get("removed"),
        "gradebook rows left": len(book.text.strip().splitlines()) - 1})
    return report


def _first_question() -> tuple[int, Any]:
    """The default lesson's first question and the beat that asks it."""
    from app.demo.lesson import load_lesson

    lesson = load_lesson()
    questions = {q.id: q for q in lesson.questions}
    return next((b, questions[lesson.slides[slide].name])
                for b, (slide, shown) in enumerate(lesson.beats)
                if not shown and lesson.slides[slide].name in questions)


async def attack_late(port: int, quick: bool) -> Report:
    from app.demo.lesson import load_lesson

    report = Report("late")
    lesson = load_lesson()
    room = f"/api/demo/{DEMO_ROOM}"
    scored, tried, refused_in = 0, 0, []

    async def attack() -> None:
        nonlocal scored, tried
        async with _client(port) as student, _client(port, PROBE_FROM) as presenter:
            joined = await student.post(f"{room}/join", json={"name": "Mallory"})
            token = {"X-Student-Token": joined.json()["token"]}
            for q in lesson.questions:
                slide = next(i for i, s in enumerate(lesson.slides) if s.name == q.id)
                ask = lesson.beats.index((slide, False))
                await presenter.post(f"{room}/goto", json={"beat": ask}, headers=KEYED)
                for reopen in (False, True):
                    moving = asyncio.ensure_future(presenter.post(
                        f"{room}/goto", json={"beat": ask + 1}, headers=KEYED))
                    while True:  # watch the room until the result is on screen
                        view = (await student.get(room)).json()
                        if view["beat"] == ask + 1:
                            break
                    seen = time.monotonic()
                    await moving
                    if reopen:
                        await presenter.post(f"{room}/questions/{q.id}/state",
                                             json={"state": "open"}, headers=KEYED)
                    r = await student.put(f"{room}/questions/{q.id}/answer",
                                          json={"answer": q.answer_json()}, headers=token)
                    tried += 1
                    refused_in.append(time.monotonic() - seen)
                    if r.status_code == 200 and not r.json()["after_reveal"]:
                        scored += 1
                    await presenter.post(f"{room}/goto", json={"beat": ask}, headers=KEYED)
        async with _client(port) as presenter:
            book = (await presenter.get(f"{room}/results.csv", headers=KEYED)).text
        rows = list(csv.DictReader(io.StringIO(book.lstrip("\ufeff"))))
        report.figures["gradebook total"] = rows[0]["total"] if rows else "no row"
        report.figures["answers after the reveal kept apart"] = (
            rows[0]["after_reveal"] if rows else "no row")

    await _during(port, 5, attack, report)
    report.figures["answers scored after their result was shown"] = f"{scored} of {tried}"
    if refused_in:
        report.figures["answer sent after the reveal in"] = (
            f"{statistics.median(refused_in) * 1000:.1f} ms median")
    return report


ROOM_ATTACKS = ("fill", "late")
ATTACKS = ("keys", "abandon", "memory", "slowloris", "header", "sigterm", *ROOM_ATTACKS)


async def run(names: list[str], quick: bool) -> list[Report]:
    reports = []
    for name in names:
        folder = tempfile.mkdtemp(prefix="convlens-abuse-")
        server = start_demo(folder) if name in ROOM_ATTACKS else start_server()
        pid = server_pid(server)
        try:
            print(f"-- {name} (server pid {pid}, RSS {rss_mb(pid):.0f} MB)", flush=True)
            if name == "keys":
                report = await attack_keys(server.port, quick)
            elif name == "abandon":
                report = await attack_abandon(server.port, pid, quick)
            elif name == "memory":
                report = await attack_memory(server.port, pid, quick)
            elif name == "slowloris":
                report = await attack_slowloris(server.port, quick)
            elif name == "header":
                report = await attack_header(server.port, quick)
            elif name == "fill":
                report = await attack_fill(server.port, quick)
            elif name == "late":
                report = await attack_late(server.port, quick)
            else:
                report = await attack_sigterm(server, quick)
            print(report.line(), flush=True)
            reports.append(report)
        finally:
            if server.proc is not None and server.proc.poll() is None:
                server.proc.kill()
                server.proc.wait()
            server.proc = None
            shutil.rmtree(folder, ignore_errors=True)
    return reports


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer, shorter attacks")
    parser.add_argument("--only", nargs="+", choices=ATTACKS, default=list(ATTACKS))
    args = parser.parse_args()
    load = os.getloadavg()[0]
    print(f"abuse bench: load average {load:.2f} on {os.cpu_count()} cores, "
          f"engine {engine.__name__}", flush=True)
    reports = asyncio.run(run(args.only, args.quick))
    print("\nsummary")
    for r in reports:
        print(r.line())
    health = [h for r in reports for h in r.health]
    page = [p for r in reports for p in r.page]
    print(f"all attacks: health p99 {p99(health) * 1000:.0f} ms (target <= 100), "
          f"page files p99 {p99(page) * 1000:.0f} ms (target <= 500); median health "
          f"{statistics.median(health) * 1000 if health else float('nan'):.1f} ms")
    socket.setdefaulttimeout(None)


if __name__ == "__main__":
    main()
