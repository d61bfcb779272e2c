"""Peer instruction (two rounds, sealed, with a timer and confidence) and the concept check
with its learning gain, over REST and the socket, on the default lesson."""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from app.demo.answers import SUS_ITEMS, AnswerStore, sus_score
from app.demo.lesson import load_lesson, parse_lesson

from .test_demo_answering import go, join, put, until

LESSON = load_lesson()
PEER = next(q for q in LESSON.questions if q.rounds == 2)
RIGHT = PEER.truth
WRONG = (RIGHT + 1) % len(PEER.options)
SEALED = {"counts", "bars", "taps", "score", "misconceptions", "distribution", "first",
          "moved", "answer"}


def state(client, demo, body, qid=PEER.id):
    return client.post(f"/api/demo/{demo.room}/questions/{qid}/state", json=body,
                       headers=demo.keyed)


def seen(client, demo, token=None):
    r = client.get(f"/api/demo/{demo.room}/question", headers=token or {})
    assert r.status_code == 200, r.text
    return r.json()


def vote(client, demo, answer, token, confidence=None):
    body = {"answer": answer} | ({"confidence": confidence} if confidence else {})
    return client.put(f"/api/demo/{demo.room}/questions/{PEER.id}/answer", json=body,
                      headers=token)


def students(client, demo, n):
    return [join(client, demo, f"S{i}") for i in range(n)]


def test_the_default_lesson_has_a_two_round_question_and_a_check_of_three():
    assert PEER.id == "dZ1" and PEER.timer == 90
    assert sum(q.rounds == 2 for q in LESSON.questions) == 1
    assert [q.kind for q in LESSON.check["pre"]] == ["choice", "cells", "grid"]
    # the post-check is the same questions on other numbers
    pre, post = LESSON.check["pre"], LESSON.check["post"]
    assert [q.prompt for q in pre] == [q.prompt for q in post]
    assert pre[1].public()["values"] != post[1].public()["values"]
    assert pre[2].public()["given"] != post[2].public()["given"]
    assert LESSON.sus


def test_round_one_is_sealed_then_round_two_then_both_at_the_reveal(client, demo):
    go(client, demo, PEER.id)
    a, b, c, d = students(client, demo, 4)
    for token, answer, sure in ((a, RIGHT, "sure"), (b, RIGHT, "unsure"), (c, WRONG, "sure"),
                                (d, WRONG, None)):
        r = vote(client, demo, answer, token, sure)
        assert r.status_code == 200 and r.json()["round"] == 1
    live = client.get(f"/api/demo/{demo.room}/questions/{PEER.id}/live",
                      headers=demo.keyed).json()
    assert live["sealed"] and not SEALED & (set(live) - {"answer"})
    assert live["answered"] == 4 and live["right"] == 2 and live["rounds"] == 2
    assert live["confidence"] == {"right_sure": 1, "right_unsure": 1, "wrong_sure": 1,
                                  "wrong_unsure": 0, "unsaid": 1}
    # opening round 2 before round 1 is closed is refused
    r = state(client, demo, {"state": "open", "round": 2})
    assert r.status_code == 409 and r.json()["detail"][0]["loc"] == ["body", "round"]
    assert state(client, demo, {"state": "closed"}).status_code == 200
    for token in (a, c):  # a closed round takes no answer, whatever the page sends
        assert vote(client, demo, RIGHT, token).status_code == 409
    phone = seen(client, demo, c)
    assert phone["state"] == "closed" and not SEALED & set(phone)
    r = state(client, demo, {"state": "open", "round": 2})
    assert r.status_code == 200 and r.json()["round"] == 2
    assert 85 < r.json()["remaining"] <= 90  # the lesson's timer
    phone = seen(client, demo, c)
    assert phone["round"] == 2 and phone["mine_first"] == WRONG and phone["deadline"]
    assert not SEALED & set(phone)
    for token in (c, d):  # the two wrong ones move to the right answer
        assert vote(client, demo, RIGHT, token, "sure").json()["round"] == 2
    assert vote(client, demo, RIGHT, a).status_code == 200
    live = state(client, demo, {"state": "closed"}).json()
    assert live["sealed"] and live["answered"] == 3 and live["right"] == 3
    assert state(client, demo, {"state": "open", "round": 1}).status_code == 409
    r = state(client, demo, {"state": "revealed"})
    assert r.status_code == 200
    phone = seen(client, demo, c)
    assert phone["distribution"]["counts"][RIGHT] == 3 and phone["distribution"]["round"] == 2
    assert phone["first"]["counts"][RIGHT] == 2 and phone["first"]["counts"][WRONG] == 2
    assert phone["moved"] == {"both": 3, "wrong_to_right": 2, "right_to_wrong": 0}
    assert phone["result"]["correct"] and not phone["result_first"]["correct"]
    # the round-1 votes stayed as they closed, and every export has both rounds
    rows = list(csv.DictReader(io.StringIO(client.get(
        f"/api/demo/{demo.room}/questions/{PEER.id}/answers.csv",
        headers=demo.keyed).content.decode("utf-8-sig"))))
    firsts = [r for r in rows if r["round"] == "1"]
    assert len(rows) == 4 + 3 and len(firsts) == 4  # b answered once: its vote counts
    assert sorted(r["confidence"] for r in firsts) == ["", "sure", "sure", "unsure"]
    assert {r["points"] for r in rows if r["round"] == "2"} == {"1"}


def test_round_two_closes_on_its_timer_on_the_server(client, demo):
    go(client, demo, PEER.id)
    (a,) = students(client, demo, 1)
    state(client, demo, {"state": "closed"})
    assert state(client, demo, {"state": "open", "round": 2, "timer": 30}).json()[
        "remaining"] <= 30
    store = client.app.state.demo.answers.store
    start = store.clock
    try:
        store.clock = lambda: start() + 31
        assert vote(client, demo, RIGHT, a).status_code == 409
        assert seen(client, demo, a)["state"] == "closed"
        # the presenter adds time: open again, the timer restarts
        r = state(client, demo, {"state": "open", "round": 2, "timer": 20})
        assert r.status_code == 200 and 19 < r.json()["remaining"] <= 20
        assert vote(client, demo, RIGHT, a).status_code == 200
    finally:
        store.clock = start


def test_a_replayed_or_reloaded_answer_cannot_change_a_closed_round(client, demo):
    go(client, demo, PEER.id)
    (a,) = students(client, demo, 1)
    assert vote(client, demo, WRONG, a).status_code == 200
    state(client, demo, {"state": "closed"})
    state(client, demo, {"state": "open", "round": 2})
    assert vote(client, demo, RIGHT, a).status_code == 200
    # round 2 is open: the same request again writes round 2, never round 1
    assert vote(client, demo, RIGHT, a).json()["round"] == 2
    state(client, demo, {"state": "revealed"})
    assert vote(client, demo, WRONG, a).status_code == 409
    phone = seen(client, demo, a)
    assert phone["mine_first"] == WRONG and phone["mine"] == RIGHT


def test_bad_round_requests_name_their_field(client, demo):
    go(client, demo, "dA2")
    r = client.post(f"/api/demo/{demo.room}/questions/dA2/state",
                    json={"state": "open", "round": 2}, headers=demo.keyed)
    assert r.status_code == 409 and r.json()["detail"][0]["loc"] == ["body", "round"]
    for body, field in (({"state": "open", "round": 3}, "round"),
                        ({"state": "open", "timer": -1}, "timer"),
                        ({"state": "open", "timer": 4000}, "timer"),
                        ({"state": "open", "round": "2"}, "round")):
        r = state(client, demo, body)
        assert r.status_code == 422 and r.json()["detail"][0]["loc"][-1] == field, body
    go(client, demo, PEER.id)
    (a,) = students(client, demo, 1)
    r = client.put(f"/api/demo/{demo.room}/questions/{PEER.id}/answer",
                   json={"answer": RIGHT, "confidence": "maybe"}, headers=a)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "confidence"]


def test_a_one_round_question_keeps_its_frames_and_is_not_sealed(client, demo):
    go(client, demo, "dA2")
    (a,) = students(client, demo, 1)
    assert put(client, demo, "dA2", 1, a).status_code == 200
    live = client.get(f"/api/demo/{demo.room}/questions/dA2/live", headers=demo.keyed).json()
    assert not live["sealed"] and live["counts"][1] == 1 and live["round"] == 1


def test_round_frames_reach_every_page(client, demo):
    go(client, demo, PEER.id)
    with client.websocket_connect(demo.socket) as phone:
        assert phone.receive_json()["type"] == "state"
        state(client, demo, {"state": "closed"})
        frame = until(phone, "question")
        assert frame["round"] == 1 and frame["rounds"] == 2 and not SEALED & set(frame)
        state(client, demo, {"state": "open", "round": 2, "timer": 60})
        frame = until(phone, "question")
        assert frame["state"] == "open" and frame["round"] == 2 and frame["deadline"]
        state(client, demo, {"state": "revealed"})
        frame = until(phone, "question")
        assert "first" in frame and "moved" in frame and "distribution" in frame


# --------------------------------------------------------------------------- the check
def check_state(client, demo, phase, open_=True):
    r = client.post(f"/api/demo/{demo.room}/check/state",
                    json={"phase": phase, "state": "open" if open_ else "closed"},
                    headers=demo.keyed)
    assert r.status_code == 200, r.text
    return r.json()


def answer_check(client, demo, phase, qid, answer, token):
    return client.put(f"/api/demo/{demo.room}/check/{phase}/{qid}/answer",
                      json={"answer": answer}, headers=token)


def wrong(q):
    """A wrong answer to ``q``: another option, no cell tapped, a grid of 123s."""
    if q.kind == "choice":
        return (q.truth + 1) % len(q.options)
    if q.kind == "cells":
        return []
    return _filled(q.shape, 123.0)


def _filled(shape, value):
    if not shape:
        return value
    return [_filled(shape[1:], value) for _ in range(shape[0])]


def test_the_check_gives_the_gain_of_known_answers(client, demo):
    assert client.get(f"/api/demo/{demo.room}/check").json()["phase"] is None
    tokens = students(client, demo, 4)
    pre, post = LESSON.check["pre"], LESSON.check["post"]
    assert answer_check(client, demo, "pre", pre[0].id, 1, tokens[0]).status_code == 409
    check_state(client, demo, "pre")
    shown = client.get(f"/api/demo/{demo.room}/check", headers=tokens[0]).json()
    assert shown["phase"] == "pre" and len(shown["questions"]) == 3 and shown["sus"] is None
    assert "truth" not in json.dumps(shown) and "answer" not in shown["questions"][0]
    # before: student 0 gets all three right, 1 one of three, 2 none, 3 only the pre-check
    plan_pre = [(3, 0), (1, 1), (0, 2), (3, 3)]
    plan_post = [(3, 0), (3, 1), (2, 2)]
    for phase, qs, plan in (("pre", pre, plan_pre), ("post", post, plan_post)):
        if phase == "post":
            check_state(client, demo, "post")
        for right, who in plan:
            for i, q in enumerate(qs):
                answer = q.answer_json() if i < right else wrong(q)
                r = answer_check(client, demo, phase, q.id, answer, tokens[who])
                assert r.status_code == 200 and set(r.json()) == {"answer"}, r.text
    mine = client.get(f"/api/demo/{demo.room}/check", headers=tokens[1]).json()["mine"]
    assert set(mine) == {q.id for q in post}
    g = client.get(f"/api/demo/{demo.room}/gain", headers=demo.keyed).json()
    # overall over the three who did both: pre (3 + 1 + 0) / 9, post (3 + 3 + 2) / 9
    pre_share, post_share = 4 / 9, 8 / 9
    assert g["overall"]["n"] == 3 and g["answered"] == {"pre": 4, "post": 3}
    assert g["overall"]["pre"] == pytest.approx(pre_share)
    assert g["overall"]["post"] == pytest.approx(post_share)
    assert g["overall"]["gain"] == pytest.approx((post_share - pre_share) / (1 - pre_share))
    first = g["questions"][0]  # right before: students 0 and 1; after: all three
    assert first["n"] == 3 and first["pre"] == pytest.approx(2 / 3) and first["post"] == 1
    assert first["gain"] == pytest.approx(1.0)
    assert g["questions"][2]["pre"] == pytest.approx(1 / 3)
    # SUS with the post-check; closing it closes both
    sus = [5, 1, 5, 1, 5, 1, 5, 1, 5, 1]
    r = client.put(f"/api/demo/{demo.room}/sus", json={"answers": sus}, headers=tokens[0])
    assert r.status_code == 200 and r.json()["score"] == 100
    assert sus_score([3] * 10) == 50
    client.put(f"/api/demo/{demo.room}/sus", json={"answers": [3] * 10}, headers=tokens[1])
    check_state(client, demo, "post", open_=False)
    assert answer_check(client, demo, "post", post[0].id, 0, tokens[2]).status_code == 409
    assert client.put(f"/api/demo/{demo.room}/sus", json={"answers": sus},
                      headers=tokens[2]).status_code == 409
    g = client.get(f"/api/demo/{demo.room}/gain", headers=demo.keyed).json()
    assert g["sus"] == {"n": 2, "score": 75.0}
    rows = list(csv.DictReader(io.StringIO(client.get(
        f"/api/demo/{demo.room}/check.csv", headers=demo.keyed).content.decode("utf-8-sig"))))
    by = {r["name"]: r for r in rows}
    assert by["S1"]["pre_total"] == "1" and by["S1"]["post_total"] == "3"
    assert by["S3"]["post_total"] == "" and by["S0"]["sus"] == "100"


def test_the_check_refuses_what_it_cannot_take(client, demo):
    (a,) = students(client, demo, 1)
    assert client.get(f"/api/demo/{demo.room}/gain").status_code == 403
    check_state(client, demo, "pre")
    q = LESSON.check["pre"][0]
    r = answer_check(client, demo, "pre", q.id, 99, a)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "answer"]
    assert answer_check(client, demo, "pre", "check-9", 0, a).status_code == 404
    assert answer_check(client, demo, "pre", q.id, 0, {}).status_code == 403
    r = client.put(f"/api/demo/{demo.room}/sus", json={"answers": [6] * 10}, headers=a)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"][:2] == ["body", "answers"]
    r = client.put(f"/api/demo/{demo.room}/sus", json={"answers": [3] * 9}, headers=a)
    assert r.status_code == 422
    r = client.post(f"/api/demo/{demo.room}/check/state", json={"phase": "mid",
                                                               "state": "open"},
                    headers=demo.keyed)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "phase"]


LESSON_TEXT = LESSON.source


def lesson_with(extra: str, question: str = "") -> str:
    text = Path(LESSON_TEXT).read_text(encoding="utf-8")
    return text.replace("sus = true\n", extra, 1).replace(
        'answer = "negative"\n', 'answer = "negative"\n' + question, 1)


@pytest.mark.parametrize(("question", "message"), [
    ("rounds = 3\n", "rounds must be 1 or 2"),
    ("timer = 30\n", "timer is round 2's"),
    ("rounds = 2\ntimer = 2\n", "timer must be a whole number of seconds"),
])
def test_a_lesson_with_bad_rounds_names_the_line(question, message):
    with pytest.raises(ValueError, match=message):
        parse_lesson(lesson_with("sus = true\n", question))


def test_a_check_of_the_wrong_size_or_with_rounds_is_refused():
    text = Path(LESSON_TEXT).read_text(encoding="utf-8")
    start = text.index("\n[[check.question]]\n") + 1
    first = text[start:text.index("\n[[check.question]]\n", start) + 1]
    with pytest.raises(ValueError, match="a check holds 3 to 6 questions"):
        parse_lesson(text.replace(first, "", 1))
    with pytest.raises(ValueError, match="a check question has one round"):
        parse_lesson(text.replace(first, first + "rounds = 2\n", 1))
    no_check = text[:start] + text[text.index("# -----", start + 1):]
    with pytest.raises(ValueError, match="sus = true asks"):
        parse_lesson(no_check)
    assert not parse_lesson(no_check.replace("sus = true\n", "")).check


OLD_SCHEMA = """
CREATE TABLE students (id INTEGER PRIMARY KEY, room TEXT NOT NULL, token TEXT NOT NULL
    UNIQUE, name TEXT NOT NULL, student_id TEXT NOT NULL, joined REAL NOT NULL);
CREATE TABLE states (room TEXT NOT NULL, question TEXT NOT NULL, state TEXT NOT NULL,
    PRIMARY KEY (room, question));
CREATE TABLE answers (room TEXT NOT NULL, question TEXT NOT NULL, student INTEGER NOT NULL
    REFERENCES students (id), answer TEXT NOT NULL, correct INTEGER NOT NULL, score REAL
    NOT NULL, misconception TEXT NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (room, question, student));
CREATE TABLE shown (room TEXT NOT NULL, question TEXT NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (room, question));
CREATE TABLE late_answers (room TEXT NOT NULL, question TEXT NOT NULL, student INTEGER NOT
    NULL REFERENCES students (id), answer TEXT NOT NULL, correct INTEGER NOT NULL, score REAL
    NOT NULL, misconception TEXT NOT NULL, at REAL NOT NULL,
    PRIMARY KEY (room, question, student));
CREATE TABLE disputes (id INTEGER PRIMARY KEY, room TEXT NOT NULL, student_id TEXT NOT NULL,
    name TEXT NOT NULL, at REAL NOT NULL);
INSERT INTO students VALUES (1, 'r', 'h', 'Ada', 's-1', 0);
INSERT INTO states VALUES ('r', 'dZ1', 'closed');
INSERT INTO answers VALUES ('r', 'dZ1', 1, '1', 1, 1.0, '', 5);
"""


def test_a_results_file_of_the_previous_version_opens_with_its_answers(tmp_path):
    path = tmp_path / "old.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(OLD_SCHEMA)
    db.close()
    store = AnswerStore(path)
    assert store.state("r", "dZ1") == "closed" and store.round_of("r", "dZ1") == (1, None)
    view = store.rounds_view("r", PEER)
    assert view["answered"] == 1 and view["round"] == 1  # its answers are round 1's
    assert "Ada" in store.raw_csv("r", PEER) and store.gain("r", LESSON.check["pre"])[
        "overall"]["n"] == 0
    assert len(SUS_ITEMS) == 10
    store.close()


def test_a_grid_reveal_counts_the_right_answers_cell_by_cell(client, demo):
    q = next(q for q in LESSON.questions if q.kind == "grid")
    go(client, demo, q.id)
    a, b = students(client, demo, 2)
    truth = np.asarray(q.answer_json(), dtype=float)
    one_right = np.full(truth.shape, 123.0)
    one_right.flat[0] = truth.flat[0]  # the first cell right, the rest wrong
    assert put(client, demo, q.id, truth.tolist(), a).status_code == 200
    assert put(client, demo, q.id, one_right.tolist(), b).status_code == 200
    client.post(f"/api/demo/{demo.room}/questions/{q.id}/state", json={"state": "revealed"},
                headers=demo.keyed)
    right = np.asarray(seen(client, demo, a)["distribution"]["cells_right"])
    expected = np.ones(truth.shape, dtype=int)
    expected.flat[0] = 2
    assert truth.size > 1 and np.array_equal(right, expected)
