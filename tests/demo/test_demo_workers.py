"""Two uvicorn processes serving one lesson on one Redis (the same key, room and results
file, as ``convlens demo --workers 2`` starts them): real sockets with the ``websockets``
client, moves and counts across the processes, answers from both in one CSV, Redis
restarting mid-lesson and a worker killed with SIGKILL."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from contextlib import ExitStack

import httpx
import pytest
from websockets.asyncio.client import connect

from app.demo.answering import RATE_ANSWERS
from app.demo.mode import DemoMode, DemoSettings
from tests.support.localserver import LocalServer
from tests.support.redisserver import RedisServer

KEY = "two-workers-presenter-key"
ROOM = "tworkers"
KEYED = {"X-Demo-Key": KEY}


def start_workers(stack: ExitStack, redis: RedisServer, tmp_path) -> list[LocalServer]:
    env = {"CONVLENS_DEMO_KEY": KEY, "CONVLENS_DEMO_ROOM": ROOM,
           "CONVLENS_DEMO_RESULTS": str(tmp_path / "results.sqlite3"),
           "CONVLENS_DEMO_STATE": str(tmp_path / "rooms.sqlite3"),
           "CONVLENS_REDIS_URL": redis.url}
    servers = [LocalServer(env=env) for _ in range(2)]
    for server in servers:
        try:
            stack.enter_context(server)
        except RuntimeError as exc:
            pytest.fail(str(exc))
    return servers


def socket_url(server: LocalServer) -> str:
    return f"ws://127.0.0.1:{server.port}/ws/follow/{ROOM}"


def goto(server: LocalServer, beat: int, by: str | None = None) -> httpx.Response:
    body = {"beat": beat} if by is None else {"beat": beat, "by": by}
    return httpx.post(f"{server.url}/api/demo/{ROOM}/goto", json=body, headers=KEYED,
                      timeout=10)


async def wait_for(ws, check, timeout: float) -> dict:
    """The first message from ``ws`` that ``check`` accepts, within ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError("no such message in time")
        message = json.loads(await asyncio.wait_for(ws.recv(), left))
        if check(message):
            return message


def count_of(message: dict) -> int | None:
    if message["type"] == "followers":
        return message["count"]
    if message["type"] == "state":
        return message["followers"]
    return None


async def presenter(server: LocalServer):
    ws = await connect(socket_url(server))
    await ws.send(json.dumps({"type": "auth", "key": KEY}))
    await wait_for(ws, lambda m: m["type"] == "auth" and m["ok"], 5)
    return ws


@pytest.fixture(scope="module")
def workers(tmp_path_factory):
    """Two workers on a Redis of their own, for this module's quicker tests."""
    tmp = tmp_path_factory.mktemp("workers")
    with ExitStack() as stack:
        redis = stack.enter_context(RedisServer())
        yield start_workers(stack, redis, tmp)


@pytest.mark.slow
def test_a_move_on_one_worker_reaches_a_follower_on_the_other_within_a_second(workers):
    one, two = workers

    async def run():
        async with connect(socket_url(two)) as follower:
            first = await wait_for(follower, lambda m: m["type"] == "state", 5)
            target = (first["beat"] + 1) % first["beats"]
            sent = time.monotonic()
            assert goto(one, target, "projector").status_code == 200
            moved = await wait_for(follower, lambda m: m["type"] == "state", 1.0)
            return first, moved, time.monotonic() - sent

    first, moved, took = asyncio.run(run())
    assert (moved["beat"], moved["by"]) == ((first["beat"] + 1) % first["beats"], "projector")
    assert moved["seq"] == first["seq"] + 1
    assert took < 1.0


@pytest.mark.slow
def test_the_presenter_counts_the_followers_of_both_workers(workers):
    one, two = workers

    async def run():
        ws = await presenter(one)
        followers = [await connect(socket_url(s)) for s in (one, one, two, two, two)]
        try:
            await wait_for(ws, lambda m: count_of(m) == 5, 5)
            await followers.pop().close()  # one of two's leaves
            await wait_for(ws, lambda m: count_of(m) == 4, 5)
            state = httpx.get(f"{two.url}/api/demo/{ROOM}", timeout=5).json()
            return state["followers"]
        finally:
            for f in [*followers, ws]:
                await f.close()

    assert asyncio.run(run()) == 4


@pytest.mark.slow
def test_answers_given_through_both_workers_are_all_in_the_results(workers):
    one, two = workers
    demo = DemoMode(DemoSettings(key=KEY))
    beat, q = next((b, demo.question_of_slide[slide])
                   for b, (slide, shown) in enumerate(demo.lesson.beats)
                   if not shown and slide in demo.question_of_slide
                   and demo.question_of_slide[slide].kind == "choice")

    async def run():
        ws = await presenter(one)
        try:
            assert goto(two, beat).status_code == 200
            await wait_for(ws, lambda m: m["type"] == "state" and m["beat"] == beat, 5)
            names = []
            for i, server in enumerate((one, two, one, two)):
                joined = httpx.post(f"{server.url}/api/demo/{ROOM}/join",
                                    json={"name": f"student {i}", "student_id": f"s{i}"},
                                    timeout=5)
                assert joined.status_code == 201, joined.text
                token = joined.json()["token"]
                other = two if server is one else one  # answered through the other worker
                answered = httpx.put(f"{other.url}/api/demo/{ROOM}/questions/{q.id}/answer",
                                     json={"answer": i % len(q.options)},
                                     headers={"X-Student-Token": token}, timeout=5)
                assert answered.status_code == 200, answered.text
                names.append(f"student {i}")
            pushed = await wait_for(ws, lambda m: m["type"] == "answers"
                                    and sum(m["counts"]) == 4, 5)
            # one student's answers are counted by both workers together: the RATE_ANSWERS
            # + 1st in the window is refused, whichever worker takes it
            joined = httpx.post(f"{one.url}/api/demo/{ROOM}/join", json={"name": "eager"},
                                timeout=5)
            eager = {"X-Student-Token": joined.json()["token"]}
            for i in range(RATE_ANSWERS + 1):
                server = (one, two)[i % 2]
                answered = httpx.put(f"{server.url}/api/demo/{ROOM}/questions/{q.id}/answer",
                                     json={"answer": 0}, headers=eager, timeout=5)
                assert answered.status_code == (200 if i < RATE_ANSWERS else 429), i
            assert "Retry-After" in answered.headers
            closed = httpx.post(f"{one.url}/api/demo/{ROOM}/questions/{q.id}/state",
                                json={"state": "closed"}, headers=KEYED, timeout=5)
            assert closed.status_code == 200
            return names, pushed
        finally:
            await ws.close()

    names, pushed = asyncio.run(run())
    assert pushed["joined"] >= 4
    result = httpx.get(f"{two.url}/api/demo/{ROOM}/results.csv", headers=KEYED, timeout=5)
    assert result.status_code == 200
    rows = list(csv.DictReader(io.StringIO(result.content.decode("utf-8-sig"))))
    answered = {r["name"]: r[q.id] for r in rows if r["name"] in names}
    assert sorted(answered) == names
    assert all(points in ("0", "1") for points in answered.values())


@pytest.mark.slow
def test_followers_on_both_workers_see_the_next_move_after_redis_restarts(tmp_path):
    with ExitStack() as stack:
        redis = stack.enter_context(RedisServer())
        one, two = start_workers(stack, redis, tmp_path)

        async def run():
            followers = [await connect(socket_url(s)) for s in (one, two)]
            try:
                for f in followers:
                    await wait_for(f, lambda m: m["type"] == "state", 5)
                assert goto(one, 2).status_code == 200
                for f in followers:
                    await wait_for(f, lambda m: m["type"] == "state" and m["beat"] == 2, 5)
                await asyncio.to_thread(redis.restart, 0.5)  # back, and empty
                deadline = time.monotonic() + 15
                while (moved := goto(two, 3, "after")).status_code == 503:
                    assert time.monotonic() < deadline, moved.text
                    await asyncio.sleep(0.2)
                assert moved.status_code == 200, moved.text
                return [await wait_for(f, lambda m: m["type"] == "state" and m["beat"] == 3, 5)
                        for f in followers], moved.json()
            finally:
                for f in followers:
                    await f.close()

        seen, state = asyncio.run(run())
    assert [(s["beat"], s["by"]) for s in seen] == [(3, "after"), (3, "after")]
    assert state["seq"] == 2  # the room came back at seq 1, from the workers' copies


@pytest.mark.slow
def test_a_killed_worker_stops_being_counted_within_seconds(tmp_path):
    with ExitStack() as stack:
        redis = stack.enter_context(RedisServer())
        one, two = start_workers(stack, redis, tmp_path)

        async def run():
            ws = await presenter(one)
            followers = [await connect(socket_url(s)) for s in (one, two, two, two)]
            try:
                await wait_for(ws, lambda m: count_of(m) == 4, 5)
                two.proc.kill()  # SIGKILL: no goodbye, its counts stay in Redis
                two.proc.wait(timeout=10)
                killed = time.monotonic()
                await wait_for(ws, lambda m: count_of(m) == 1, 15)
                return time.monotonic() - killed
            finally:
                for f in [*followers, ws]:
                    await f.close()

        took = asyncio.run(run())
    assert took < 12  # the heartbeat's TTL (6 s) and a beat or two


@pytest.mark.slow
def test_a_move_on_one_worker_closes_the_question_for_the_other_at_once(workers):
    one, two = workers
    demo = DemoMode(DemoSettings(key=KEY))
    q = demo.questions["dZ2"]
    ask = demo.ask_beats[q.id]
    student = httpx.post(f"{one.url}/api/demo/{ROOM}/join",
                         json={"name": "Grace", "student_id": "s-dz2"}, timeout=5)
    assert student.status_code == 201
    token = {"X-Student-Token": student.json()["token"]}
    url = f"/api/demo/{ROOM}/questions/{q.id}/answer"
    assert goto(two, ask).status_code == 200
    assert httpx.put(two.url + url, json={"answer": 0.5}, headers=token,
                     timeout=5).status_code == 200
    assert goto(one, ask + 1).status_code == 200  # the reveal, on the other worker
    late = httpx.put(two.url + url, json={"answer": float(q.truth)}, headers=token, timeout=5)
    assert late.status_code == 409, late.text
    reopened = httpx.post(f"{two.url}/api/demo/{ROOM}/questions/{q.id}/state",
                          json={"state": "open"}, headers=KEYED, timeout=5)
    assert reopened.status_code == 200
    late = httpx.put(one.url + url, json={"answer": float(q.truth)}, headers=token, timeout=5)
    assert late.status_code == 200 and late.json()["after_reveal"] is True
    rows = list(csv.DictReader(io.StringIO(httpx.get(
        f"{two.url}/api/demo/{ROOM}/results.csv", headers=KEYED,
        timeout=5).content.decode("utf-8-sig"))))
    grace = next(r for r in rows if r["student_id"] == "s-dz2")
    assert grace[q.id] == "0" and grace["after_reveal"] == "1"  # the on-time 0.5 stands
    # a student ID claimed through one worker is refused through the other
    claim = httpx.post(f"{two.url}/api/demo/{ROOM}/join",
                       json={"name": "Not Grace", "student_id": "s-dz2"}, timeout=5)
    assert claim.status_code == 409
    listed = httpx.get(f"{one.url}/api/demo/{ROOM}/students", headers=KEYED, timeout=5).json()
    holder = next(s for s in listed["students"] if s["student_id"] == "s-dz2")
    assert [d["name"] for d in holder["disputes"]] == ["Not Grace"]


def test_a_closed_round_refuses_a_changed_answer_through_either_worker(workers):
    """Round 1 closed on one worker: the other keeps no change to it, by REST or a replay;
    round 2 opened on the other takes the change, sealed on the presenter's socket on both
    workers until the reveal."""
    one, two = workers
    demo = DemoMode(DemoSettings(key=KEY))
    q = next(q for q in demo.questions.values() if q.rounds == 2)
    wrong = (q.truth + 1) % len(q.options)
    url = f"/api/demo/{ROOM}/questions/{q.id}/answer"
    state = f"/api/demo/{ROOM}/questions/{q.id}/state"

    async def run():
        ws = await presenter(two)
        try:
            assert goto(one, demo.ask_beats[q.id]).status_code == 200
            joined = httpx.post(f"{one.url}/api/demo/{ROOM}/join", json={"name": "Lin"},
                                timeout=5)
            token = {"X-Student-Token": joined.json()["token"]}
            first = {"answer": wrong, "confidence": "sure"}
            assert httpx.put(one.url + url, json=first, headers=token,
                             timeout=5).status_code == 200
            pushed = await wait_for(ws, lambda m: m["type"] == "answers"
                                    and m.get("question") == q.id, 5)
            assert pushed["sealed"] and "counts" not in pushed and pushed["answered"] == 1
            assert httpx.post(two.url + state, json={"state": "closed"}, headers=KEYED,
                              timeout=5).status_code == 200
            for server in (one, two):  # a changed answer and the first one replayed
                for body in ({"answer": q.truth}, first):
                    r = httpx.put(server.url + url, json=body, headers=token, timeout=5)
                    assert r.status_code == 409, r.text
            opened = httpx.post(one.url + state, json={"state": "open", "round": 2},
                                headers=KEYED, timeout=5)
            assert opened.status_code == 200 and opened.json()["round"] == 2
            changed = httpx.put(two.url + url, json={"answer": q.truth}, headers=token,
                                timeout=5)
            assert changed.status_code == 200 and changed.json()["round"] == 2
            await wait_for(ws, lambda m: m["type"] == "answers" and m.get("round") == 2
                           and m["sealed"] and "counts" not in m, 5)
            revealed = httpx.post(two.url + state, json={"state": "revealed"}, headers=KEYED,
                                  timeout=5)
            assert revealed.status_code == 200
            seen = httpx.get(f"{one.url}/api/demo/{ROOM}/question", headers=token,
                             timeout=5).json()
            return seen
        finally:
            await ws.close()

    seen = asyncio.run(run())
    assert seen["mine_first"] == wrong and seen["mine"] == q.truth
    assert seen["moved"]["wrong_to_right"] >= 1 and seen["first"]["counts"][wrong] >= 1
