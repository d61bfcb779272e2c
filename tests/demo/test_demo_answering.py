"""The room answers over HTTP and the socket: join, answer only the question on the screen
while it is open, nothing of the right answer or the others' answers before the reveal,
the presenter's live view and CSV behind the key, and the results file across restarts."""

from __future__ import annotations

import csv
import io
import math
import time

import numpy as np
import pytest

import engine
from app.demo.answering import JOIN_WINDOW, RATE_ANSWERS, RATE_WINDOW
from app.demo.lesson import load_lesson

LESSON = load_lesson()
QUESTIONS = {q.id: q for q in LESSON.questions}


def beat_of(name: str, revealed: bool = False) -> int:
    """The beat on which the slide ``name`` asks (or reveals)."""
    slide = next(i for i, s in enumerate(LESSON.slides) if s.name == name)
    return LESSON.beats.index((slide, revealed))


def go(client, demo, name, revealed=False):
    r = client.post(f"/api/demo/{demo.room}/goto", json={"beat": beat_of(name, revealed)},
                    headers=demo.keyed)
    assert r.status_code == 200, r.text


def join(client, demo, name="Ada", student_id=None):
    r = client.post(f"/api/demo/{demo.room}/join", json={"name": name, "student_id": student_id})
    assert r.status_code == 201, r.text
    return {"X-Student-Token": r.json()["token"]}


def put(client, demo, qid, answer, token):
    return client.put(f"/api/demo/{demo.room}/questions/{qid}/answer", json={"answer": answer},
                      headers=token)


def until(ws, kind):
    """The next frame of ``kind`` on a socket (followers counts come and go between)."""
    for _ in range(20):
        frame = ws.receive_json()
        if frame["type"] == kind:
            return frame
    raise AssertionError(f"no {kind} frame")


def average_pooled(q):
    """P1 by average pooling: the misconception p1-average."""
    a1 = np.asarray(q.given["A1"])
    f, n, _ = a1.shape
    return a1.reshape(f, n // 2, 2, n // 2, 2).mean(axis=(2, 4)).tolist()


def test_default_lesson_asks_one_of_each_kind():
    kinds = [q.kind for q in LESSON.questions]
    assert len(kinds) >= 4 and set(kinds) == {"choice", "number", "cells", "grid"}


def test_answer_only_the_question_on_the_screen(client, demo):
    token = join(client, demo)
    r = put(client, demo, "dA2", 1, token)
    assert r.status_code == 409 and "not on the screen" in r.text
    go(client, demo, "dA2")
    r = client.get(f"/api/demo/{demo.room}/question", headers=token)
    assert r.status_code == 200
    body = r.json()
    assert body["question"]["id"] == "dA2" and body["state"] == "open" and body["mine"] is None
    r = put(client, demo, "dA2", 0, token)
    assert r.status_code == 200
    assert r.json() == {"answer": 0, "state": "open", "after_reveal": False, "round": 1,
                        "confidence": None}
    r = put(client, demo, "dA2", 1, token)  # changed: latest wins
    assert r.status_code == 200
    assert client.get(f"/api/demo/{demo.room}/question", headers=token).json()["mine"] == 1


def test_nothing_of_the_answer_before_the_reveal(client, demo):
    """At every question, a phone gets the prompt and what the room has already seen
    (engine.known at the question's beat), never the truth nor the others' answers."""
    from app.demo.walk import slide_cursors

    asks = {s.name: ask for s, (ask, _) in zip(LESSON.slides, slide_cursors(LESSON.slides))}
    ada, bob = join(client, demo, "Ada"), join(client, demo, "Bob")
    for q in LESSON.questions:
        go(client, demo, q.id)
        assert put(client, demo, q.id, q.answer_json(), ada).status_code == 200
        body = client.get(f"/api/demo/{demo.room}/question", headers=bob).json()
        assert set(body) == {"question", "state", "mine", "name", "require_id", "round",
                             "rounds", "deadline", "remaining", "confidence", "voted"}
        assert body["mine"] is None
        shown = body["question"]
        extra = {"choice": {"options"}, "number": set(), "cells": {"tensor", "shape", "values"},
                 "grid": {"step", "shape", "given"}}[q.kind]
        assert set(shown) == {"id", "kind", "prompt"} | extra
        known = engine.known(asks[q.id])
        if q.kind == "cells":
            assert shown["tensor"] in known
        if q.kind == "grid":
            assert set(shown["given"]) <= set(known) and q.step not in known
    q = QUESTIONS["P1"]
    go(client, demo, "P1")
    mine = put(client, demo, "P1", [[[0, 0], [0, 0]]], bob)
    assert "correct" not in mine.text and "score" not in mine.text
    # without the key, the live view and the CSV are refused
    for url in (f"/api/demo/{demo.room}/questions/P1/live", f"/api/demo/{demo.room}/results.csv",
                f"/api/demo/{demo.room}/questions/P1/answers.csv"):
        assert client.get(url).status_code == 403
        assert client.get(url, headers={"X-Demo-Key": "wrong-key-0123456"}).status_code == 403


def test_close_and_reveal_with_socket_frames(client, demo):
    go(client, demo, "dA1")
    tokens = [join(client, demo, n) for n in ("Ada", "Bob", "Cy")]
    right = QUESTIONS["dA1"].answer_json()
    with client.websocket_connect(demo.socket) as phone, \
            client.websocket_connect(demo.socket) as presenter:
        assert phone.receive_json()["type"] == "state"
        assert presenter.receive_json()["type"] == "state"
        presenter.send_json({"type": "auth", "key": demo.key})
        assert until(presenter, "auth") == {"type": "auth", "ok": True}
        assert put(client, demo, "dA1", right, tokens[0]).status_code == 200
        assert put(client, demo, "dA1", right[:1], tokens[1]).status_code == 200
        frame = until(presenter, "answers")
        assert frame["question"] == "dA1" and frame["answered"] >= 1
        r = client.post(f"/api/demo/{demo.room}/questions/dA1/state", json={"state": "closed"},
                        headers=demo.keyed)
        assert r.status_code == 200 and r.json()["answered"] == 2
        taps = np.asarray(r.json()["taps"])
        assert taps[tuple(right[0])] == 2 and taps.sum() == len(right) + 1
        closed = until(phone, "question")
        assert closed == {"type": "question", "id": "dA1", "state": "closed"}
        assert put(client, demo, "dA1", right, tokens[2]).status_code == 409
        r = client.post(f"/api/demo/{demo.room}/questions/dA1/state",
                        json={"state": "revealed"}, headers=demo.keyed)
        assert r.status_code == 200
        shown = until(phone, "question")
        assert shown["state"] == "revealed" and shown["answer"] == right
        assert shown["distribution"]["right"] == 1
    mine = client.get(f"/api/demo/{demo.room}/question", headers=tokens[1]).json()
    assert mine["result"]["correct"] is False and mine["answer"] == right
    theirs = client.get(f"/api/demo/{demo.room}/question", headers=tokens[0]).json()
    assert theirs["result"]["correct"] is True


def test_grid_misconception_reaches_presenter_and_csv(client, demo):
    go(client, demo, "P1")
    ada = join(client, demo, "Ada", "s-1")
    bob = join(client, demo, "=cmd|' /C calc'!A0", "s-2")
    q = QUESTIONS["P1"]
    assert put(client, demo, "P1", np.round(q.truth, 4).tolist(), ada).status_code == 200
    assert put(client, demo, "P1", average_pooled(q), bob).status_code == 200
    live = client.get(f"/api/demo/{demo.room}/questions/P1/live", headers=demo.keyed).json()
    assert live["right"] == 1 and live["misconceptions"][0]["id"] == "p1-average"
    r = client.get(f"/api/demo/{demo.room}/results.csv", headers=demo.keyed)
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0] == ["name", "student_id", *QUESTIONS, "total", "after_reveal"]
    assert rows[1][:2] == ["Ada", "s-1"] and rows[1][-2:] == ["1", "0"]
    assert rows[2][0].startswith("'=")  # no formula for the spreadsheet
    canvas = client.get(f"/api/demo/{demo.room}/results.csv?layout=canvas", headers=demo.keyed)
    crow = list(csv.reader(io.StringIO(canvas.content.decode("utf-8-sig"))))
    assert crow[0][:3] == ["Student", "ID", "SIS User ID"] and crow[2][2] == "s-1"
    raw = client.get(f"/api/demo/{demo.room}/questions/P1/answers.csv", headers=demo.keyed)
    assert "p1-average" in raw.text
    assert client.get(f"/api/demo/{demo.room}/results.csv?layout=xls",
                      headers=demo.keyed).status_code == 422


@pytest.mark.parametrize("body, field", [
    ({"name": ""}, "name"), ({"name": "x" * 41}, "name"), ({"name": "x" * 300}, "name"),
    ({"name": "Ada", "student_id": "a b"}, "student_id"), ({"nom": "Ada"}, "nom"),
    ({"name": 5}, "name"),
])
def test_bad_joins_are_422_naming_the_field(client, demo, body, field):
    r = client.post(f"/api/demo/{demo.room}/join", json=body)
    assert r.status_code == 422
    assert any(field in d["loc"] for d in r.json()["detail"]), r.text


def test_bad_answers_are_4xx_never_500(client, demo):
    go(client, demo, "dZ2")
    token = join(client, demo)
    for answer in ("abc", None, [1, 2], {"x": 1}, 1e300, "9" * 2000):
        r = put(client, demo, "dZ2", answer, token)
        assert r.status_code in (413, 422), (answer, r.status_code)
    assert put(client, demo, "dZ2", 1, {"X-Student-Token": "nope"}).status_code == 403
    assert put(client, demo, "dZ2", 1, {}).status_code == 403
    assert put(client, demo, "nope!", 1, token).status_code == 422
    assert put(client, demo, "zzzz", 1, token).status_code == 404
    r = client.put(f"/api/demo/{demo.room}/questions/dZ2/answer", content=b"{not json",
                   headers={**token, "Content-Type": "application/json"})
    assert r.status_code == 422


def test_joins_per_address_are_capped(demo):
    with demo.client(per_client=2) as c:
        for bad in ("", " ", "x" * 41):  # refused for the name: no join of the address used
            assert c.post(f"/api/demo/{demo.room}/join", json={"name": bad}).status_code == 422
        for i in range(4):
            assert c.post(f"/api/demo/{demo.room}/join", json={"name": f"s{i}"}).status_code == 201
        r = c.post(f"/api/demo/{demo.room}/join", json={"name": "s5"})
        assert r.status_code == 429  # and when the next fits: the first join's window ends
        assert JOIN_WINDOW - 30 < int(r.headers["Retry-After"]) <= JOIN_WINDOW


def test_results_file_survives_a_restart(demo, tmp_path):
    path = tmp_path / "results.sqlite3"
    with demo.client(results=path) as c:
        go(c, demo, "dA2")
        token = join(c, demo, "Ada")
        assert put(c, demo, "dA2", 1, token).status_code == 200
    with demo.client(results=path) as c:
        go(c, demo, "dA2")
        body = c.get(f"/api/demo/{demo.room}/question", headers=token).json()
        assert body["mine"] == 1 and body["name"] == "Ada"


def test_a_room_that_does_not_exist_has_no_question_and_takes_no_answer(client, demo):
    r = client.get("/api/demo/nosuchroom/question")
    assert r.status_code == 200 and r.json() == {"question": None}
    assert client.post("/api/demo/nosuchroom/join", json={"name": "Ada"}).status_code == 404
    r = client.put("/api/demo/nosuchroom/questions/dA2/answer", json={"answer": 1},
                   headers={"X-Student-Token": "x" * 32})
    assert r.status_code == 404


def test_answers_per_student_are_capped_in_a_window(client, demo):
    go(client, demo, "dA2")
    ada, bea = join(client, demo, "Ada"), join(client, demo, "Bea")
    first = time.monotonic()
    for i in range(RATE_ANSWERS):
        assert put(client, demo, "dA2", i % 2, ada).status_code == 200
    r = put(client, demo, "dA2", 1, ada)
    # the wait is until the first answer leaves the window: the window less what the
    # answers took (on a loaded machine they can take a second or more), rounded up
    taken = time.monotonic() - first
    assert r.status_code == 429
    assert math.ceil(RATE_WINDOW - taken) <= int(r.headers["Retry-After"]) <= int(RATE_WINDOW)
    assert r.json()["detail"][0]["loc"] == ["body", "answer"]
    assert put(client, demo, "dA2", 1, bea).status_code == 200  # another student's own count
    mine = client.get(f"/api/demo/{demo.room}/question", headers=ada).json()["mine"]
    assert mine == (RATE_ANSWERS - 1) % 2  # the refused answer was not kept


def test_true_and_false_are_not_options(client, demo):
    go(client, demo, "dA2")  # a choice: option 1 is an index, never a JSON true
    token = join(client, demo)
    for answer in (True, False, [True]):
        r = put(client, demo, "dA2", answer, token)
        assert r.status_code == 422, (answer, r.text)
        assert r.json()["detail"][0]["loc"][:2] == ["body", "answer"]
    assert client.get(f"/api/demo/{demo.room}/question", headers=token).json()["mine"] is None
