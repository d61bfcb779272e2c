"""The room answers under load: ``python -m bench.answers_bench``.

Starts ``convlens demo`` on 127.0.0.1 (a free port, a subprocess, its rooms and results in
a throwaway directory), connects N phones (200 by default) to the room's socket from ten
loopback addresses (127.0.1.1 ..., 20 each, the server's default share), has each join
over HTTP, and a presenter move the room to the choice question of the default lesson.
Then every phone answers once, at a random moment within ``--spread`` seconds (5 by
default), while the presenter sends the room its question's beat again every 0.5 s (a move
to the beat it is on: every phone gets the state; a move to the answer beat would close
the question, as a lesson does).

It prints:

- the time from the first answer sent to the last one stored, and the number of answers
  the results file holds afterwards (read with sqlite3, not from the server). Target: all
  N within 10 s;
- the presenter's live view: for each answer, the time from the phone sending it to the
  presenter's socket receiving a distribution that counts it. Target: p99 <= 250 ms;
- the followers' slide changes during the burst (presenter send -> each follower receive),
  to set beside ``bench.demo_bench``'s figure without answers;
- the answer requests' own latency.

One client process (asyncio, httpx and websockets) on the same machine as the server: the
figures include the client's time. Only 127.0.0.1 and the loopback net are contacted;
counts and times are capped and the run stops by itself.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import sqlite3
import tempfile
import time
from pathlib import Path

import httpx
from websockets.asyncio.client import connect

from bench.demo_bench import HOST, KEY, ROOM, describe, follower_address, wait_listening
from tests.support.localserver import LocalServer

MAX_PHONES = 500
QUESTION = "dA2"  # the default lesson's choice question (--question dZ1: its two-round one)
MOVE_EVERY = 0.5  # seconds between the presenter's moves during the burst


def start_server(tmp: Path) -> tuple[LocalServer, Path]:
    key_file = tmp / "presenter.key"
    key_file.write_text(KEY + "\n", encoding="utf-8")
    key_file.chmod(0o600)
    results = tmp / "results.sqlite3"
    server = LocalServer(["app.cli", "demo", "--host", HOST, "--port", "{port}", "--key-file",
                          str(key_file), "--state", str(tmp / "rooms.sqlite3"), "--room", ROOM,
                          "--results", str(results)]).start()
    return server, results


def ask_beat() -> int:
    from app.demo.lesson import load_lesson

    lesson = load_lesson()
    slide = next(i for i, s in enumerate(lesson.slides) if s.name == QUESTION)
    return lesson.beats.index((slide, False))


class Phone:
    def __init__(self, i: int, base: str, client: httpx.AsyncClient) -> None:
        self.i = i
        self.base = base
        self.client = client
        self.token = ""
        self.states: dict[int, float] = {}  # seq -> arrival

    async def join(self) -> None:
        r = await self.client.post(f"{self.base}/api/demo/{ROOM}/join",
                                   json={"name": f"phone {self.i}", "student_id": f"s{self.i}"})
        r.raise_for_status()
        self.token = r.json()["token"]

    async def answer(self, delay: float) -> tuple[float, float]:
        await asyncio.sleep(delay)
        sent = time.perf_counter()
        body: dict[str, object] = {"answer": random.randrange(3)}
        if random.random() < 0.7:  # most phones say how sure they are
            body["confidence"] = random.choice(("sure", "unsure"))
        r = await self.client.put(f"{self.base}/api/demo/{ROOM}/questions/{QUESTION}/answer",
                                  json=body, headers={"X-Student-Token": self.token})
        r.raise_for_status()
        return sent, time.perf_counter()

    async def follow(self, url: str, ready: asyncio.Event, count: list[int], total: int,
                     stop: asyncio.Event) -> None:
        async with connect(url, compression=None, max_queue=None, open_timeout=20,
                           local_addr=(follower_address(self.i), 0)) as ws:
            json.loads(await ws.recv())
            count[0] += 1
            if count[0] == total:
                ready.set()

            async def read() -> None:
                async for text in ws:
                    message = json.loads(text)
                    if message.get("type") == "state":
                        self.states[message["seq"]] = time.perf_counter()

            reader = asyncio.ensure_future(read())
            await stop.wait()
            reader.cancel()


async def run(port: int, phones_n: int, spread: float) -> dict:
    await wait_listening(port)
    base = f"http://{HOST}:{port}"
    url = f"ws://{HOST}:{port}/ws/follow/{ROOM}"
    ask = ask_beat()
    clients = {}
    phones = []
    for i in range(phones_n):
        address = follower_address(i)
        if address not in clients:
            clients[address] = httpx.AsyncClient(
                transport=httpx.AsyncHTTPTransport(local_address=address), timeout=10)
        phones.append(Phone(i, base, clients[address]))
    ready, stop = asyncio.Event(), asyncio.Event()
    count = [0]
    follows = [asyncio.ensure_future(p.follow(url, ready, count, phones_n, stop))
               for p in phones]
    await asyncio.wait_for(ready.wait(), timeout=60)
    for i in range(0, phones_n, 50):
        await asyncio.gather(*(p.join() for p in phones[i:i + 50]))

    frames: list[tuple[float, int]] = []  # (arrival, answered) of the presenter's pushes
    moves: list[tuple[int, float]] = []  # (seq, sent)
    async with connect(url, compression=None, max_queue=None) as presenter:
        state = json.loads(await presenter.recv())
        seq = state["seq"]
        await presenter.send(json.dumps({"type": "auth", "key": KEY}))
        while json.loads(await presenter.recv()).get("type") != "auth":
            pass

        async def read() -> None:
            async for text in presenter:
                message = json.loads(text)
                if message.get("type") == "answers" and message.get("question") == QUESTION:
                    frames.append((time.perf_counter(), int(message["answered"])))

        reader = asyncio.ensure_future(read())
        seq += 1
        await presenter.send(json.dumps({"type": "goto", "beat": ask}))
        await asyncio.sleep(0.5)
        burst = asyncio.gather(*(p.answer(random.uniform(0, spread)) for p in phones))
        while not burst.done():
            await asyncio.sleep(MOVE_EVERY)
            seq += 1
            moves.append((seq, time.perf_counter()))
            await presenter.send(json.dumps({"type": "goto", "beat": ask}))
        answered = burst.result()
        await asyncio.sleep(0.5)  # the last push and moves arrive
        reader.cancel()
    stop.set()
    await asyncio.gather(*follows, return_exceptions=True)
    for client in clients.values():
        await client.aclose()

    done = sorted(answered, key=lambda a: a[1])
    live = []
    missing = 0
    for k, (sent, _) in enumerate(done, start=1):
        seen = next((at for at, n in frames if n >= k and at >= sent), None)
        if seen is None:
            missing += 1
        else:
            live.append(seen - sent)
    slide = [p.states[s] - sent for s, sent in moves for p in phones if s in p.states]
    lost = sum(1 for s, _ in moves for p in phones if s not in p.states)
    return {"first_to_last": max(a[1] for a in answered) - min(a[0] for a in answered),
            "requests": [b - a for a, b in answered], "live": live, "live_missing": missing,
            "slide": slide, "slide_missing": lost, "moves": len(moves)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.answers_bench", description=(
        "The room answers under load: N phones answer one question."))
    parser.add_argument("--phones", type=int, default=200,
                        help=f"phones (1..{MAX_PHONES}, default 200)")
    parser.add_argument("--spread", type=float, default=5.0,
                        help="seconds over which the answers are sent (0..10, default 5)")
    parser.add_argument("--seconds", type=float, default=120,
                        help="the whole run stops after this long (default 120)")
    parser.add_argument("--question", choices=("dA2", "dZ1"), default="dA2", help=(
        "the default lesson's choice question (dA2) or its two-round one (dZ1: round 1, "
        "sealed; the presenter's view counts it without its distribution)"))
    args = parser.parse_args(argv)
    global QUESTION
    QUESTION = args.question
    if not 1 <= args.phones <= MAX_PHONES:
        parser.error(f"--phones must be 1..{MAX_PHONES}")
    if not 0 <= args.spread <= 10 or not 1 <= args.seconds <= 600:
        parser.error("--spread must be 0..10 and --seconds 1..600")
    with tempfile.TemporaryDirectory(prefix="convlens-answers-bench-") as tmp:
        server, results = start_server(Path(tmp))
        try:
            result = asyncio.run(asyncio.wait_for(run(server.port, args.phones, args.spread),
                                                  timeout=args.seconds))
        finally:
            server.stop()
        with contextlib.closing(sqlite3.connect(results)) as db:
            stored = db.execute("SELECT COUNT(*) FROM answers WHERE question = ?",
                                (QUESTION,)).fetchone()[0]
    print(f"room answers on {HOST}: {args.phones} phones, spread {args.spread:g} s, "
          f"question {QUESTION}")
    print(f"  stored: {stored} of {args.phones} answers in the results file; first sent to "
          f"last stored {result['first_to_last']:.2f} s (target: all within 10 s)")
    print("  " + describe("presenter live view", result["live"]) +
          f"  missing {result['live_missing']}  (target p99 <= 250 ms)")
    print("  " + describe("follower slide change during the burst", result["slide"]) +
          f"  missed {result['slide_missing']} over {result['moves']} moves")
    print("  " + describe("answer request", result["requests"]))
    ok = stored == args.phones and result["first_to_last"] <= 10 and not result["live_missing"]
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
