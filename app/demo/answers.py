"""The room's answers, kept in a SQLite file: who joined, what each one answered, and the
exports for the gradebook.

``convlens demo --results FILE`` (or ``CONVLENS_DEMO_RESULTS``) names the file; it is
created on first use, readable by its owner only, and survives a restart. What is stored
per student: the display name and the optional student ID they typed, a SHA-256 hash of
their token (the token itself stays on their phone), and per question their latest
answer, its grade and when it was given. Nothing else (no address, no browser).

One answer per student per question: a new one replaces the old (latest wins), and only
while the question is open. A question's state (``open``, ``closed``, ``revealed``) is
kept with the answers, so a restart finds a closed question closed.

A question's answer is *shown* from the first beat past its question beat, or from its
reveal (:meth:`AnswerStore.expose`, which also closes it if it was open): the room moves
only after that is written, so no worker takes an answer as on time once any page may
hold the answer. A question the presenter reopens after that takes answers *after the
reveal*: they are kept apart (``late_answers``), shown in the exports as such, and never
count as right.

Places and identities: a room holds MAX_STUDENTS places, counted over the students who
have answered and those who joined in the last HOLD seconds (a join that never answers
gives its place back). A student ID is claimed once per room: another join with it is
refused, unless it carries the holder's token (a reconnect), and the refusal is kept as a
*dispute* the presenter sees. The presenter lists the students (look-alike names marked:
:mod:`app.demo.names`) and removes any of them, with their answers.

Several workers (``convlens demo --workers N``, on one host) share one file: it is the
record of every answer whichever worker took it, and of each question's state. SQLite in
WAL mode lets them read while one writes; a writer waits up to BUSY_TIMEOUT for another's
write and tries WRITE_TRIES times before the request is refused with 503. The app reaches
the file through :class:`AnswerBook`, whose calls run on a thread of its own: a write
waiting for another worker's lock holds that thread, never the event loop that serves the
room's sockets. The answer rate per student is counted by the rooms, not here
(:mod:`app.demo.answering`), so with Redis every worker's answers count, and the workers
tell one another's pages about answers and question states; Redis holds no answer, so a
Redis restart loses none.
"""

from __future__ import annotations

import asyncio
import csv
import dataclasses
import functools
import hashlib
import io
import json
import os
import re
import secrets
import sqlite3
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from ..store.walks import StoreUnavailableError
from .names import lookalikes
from .questions import PHASES, Question, Result, distribution, grade, read_answer

P = ParamSpec("P")
T = TypeVar("T")

SCHEMA = """
CREATE TABLE IF NOT EXISTS students (
    id INTEGER PRIMARY KEY,
    room TEXT NOT NULL,
    token TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    student_id TEXT NOT NULL,
    joined REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS students_room ON students (room);
CREATE TABLE IF NOT EXISTS states (
    room TEXT NOT NULL,
    question TEXT NOT NULL,
    state TEXT NOT NULL,
    PRIMARY KEY (room, question)
);
CREATE TABLE IF NOT EXISTS answers (
    room TEXT NOT NULL,
    question TEXT NOT NULL,
    student INTEGER NOT NULL REFERENCES students (id),
    answer TEXT NOT NULL,
    correct INTEGER NOT NULL,
    score REAL NOT NULL,
    misconception TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (room, question, student)
);
CREATE INDEX IF NOT EXISTS answers_student ON answers (room, student);
CREATE INDEX IF NOT EXISTS students_claim ON students (room, student_id);
CREATE TABLE IF NOT EXISTS shown (
    room TEXT NOT NULL,
    question TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (room, question)
);
CREATE TABLE IF NOT EXISTS late_answers (
    room TEXT NOT NULL,
    question TEXT NOT NULL,
    student INTEGER NOT NULL REFERENCES students (id),
    answer TEXT NOT NULL,
    correct INTEGER NOT NULL,
    score REAL NOT NULL,
    misconception TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (room, question, student)
);
CREATE TABLE IF NOT EXISTS disputes (
    id INTEGER PRIMARY KEY,
    room TEXT NOT NULL,
    student_id TEXT NOT NULL,
    name TEXT NOT NULL,
    at REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS disputes_room ON disputes (room, student_id);
CREATE TABLE IF NOT EXISTS rounds (
    room TEXT NOT NULL,
    question TEXT NOT NULL,
    round INTEGER NOT NULL,
    deadline REAL,
    PRIMARY KEY (room, question)
);
CREATE TABLE IF NOT EXISTS votes (
    room TEXT NOT NULL,
    question TEXT NOT NULL,
    round INTEGER NOT NULL,
    student INTEGER NOT NULL REFERENCES students (id),
    answer TEXT NOT NULL,
    correct INTEGER NOT NULL,
    score REAL NOT NULL,
    misconception TEXT NOT NULL,
    confidence TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (room, question, round, student)
);
CREATE TABLE IF NOT EXISTS check_phases (
    room TEXT PRIMARY KEY,
    phase TEXT NOT NULL,
    state TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS check_answers (
    room TEXT NOT NULL,
    phase TEXT NOT NULL,
    question TEXT NOT NULL,
    student INTEGER NOT NULL REFERENCES students (id),
    answer TEXT NOT NULL,
    correct INTEGER NOT NULL,
    score REAL NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (room, phase, question, student)
);
CREATE TABLE IF NOT EXISTS sus (
    room TEXT NOT NULL,
    student INTEGER NOT NULL REFERENCES students (id),
    answers TEXT NOT NULL,
    score REAL NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (room, student)
);
INSERT OR IGNORE INTO shown SELECT room, question, 0 FROM states WHERE state = 'revealed';
"""
# Files written before ``shown``, ``late_answers``, ``disputes``, ``rounds``, ``votes``, the
# check's tables and ``sus`` existed open as they are: every statement above only adds what
# is missing, and no row is rewritten. (An answer kept before ``votes`` is a round-1 answer
# with no confidence.)

STATES = ("open", "closed", "revealed")
CONFIDENCE = ("sure", "unsure")  # what a phone may add to an answer ("" when it says none)
SUS_ITEMS = (  # the System Usability Scale (Brooke 1996), its ten statements as published
    "I think that I would like to use this system frequently.",
    "I found the system unnecessarily complex.",
    "I thought the system was easy to use.",
    "I think that I would need the support of a technical person to be able to use this "
    "system.",
    "I found the various functions in this system were well integrated.",
    "I thought there was too much inconsistency in this system.",
    "I would imagine that most people would learn to use this system very quickly.",
    "I found the system very cumbersome to use.",
    "I felt very confident using the system.",
    "I needed to learn a lot of things before I could get going with this system.",
)
MAX_NAME = 40  # characters of a display name
MAX_STUDENT_ID = 32
# starting with a letter or digit: a spreadsheet would read "+1", "-1" or "@x" as a formula,
# and the escaped export ("'+1") would no longer match the LMS's ID
STUDENT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@+-]{0,31}$")
MAX_STUDENTS = 1000  # places per room: students who answered, or joined within HOLD
HOLD = 600.0  # seconds a student who has not answered yet holds a place
MAX_DISPUTES = 200  # refused claims of a taken student ID kept per room (the first ones) ...
MAX_CLAIMS = 10  # ... and per student ID
MAX_JOINED = 5 * MAX_STUDENTS  # rows a room's students may take, places held or not
MAX_ANSWER_BYTES = 1024  # an answer as JSON
MAX_DB_BYTES = 64 * 1024 * 1024  # the file's cap (SQLite's max_page_count)
BUSY_TIMEOUT = 2.0  # seconds a write waits for another worker's to finish ...
WRITE_TRIES = 3  # ... this many times
CANVAS_COLUMNS = ("Student", "ID", "SIS User ID", "SIS Login ID", "Section")
CANVAS_ASSIGNMENT = re.compile(r"[0-9]{1,20}")  # a Canvas assignment's ID: its number


class AnswerRefusedError(ValueError):
    """A join or an answer refused; ``field`` names what was wrong, ``status`` its HTTP
    status (400 bad input, 403 no such student, 409 not open, 429 the room is full, 503
    the file stayed busy, 507 the file is full)."""

    def __init__(self, field: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.field = field
        self.status = status


@dataclass(frozen=True)
class Student:
    id: int
    room: str
    name: str
    student_id: str


def default_path() -> Path:
    """``$XDG_STATE_HOME/convlens/demo-results.sqlite3`` (``~/.local/state`` without it)."""
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "convlens" / "demo-results.sqlite3"


def clean_name(name: object) -> str:
    """A display name: 1 to MAX_NAME printable characters, spaces collapsed."""
    if not isinstance(name, str):
        raise AnswerRefusedError("name", "name must be a string")
    text = " ".join("".join(c for c in name if c.isprintable()).split())
    if not text:
        raise AnswerRefusedError("name", "name must not be empty")
    if len(text) > MAX_NAME:
        raise AnswerRefusedError("name", f"name is {len(text)} characters; at most {MAX_NAME}")
    return text


def clean_student_id(value: object) -> str:
    if value is None or value == "":
        return ""
    if not isinstance(value, str) or not STUDENT_ID.match(value.strip()):
        raise AnswerRefusedError("student_id", f"student_id must be 1 to {MAX_STUDENT_ID} letters, "
                                          "digits or . _ @ + -")
    return value.strip()


def check_assignment(value: str) -> str:
    """A Canvas assignment ID (the number in the assignment's address, ``…/assignments/ID``)."""
    if not CANVAS_ASSIGNMENT.fullmatch(value):
        raise AnswerRefusedError("assignment", "the Canvas assignment ID must be its number "
                                               f"(1 to 20 digits), got {value[:40]!r}")
    return value


def canvas_title(title: str, assignment: str | None = None) -> str:
    """The Canvas export's column of the total: the lesson's title, with the assignment's
    ID as ``Title (ID)`` (the form by which Canvas matches a column to an assignment)."""
    name = " ".join(title.split())[:100] or "convlens"
    return f"{name} ({check_assignment(assignment)})" if assignment else name


def _busy(exc: sqlite3.OperationalError) -> bool:
    return "locked" in str(exc) or "busy" in str(exc)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def spreadsheet_safe(text: str) -> str:
    """A cell a spreadsheet will not run as a formula (a leading = + - @ tab or CR)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


class AnswerStore:
    """Students and answers of every room in ``path`` (``":memory:"`` for tests)."""

    def __init__(self, path: str | Path, *, max_bytes: int = MAX_DB_BYTES,
                 clock: Callable[[], float] = time.time) -> None:
        self.path = path
        self.clock = clock
        try:
            if str(path) != ":memory:":
                p = Path(path)
                p.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
                fresh = not p.exists()
                self.db = sqlite3.connect(p, isolation_level=None, timeout=BUSY_TIMEOUT,
                                          check_same_thread=False)
                if fresh:
                    os.chmod(p, 0o600)
                self._retry(lambda: self.db.execute("PRAGMA journal_mode=WAL"))
                self.db.execute("PRAGMA synchronous=NORMAL")
            else:
                self.db = sqlite3.connect(":memory:", isolation_level=None,
                                          check_same_thread=False)
            page = int(self.db.execute("PRAGMA page_size").fetchone()[0])
            self.db.execute(f"PRAGMA max_page_count = {max(16, max_bytes // page)}")
            self._retry(lambda: self.db.executescript(SCHEMA))  # workers starting together
        except (OSError, sqlite3.Error) as exc:
            raise ValueError(f"cannot keep the answers in {path}: {exc} (choose another "
                             "file with --results)") from None

    def close(self) -> None:
        self.db.close()

    @staticmethod
    def _retry(step: Callable[[], T]) -> T:
        """Run ``step``, again while another process holds the file's write lock."""
        for attempt in range(1, WRITE_TRIES + 1):
            try:
                return step()
            except sqlite3.OperationalError as exc:
                if attempt == WRITE_TRIES or not _busy(exc):
                    raise
                time.sleep(0.01 * attempt)
        raise AssertionError("unreachable")

    def _write(self, sql: str, args: Sequence[object]) -> sqlite3.Cursor:
        return self._atomic(lambda: self.db.execute(sql, args), begin=False)

    def _atomic(self, work: Callable[[], T], *, begin: bool = True) -> T:
        """``work`` in one write transaction (``BEGIN IMMEDIATE``: taken before it reads,
        so another worker's write lands wholly before or after it), again while another
        process holds the lock; a full or busy file is refused (507, 503)."""
        def once() -> T:
            if not begin:
                return work()
            self.db.execute("BEGIN IMMEDIATE")
            try:
                out = work()
                self.db.execute("COMMIT")
            except BaseException:  # a failed COMMIT too: never keep the write lock
                if self.db.in_transaction:  # (SQLite ends it itself on a full file)
                    self.db.execute("ROLLBACK")
                raise
            return out

        try:
            return self._retry(once)
        except sqlite3.OperationalError as exc:
            if "full" in str(exc):
                raise AnswerRefusedError("answer", "the results file is full; the presenter can "
                                              "export and start another", 507) from None
            if _busy(exc):
                raise AnswerRefusedError("answer", "the results file is busy: try again",
                                         503) from None
            raise

    # ----------------------------------------------------------------------- students
    def join(self, room: str, name: object, student_id: object = None) -> tuple[str, Student]:
        """A new student in ``room``: their secret token (give it to their phone only). A
        student ID another student of the room holds (in any case) is refused (409) and the
        claim kept as a dispute. (A reconnect is :meth:`student`, with the phone's token.)"""
        name = clean_name(name)
        sid = clean_student_id(student_id)

        def claim() -> tuple[str, Student]:
            now = self.clock()
            held = sid and self.db.execute(
                "SELECT student_id FROM students WHERE room = ? AND student_id = ? COLLATE "
                "NOCASE", (room, sid)).fetchone()
            if held:
                # the first claims are kept (a flood of later ones cannot push out the
                # real student's), at most MAX_CLAIMS per ID and MAX_DISPUTES per room
                per_id, per_room = self.db.execute(
                    "SELECT SUM(student_id = ? COLLATE NOCASE), COUNT(*) FROM disputes WHERE "
                    "room = ?", (held[0], room)).fetchone()
                if (per_id or 0) < MAX_CLAIMS and per_room < MAX_DISPUTES:
                    self.db.execute("INSERT INTO disputes (room, student_id, name, at) VALUES "
                                    "(?, ?, ?, ?)", (room, held[0], name, now))
                return "", Student(0, room, name, str(held[0]))
            (joined,) = self.db.execute("SELECT COUNT(*) FROM students WHERE room = ?",
                                        (room,)).fetchone()
            if joined >= MAX_JOINED:
                raise AnswerRefusedError("room", f"the room has had {MAX_JOINED} students "
                                                 "join; the presenter can remove those who "
                                                 "never answered", 429)
            if self._holding(room, now) >= MAX_STUDENTS:
                raise AnswerRefusedError("room", f"the room has its {MAX_STUDENTS} students "
                                                 "(a place whose student has not answered "
                                                 f"frees after {HOLD:g} s)", 429)
            fresh = secrets.token_urlsafe(24)
            cur = self.db.execute("INSERT INTO students (room, token, name, student_id, "
                                  "joined) VALUES (?, ?, ?, ?, ?)",
                                  (room, _hash(fresh), name, sid, now))
            return fresh, Student(int(cur.lastrowid or 0), room, name, sid)

        fresh, who = self._atomic(claim)
        if not fresh:  # the dispute is kept: refused after the transaction commits it
            raise AnswerRefusedError("student_id", f"student ID {sid} is already claimed in "
                                                   "this room; if it is yours, tell the "
                                                   "presenter, who can resolve it", 409)
        return fresh, who

    def _holding(self, room: str, now: float) -> int:
        """The places taken: students who answered, or joined less than HOLD s ago."""
        return int(self.db.execute(
            "SELECT COUNT(*) FROM students s WHERE s.room = ? AND (s.joined > ? OR EXISTS "
            "(SELECT 1 FROM answers a WHERE a.room = s.room AND a.student = s.id))",
            (room, now - HOLD)).fetchone()[0])

    def student(self, room: str, token: object) -> Student:
        """The student whose token this is, in ``room``; refused otherwise."""
        if not isinstance(token, str) or not 16 <= len(token) <= 64:
            raise AnswerRefusedError("token", "token is missing or malformed: join first", 403)
        row = self.db.execute("SELECT id, name, student_id FROM students WHERE token = ? "
                              "AND room = ?", (_hash(token), room)).fetchone()
        if row is None:
            raise AnswerRefusedError("token", "no such student in this room: join first", 403)
        return Student(int(row[0]), room, str(row[1]), str(row[2]))

    def joined(self, room: str) -> int:
        return int(self.db.execute("SELECT COUNT(*) FROM students WHERE room = ?",
                                   (room,)).fetchone()[0])

    def students(self, room: str) -> list[Student]:
        rows = self.db.execute("SELECT id, name, student_id FROM students WHERE room = ? "
                               "ORDER BY id", (room,)).fetchall()
        return [Student(int(r[0]), room, str(r[1]), str(r[2])) for r in rows]

    def roster(self, room: str) -> dict[str, Any]:
        """The presenter's list: every student with what they answered (on time and after
        the reveal), whether they hold a place, a mark on a name that looks like another's
        or mixes scripts, and the refused claims of each student ID."""
        now = self.clock()
        rows = self.db.execute(
            "SELECT s.id, s.name, s.student_id, s.joined, (SELECT COUNT(*) FROM answers a "
            "WHERE a.room = s.room AND a.student = s.id), (SELECT COUNT(*) FROM late_answers "
            "l WHERE l.room = s.room AND l.student = s.id) FROM students s WHERE s.room = ? "
            "ORDER BY s.id", (room,)).fetchall()
        marks = lookalikes([str(r[1]) for r in rows])
        claims: dict[str, list[dict[str, Any]]] = {}
        for did, sid, name, at in self.db.execute(
                "SELECT id, student_id, name, at FROM disputes WHERE room = ? ORDER BY id",
                (room,)).fetchall():
            claims.setdefault(str(sid), []).append({"id": int(did), "name": str(name),
                                                    "at": _when(at)})
        students = [{"id": int(r[0]), "name": str(r[1]), "student_id": str(r[2]),
                     "joined": _when(r[3]), "answered": int(r[4]), "after_reveal": int(r[5]),
                     "holds_place": bool(r[4]) or float(r[3]) > now - HOLD,
                     "never_answered": not r[4] and not r[5],
                     "lookalike": marks[i], "disputes": claims.get(str(r[2]), []) if r[2]
                     else []}
                    for i, r in enumerate(rows)]
        return {"students": students, "places": self._holding(room, now),
                "max_places": MAX_STUDENTS, "without_id": self.without_id(room),
                "disputes": sum(len(s["disputes"]) for s in students)}

    def remove(self, room: str, ids: Sequence[int] | None = None, *,
               never_answered: bool = False) -> int:
        """Remove the students ``ids`` of ``room`` (or every one who never answered), their
        answers and the disputes over their IDs; how many were removed. Their tokens no
        longer answer, and they leave every export."""
        def drop() -> int:
            if never_answered:
                found = [int(r[0]) for r in self.db.execute(
                    "SELECT id FROM students s WHERE room = ? AND NOT EXISTS (SELECT 1 FROM "
                    "answers a WHERE a.room = s.room AND a.student = s.id) AND NOT EXISTS "
                    "(SELECT 1 FROM late_answers l WHERE l.room = s.room AND l.student = "
                    "s.id) AND NOT EXISTS (SELECT 1 FROM check_answers c WHERE c.room = "
                    "s.room AND c.student = s.id)", (room,)).fetchall()]
            else:
                wanted = list(ids or ())
                found = [int(r[0]) for r in self.db.execute(
                    f"SELECT id FROM students WHERE room = ? AND id IN "
                    f"({','.join('?' * len(wanted))})", (room, *wanted)).fetchall()
                         ] if wanted else []
            for sid in found:
                (student_id,) = self.db.execute("SELECT student_id FROM students WHERE id = ?",
                                                (sid,)).fetchone()
                for table in ("answers", "late_answers", "votes", "check_answers", "sus"):
                    self.db.execute(f"DELETE FROM {table} WHERE room = ? AND student = ?",
                                    (room, sid))
                self.db.execute("DELETE FROM students WHERE id = ?", (sid,))
                if student_id:
                    self.db.execute("DELETE FROM disputes WHERE room = ? AND student_id = ?",
                                    (room, student_id))
            return len(found)

        return self._atomic(drop)

    def dismiss(self, room: str, dispute: int) -> bool:
        """Forget a refused claim (the holder of the ID keeps it)."""
        return self._write("DELETE FROM disputes WHERE room = ? AND id = ?",
                           (room, dispute)).rowcount > 0

    # ---------------------------------------------------------------------- questions
    def state(self, room: str, question: str) -> str:
        """``open``, ``closed`` or ``revealed`` (``open`` until the presenter acts); an
        open round whose timer has run out is ``closed``, on every worker at once."""
        row = self.db.execute("SELECT state FROM states WHERE room = ? AND question = ?",
                              (room, question)).fetchone()
        state = "open" if row is None else str(row[0])
        if state == "open":
            _, deadline = self.round_of(room, question)
            if deadline is not None and self.clock() >= deadline:
                return "closed"
        return state

    def round_of(self, room: str, question: str) -> tuple[int, float | None]:
        """The question's round (1 until the presenter opens round 2) and when the open
        round's timer ends (None: no timer)."""
        row = self.db.execute("SELECT round, deadline FROM rounds WHERE room = ? AND "
                              "question = ?", (room, question)).fetchone()
        return (1, None) if row is None else (int(row[0]),
                                              None if row[1] is None else float(row[1]))

    def set_state(self, room: str, question: str, state: str, *, round: int | None = None,
                  timer: int | None = None, rounds: int = 1,
                  default_timer: int | None = None) -> None:
        """Open, close or reveal ``question``; a reveal shows its answer (:meth:`expose`).

        A question of two ``rounds``: ``round=2`` with ``open`` starts the second vote,
        only once the first is closed (and its answer not shown); its timer runs
        ``timer`` seconds (``default_timer`` without one; 0: none). Opening round 2 again
        while it runs restarts its timer (the presenter's live adjust). Round 1 never opens
        again once round 2 has. ``timer`` when opening round 1 times it too."""
        if state not in STATES:
            raise AnswerRefusedError("state", f"state must be one of {', '.join(STATES)}")
        if round is not None and not 1 <= round <= rounds:
            raise AnswerRefusedError("round", f"question {question!r} has {rounds} round"
                                              f"{'s' if rounds > 1 else ''}", 409)
        if round is not None and round > 1 and state != "open":
            raise AnswerRefusedError("round", f"round {round} starts with state open; "
                                              "close or reveal it without a round", 409)

        def change() -> None:
            now = self.clock()
            current, _ = self.round_of(room, question)
            wanted = current if round is None else round
            if wanted < current:
                raise AnswerRefusedError("round", f"round {current} has begun: round "
                                                  f"{wanted}'s vote stays as it closed", 409)
            if wanted > current:
                if self.shown(room, question):
                    raise AnswerRefusedError("round", "the answer has been shown: a second "
                                                      "round would not be a vote", 409)
                if self.state(room, question) == "open":
                    raise AnswerRefusedError("round", f"close round {current} first: its "
                                                      "vote is sealed when it closes", 409)
            if state == "revealed":
                self._show(room, question, now)
            if state == "open":
                seconds = timer if timer is not None else (
                    default_timer if wanted > current else None)
                deadline = now + seconds if seconds else None
                self.db.execute(
                    "INSERT INTO rounds VALUES (?, ?, ?, ?) ON CONFLICT(room, question) DO "
                    "UPDATE SET round = excluded.round, deadline = excluded.deadline",
                    (room, question, wanted, deadline))
            elif state == "closed" and self.state(room, question) == "open":
                self.db.execute("UPDATE rounds SET deadline = NULL WHERE room = ? AND "
                                "question = ?", (room, question))
            self._set(room, question, state)

        self._atomic(change)

    def _set(self, room: str, question: str, state: str) -> None:
        self.db.execute("INSERT INTO states VALUES (?, ?, ?) ON CONFLICT(room, question) DO "
                        "UPDATE SET state = excluded.state", (room, question, state))

    def _show(self, room: str, question: str, now: float) -> bool:
        return self.db.execute("INSERT OR IGNORE INTO shown VALUES (?, ?, ?)",
                               (room, question, now)).rowcount > 0

    def shown(self, room: str, question: str) -> bool:
        """Whether the room has had the answer of ``question`` in front of it."""
        return self.db.execute("SELECT 1 FROM shown WHERE room = ? AND question = ?",
                               (room, question)).fetchone() is not None

    def expose(self, room: str, questions: Iterable[str]) -> list[str]:
        """Mark ``questions`` as shown (the room is about to move to a beat that shows their
        answers), in one transaction: those not shown before and still open are closed,
        and returned. Call it before the move, so that no answer commits as on time once
        any page may hold the answer."""
        def mark() -> list[str]:
            now, closed = self.clock(), []
            for question in questions:
                if self._show(room, question, now) and self.state(room, question) == "open":
                    self._set(room, question, "closed")
                    closed.append(question)
            return closed

        return self._atomic(mark)

    # ------------------------------------------------------------------------ answers
    def check(self, room: str, q: Question, token: object, raw: object) -> tuple[Student, Any]:
        """The student and their answer to ``q`` as a value, or why it is refused (no such
        student, too long, not open, not an answer to ``q``); nothing is written."""
        who = self.student(room, token)
        if len(json.dumps(raw, separators=(",", ":"))) > MAX_ANSWER_BYTES:
            raise AnswerRefusedError("answer", f"answer is over {MAX_ANSWER_BYTES} bytes")
        if self.state(room, q.id) != "open":
            raise AnswerRefusedError("question", f"question {q.id!r} is closed", 409)
        try:
            value = read_answer(q, raw)
        except ValueError as exc:
            raise AnswerRefusedError("answer", str(exc)) from None
        return who, value

    def record(self, room: str, q: Question, who: Student, value: Any,
               confidence: str = "") -> Result:
        """Grade a checked answer and keep it (replacing the student's last one), in one
        transaction that also asks the question is still open: a question closed since the
        check, by any worker, or whose round's timer has run out, keeps no answer. The vote
        of the round (with its ``confidence``, "sure", "unsure" or "") is kept too, so a
        closed round's votes never change. An answer to a question whose answer has been
        shown (reopened after its reveal) is kept apart, as given after the reveal
        (``Result.late``), and never counts as right."""
        if confidence not in ("", *CONFIDENCE):
            raise AnswerRefusedError("confidence", f"confidence must be one of "
                                                   f"{', '.join(CONFIDENCE)}")
        graded = grade(q, value)

        def keep() -> Result:
            if self.state(room, q.id) != "open":
                raise AnswerRefusedError("question", f"question {q.id!r} is closed", 409)
            now = self.clock()
            late = self.shown(room, q.id)
            table = "late_answers" if late else "answers"
            self.db.execute(
                f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(room, "
                "question, student) DO UPDATE SET answer = excluded.answer, correct = "
                "excluded.correct, score = excluded.score, misconception = "
                "excluded.misconception, at = excluded.at",
                (room, q.id, who.id, json.dumps(value), int(graded.correct), graded.score,
                 graded.misconception, now))
            if not late:
                round_, _ = self.round_of(room, q.id)
                self.db.execute(
                    "INSERT INTO votes VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(room, "
                    "question, round, student) DO UPDATE SET answer = excluded.answer, "
                    "correct = excluded.correct, score = excluded.score, misconception = "
                    "excluded.misconception, confidence = excluded.confidence, at = "
                    "excluded.at",
                    (room, q.id, round_, who.id, json.dumps(value), int(graded.correct),
                     graded.score, graded.misconception, confidence, now))
            return dataclasses.replace(graded, late=late)

        return self._atomic(keep)

    def vote(self, room: str, q: Question, student: int, round: int
             ) -> tuple[Any, Result, str] | None:
        """A student's vote in one round: the answer, its grade and the confidence."""
        row = self.db.execute("SELECT answer, correct, score, confidence FROM votes WHERE "
                              "room = ? AND question = ? AND round = ? AND student = ?",
                              (room, q.id, round, student)).fetchone()
        if row is None:
            return None
        return json.loads(row[0]), Result(bool(row[1]), float(row[2])), str(row[3])

    def round_answers(self, room: str, q: Question, round: int) -> list[tuple[Any, Result]]:
        """The votes of one round, graded (round 1 of a file older than the votes: its
        answers)."""
        rows = self.db.execute("SELECT answer, correct, score, misconception FROM votes WHERE "
                               "room = ? AND question = ? AND round = ?",
                               (room, q.id, round)).fetchall()
        if not rows and round == 1:
            return self.answers(room, q)
        return [(json.loads(r[0]), Result(bool(r[1]), float(r[2]), str(r[3]))) for r in rows]

    def round_distribution(self, room: str, q: Question, round: int) -> dict[str, Any]:
        """What the room voted in one round of a two-round question."""
        return {**distribution(q, self.round_answers(room, q, round)), "round": round}

    def confidence(self, room: str, q: Question, round: int) -> dict[str, int]:
        """The round's votes by grade and confidence: right and sure, right but unsure,
        wrong and sure (the misconception to address), wrong but unsure, and unsaid."""
        out = {"right_sure": 0, "right_unsure": 0, "wrong_sure": 0, "wrong_unsure": 0,
               "unsaid": 0}
        for correct, said, n in self.db.execute(
                "SELECT correct, confidence, COUNT(*) FROM votes WHERE room = ? AND question "
                "= ? AND round = ? GROUP BY correct, confidence", (room, q.id, round)):
            key = "unsaid" if not said else f"{'right' if correct else 'wrong'}_{said}"
            out[key] += int(n)
        return out

    def moved(self, room: str, q: Question) -> dict[str, int]:
        """Of the students who voted in both rounds: how many went from wrong to right, and
        from right to wrong."""
        both, up, down = self.db.execute(
            "SELECT COUNT(*), COALESCE(SUM(a.correct = 0 AND b.correct = 1), 0), "
            "COALESCE(SUM(a.correct = 1 AND b.correct = 0), 0) FROM votes a JOIN votes b ON "
            "b.room = a.room AND b.question = a.question AND b.student = a.student AND "
            "b.round = 2 WHERE a.room = ? AND a.question = ? AND a.round = 1",
            (room, q.id)).fetchone()
        return {"both": int(both), "wrong_to_right": int(up), "right_to_wrong": int(down)}

    def own(self, room: str, q: Question, student: int) -> tuple[Any, Result] | None:
        """A student's own answer to ``q`` and its grade (what a phone gets back): the one
        given on time if there is one (it is what counts), else the one given after the
        reveal (``Result.late``)."""
        row = self.db.execute(
            "SELECT answer, correct, score, misconception, late FROM (SELECT *, 0 AS late FROM "
            "answers UNION ALL SELECT *, 1 AS late FROM late_answers) WHERE room = ? AND "
            "question = ? AND student = ? ORDER BY late LIMIT 1",
            (room, q.id, student)).fetchone()
        if row is None:
            return None
        return json.loads(row[0]), Result(bool(row[1]), float(row[2]), str(row[3]),
                                          late=bool(row[4]))

    def answers(self, room: str, q: Question) -> list[tuple[Any, Result]]:
        rows = self.db.execute("SELECT answer, correct, score, misconception FROM answers "
                               "WHERE room = ? AND question = ?", (room, q.id)).fetchall()
        return [(json.loads(r[0]), Result(bool(r[1]), float(r[2]), str(r[3]))) for r in rows]

    def count(self, room: str, question: str | None = None) -> int:
        if question is None:
            sql, args = "SELECT COUNT(*) FROM answers WHERE room = ?", (room,)
        else:
            sql, args = ("SELECT COUNT(*) FROM answers WHERE room = ? AND question = ?",
                         (room, question))
        return int(self.db.execute(sql, args).fetchone()[0])

    def distribution(self, room: str, q: Question) -> dict[str, Any]:
        """The room's on-time answers to ``q``; ``after_reveal`` counts the others."""
        (late,) = self.db.execute("SELECT COUNT(*) FROM late_answers WHERE room = ? AND "
                                  "question = ?", (room, q.id)).fetchone()
        return {**distribution(q, self.answers(room, q)), "state": self.state(room, q.id),
                "after_reveal": int(late)}

    # ---------------------------------------------------------------- the concept check
    def check_state(self, room: str) -> tuple[str | None, str]:
        """The check's phase (``pre``, ``post``, or None before the presenter opens one)
        and whether it is ``open`` or ``closed``."""
        row = self.db.execute("SELECT phase, state FROM check_phases WHERE room = ?",
                              (room,)).fetchone()
        return (None, "closed") if row is None else (str(row[0]), str(row[1]))

    def set_check(self, room: str, phase: str, state: str) -> None:
        """Open or close a phase of the check; opening one closes the other."""
        if phase not in PHASES:
            raise AnswerRefusedError("phase", f"phase must be one of {', '.join(PHASES)}")
        if state not in ("open", "closed"):
            raise AnswerRefusedError("state", "state must be open or closed")
        self._write("INSERT INTO check_phases VALUES (?, ?, ?) ON CONFLICT(room) DO UPDATE "
                    "SET phase = excluded.phase, state = excluded.state",
                    (room, phase, state))

    def check_record(self, room: str, phase: str, q: Question, token: object, raw: object
                     ) -> Any:
        """A student's answer to a check question, graded and kept (the latest wins), in one
        transaction that asks the phase is still open. The grade is never sent back."""
        who = self.student(room, token)
        if len(json.dumps(raw, separators=(",", ":"))) > MAX_ANSWER_BYTES:
            raise AnswerRefusedError("answer", f"answer is over {MAX_ANSWER_BYTES} bytes")
        try:
            value = read_answer(q, raw)
        except ValueError as exc:
            raise AnswerRefusedError("answer", str(exc)) from None
        graded = grade(q, value)

        def keep() -> Any:
            if self.check_state(room) != (phase, "open"):
                raise AnswerRefusedError("phase", f"the {phase}-check is not open", 409)
            self.db.execute(
                "INSERT INTO check_answers VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT(room, "
                "phase, question, student) DO UPDATE SET answer = excluded.answer, correct = "
                "excluded.correct, score = excluded.score, at = excluded.at",
                (room, phase, q.id, who.id, json.dumps(value), int(graded.correct),
                 graded.score, self.clock()))
            return value

        return self._atomic(keep)

    def check_own(self, room: str, phase: str, student: int) -> dict[str, Any]:
        return {str(q): json.loads(a) for q, a in self.db.execute(
            "SELECT question, answer FROM check_answers WHERE room = ? AND phase = ? AND "
            "student = ?", (room, phase, student))}

    def _check_grades(self, room: str) -> dict[tuple[str, int, str], bool]:
        """(phase, student, question) → right."""
        return {(str(p), int(s), str(q)): bool(c) for p, s, q, c in self.db.execute(
            "SELECT phase, student, question, correct FROM check_answers WHERE room = ?",
            (room,))}

    def gain(self, room: str, questions: Sequence[Question]) -> dict[str, Any]:
        """The check's results: per question, of the students who answered it both times,
        the share right before and after and the normalised gain ⟨g⟩ = (post − pre) /
        (1 − pre) (Hake 1998; None when nobody answered both times, or pre is 1); overall,
        the same over every student who answered the check both times, a question left
        unanswered counting as wrong."""
        grades = self._check_grades(room)
        per: list[dict[str, Any]] = []
        for q in questions:
            both = [s for (p, s, qid) in grades if p == "pre" and qid == q.id
                    and ("post", s, q.id) in grades]
            pre = _share(grades[("pre", s, q.id)] for s in both)
            post = _share(grades[("post", s, q.id)] for s in both)
            per.append({"id": q.id, "prompt": q.prompt, "kind": q.kind, "n": len(both),
                        "pre": pre, "post": post, "gain": _gain(pre, post, len(both))})
        took = {phase: {s for (p, s, _) in grades if p == phase} for phase in PHASES}
        both = sorted(took["pre"] & took["post"])
        ids = [q.id for q in questions]

        def mean(phase: str) -> float | None:
            if not both or not ids:
                return None
            return sum(sum(grades.get((phase, s, qid), False) for qid in ids) / len(ids)
                       for s in both) / len(both)

        pre, post = mean("pre"), mean("post")
        phase, state = self.check_state(room)
        return {"phase": phase, "state": state,
                "answered": {p: len(took[p]) for p in PHASES}, "questions": per,
                "overall": {"n": len(both), "pre": pre, "post": post,
                            "gain": _gain(pre, post, len(both))},
                "sus": self.sus_summary(room)}

    def sus_record(self, room: str, token: object, answers: Sequence[int]) -> float:
        """A student's ten SUS answers (1 strongly disagree … 5 strongly agree) and their
        score, 0 to 100 (odd items x − 1, even items 5 − x, the sum times 2.5); only while
        the post-check is open."""
        who = self.student(room, token)
        if (len(answers) != len(SUS_ITEMS) or not all(
                isinstance(a, int) and not isinstance(a, bool) and 1 <= a <= 5
                for a in answers)):
            raise AnswerRefusedError("answers", f"answers must be {len(SUS_ITEMS)} whole "
                                                "numbers, each 1 (strongly disagree) to 5 "
                                                "(strongly agree)")
        score = sus_score(answers)

        def keep() -> float:
            if self.check_state(room) != ("post", "open"):
                raise AnswerRefusedError("phase", "the questionnaire is open with the "
                                                  "post-check only", 409)
            self.db.execute("INSERT INTO sus VALUES (?, ?, ?, ?, ?) ON CONFLICT(room, student) "
                            "DO UPDATE SET answers = excluded.answers, score = excluded.score, "
                            "at = excluded.at", (room, who.id, json.dumps(list(answers)),
                                                 score, self.clock()))
            return score

        return self._atomic(keep)

    def sus_own(self, room: str, student: int) -> list[int] | None:
        row = self.db.execute("SELECT answers FROM sus WHERE room = ? AND student = ?",
                              (room, student)).fetchone()
        return None if row is None else list(json.loads(row[0]))

    def sus_summary(self, room: str) -> dict[str, Any] | None:
        """How many filled in the questionnaire and their mean SUS score (None: nobody)."""
        n, score = self.db.execute("SELECT COUNT(*), AVG(score) FROM sus WHERE room = ?",
                                   (room,)).fetchone()
        return None if not n else {"n": int(n), "score": round(float(score), 2)}

    def check_csv(self, room: str, questions: Sequence[Question]) -> str:
        """One row per student: each check question's point before and after (empty when
        not answered), both totals, and the SUS score (empty when not filled in)."""
        grades = self._check_grades(room)
        sus = dict(self.db.execute("SELECT student, score FROM sus WHERE room = ?",
                                   (room,)).fetchall())
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\r\n")
        w.writerow(["name", "student_id", *(f"{p}_{q.id}" for p in PHASES for q in questions),
                    "pre_total", "post_total", "sus"])
        for s in self.students(room):
            cells, totals = [], []
            for phase in PHASES:
                marks = [grades.get((phase, s.id, q.id)) for q in questions]
                cells += ["" if m is None else str(int(m)) for m in marks]
                totals.append("" if all(m is None for m in marks)
                              else str(sum(bool(m) for m in marks)))
            w.writerow([spreadsheet_safe(s.name), spreadsheet_safe(s.student_id), *cells,
                        *totals, "" if s.id not in sus else _points(float(sus[s.id]))])
        return out.getvalue()

    def rounds_view(self, room: str, q: Question) -> dict[str, Any]:
        """The distribution of the question's current round (all its on-time answers for a
        one-round question), its state, round and timer, the confidence of its votes; for a
        question in its second round also the first round's distribution and who moved.
        Whoever calls this decides what may be seen (a two-round question is sealed until
        its reveal)."""
        round_, deadline = self.round_of(room, q.id)
        if q.rounds == 1:
            out = self.distribution(room, q)
        else:
            (late,) = self.db.execute("SELECT COUNT(*) FROM late_answers WHERE room = ? AND "
                                      "question = ?", (room, q.id)).fetchone()
            out = {**self.round_distribution(room, q, round_), "state": self.state(room, q.id),
                   "after_reveal": int(late)}
            if round_ == 2:
                out["first"] = self.round_distribution(room, q, 1)
                out["moved"] = self.moved(room, q)
        out.update(round=round_, rounds=q.rounds, deadline=deadline,
                   remaining=None if deadline is None or out["state"] != "open"
                   else max(0.0, round(deadline - self.clock(), 3)),
                   confidence=self.confidence(room, q, round_))
        return out

    # ------------------------------------------------------------------------- export
    def _scores(self, room: str) -> dict[tuple[int, str], float]:
        rows = self.db.execute("SELECT student, question, score FROM answers WHERE room = ?",
                               (room,)).fetchall()
        return {(int(s), str(q)): float(v) for s, q, v in rows}

    def gradebook_csv(self, room: str, questions: Iterable[Question]) -> str:
        """One row per student, one column per question (its points, of 1; empty when not
        answered), the total, and how many answers they gave after a reveal (which count
        for nothing)."""
        qs = list(questions)
        scores = self._scores(room)
        late = dict(self.db.execute("SELECT student, COUNT(*) FROM late_answers WHERE room = ? "
                                    "GROUP BY student", (room,)).fetchall())
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\r\n")
        w.writerow(["name", "student_id", *(q.id for q in qs), "total", "after_reveal"])
        for s in self.students(room):
            points = [scores.get((s.id, q.id)) for q in qs]
            w.writerow([spreadsheet_safe(s.name), spreadsheet_safe(s.student_id),
                        *("" if p is None else _points(p) for p in points),
                        _points(sum(p for p in points if p is not None)), late.get(s.id, 0)])
        return out.getvalue()

    def canvas_csv(self, room: str, questions: Iterable[Question], title: str,
                   assignment: str | None = None) -> str:
        """The layout a Canvas gradebook imports (Grades → Import): one column per question
        (its points, of 1; empty when not answered), then the total, as ``Title (ID)`` when
        ``assignment`` names the Canvas assignment's ID, so that every import updates that
        assignment instead of creating a new one. Students are matched by their student ID
        as the SIS User ID: a student without one cannot be matched (Canvas lists them as
        unknown; :meth:`without_id` counts them)."""
        qs = list(questions)
        scores = self._scores(room)
        name = canvas_title(title)
        total = canvas_title(title, assignment)
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\r\n")
        w.writerow([*CANVAS_COLUMNS, *(spreadsheet_safe(f"{name}: {q.id}") for q in qs),
                    spreadsheet_safe(total)])
        w.writerow(["Points Possible", "", "", "", "", *("1" for _ in qs),
                    _points(float(len(qs)))])
        for s in self.students(room):
            points = [scores.get((s.id, q.id)) for q in qs]
            w.writerow([spreadsheet_safe(s.name), "", spreadsheet_safe(s.student_id), "", "",
                        *("" if p is None else _points(p) for p in points),
                        _points(sum(p for p in points if p is not None))])
        return out.getvalue()

    def without_id(self, room: str) -> dict[str, int]:
        """The students of ``room`` who gave no student ID, and the answers (on time) they
        gave: the Canvas export cannot match them."""
        students, answers = self.db.execute(
            "SELECT COUNT(*), COALESCE(SUM((SELECT COUNT(*) FROM answers a WHERE a.room = "
            "s.room AND a.student = s.id)), 0) FROM students s WHERE s.room = ? AND "
            "s.student_id = ''", (room,)).fetchone()
        return {"students": int(students), "answers": int(answers)}

    def raw_csv(self, room: str, q: Question) -> str:
        """Every student's latest answer to ``q``, as given, with its grade, the round it
        was given in and the confidence said with it; those given after the reveal in rows
        of their own, marked, with no point; a two-round question's first votes, where a
        second one replaced them, in rows of their own with no point."""
        rows = self.db.execute(
            "SELECT s.name, s.student_id, a.answer, a.correct, a.score, a.misconception, a.at, "
            "a.late, a.student FROM (SELECT *, 0 AS late FROM answers UNION ALL SELECT *, 1 AS "
            "late FROM late_answers) a JOIN students s ON s.id = a.student WHERE a.room = ? "
            "AND a.question = ? ORDER BY a.late, s.id", (room, q.id)).fetchall()
        votes: dict[int, dict[int, tuple[Any, ...]]] = {}
        for student, round_, answer, correct, mis, said, at in self.db.execute(
                "SELECT student, round, answer, correct, misconception, confidence, at FROM "
                "votes WHERE room = ? AND question = ?", (room, q.id)):
            votes.setdefault(int(student), {})[int(round_)] = (answer, correct, mis, said, at)
        out = io.StringIO()
        w = csv.writer(out, lineterminator="\r\n")
        w.writerow(["name", "student_id", "answer", "correct", "points", "misconception",
                    "answered_at", "after_reveal", "round", "confidence"])

        def shown(answer: str) -> str:
            value = json.loads(answer)
            if q.kind == "choice":
                value = q.options[value]
            return spreadsheet_safe(value if isinstance(value, str) else json.dumps(value))

        names = {}
        for name, sid, answer, correct, score, mis, at, late, student in rows:
            names[int(student)] = (name, sid)
            mine = votes.get(int(student), {})
            last = max(mine, default=1)
            said = "" if late or last not in mine else str(mine[last][3])
            w.writerow([spreadsheet_safe(name), spreadsheet_safe(sid), shown(answer),
                        0 if late else int(correct), "0" if late else _points(score), mis,
                        _when(at), int(late), "" if late else last, said])
        for student, mine in sorted(votes.items()):
            if len(mine) > 1 and 1 in mine and student in names:
                answer, correct, mis, said, at = mine[1]
                name, sid = names[student]
                w.writerow([spreadsheet_safe(name), spreadsheet_safe(sid), shown(answer),
                            int(correct), "0", mis, _when(at), 0, 1, said])
        return out.getvalue()


def sus_score(answers: Sequence[int]) -> float:
    """The SUS score of ten answers 1 … 5: (Σ odd (x − 1) + Σ even (5 − x)) × 2.5."""
    return 2.5 * sum(a - 1 if i % 2 == 0 else 5 - a for i, a in enumerate(answers))


def _share(marks: Iterable[bool]) -> float | None:
    values = list(marks)
    return sum(values) / len(values) if values else None


def _gain(pre: float | None, post: float | None, n: int) -> float | None:
    """Hake's normalised gain; None without students, or when pre leaves no room (1)."""
    if not n or pre is None or post is None or pre >= 1:
        return None
    return (post - pre) / (1 - pre)


def _when(at: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(at))


def _points(value: float) -> str:
    return f"{value:.4g}" if value != int(value) else str(int(value))


class AnswerBook:
    """The answers as the app reaches them: every call runs on one thread of the book's own,
    in order (the SQLite connection is used by one thread at a time). A write that waits on
    another worker's lock (up to BUSY_TIMEOUT, WRITE_TRIES times) holds that thread, never
    the event loop. The calls waiting are at most the requests in flight, which the
    server's connection limits bound."""

    def __init__(self, store: AnswerStore) -> None:
        self.store = store
        self._thread = ThreadPoolExecutor(1, thread_name_prefix="convlens-answers")
        self._closed = False

    @property
    def path(self) -> str | Path:
        return self.store.path

    async def run(self, call: Callable[P, T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``call(*args)`` (a method of :attr:`store`) on the book's thread; a 503 once the
        book is closed (the server is stopping)."""
        if self._closed:
            raise StoreUnavailableError("the results file is closed: the server is stopping")
        return await asyncio.get_running_loop().run_in_executor(
            self._thread, functools.partial(call, *args, **kwargs))

    def close(self) -> None:
        """Run the calls already queued, then close the file; later calls get a 503."""
        self._closed = True
        self._thread.shutdown(wait=True)
        self.store.close()
