"""The answers store on a real SQLite file: joins and tokens, one answer per student per
question (latest wins, only while open), sizes, a restart, the CSV exports, and the book
that keeps its calls off the event loop."""

from __future__ import annotations

import asyncio
import csv
import io
import sqlite3
import subprocess
import sys
import threading

import numpy as np
import pytest

import engine
from app.demo.answers import (
    MAX_NAME,
    MAX_STUDENTS,
    AnswerBook,
    AnswerRefusedError,
    AnswerStore,
    spreadsheet_safe,
)
from app.demo.lesson import load_lesson
from app.demo.questions import read_question, resolve
from app.store.walks import StoreUnavailableError

ROOM = "room42"


@pytest.fixture(scope="module")
def questions():
    lesson = load_lesson()
    t = engine.trace(lesson.x, lesson.y, lesson.params, lesson.config)
    tables = {
        "dA2": {"kind": "choice", "prompt": "Sign?", "options": ["positive", "negative"],
                "answer": "negative"},
        "dZ2": {"kind": "number", "prompt": "dZ2?", "answer": "dZ2"},
        "dA1": {"kind": "cells", "prompt": "Tap", "tensor": "A1", "answer": "dA1 != 0"},
        "dW2": {"kind": "grid", "prompt": "dW2?", "step": "dW2"},
    }
    out = {}
    for name, table in tables.items():
        spec = read_question(table, (), pytest.fail)
        before = [s.writes for s in engine.STEPS].index(name) - 1
        out[name] = resolve(spec, name, trace=t, lr=0.1, known=engine.known(before),
                            problem=pytest.fail)
    out["trace"] = t
    return out


@pytest.fixture
def store(tmp_path):
    s = AnswerStore(tmp_path / "sub" / "results.sqlite3")
    yield s
    s.close()


def answer(store: AnswerStore, room: str, q, token: object, raw: object) -> object:
    """Check and keep a student's answer, as the app does (less the rate, which the rooms
    count): the value kept."""
    who, value = store.check(room, q, token, raw)
    store.record(room, q, who, value)
    return value


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_created_on_first_use_owner_only_and_survives_a_restart(tmp_path, questions):
    path = tmp_path / "deep" / "results.sqlite3"
    store = AnswerStore(path)
    assert path.exists() and (path.stat().st_mode & 0o777) == 0o600
    token, who = store.join(ROOM, "Ada", "s123")
    answer(store, ROOM, questions["dA2"], token, 1)
    store.set_state(ROOM, "dA2", "closed")
    store.close()
    again = AnswerStore(path)
    assert again.student(ROOM, token).name == "Ada"
    assert again.own(ROOM, questions["dA2"], who.id)[0] == 1
    assert again.state(ROOM, "dA2") == "closed"
    again.close()
    db = sqlite3.connect(path)
    assert db.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 1
    stored = db.execute("SELECT token FROM students").fetchone()[0]
    assert token not in stored  # only its hash is kept


def test_latest_answer_wins_and_only_while_open(store, questions):
    q = questions["dA2"]
    token, who = store.join(ROOM, "Ada")
    answer(store, ROOM, q, token, 0)
    answer(store, ROOM, q, token, 1)
    assert store.count(ROOM, "dA2") == 1
    kept, result = store.own(ROOM, q, who.id)
    assert kept == 1 and result.correct
    store.set_state(ROOM, "dA2", "closed")
    with pytest.raises(AnswerRefusedError) as refused:
        answer(store, ROOM, q, token, 0)
    assert refused.value.status == 409 and refused.value.field == "question"
    assert store.own(ROOM, q, who.id)[0] == 1


def test_a_student_cannot_answer_for_another(store, questions):
    q = questions["dA2"]
    ada, _ = store.join(ROOM, "Ada")
    _, bob = store.join(ROOM, "Bob")
    for token in ("", None, 42, "x" * 30, ada[:-1] + ("A" if ada[-1] != "A" else "B")):
        with pytest.raises(AnswerRefusedError) as refused:
            answer(store, ROOM, q, token, 0)
        assert refused.value.status == 403 and refused.value.field == "token"
    with pytest.raises(AnswerRefusedError):  # a token of another room
        answer(store, "otherroom", q, ada, 0)
    assert store.own(ROOM, q, bob.id) is None


@pytest.mark.parametrize("name, student_id, field", [
    ("", None, "name"), ("   ", None, "name"), ("x" * (MAX_NAME + 1), None, "name"),
    (7, None, "name"), ("Ada", "has space", "student_id"), ("Ada", "x" * 33, "student_id"),
    ("Ada", 12, "student_id"),
])
def test_bad_joins_name_the_field(store, name, student_id, field):
    with pytest.raises(AnswerRefusedError) as refused:
        store.join(ROOM, name, student_id)
    assert refused.value.field == field and refused.value.status == 400


def test_names_are_cleaned_not_refused_for_markup(store):
    _, who = store.join(ROOM, "  <b>Ada</b>\u0007  Lovelace ")
    assert who.name == "<b>Ada</b> Lovelace"  # kept as text; every page escapes it


def test_size_limits(tmp_path, questions):
    store = AnswerStore(tmp_path / "r.sqlite3")
    token, _ = store.join(ROOM, "Ada")
    answer(store, ROOM, questions["dA2"], token, 1)
    with pytest.raises(AnswerRefusedError, match="over 1024 bytes"):
        answer(store, ROOM, questions["dA1"], token, [[0, 0, 0]] * 200)
    with pytest.raises(AnswerRefusedError, match="option"):
        answer(store, ROOM, questions["dA2"], token, 5)
    store.close()


def test_students_per_room_are_capped(tmp_path, monkeypatch):
    import app.demo.answers as answers
    monkeypatch.setattr(answers, "MAX_STUDENTS", 3)
    store = AnswerStore(tmp_path / "c.sqlite3")
    for name in "abc":
        store.join(ROOM, name)
    with pytest.raises(AnswerRefusedError) as refused:
        store.join(ROOM, "d")
    assert refused.value.status == 429
    store.join("another", "d")  # another room has its own seats
    assert MAX_STUDENTS >= 500
    store.close()


def test_a_full_file_refuses_with_507(tmp_path, questions):
    store = AnswerStore(tmp_path / "full.sqlite3", max_bytes=128 * 1024)
    with pytest.raises(AnswerRefusedError) as refused:
        for i in range(5000):
            store.join(ROOM, f"student {i}")
    assert refused.value.status == 507
    store.close()


def test_exports(store, questions):
    qs = [questions[k] for k in ("dA2", "dZ2", "dA1", "dW2")]
    t = questions["trace"]
    ada, _ = store.join(ROOM, "=HYPERLINK(\"x\")", "s1")
    bob, _ = store.join(ROOM, "Bob, Jr.", "s2")
    store.join(ROOM, "Cy")
    right_cells = [list(c) for c in questions["dA1"].truth]
    answer(store, ROOM, qs[0], ada, 1)
    answer(store, ROOM, qs[1], ada, float(t["dZ2"]))
    answer(store, ROOM, qs[2], ada, right_cells)
    answer(store, ROOM, qs[3], ada, np.asarray(questions["dW2"].truth).tolist())
    answer(store, ROOM, qs[0], bob, 0)
    answer(store, ROOM, qs[3], bob, [np.asarray(t["F"]).tolist()])
    generic = rows(store.gradebook_csv(ROOM, qs))
    assert generic[0] == ["name", "student_id", "dA2", "dZ2", "dA1", "dW2", "total",
                          "after_reveal"]
    assert generic[1] == ["'=HYPERLINK(\"x\")", "s1", "1", "1", "1", "1", "4", "0"]
    # Bob's dW2 is F (the error factor forgotten): right only where F is 0, one cell of 4
    assert generic[2] == ["Bob, Jr.", "s2", "0", "", "", "0.25", "0.25", "0"]
    assert generic[3] == ["Cy", "", "", "", "", "", "0", "0"]
    canvas = rows(store.canvas_csv(ROOM, qs, "CNN lesson"))
    assert canvas[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                         *(f"CNN lesson: {q.id}" for q in qs), "CNN lesson"]
    assert canvas[1][0] == "Points Possible" and canvas[1][-1] == "4"
    assert canvas[2] == ["'=HYPERLINK(\"x\")", "", "s1", "", "", "1", "1", "1", "1", "4"]
    raw = rows(store.raw_csv(ROOM, qs[3]))
    assert raw[0][:6] == ["name", "student_id", "answer", "correct", "points", "misconception"]
    assert raw[2][:2] == ["Bob, Jr.", "s2"] and raw[2][3] == "0"
    assert raw[2][5] == "dw2-no-upstream"
    choice = rows(store.raw_csv(ROOM, qs[0]))
    assert [r[2] for r in choice[1:]] == ["negative", "positive"]


def test_distribution_carries_the_state(store, questions):
    q = questions["dA2"]
    for name, pick in (("a", 1), ("b", 1), ("c", 0)):
        token, _ = store.join(ROOM, name)
        answer(store, ROOM, q, token, pick)
    d = store.distribution(ROOM, q)
    assert d["counts"] == [1, 2] and d["state"] == "open"
    store.set_state(ROOM, "dA2", "revealed")
    assert store.distribution(ROOM, q)["state"] == "revealed"
    with pytest.raises(AnswerRefusedError, match="state"):
        store.set_state(ROOM, "dA2", "gone")


@pytest.mark.parametrize("text, safe", [("=1+1", "'=1+1"), ("-2", "'-2"), ("@x", "'@x"),
                                        ("Ada", "Ada"), ("", "")])
def test_spreadsheet_safe(text, safe):
    assert spreadsheet_safe(text) == safe


WRITER = """
import sys
from app.demo.answers import AnswerStore
from app.demo.mode import DemoMode, DemoSettings

demo = DemoMode(DemoSettings(key="writer-presenter-key"))
q = next(q for q in demo.questions.values() if q.kind == "choice")
store = AnswerStore(sys.argv[1])
print(q.id, flush=True)
sys.stdin.readline()  # both processes start writing together
for i in range(int(sys.argv[3])):
    token, _ = store.join("room42", f"{sys.argv[2]} {i}")
    who, value = store.check("room42", q, token, i % len(q.options))
    store.record("room42", q, who, value)
"""


@pytest.mark.slow  # a Redis of its own, real expiry or real processes
def test_two_processes_write_one_results_file_together(tmp_path):
    """Workers on one host share the results file: every join and answer of both lands."""
    path = tmp_path / "shared.sqlite3"
    writers = [subprocess.Popen([sys.executable, "-c", WRITER, str(path), name, "150"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
               for name in ("one", "two")]
    qids = {w.stdout.readline().strip() for w in writers}
    for w in writers:
        w.stdin.write("go\n")
        w.stdin.flush()
    codes = [w.wait(timeout=60) for w in writers]
    assert codes == [0, 0]
    (qid,) = qids
    store = AnswerStore(path)
    rows = store.db.execute("SELECT s.name FROM answers a JOIN students s ON s.id = a.student "
                            "WHERE a.question = ?", (qid,)).fetchall()
    assert sorted(r[0] for r in rows) == sorted(f"{n} {i}" for n in ("one", "two")
                                                for i in range(150))


def test_a_question_closed_between_check_and_record_keeps_no_answer(store, questions):
    # the check and the record are two calls (the rate is counted between them): a close
    # that lands in between, from any worker, must still refuse the answer
    q = questions["dA2"]
    token, _ = store.join(ROOM, "Ada")
    who, value = store.check(ROOM, q, token, 1)
    store.set_state(ROOM, q.id, "closed")
    with pytest.raises(AnswerRefusedError) as refused:
        store.record(ROOM, q, who, value)
    assert refused.value.status == 409
    assert store.count(ROOM, q.id) == 0
    store.set_state(ROOM, q.id, "open")
    store.record(ROOM, q, who, value)
    assert store.own(ROOM, q, who.id)[0] == 1


def test_the_book_runs_every_call_on_its_own_thread_not_the_loop(tmp_path):
    book = AnswerBook(AnswerStore(tmp_path / "b.sqlite3"))
    loop_thread = threading.get_ident()
    seen: list[int] = []

    def where() -> int:
        seen.append(threading.get_ident())
        return len(seen)

    async def main() -> None:
        token, who = await book.run(book.store.join, ROOM, "Ada")
        assert (await book.run(book.store.student, ROOM, token)).id == who.id
        await asyncio.gather(*(book.run(where) for _ in range(5)))
        # a file another worker holds locked: the wait is the book's, the loop goes on
        other = sqlite3.connect(tmp_path / "b.sqlite3", isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            joining = asyncio.ensure_future(book.run(book.store.join, ROOM, "Bea"))
            ticks = 0
            while not joining.done() and ticks < 20:
                await asyncio.sleep(0.01)
                ticks += 1
            assert ticks == 20 and not joining.done()  # the loop ticked while the join waited
        finally:
            other.execute("COMMIT")
            other.close()
        _, bea = await joining
        assert bea.name == "Bea"

    try:
        asyncio.run(main())
        assert len(set(seen)) == 1 and seen[0] != loop_thread
    finally:
        book.close()

    async def after_close() -> None:
        await book.run(book.store.joined, ROOM)

    with pytest.raises(StoreUnavailableError, match="stopping"):  # a 503, never a 500
        asyncio.run(after_close())
