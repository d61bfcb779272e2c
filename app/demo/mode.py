"""Demo mode: on when the app is given a presenter key.

=========================  ===========================================================
variable                   meaning
=========================  ===========================================================
CONVLENS_DEMO_KEY          the presenter key; demo mode is on when it is set
CONVLENS_DEMO_SCRIPT       the lesson file (default: app/lessons/default.toml)
CONVLENS_DEMO_ROOM         the id of the room opened at start (default: a random one)
CONVLENS_DEMO_URL          the address the audience reaches the server at, shown on the
                           presenter's page (default: the address the presenter used)
CONVLENS_DEMO_STATE        a file to keep the rooms in across restarts (default: none,
                           the rooms live in memory; ``convlens demo`` has its own default)
CONVLENS_DEMO_PER_CLIENT   audience pages one address may open (default 20)
CONVLENS_DEMO_FOLLOWERS    audience pages one room may hold (default 500; with Redis,
                           counted across every worker)
CONVLENS_DEMO_RESULTS      the SQLite file the room's answers are kept in (default: none,
                           in memory; ``convlens demo`` has its own default file)
CONVLENS_DEMO_CANVAS_ASSIGNMENT
                           the Canvas assignment's ID: the Canvas export's total column is
                           "Title (ID)", so that each import updates that assignment
=========================  ===========================================================

``convlens demo`` passes the same settings to :func:`app.main.create_app` directly.

With ``CONVLENS_REDIS_URL`` too (:mod:`app.settings`), several workers given the same key,
lesson, room and results file serve one set of rooms (:mod:`app.store.rooms`).
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from ..store.walks import StoreUnavailableError
from .answers import AnswerBook, AnswerRefusedError, AnswerStore, check_assignment
from .backend import MemoryRooms, Rooms, RoomsUnavailableError
from .lesson import Lesson, load_lesson
from .rooms import MAX_FOLLOWERS, MAX_PER_CLIENT, Hub, Room, check_key_format, check_move
from .slides import lesson_payload, lesson_views
from .store import RoomStore

PREFIX = "CONVLENS_DEMO_"
MAX_ROOM_FOLLOWERS = 10_000  # the most --followers may ask for
MAX_SHOWN = 100_000  # (room, question) pairs DemoMode remembers as shown


@dataclass(frozen=True)
class DemoSettings:
    key: str | None = None  # None: demo mode is off
    script: Path | None = None  # None: the default lesson
    room: str | None = None
    public_url: str | None = None
    state: Path | None = None  # None: the rooms are kept in memory only
    per_client: int = MAX_PER_CLIENT
    followers: int = MAX_FOLLOWERS
    results: Path | None = None  # None: the answers are kept in memory only
    canvas_assignment: str | None = None  # the Canvas assignment's ID, for its export

    def __post_init__(self) -> None:
        if self.canvas_assignment is not None:
            try:
                check_assignment(self.canvas_assignment)
            except AnswerRefusedError as exc:
                raise ValueError(f"--canvas-assignment: {exc}") from None
        if not 1 <= self.per_client <= 10_000:
            raise ValueError(f"the audience pages per address must be from 1 to 10000, got "
                             f"{self.per_client}")
        if not 1 <= self.followers <= MAX_ROOM_FOLLOWERS:
            raise ValueError(f"the audience pages per room must be from 1 to "
                             f"{MAX_ROOM_FOLLOWERS}, got {self.followers}")

    @property
    def enabled(self) -> bool:
        return self.key is not None

    def environment(self) -> dict[str, str]:
        """These settings as the variables :meth:`from_env` reads (for worker processes)."""
        given = {"KEY": self.key, "SCRIPT": self.script, "ROOM": self.room,
                 "URL": self.public_url, "STATE": self.state, "RESULTS": self.results,
                 "PER_CLIENT": self.per_client, "FOLLOWERS": self.followers,
                 "CANVAS_ASSIGNMENT": self.canvas_assignment}
        return {PREFIX + name: str(value) for name, value in given.items()
                if value is not None}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DemoSettings:
        env = os.environ if environ is None else environ
        key = env.get(PREFIX + "KEY") or None
        script = env.get(PREFIX + "SCRIPT") or None
        if key is None and script is not None:
            raise ValueError(f"{PREFIX}SCRIPT is set but {PREFIX}KEY is not: demo mode "
                             "needs a presenter key")
        state = env.get(PREFIX + "STATE") or None
        per_client = env.get(PREFIX + "PER_CLIENT") or str(MAX_PER_CLIENT)
        followers = env.get(PREFIX + "FOLLOWERS") or str(MAX_FOLLOWERS)
        for name, value in (("PER_CLIENT", per_client), ("FOLLOWERS", followers)):
            if not value.isdigit():
                raise ValueError(f"{PREFIX}{name} must be a whole number, got {value!r}")
        return cls(key=key, script=Path(script) if script else None,
                   room=env.get(PREFIX + "ROOM") or None,
                   public_url=(env.get(PREFIX + "URL") or "").rstrip("/") or None,
                   state=Path(state) if state else None, per_client=int(per_client),
                   followers=int(followers),
                   canvas_assignment=env.get(PREFIX + "CANVAS_ASSIGNMENT") or None,
                   results=Path(env[PREFIX + "RESULTS"]) if env.get(PREFIX + "RESULTS")
                   else None)


class DemoMode:
    """The loaded lesson, its pages' JSON (computed once: the presenter's with every beat,
    the public one with none) and the rooms, which carry each beat's audience view."""

    def __init__(self, settings: DemoSettings, lesson: Lesson | None = None, **hub: Any
                 ) -> None:
        from ..serialize import dumps

        assert settings.key is not None
        check_key_format(settings.key)
        self.settings = settings
        self.lesson = load_lesson(settings.script) if lesson is None else lesson
        presenter, audience = lesson_views(self.lesson)
        self.presenter_json = dumps(lesson_payload(self.lesson, presenter))
        self.public_json = dumps(lesson_payload(self.lesson))
        store = None
        if settings.state is not None:
            lesson_mark = hashlib.sha256(self.presenter_json).hexdigest()
            store = RoomStore(settings.state, key=settings.key, lesson=lesson_mark)
        self.hub = Hub(key=settings.key, beats=self.lesson.beats,
                       names=tuple(s.name for s in self.lesson.slides), primary=settings.room,
                       views=tuple(dumps(view) for view in audience), store=store,
                       max_per_client=settings.per_client,
                       max_followers=settings.followers, **hub)
        # The rooms as the routes reach them: this Hub alone, until the app gives Redis
        # (:func:`app.demo.routes.install` swaps in :class:`app.store.rooms.RedisRooms`).
        self.rooms: Rooms = MemoryRooms(self.hub)
        self.questions = {q.id: q for q in getattr(self.lesson, "questions", ())}
        self.question_of_slide = {i: self.questions[s.name]
                                  for i, s in enumerate(self.lesson.slides)
                                  if s.name in self.questions}
        # a question's beat: the one that asks it; every later beat shows its answer
        self.ask_beats = {self.question_of_slide[slide].id: beat
                          for beat, (slide, revealed) in enumerate(self.lesson.beats)
                          if not revealed and slide in self.question_of_slide}
        self._shown: set[tuple[str, str]] = set()  # (room, question) known to be shown
        self.answers = AnswerBook(AnswerStore(settings.results or ":memory:"))

    async def expose(self, room: Room, beat: int | None = None) -> list[str]:
        """Mark shown, in the answers file, every question whose answer ``beat`` (default:
        the room's) shows; the questions this closed. The answers' routes call it too: a
        room brought back at a later beat (a restart with its rooms file but a new results
        file) has its questions shown before any answer is taken."""
        at = room.beat if beat is None else beat
        shows = [q for q, ask in self.ask_beats.items()
                 if at > ask and (room.id, q) not in self._shown]
        if not shows:
            return []
        try:
            closed = await self.answers.run(self.answers.store.expose, room.id, shows)
        except AnswerRefusedError as exc:
            if exc.status != 507:  # busy: the move waits (a full file takes no answer)
                raise RoomsUnavailableError(f"the move waits for the results file: {exc}"
                                            ) from None
            return []
        except StoreUnavailableError as exc:  # the file is closed: the server stops
            raise RoomsUnavailableError(str(exc)) from None
        if len(self._shown) > MAX_SHOWN:  # only a cache: the file is the record
            self._shown.clear()
        self._shown.update((room.id, q) for q in shows)
        return closed

    async def move(self, room: Room, beat: int, by: str | None = None) -> dict[str, object]:
        """Move ``room`` to ``beat`` (the caller has checked the key). Every question whose
        answer that beat shows is marked shown, and closed if open, in the answers file
        *before* the room moves, so no worker takes an answer to it as on time once a page
        may hold the answer; the pages hear of each question closed."""
        check_move(room, beat, by)
        # (the beat it leaves has been on the screens too: a room brought back by a
        # restart at a later beat than its results file knows of)
        closed = await self.expose(room, max(beat, room.beat))
        state = await self.rooms.move(room, beat, by)
        for question in closed:
            await self.rooms.tell(room, orjson.dumps(
                {"type": "question", "id": question, "state": "closed"}).decode())
        return state

    def close(self) -> None:
        """Close the rooms' and the answers' files."""
        if self.hub.store is not None:
            self.hub.store.close()
        self.answers.close()
