"""Grades an instructor can trust: a question closes before its answer is on any screen,
answers after a reveal are kept apart and never count, a student ID is claimed once,
one address cannot fill the room's places for good, and the presenter can list, mark and
remove students."""

from __future__ import annotations

import csv
import io

import pytest

from app.demo import answering
from app.demo.answers import HOLD, MAX_STUDENTS, AnswerRefusedError, AnswerStore
from app.demo.lesson import load_lesson
from tests.demo.test_demo_answering import QUESTIONS, beat_of, go, join, put

LESSON = load_lesson()


def state_of(client, demo, token=None):
    r = client.get(f"/api/demo/{demo.room}/question", headers=token or {})
    assert r.status_code == 200
    return r.json()


def set_state(client, demo, qid, state):
    r = client.post(f"/api/demo/{demo.room}/questions/{qid}/state", json={"state": state},
                    headers=demo.keyed)
    assert r.status_code == 200, r.text
    return r.json()


def gradebook(client, demo):
    r = client.get(f"/api/demo/{demo.room}/results.csv", headers=demo.keyed)
    assert r.status_code == 200
    return {row["name"]: row for row in
            csv.DictReader(io.StringIO(r.content.decode("utf-8-sig")))}


def raw(client, demo, qid):
    r = client.get(f"/api/demo/{demo.room}/questions/{qid}/answers.csv", headers=demo.keyed)
    assert r.status_code == 200
    return list(csv.DictReader(io.StringIO(r.content.decode("utf-8-sig"))))


def roster(client, demo):
    r = client.get(f"/api/demo/{demo.room}/students", headers=demo.keyed)
    assert r.status_code == 200, r.text
    return r.json()


# ---------------------------------------------------------------- answers after the reveal
def test_the_reveal_beat_closes_the_question_before_the_room_shows_its_answer(client, demo):
    token = join(client, demo)
    go(client, demo, "dZ2")
    assert state_of(client, demo, token)["state"] == "open"
    go(client, demo, "dZ2", revealed=True)
    view = client.get(f"/api/demo/{demo.room}").json()["view"]
    assert view["name"] == "dZ2" and view["revealed"]  # the value is on the screen now
    shown = state_of(client, demo, token)
    assert shown["question"]["id"] == "dZ2" and shown["state"] == "closed"
    right = float(QUESTIONS["dZ2"].truth)
    r = put(client, demo, "dZ2", right, token)
    assert r.status_code == 409 and "closed" in r.text
    assert gradebook(client, demo)["Ada"]["dZ2"] == ""


def test_a_question_reopened_after_its_reveal_takes_answers_that_never_count(client, demo):
    on_time, late = join(client, demo, "Ada", "s-1"), join(client, demo, "Bob", "s-2")
    go(client, demo, "dZ2")
    right = float(QUESTIONS["dZ2"].truth)
    r = put(client, demo, "dZ2", right, on_time)
    assert r.status_code == 200 and r.json()["after_reveal"] is False
    go(client, demo, "dZ2", revealed=True)
    assert set_state(client, demo, "dZ2", "open")["state"] == "open"  # O, after the reveal
    r = put(client, demo, "dZ2", right, late)
    assert r.status_code == 200 and r.json()["after_reveal"] is True
    r = put(client, demo, "dZ2", right + 1, on_time)  # a change after the reveal
    assert r.status_code == 200 and r.json()["after_reveal"] is True
    book = gradebook(client, demo)
    assert book["Ada"]["dZ2"] == "1" and book["Ada"]["after_reveal"] == "1"
    assert book["Bob"]["dZ2"] == "" and book["Bob"]["total"] == "0"
    assert book["Bob"]["after_reveal"] == "1"
    rows = raw(client, demo, "dZ2")
    assert [(r["name"], r["after_reveal"], r["points"]) for r in rows] == [
        ("Ada", "0", "1"), ("Ada", "1", "0"), ("Bob", "1", "0")]
    live = client.get(f"/api/demo/{demo.room}/questions/dZ2/live", headers=demo.keyed).json()
    assert live["answered"] == 1 and live["right"] == 1 and live["after_reveal"] == 2
    mine = state_of(client, demo, late)
    assert mine["after_reveal"] is True and mine["mine"] == right
    canvas = client.get(f"/api/demo/{demo.room}/results.csv?layout=canvas",
                        headers=demo.keyed).content.decode("utf-8-sig")
    totals = {row[2]: row[-1] for row in csv.reader(io.StringIO(canvas))}
    assert totals["s-1"] == "1" and totals["s-2"] == "0"


def test_a_reveal_by_r_makes_later_answers_late_too(client, demo):
    token = join(client, demo)
    go(client, demo, "dA2")
    set_state(client, demo, "dA2", "revealed")
    set_state(client, demo, "dA2", "open")
    r = put(client, demo, "dA2", QUESTIONS["dA2"].truth, token)
    assert r.status_code == 200 and r.json()["after_reveal"] is True
    assert gradebook(client, demo)["Ada"]["dA2"] == ""


def test_a_jump_past_several_questions_closes_each_and_going_back_keeps_them_shown(
        client, demo):
    token = join(client, demo)
    go(client, demo, "dA2")
    assert state_of(client, demo, token)["state"] == "open"
    last = len(LESSON.beats) - 1
    assert client.post(f"/api/demo/{demo.room}/goto", json={"beat": last},
                       headers=demo.keyed).status_code == 200
    for qid in QUESTIONS:
        go(client, demo, qid)  # back to its question beat: still closed
        assert state_of(client, demo, token)["state"] == "closed", qid
        assert put(client, demo, qid, 0, token).status_code == 409


def test_a_move_over_the_socket_closes_the_question_and_tells_the_room(client, demo):
    token = join(client, demo)
    go(client, demo, "dA2")
    with client.websocket_connect(demo.socket) as ws:
        assert ws.receive_json()["type"] == "state"
        ws.send_json({"type": "auth", "key": demo.key})
        while ws.receive_json()["type"] != "auth":
            pass
        ws.send_json({"type": "goto", "beat": beat_of("dA2", True)})
        seen = []
        while not seen or seen[-1]["type"] != "question":
            seen.append(ws.receive_json())
            assert len(seen) < 8, seen
    moved = next(f for f in seen if f["type"] == "state" and f["beat"] == beat_of("dA2", True))
    assert seen.index(moved) < len(seen) - 1  # the room moved, then heard of the close
    assert seen[-1] == {"type": "question", "id": "dA2", "state": "closed"}
    assert put(client, demo, "dA2", 0, token).status_code == 409


def test_questions_before_the_beat_stay_open_and_earlier_beats_close_nothing(client, demo):
    token = join(client, demo)
    go(client, demo, "dA1")  # a later question's beat: dA2, dZ2 are shown, dA1 is not
    assert state_of(client, demo, token)["state"] == "open"
    assert put(client, demo, "dA1", [], token).status_code == 200


# ----------------------------------------------------------------------------- identities
def test_a_student_id_is_claimed_once_and_the_presenter_sees_the_dispute(client, demo):
    holder = join(client, demo, "Ada", "s-100")
    r = client.post(f"/api/demo/{demo.room}/join", json={"name": "Mallory",
                                                         "student_id": "s-100"})
    assert r.status_code == 409 and "s-100" in r.text and "presenter" in r.text
    assert r.json()["detail"][0]["loc"] == ["body", "student_id"]
    again = client.post(f"/api/demo/{demo.room}/join",
                        json={"name": "Ada", "student_id": "s-100"}, headers=holder)
    assert again.status_code == 200  # a reconnect with the holder's token: the same student
    assert again.json()["token"] == holder["X-Student-Token"]
    listed = roster(client, demo)
    assert len(listed["students"]) == 1 and listed["disputes"] == 1
    (ada,) = listed["students"]
    assert ada["student_id"] == "s-100" and ada["disputes"][0]["name"] == "Mallory"
    rows = gradebook(client, demo)
    assert list(rows) == ["Ada"]
    # the presenter resolves it: dismissed, the holder keeps the ID
    dispute = ada["disputes"][0]["id"]
    r = client.delete(f"/api/demo/{demo.room}/disputes/{dispute}", headers=demo.keyed)
    assert r.status_code == 200 and r.json()["disputes"] == 0
    assert client.delete(f"/api/demo/{demo.room}/disputes/{dispute}",
                         headers=demo.keyed).status_code == 404


def test_removing_the_holder_frees_the_id_for_its_owner(client, demo):
    join(client, demo, "Mallory", "s-7")
    refused = client.post(f"/api/demo/{demo.room}/join", json={"name": "Ada",
                                                               "student_id": "s-7"})
    assert refused.status_code == 409
    (mallory,) = roster(client, demo)["students"]
    r = client.post(f"/api/demo/{demo.room}/students/remove", json={"ids": [mallory["id"]]},
                    headers=demo.keyed)
    assert r.status_code == 200 and r.json()["removed"] == 1 and r.json()["disputes"] == 0
    join(client, demo, "Ada", "s-7")
    assert [s["name"] for s in roster(client, demo)["students"]] == ["Ada"]


def test_look_alike_names_are_marked_on_the_presenters_list(client, demo):
    join(client, demo, "Ada")
    join(client, demo, "\u0410da")  # a Cyrillic А
    join(client, demo, "Grace")
    marks = {s["name"]: s["lookalike"] for s in roster(client, demo)["students"]}
    assert marks["Grace"] is None
    assert "Cyrillic" in marks["\u0410da"]
    assert marks["Ada"] == "looks like “\u0410da”"


def test_the_students_list_and_removal_need_the_key(client, demo):
    base = f"/api/demo/{demo.room}"
    assert client.get(f"{base}/students").status_code == 403
    assert client.post(f"{base}/students/remove", json={"never_answered": True}
                       ).status_code == 403
    assert client.delete(f"{base}/disputes/1").status_code == 403
    r = client.post(f"{base}/students/remove", json={}, headers=demo.keyed)
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "ids"]
    r = client.post(f"{base}/students/remove", json={"ids": ["x"]}, headers=demo.keyed)
    assert r.status_code == 422 and "ids" in r.text


# ---------------------------------------------------------------------------------- places
def test_joins_per_address_stay_bounded_whatever_per_client_says(monkeypatch):
    from tests.demo.conftest import demo_client

    with demo_client(per_client=10_000) as client:
        room = client.app.state.demo.hub.primary
        assert answering.joins_per_client(client.app.state.demo) == \
            answering.MAX_JOINS_PER_CLIENT
        for i in range(answering.MAX_JOINS_PER_CLIENT):
            r = client.post(f"/api/demo/{room}/join", json={"name": f"bot {i}"})
            assert r.status_code == 201, (i, r.text)
        r = client.post(f"/api/demo/{room}/join", json={"name": "one more"})
        assert r.status_code == 429 and int(r.headers["Retry-After"]) > 0


def test_students_who_never_answered_give_their_place_back(tmp_path):
    now = [1_000_000.0]
    store = AnswerStore(tmp_path / "places.sqlite3", clock=lambda: now[0])
    q = QUESTIONS["dA2"]
    tokens = [store.join("r", f"bot {i}")[0] for i in range(MAX_STUDENTS)]
    who, value = store.check("r", q, tokens[0], 1)
    store.record("r", q, who, value)  # one of them answered: that place is held for good
    with pytest.raises(AnswerRefusedError) as full:
        store.join("r", "Ada")
    assert full.value.status == 429
    now[0] += HOLD + 1
    store.join("r", "Ada")  # the places of those who never answered are free again
    listed = store.roster("r")
    assert listed["places"] == 2
    held = [s for s in listed["students"] if s["holds_place"]]
    assert sorted(s["name"] for s in held) == ["Ada", "bot 0"]
    # their tokens still answer: a student who joined early is never locked out
    who, value = store.check("r", q, tokens[5], 0)
    store.record("r", q, who, value)


def test_the_presenter_removes_those_who_never_answered(client, demo):
    real = join(client, demo, "Ada", "s-1")
    for i in range(5):
        join(client, demo, f"junk {i}")
    go(client, demo, "dA2")
    assert put(client, demo, "dA2", 1, real).status_code == 200
    r = client.post(f"/api/demo/{demo.room}/students/remove", json={"never_answered": True},
                    headers=demo.keyed)
    assert r.status_code == 200 and r.json()["removed"] == 5
    assert list(gradebook(client, demo)) == ["Ada"]
    assert [s["name"] for s in r.json()["students"]] == ["Ada"]


def test_a_removed_student_leaves_the_exports_and_must_join_again(client, demo):
    ada, bob = join(client, demo, "Ada"), join(client, demo, "Bob")
    go(client, demo, "dA2")
    assert put(client, demo, "dA2", 1, ada).status_code == 200
    assert put(client, demo, "dA2", 1, bob).status_code == 200
    bob_id = next(s["id"] for s in roster(client, demo)["students"] if s["name"] == "Bob")
    r = client.post(f"/api/demo/{demo.room}/students/remove", json={"ids": [bob_id]},
                    headers=demo.keyed)
    assert r.status_code == 200 and r.json()["removed"] == 1
    assert list(gradebook(client, demo)) == ["Ada"]
    assert [row["name"] for row in raw(client, demo, "dA2")] == ["Ada"]
    assert put(client, demo, "dA2", 0, bob).status_code == 403
    live = client.get(f"/api/demo/{demo.room}/questions/dA2/live", headers=demo.keyed).json()
    assert live["answered"] == 1


def test_a_results_file_of_the_previous_version_opens_with_nothing_lost(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite3"
    old = sqlite3.connect(path)
    old.executescript("""
        CREATE TABLE students (id INTEGER PRIMARY KEY, room TEXT NOT NULL, token TEXT NOT NULL
            UNIQUE, name TEXT NOT NULL, student_id TEXT NOT NULL, joined REAL NOT NULL);
        CREATE INDEX students_room ON students (room);
        CREATE TABLE states (room TEXT NOT NULL, question TEXT NOT NULL, state TEXT NOT NULL,
            PRIMARY KEY (room, question));
        CREATE TABLE answers (room TEXT NOT NULL, question TEXT NOT NULL, student INTEGER NOT
            NULL REFERENCES students (id), answer TEXT NOT NULL, correct INTEGER NOT NULL,
            score REAL NOT NULL, misconception TEXT NOT NULL, at REAL NOT NULL,
            PRIMARY KEY (room, question, student));
        INSERT INTO students VALUES (1, 'r', 'h1', 'Ada', 's-1', 1.0);
        INSERT INTO students VALUES (2, 'r', 'h2', 'Ada twin', 's-1', 2.0);
        INSERT INTO states VALUES ('r', 'dA2', 'revealed');
        INSERT INTO answers VALUES ('r', 'dA2', 1, '1', 1, 1.0, '', 3.0);
    """)
    old.commit()
    old.close()
    store = AnswerStore(path)
    q = QUESTIONS["dA2"]
    assert store.state("r", "dA2") == "revealed"
    assert store.own("r", q, 1)[0] == 1
    book = list(csv.reader(io.StringIO(store.gradebook_csv("r", [q]))))
    assert book[1] == ["Ada", "s-1", "1", "1", "0"] and book[2][0] == "Ada twin"
    # two holders of one ID from before are both kept; a new claim of it is refused
    with pytest.raises(AnswerRefusedError) as claimed:
        store.join("r", "Eve", "s-1")
    assert claimed.value.status == 409


def test_a_revealed_question_of_the_previous_version_counts_as_shown(tmp_path):
    import sqlite3

    path = tmp_path / "old-revealed.sqlite3"
    AnswerStore(path).close()
    with sqlite3.connect(path) as db:  # as the previous version left it: no shown rows
        db.execute("DROP TABLE shown")
        db.execute("INSERT INTO states VALUES ('r', 'dA2', 'revealed')")
    store = AnswerStore(path)
    assert store.shown("r", "dA2") and not store.shown("r", "dZ2")
    store.set_state("r", "dA2", "open")
    token, _ = store.join("r", "Ada")
    who, value = store.check("r", QUESTIONS["dA2"], token, 1)
    assert store.record("r", QUESTIONS["dA2"], who, value).late


def test_the_phone_keeps_the_result_of_its_answer_on_time(client, demo):
    token = join(client, demo)
    go(client, demo, "dA2")
    assert put(client, demo, "dA2", QUESTIONS["dA2"].truth, token).status_code == 200
    set_state(client, demo, "dA2", "revealed")
    set_state(client, demo, "dA2", "open")
    assert put(client, demo, "dA2", 0, token).json()["after_reveal"] is True
    set_state(client, demo, "dA2", "revealed")
    mine = state_of(client, demo, token)
    assert mine["after_reveal"] is False and mine["result"]["correct"] is True
    assert gradebook(client, demo)["Ada"]["dA2"] == "1"


def test_a_failed_write_leaves_no_transaction_behind(tmp_path):
    store = AnswerStore(tmp_path / "t.sqlite3")

    def broken():
        store.db.execute("INSERT INTO disputes (room, student_id, name, at) VALUES "
                         "('r', 's', 'n', 0)")
        raise RuntimeError("in the middle")

    with pytest.raises(RuntimeError):
        store._atomic(broken)
    assert not store.db.in_transaction
    assert store.roster("r")["disputes"] == 0  # rolled back
    store.join("r", "Ada")  # the next write takes the lock


def test_a_student_id_differing_only_in_case_is_the_same_claim(client, demo):
    join(client, demo, "Ada", "S-100")
    r = client.post(f"/api/demo/{demo.room}/join", json={"name": "Eve", "student_id": "s-100"})
    assert r.status_code == 409
    (ada,) = roster(client, demo)["students"]
    assert [d["name"] for d in ada["disputes"]] == ["Eve"]


def test_a_flood_of_claims_cannot_push_out_the_first(client, demo):
    from app.demo.answers import MAX_CLAIMS

    join(client, demo, "Mallory", "v-1")
    client.post(f"/api/demo/{demo.room}/join", json={"name": "Vera", "student_id": "v-1"})
    for i in range(MAX_CLAIMS + 5):
        r = client.post(f"/api/demo/{demo.room}/join",
                        json={"name": f"bot {i}", "student_id": "v-1"})
        assert r.status_code == 409
    (holder,) = roster(client, demo)["students"]
    names = [d["name"] for d in holder["disputes"]]
    assert names[0] == "Vera" and len(names) == MAX_CLAIMS


def test_a_room_brought_back_past_a_question_takes_no_answer_to_it(tmp_path):
    from tests.demo.conftest import demo_client

    state = tmp_path / "rooms.sqlite3"
    with demo_client(state=state, results=tmp_path / "one.sqlite3") as client:
        room = client.app.state.demo.hub.primary
        r = client.post(f"/api/demo/{room}/goto", json={"beat": beat_of("dA2", True)},
                        headers={"X-Demo-Key": client.app.state.demo.settings.key})
        assert r.status_code == 200
    # a restart with the rooms file but a new results file: the room is at the answer
    with demo_client(state=state, results=tmp_path / "two.sqlite3") as client:
        room = client.app.state.demo.hub.primary
        assert client.get(f"/api/demo/{room}").json()["beat"] == beat_of("dA2", True)
        token = {"X-Student-Token": client.post(f"/api/demo/{room}/join",
                                                json={"name": "Cheat"}).json()["token"]}
        r = client.put(f"/api/demo/{room}/questions/dA2/answer", json={"answer": 1},
                       headers=token)
        assert r.status_code == 409
        assert client.get(f"/api/demo/{room}/question",
                          headers=token).json()["state"] == "closed"
        keyed = {"X-Demo-Key": client.app.state.demo.settings.key}
        client.post(f"/api/demo/{room}/goto", json={"beat": beat_of("dA2")}, headers=keyed)
        assert client.put(f"/api/demo/{room}/questions/dA2/answer", json={"answer": 1},
                          headers=token).status_code == 409  # going back opens nothing


def test_remove_refuses_ids_out_of_range(client, demo):
    for bad in (2**63, -(2**63) - 1, 0, 10**4000 if False else 2**64):
        r = client.post(f"/api/demo/{demo.room}/students/remove", json={"ids": [bad]},
                        headers=demo.keyed)
        assert r.status_code == 422 and "ids" in r.text, bad
