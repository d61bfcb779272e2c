"""The room answers: joining, answering on a phone, the presenter's live view, close and
reveal, and the gradebook's CSV.

Students (the ``X-Student-Token`` header, given once by ``join``):

- ``POST /api/demo/{room}/join`` ``{name, student_id?}`` → ``{token, name, student_id}``
- ``GET /api/demo/{room}/question`` → the question of the room's slide as a phone may see
  it: its prompt and options, its state, the student's own answer; the right answer, the
  student's result and the room's distribution only once it is revealed.
- ``PUT /api/demo/{room}/questions/{id}/answer`` ``{answer, confidence?}`` → ``{answer,
  state, round}``: the answer as stored (no grade: that would tell the right answer before
  the reveal).
- ``GET /api/demo/{room}/check``, ``PUT /api/demo/{room}/check/{phase}/{id}/answer`` and
  ``PUT /api/demo/{room}/sus``: the concept check before and after the lesson, and the SUS
  items after it (never graded on the phone).

Presenter (``X-Demo-Key``):

- ``GET /api/demo/{room}/questions/{id}/live``: the distribution, answered of following
- ``POST /api/demo/{room}/questions/{id}/state`` ``{state, round?, timer?}``: open, close
  or reveal; a two-round question's second vote, and its timer
- ``POST /api/demo/{room}/check/state`` ``{phase, state}``, ``GET /api/demo/{room}/gain``
  and ``GET /api/demo/{room}/check.csv``: the check, its learning gain and its export
- ``GET /api/demo/{room}/results.csv?layout=generic|canvas`` and
  ``GET /api/demo/{room}/questions/{id}/answers.csv``

A two-round question (peer instruction) is sealed until its reveal: the presenter's view
and pushes carry only how many answered and how many are right, the room nothing; the
reveal carries both rounds and who moved from wrong to right.

Over the room's socket, presenters get ``{"type": "answers", ...distribution}`` as answers
arrive (at most every PUSH_EVERY seconds), and everyone ``{"type": "question", "id",
"state"}`` when the presenter closes or reveals it — with ``answer`` and ``distribution``
only on the reveal.

With several workers (rooms on Redis, :mod:`app.store.rooms`) the answers file is shared
and is the record; these pushes and frames reach the pages of every worker through
``demo.rooms.tell``, and the joins per address and the answers per student are counted in
Redis for all of them. Every call on the answers file runs off the event loop
(:class:`app.demo.answers.AnswerBook`).
"""

from __future__ import annotations

import asyncio
import math
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Header, HTTPException, Query, Request
from fastapi import Path as PathParam
from pydantic import BaseModel, ConfigDict, Field, StrictFloat, StrictInt, StrictStr
from starlette.responses import Response

import engine

from .answers import (
    CANVAS_ASSIGNMENT,
    MAX_STUDENTS,
    SUS_ITEMS,
    AnswerRefusedError,
    clean_name,
    clean_student_id,
)
from .mode import DemoMode
from .questions import MAX_TIMER, Question
from .rooms import Room
from .routes import (
    ROOM_PATTERN,
    Detail,
    KeyHeader,
    _demo,
    _require_key,
    _room,
    client_of,
)

PUSH_EVERY = 0.05  # seconds: answers arriving together make one push to the presenters
JOINS_PER_CLIENT = 2  # joins one address may make per audience page it may open ...
MAX_JOINS_PER_CLIENT = 300  # ... but never more, whatever --per-client says ...
JOIN_WINDOW = 600.0  # ... in this many seconds (so a NAT'd class raises --per-client)
RATE_ANSWERS = 10  # answers a student may send ...
RATE_WINDOW = 10.0  # ... in any window of this many seconds

router = APIRouter(prefix="/api/demo", tags=["demo answers"])
RoomId = Annotated[str, PathParam(pattern=ROOM_PATTERN)]
QuestionId = Annotated[str, PathParam(pattern=r"^[A-Za-z0-9_-]{1,40}$")]
TokenHeader = Annotated[str | None, Header(alias="X-Student-Token", max_length=128)]


class JoinIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"name": "Ada", "student_id": "s-100"}]})
    name: str = Field(max_length=200, description="the display name (1 to 40 characters)")
    student_id: str | None = Field(None, max_length=64, description="for the gradebook")


class RoomAnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"answer": 1}, {"answer": -0.626}, {"answer": [[0, 0, 3], [0, 1, 0]]}]})
    # strict: a JSON true is not option 1, nor "true" a number
    answer: StrictInt | StrictFloat | StrictStr | list[Any] = Field(description=(
        "an option's index, a number (or its text), a list of cells [[f, r, c], ...] or "
        "the grid of numbers in the step's shape"))
    confidence: Literal["sure", "unsure"] | None = Field(None, description=(
        "how sure the student is (optional): the presenter sees right-and-sure, "
        "right-but-unsure, wrong-and-sure and wrong-but-unsure"))


class CheckAnswerIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"answer": 1}]})
    answer: StrictInt | StrictFloat | StrictStr | list[Any] = Field(
        description="as a question's answer (PUT …/questions/{id}/answer)")


class SusIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"answers": [4, 2, 4, 1, 4, 2, 5, 2, 4, 2]}]})
    answers: list[Annotated[int, Field(strict=True, ge=1, le=5)]] = Field(
        min_length=10, max_length=10, description=(
            "the ten SUS items in order, each 1 (strongly disagree) to 5 (strongly agree)"))


class CheckStateIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"phase": "pre", "state": "open"}, {"phase": "post", "state": "closed"}]})
    phase: Literal["pre", "post"]
    state: Literal["open", "closed"]


class RemoveIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"ids": [3, 4]}, {"never_answered": True}]})
    ids: list[Annotated[int, Field(strict=True, ge=1, le=2**62)]] = Field(
        default_factory=list, max_length=MAX_STUDENTS,
                                 description="the students to remove (ids from the list)")
    never_answered: bool = Field(False, description="remove every student who never answered")


class QuestionStateIn(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={
        "examples": [{"state": "closed"}, {"state": "revealed"},
                     {"state": "open", "round": 2, "timer": 90}]})
    state: Literal["open", "closed", "revealed"]
    round: Annotated[int, Field(strict=True, ge=1, le=2)] | None = Field(None, description=(
        "a two-round question: 2 with state open starts the second vote (round 1 closed "
        "first); again while it runs, restarts its timer"))
    timer: Annotated[int, Field(strict=True, ge=0, le=MAX_TIMER)] | None = Field(
        None, description="seconds the round opened stays open (0: until closed; default: "
                          "the lesson's timer for round 2, none for round 1)")


ERRORS = {403: "The presenter key, or the student's token, is missing or wrong.",
          404: "Demo mode is off, or there is no such room or question.",
          409: "The question is not on the screen, or not open.",
          413: "The request body is too large.",
          429: "Too many joins from this address, or answers from this student: see "
               "Retry-After.",
          503: "The rooms' shared state (Redis, with several workers) is unreachable, or "
               "the results file stayed busy: see Retry-After.",
          507: "The results file is full."}


CSV = {200: {"content": {"text/csv": {}}, "description": "The CSV, UTF-8 with a BOM."}}


def _errors(*codes: int) -> dict[int | str, dict[str, Any]]:
    return {code: {"model": Detail, "description": ERRORS[code]} for code in codes}


def _json(body: object, status: int = 200) -> Response:
    return Response(orjson.dumps(body, option=orjson.OPT_SERIALIZE_NUMPY), status_code=status,
                    media_type="application/json", headers={"Cache-Control": "no-store"})


def _refused(exc: AnswerRefusedError) -> HTTPException:
    status = 422 if exc.status == 400 else exc.status
    where = "header" if exc.field == "token" else "body"
    return HTTPException(status, detail=[{"loc": [where, exc.field], "type": "value_error",
                                          "msg": str(exc)}])


def _question(demo: DemoMode, qid: str) -> Question:
    q = demo.questions.get(qid)
    if q is None:
        raise HTTPException(404, detail=f"the lesson has no question {qid!r}")
    return q


def current(demo: DemoMode, room: Room) -> Question | None:
    """The question of the slide the room is on, if it has one."""
    return demo.question_of_slide.get(room.slide_of[room.beat])


ROUND_KEYS = ("round", "rounds", "deadline", "remaining")
# what a sealed question's distribution keeps: how many answered and how many are right
SEALED_KEYS = ("question", "kind", "answered", "right", "state", "after_reveal", "round")


def _sealed(view: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in view.items() if k in SEALED_KEYS}


def _rounds(view: dict[str, Any]) -> dict[str, Any]:
    return {k: view[k] for k in ROUND_KEYS}


async def revealed(demo: DemoMode, room: Room, q: Question) -> dict[str, Any]:
    """The reveal: the right answer and the room's distribution; for a two-round question
    the second round's, with the first round's beside it and who moved."""
    book = demo.answers
    view = await book.run(book.store.rounds_view, room.id, q)
    out: dict[str, Any] = {"answer": q.answer_json(), "distribution": {
        k: v for k, v in view.items() if k not in ("first", "moved", "confidence",
                                                    *ROUND_KEYS[1:])}}
    if "first" in view:
        out.update(first=view["first"], moved=view["moved"])
    return out


def sealed(q: Question, state: str) -> bool:
    """A two-round question shows nothing of its distribution before its reveal: round 1's
    would herd the discussion, round 2's the reveal."""
    return q.rounds > 1 and state != "revealed"


async def live(demo: DemoMode, room: Room, q: Question) -> dict[str, Any]:
    """The presenter's view of a question: the distribution (sealed: only how many answered
    and how many are right), answered of following, the round and its timer, and the
    votes' confidence."""
    book = demo.answers
    view = await book.run(book.store.rounds_view, room.id, q)
    shown = view
    if sealed(q, view["state"]):
        shown = {**_sealed(view), **_rounds(view), "confidence": view["confidence"]}
    return {"type": "answers", **shown, "sealed": sealed(q, view["state"]),
            "timer": q.timer, "following": room.audience,
            "joined": await book.run(book.store.joined, room.id),
            "without_id": await book.run(book.store.without_id, room.id)}


class Pushes:
    """Answers that arrive together make one push of the distribution to the presenters
    (every worker's: the answers file is shared, so the worker that took the answers
    reads the distribution and sends it to all)."""

    def __init__(self) -> None:
        self.pending: set[tuple[str, str]] = set()
        self.sending: set[asyncio.Task[None]] = set()

    def soon(self, demo: DemoMode, room: Room, q: Question) -> None:
        if (room.id, q.id) in self.pending:
            return
        self.pending.add((room.id, q.id))

        async def push() -> None:
            await asyncio.sleep(PUSH_EVERY)
            self.pending.discard((room.id, q.id))
            text = orjson.dumps(await live(demo, room, q)).decode()
            await demo.rooms.tell(room, text, presenters_only=True)

        task = asyncio.ensure_future(push())
        self.sending.add(task)
        task.add_done_callback(self.sending.discard)


def _pushes(demo: DemoMode) -> Pushes:
    if not hasattr(demo, "pushes"):
        demo.pushes = Pushes()  # type: ignore[attr-defined]
    return demo.pushes  # type: ignore[attr-defined]


def _retry_after(wait: float) -> dict[str, str]:
    return {"Retry-After": str(max(1, math.ceil(wait)))}


def joins_per_client(demo: DemoMode) -> int:
    """Joins one address may make in JOIN_WINDOW: two per page it may open, at most
    MAX_JOINS_PER_CLIENT."""
    return min(MAX_JOINS_PER_CLIENT, JOINS_PER_CLIENT * demo.settings.per_client)


async def _join_allowed(demo: DemoMode, room: Room, client: str) -> None:
    """Joins per address and room, in a sliding window (every worker's, with shared rooms);
    a 429 says when the next one fits."""
    wait = await demo.rooms.take(f"join:{room.id}:{client}", joins_per_client(demo),
                                 JOIN_WINDOW)
    if wait:
        raise HTTPException(429, detail="too many joins from this address: wait, or ask the "
                                        "presenter to raise --per-client",
                            headers=_retry_after(wait))


async def _answer_allowed(demo: DemoMode, room: Room, student: int) -> None:
    """Answers per student, in a sliding window (every worker's, with shared rooms)."""
    wait = await demo.rooms.take(f"answer:{room.id}:{student}", RATE_ANSWERS, RATE_WINDOW)
    if wait:
        raise HTTPException(429, detail=[{
            "loc": ["body", "answer"], "type": "value_error",
            "msg": f"at most {RATE_ANSWERS} answers in {RATE_WINDOW:g} s: wait a moment"}],
            headers=_retry_after(wait))


# ------------------------------------------------------------------------------ students
@router.post("/{room}/join", status_code=201,
             responses={200: {"description": "The student of the token given: a reconnect."},
                        **_errors(404, 409, 413, 429, 503, 507)})
async def join(request: Request, room: RoomId, body: JoinIn, token: TokenHeader = None
               ) -> Response:
    """Join the room's answers with a display name and a student ID (optional, unless the
    lesson has ``require_id = true``: then a join without one is refused with 422). A
    student ID is claimed once per room: another join with it is refused (409) unless it
    carries the holder's token, and the presenter sees the refused claim."""
    demo = _demo(request)
    target = await _room(demo, room)
    try:  # a join refused for its name or ID uses up no join of the address
        name, student_id = clean_name(body.name), clean_student_id(body.student_id)
    except AnswerRefusedError as exc:
        raise _refused(exc) from None
    book = demo.answers
    if token is not None:  # a reconnect uses up no join either
        try:
            who = await book.run(book.store.student, target.id, token)
        except AnswerRefusedError:
            pass
        else:
            return _json({"token": token, "name": who.name, "student_id": who.student_id})
    if demo.lesson.require_id and not student_id:
        raise _refused(AnswerRefusedError("student_id", "a student ID is required in this "
                                                        "lesson, so the gradebook can "
                                                        "match you"))
    await _join_allowed(demo, target, client_of(request))
    try:
        fresh, who = await book.run(book.store.join, target.id, name, student_id)
    except AnswerRefusedError as exc:
        if exc.status == 409:
            await _tell_roster(demo, target)
        raise _refused(exc) from None
    await _tell_roster(demo, target)
    return _json({"token": fresh, "name": who.name, "student_id": who.student_id}, 201)


async def _tell_roster(demo: DemoMode, room: Room) -> None:
    """The presenters' pages (every worker's) refresh their list of students."""
    await demo.rooms.tell(room, '{"type":"roster"}', presenters_only=True)


@router.get("/{room}/question", responses=_errors(403, 404, 503))
async def question(request: Request, room: RoomId, token: TokenHeader = None) -> Response:
    """The question on the room's slide, as this student may see it now (none when the
    room does not exist: a page asks this as the server restarts, and its socket tells it
    about the room)."""
    demo = _demo(request)
    target = await demo.rooms.get(room)
    q = None if target is None else current(demo, target)
    if target is None or q is None:
        return _json({"question": None})
    book = demo.answers
    await demo.expose(target)  # its answer may be on the screen already
    view = await book.run(book.store.rounds_view, target.id, q)
    state = view["state"]
    out: dict[str, Any] = {"question": q.public(), "state": state, "mine": None,
                           "require_id": demo.lesson.require_id, **_rounds(view),
                           "confidence": None}
    if token is not None:
        try:
            who = await book.run(book.store.student, target.id, token)
        except AnswerRefusedError as exc:
            raise _refused(exc) from None
        own = await book.run(book.store.own, target.id, q, who.id)
        out["name"] = who.name
        if own is not None:
            out["mine"] = own[0]
            out["after_reveal"] = own[1].late
            if state == "revealed" and not own[1].late:
                out["result"] = {"correct": own[1].correct, "score": own[1].score,
                                 "misconception": _misconception(own[1].misconception)}
        vote = await book.run(book.store.vote, target.id, q, who.id, view["round"])
        out["confidence"] = (vote[2] or None) if vote else None
        out["voted"] = vote is not None  # in this round (round 2 keeps round 1's as mine)
        if q.rounds > 1 and view["round"] > 1:
            first = await book.run(book.store.vote, target.id, q, who.id, 1)
            out["mine_first"] = first[0] if first else None
            if state == "revealed" and first:
                out["result_first"] = {"correct": first[1].correct, "score": first[1].score}
    if state == "revealed":
        out.update(await revealed(demo, target, q))
    return _json(out)


def _misconception(mid: str) -> dict[str, str] | None:
    for m in engine.MISCONCEPTIONS:
        if m.id == mid:
            return {"id": m.id, "title": m.title, "message": m.message}
    return None


@router.put("/{room}/questions/{qid}/answer",
            responses=_errors(403, 404, 409, 413, 429, 503, 507))
async def answer(request: Request, room: RoomId, qid: QuestionId, body: RoomAnswerIn,
                 token: TokenHeader = None) -> Response:
    """Answer (or change the answer) while the question is open and on the screen."""
    demo = _demo(request)
    target = await _room(demo, room)
    q = _question(demo, qid)
    if current(demo, target) is not q:
        raise HTTPException(409, detail=[{"loc": ["path", "qid"], "type": "value_error",
                                          "msg": f"question {qid!r} is not on the screen"}])
    book = demo.answers
    await demo.expose(target)  # a room brought back past the question: closed first
    try:
        who, value = await book.run(book.store.check, target.id, q, token, body.answer)
        await _answer_allowed(demo, target, who.id)
        result = await book.run(book.store.record, target.id, q, who, value,
                                body.confidence or "")
        round_, _ = await book.run(book.store.round_of, target.id, q.id)
    except AnswerRefusedError as exc:
        raise _refused(exc) from None
    _pushes(demo).soon(demo, target, q)
    return _json({"answer": value, "state": "open", "after_reveal": result.late,
                  "round": round_, "confidence": body.confidence})


# ----------------------------------------------------------------------------- presenter
@router.get("/{room}/questions/{qid}/live", responses=_errors(403, 404, 429, 503))
async def live_view(request: Request, room: RoomId, qid: QuestionId,
                    key: KeyHeader = None) -> Response:
    """The room's answers to a question so far (presenter only)."""
    demo = _demo(request)
    await _require_key(demo, key, request)
    target = await _room(demo, room)
    q = _question(demo, qid)
    return _json({**await live(demo, target, q), "answer": q.answer_json()})


@router.post("/{room}/questions/{qid}/state",
             responses=_errors(403, 404, 413, 429, 503))
async def set_state(request: Request, room: RoomId, qid: QuestionId, body: QuestionStateIn,
                    key: KeyHeader = None) -> Response:
    """Open, close or reveal a question (presenter only); every page hears of it. A
    two-round question: ``{"state": "open", "round": 2}`` once round 1 is closed starts the
    second vote with the lesson's timer (or ``timer`` seconds); sent again while it runs,
    it restarts the timer."""
    demo = _demo(request)
    await _require_key(demo, key, request)
    target = await _room(demo, room)
    q = _question(demo, qid)
    book = demo.answers
    try:
        await book.run(book.store.set_state, target.id, q.id, body.state, round=body.round,
                       timer=body.timer, rounds=q.rounds, default_timer=q.timer)
    except AnswerRefusedError as exc:  # a round out of order, the file busy or full
        raise _refused(exc) from None
    view = await live(demo, target, q)
    frame: dict[str, Any] = {"type": "question", "id": q.id, "state": body.state}
    if q.rounds > 1 or body.round is not None or body.timer is not None:
        frame.update(_rounds(view))
    if body.state == "revealed":
        frame.update(await revealed(demo, target, q))
    await demo.rooms.tell(target, orjson.dumps(frame).decode())
    return _json({**view, "answer": q.answer_json()})


@router.get("/{room}/students", responses=_errors(403, 404, 429, 503))
async def students(request: Request, room: RoomId, key: KeyHeader = None) -> Response:
    """The room's students (presenter only): each one's name and student ID, how many
    questions they answered (and after a reveal), whether they hold a place, a mark on a
    look-alike name, and the refused claims of their ID."""
    demo = _demo(request)
    await _require_key(demo, key, request)
    target = await _room(demo, room)
    book = demo.answers
    return _json(await book.run(book.store.roster, target.id))


@router.post("/{room}/students/remove", responses=_errors(403, 404, 413, 429, 503))
async def remove_students(request: Request, room: RoomId, body: RemoveIn,
                          key: KeyHeader = None) -> Response:
    """Remove students (presenter only), with their answers: they leave every export, and
    their phones are asked to join again."""
    demo = _demo(request)
    await _require_key(demo, key, request)
    target = await _room(demo, room)
    if not body.ids and not body.never_answered:
        raise HTTPException(422, detail=[{"loc": ["body", "ids"], "type": "value_error",
                                          "msg": "name the students to remove, or set "
                                                 "never_answered"}])
    book = demo.answers
    try:
        removed = await book.run(book.store.remove, target.id, body.ids,
                                 never_answered=body.never_answered)
    except AnswerRefusedError as exc:
        raise _refused(exc) from None
    await _tell_roster(demo, target)
    return _json({"removed": removed, **await book.run(book.store.roster, target.id)})


@router.delete("/{room}/disputes/{dispute}", responses=_errors(403, 404, 429, 503))
async def dismiss_dispute(request: Request, room: RoomId,
                          dispute: Annotated[int, PathParam(ge=1, le=2**62)],
                          key: KeyHeader = None) -> Response:
    """Dismiss a refused claim of a student ID (presenter only): the holder keeps it."""
    demo = _demo(request)
    await _require_key(demo, key, request)
    target = await _room(demo, room)
    book = demo.answers
    try:
        dismissed = await book.run(book.store.dismiss, target.id, dispute)
    except AnswerRefusedError as exc:
        raise _refused(exc) from None
    if not dismissed:
        raise HTTPException(404, detail=f"the room has no dispute {dispute}")
    await _tell_roster(demo, target)
    return _json(await book.run(book.store.roster, target.id))


def _csv(text: str, name: str) -> Response:
    return Response(text.encode("utf-8-sig"), media_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{name}"',
                             "Cache-Control": "no-store"})


@router.get("/{room}/results.csv", responses={**_errors(403, 404, 429), **CSV},
            response_class=Response)
async def results_csv(request: Request, room: RoomId, key: KeyHeader = None,
                      layout: Annotated[Literal["generic", "canvas"], Query()] = "generic",
                      assignment: Annotated[str | None, Query(
                          pattern=f"^{CANVAS_ASSIGNMENT.pattern}$", description=(
                              "layout=canvas: the Canvas assignment's ID (default: "
                              "--canvas-assignment); the total's column is 'Title (ID)'"))
                      ] = None) -> Response:
    """One row per student, one column per question and the total (presenter only);
    ``layout=canvas``: the same in the layout a Canvas gradebook imports, the total as
    the assignment ``assignment`` names."""
    demo = _demo(request)
    await _require_key(demo, key, request)
    qs, book = list(demo.questions.values()), demo.answers
    if layout == "canvas":
        return _csv(await book.run(book.store.canvas_csv, room, qs, demo.lesson.title,
                                   assignment or demo.settings.canvas_assignment),
                    f"convlens-{room}-canvas.csv")
    return _csv(await book.run(book.store.gradebook_csv, room, qs),
                f"convlens-{room}-results.csv")


@router.get("/{room}/questions/{qid}/answers.csv", responses={**_errors(403, 404, 429), **CSV},
            response_class=Response)
async def answers_csv(request: Request, room: RoomId, qid: QuestionId,
                      key: KeyHeader = None) -> Response:
    """Every student's latest answer to one question, as given (presenter only)."""
    demo = _demo(request)
    await _require_key(demo, key, request)
    q = _question(demo, qid)
    book = demo.answers
    return _csv(await book.run(book.store.raw_csv, room, q), f"convlens-{room}-{qid}.csv")


# ---------------------------------------------------------------------- the concept check
def _check_of(demo: DemoMode, phase: str, qid: str | None = None) -> Any:
    questions = demo.lesson.check.get(phase)
    if not questions:
        raise HTTPException(404, detail="the lesson has no concept check ([check])")
    if qid is None:
        return questions
    for q in questions:
        if q.id == qid:
            return q
    raise HTTPException(404, detail=f"the check has no question {qid!r}")


@router.get("/{room}/check", responses=_errors(403, 404, 503))
async def check(request: Request, room: RoomId, token: TokenHeader = None) -> Response:
    """The concept check as this student may see it: its phase (``pre`` before the lesson,
    ``post`` after it) and, while it is open, its questions (the post-check's on other
    numbers) with the student's own answers, and the usability items with the post-check
    when the lesson asks them. No right answer and no grade is ever sent."""
    demo = _demo(request)
    target = await _room(demo, room)
    if not demo.lesson.check:
        return _json({"check": False})
    book = demo.answers
    phase, state = await book.run(book.store.check_state, target.id)
    out: dict[str, Any] = {"check": True, "phase": phase, "state": state, "questions": [],
                           "mine": {}, "sus": None}
    who = None
    if token is not None:
        try:
            who = await book.run(book.store.student, target.id, token)
        except AnswerRefusedError as exc:
            raise _refused(exc) from None
    if phase is not None and state == "open":
        out["questions"] = [q.public() for q in demo.lesson.check[phase]]
        if who is not None:
            out["mine"] = await book.run(book.store.check_own, target.id, phase, who.id)
        if phase == "post" and demo.lesson.sus:
            out["sus"] = {"items": list(SUS_ITEMS), "mine": None if who is None else
                          await book.run(book.store.sus_own, target.id, who.id)}
    return _json(out)


@router.put("/{room}/check/{phase}/{qid}/answer",
            responses=_errors(403, 404, 409, 413, 429, 503, 507))
async def check_answer(request: Request, room: RoomId, phase: Literal["pre", "post"],
                       qid: QuestionId, body: CheckAnswerIn, token: TokenHeader = None
                       ) -> Response:
    """Answer (or change the answer to) a question of the check while its phase is open.
    The reply is the answer as stored: no grade (the check measures, it does not teach)."""
    demo = _demo(request)
    target = await _room(demo, room)
    q = _check_of(demo, phase, qid)
    book = demo.answers
    try:
        who = await book.run(book.store.student, target.id, token)
        await _answer_allowed(demo, target, who.id)
        value = await book.run(book.store.check_record, target.id, phase, q, token,
                               body.answer)
    except AnswerRefusedError as exc:
        raise _refused(exc) from None
    _check_pushes(demo).soon(demo, target)
    return _json({"answer": value})


@router.put("/{room}/sus", responses=_errors(403, 404, 409, 413, 429, 503, 507))
async def sus(request: Request, room: RoomId, body: SusIn, token: TokenHeader = None
              ) -> Response:
    """The ten SUS items, answered once the post-check is open (a new answer replaces the
    old): their score, 0 to 100."""
    demo = _demo(request)
    target = await _room(demo, room)
    if not demo.lesson.sus:
        raise HTTPException(404, detail="the lesson asks no usability questionnaire (sus)")
    book = demo.answers
    try:
        who = await book.run(book.store.student, target.id, token)
        await _answer_allowed(demo, target, who.id)
        score = await book.run(book.store.sus_record, target.id, token, body.answers)
    except AnswerRefusedError as exc:
        raise _refused(exc) from None
    _check_pushes(demo).soon(demo, target)
    return _json({"answers": body.answers, "score": score})


async def gain_view(demo: DemoMode, room: Room) -> dict[str, Any]:
    book = demo.answers
    return {"type": "gain", **await book.run(book.store.gain, room.id,
                                             demo.lesson.check.get("pre", ()))}


@router.post("/{room}/check/state", responses=_errors(403, 404, 413, 429, 503))
async def check_state(request: Request, room: RoomId, body: CheckStateIn,
                      key: KeyHeader = None) -> Response:
    """Open or close the pre-check or the post-check (presenter only; opening one closes
    the other); every page hears of it. The reply is the gain so far."""
    demo = _demo(request)
    await _require_key(demo, key, request)
    target = await _room(demo, room)
    _check_of(demo, body.phase)
    book = demo.answers
    try:
        await book.run(book.store.set_check, target.id, body.phase, body.state)
    except AnswerRefusedError as exc:
        raise _refused(exc) from None
    await demo.rooms.tell(target, orjson.dumps({"type": "check", "phase": body.phase,
                                                "state": body.state}).decode())
    return _json(await gain_view(demo, target))


@router.get("/{room}/gain", responses=_errors(403, 404, 429, 503))
async def gain(request: Request, room: RoomId, key: KeyHeader = None) -> Response:
    """The concept check's learning gain (presenter only): per question and overall, the
    share right before and after (of the students who answered both times), the
    normalised gain ⟨g⟩ = (post − pre) / (1 − pre) and how many students did both; and
    the SUS score, when the lesson asks it."""
    demo = _demo(request)
    await _require_key(demo, key, request)
    target = await _room(demo, room)
    _check_of(demo, "pre")
    return _json(await gain_view(demo, target))


@router.get("/{room}/check.csv", responses={**_errors(403, 404, 429), **CSV},
            response_class=Response)
async def check_csv(request: Request, room: RoomId, key: KeyHeader = None) -> Response:
    """One row per student: each check question's point before and after, both totals
    and the SUS score (presenter only)."""
    demo = _demo(request)
    await _require_key(demo, key, request)
    qs = _check_of(demo, "pre")
    book = demo.answers
    return _csv(await book.run(book.store.check_csv, room, qs), f"convlens-{room}-check.csv")


class CheckPushes:
    """Check answers arriving together make one push of the gain to the presenters."""

    def __init__(self) -> None:
        self.pending: set[str] = set()
        self.sending: set[asyncio.Task[None]] = set()

    def soon(self, demo: DemoMode, room: Room) -> None:
        if room.id in self.pending:
            return
        self.pending.add(room.id)

        async def push() -> None:
            await asyncio.sleep(PUSH_EVERY)
            self.pending.discard(room.id)
            text = orjson.dumps(await gain_view(demo, room)).decode()
            await demo.rooms.tell(room, text, presenters_only=True)

        task = asyncio.ensure_future(push())
        self.sending.add(task)
        task.add_done_callback(self.sending.discard)


def _check_pushes(demo: DemoMode) -> CheckPushes:
    if not hasattr(demo, "check_pushes"):
        demo.check_pushes = CheckPushes()  # type: ignore[attr-defined]
    return demo.check_pushes  # type: ignore[attr-defined]
