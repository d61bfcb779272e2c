"""Two uvicorn processes on one Redis serve the same walks and exercises: whatever one
made, the other steps, answers and shows, as one server would."""

from __future__ import annotations

import threading

import httpx
import numpy as np
import pytest

import engine
from tests.support.localserver import LocalServer

pytestmark = pytest.mark.slow
STEPS = len(engine.STEPS)


@pytest.fixture(scope="module")
def servers(redis_server):
    """Two servers on the test Redis, for the module's tests."""
    redis_server.flush()
    env = {"CONVLENS_REDIS_URL": redis_server.url}
    with LocalServer(env=env) as one, LocalServer(env=env) as two, \
            httpx.Client(base_url=one.url, timeout=30) as a, \
            httpx.Client(base_url=two.url, timeout=30) as b:
        yield a, b


def test_a_walk_made_on_one_server_steps_on_the_other(servers):
    a, b = servers
    made = a.post("/api/sessions", json={"lr": 0.3})
    assert made.status_code == 201
    sid = made.json()["id"]
    moves = []
    for i in range(STEPS + 2):  # alternating servers, into the second epoch
        r = (b if i % 2 == 0 else a).post(f"/api/sessions/{sid}/next")
        assert r.status_code == 200, r.text
        moves.append((r.json()["epoch"], r.json()["cursor"]))
    assert moves == [(0, c) for c in range(STEPS)] + [(1, 0), (1, 1)]
    assert a.get(f"/api/sessions/{sid}").json() == b.get(f"/api/sessions/{sid}").json()

    back = b.post(f"/api/sessions/{sid}/prev").json()
    assert (back["epoch"], back["cursor"]) == (1, 0)
    back = a.post(f"/api/sessions/{sid}/prev").json()
    assert (back["epoch"], back["cursor"]) == (0, STEPS - 1)  # across the epoch boundary
    went = a.post(f"/api/sessions/{sid}/goto", json={"epoch": 3, "cursor": 2}).json()
    assert (went["epoch"], went["cursor"]) == (3, 2)
    went = b.post(f"/api/sessions/{sid}/goto", json={"epoch": 1, "cursor": 4}).json()
    assert (went["epoch"], went["cursor"]) == (1, 4)
    assert len(went["loss_history"]) == 1

    cell = b.get(f"/api/sessions/{sid}/provenance/P1", params={"index": "0,0,0"})
    assert cell.status_code == 200
    assert cell.json() == a.get(f"/api/sessions/{sid}/provenance/P1",
                                params={"index": "0,0,0"}).json()
    refused = a.get(f"/api/sessions/{sid}/provenance/dA1", params={"index": "0,0,0"})
    assert refused.status_code == 409
    assert a.post(f"/api/sessions/{sid}/reset").json()["epoch"] == 0
    assert b.delete(f"/api/sessions/{sid}").status_code == 204
    assert a.get(f"/api/sessions/{sid}").status_code == 404


def test_an_exercise_made_on_one_server_is_answered_on_the_other(servers):
    a, b = servers
    made = a.post("/api/exercises", json={"step": "dA1", "seed": 7})
    assert made.status_code == 201
    view = made.json()
    eid = view["id"]
    config = engine.Config(**{k: view["config"][k] for k in engine.LIMITS})
    truth = engine.exercise("dA1", engine.variant(7, config)).truth
    wrong = b.post(f"/api/exercises/{eid}/answer", json={"answer": (truth + 1).tolist()})
    assert wrong.status_code == 200
    assert wrong.json()["correct"] is False and wrong.json()["hint"]["level"] == 1
    assert a.get(f"/api/exercises/{eid}").json()["attempts"] == 1
    right = a.post(f"/api/exercises/{eid}/answer", json={"answer": truth.tolist()})
    assert right.json()["correct"] is True
    shown = b.get(f"/api/exercises/{eid}").json()
    assert shown["state"] == "solved" and shown["attempts"] == 2
    assert [h["level"] for h in shown["hints"]] == [1]
    np.testing.assert_array_equal(shown["answer"], truth)


def test_concurrent_nexts_on_both_servers_take_every_step_once(servers):
    a, b = servers
    sid = a.post("/api/sessions", json={}).json()["id"]
    seen: list[int] = []
    failed: list[str] = []
    lock = threading.Lock()

    def send(client: httpx.Client) -> None:
        for _ in range(10):
            r = client.post(f"/api/sessions/{sid}/next")
            with lock:
                if r.status_code == 200:
                    seen.append(r.json()["epoch"] * STEPS + r.json()["cursor"])
                else:
                    failed.append(r.text)

    clients = [httpx.Client(base_url=str(c.base_url), timeout=30) for c in (a, b, a, b)]
    threads = [threading.Thread(target=send, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for c in clients:
        c.close()
    assert failed == []
    assert sorted(seen) == list(range(40))
