"""Demo mode: on when the app is given a presenter key.

=========================  ===========================================================
variable                   meaning
=========================  ===========================================================
CONVLENS_DEMO_KEY          the presenter key; demo mode is on when it is set
CONVLENS_DEMO_SCRIPT       the lesson file (default: app/lessons/default.toml)
CONVLENS_DEMO_ROOM         the id of the room opened at start (default: a random one)
CONVLENS_DEMO_URL          the address the audience reaches the server at, shown on the
                           presenter's page (default: the address the presenter used)
=========================  ===========================================================

``convlens demo`` passes the same settings to :func:`app.main.create_app` directly.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .lesson import Lesson, load_lesson
from .rooms import Hub, check_key_format
from .slides import lesson_payload, lesson_views

PREFIX = "CONVLENS_DEMO_"


@dataclass(frozen=True)
class DemoSettings:
    key: str | None = None  # None: demo mode is off
    script: Path | None = None  # None: the default lesson
    room: str | None = None
    public_url: str | None = None

    @property
    def enabled(self) -> bool:
        return self.key is not None

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> DemoSettings:
        env = os.environ if environ is None else environ
        key = env.get(PREFIX + "KEY") or None
        script = env.get(PREFIX + "SCRIPT") or None
        if key is None and script is not None:
            raise ValueError(f"{PREFIX}SCRIPT is set but {PREFIX}KEY is not: demo mode "
                             "needs a presenter key")
        return cls(key=key, script=Path(script) if script else None,
                   room=env.get(PREFIX + "ROOM") or None,
                   public_url=(env.get(PREFIX + "URL") or "").rstrip("/") or None)


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
        self.hub = Hub(key=settings.key, beats=self.lesson.beats,
                       names=tuple(s.name for s in self.lesson.slides), primary=settings.room,
                       views=tuple(dumps(view) for view in audience), **hub)
