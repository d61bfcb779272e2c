"""Exercises: a step (or the whole pass) of a hand-computable example, graded on the server.

An exercise holds its variant (:func:`engine.variant`), the steps to compute (one, or the
chain Z1 → … → db1 → the updates), where it is, and for each step its attempts, its state
(open, solved, revealed) and the hints unlocked. The right answer stays here: a view holds it
only once the step is solved or revealed.

Exercises live in a store of their own (:mod:`app.store.walks`: capped, least recently
used evicted first, expiring when unused), in memory or in Redis; :meth:`Exercise.restore`
builds one from the parts a store kept. The variant is never stored: it is drawn again from
the seed and config (``engine.variant`` keeps the last ones drawn in this process).
"""

from __future__ import annotations

import secrets
from typing import Any

import numpy as np
from starlette.requests import Request

import engine

from . import serialize
from .errors import ConflictError
from .mathml import static_mathml
from .store.walks import WalkStore

MAX_ATTEMPTS = 100  # answers per step; then only reveal (or a new exercise) is left


class NotReadyError(ConflictError):
    """next before the current step is solved or revealed, or after the last step."""


class NoAttemptsError(ConflictError):
    """An answer after MAX_ATTEMPTS."""


class Exercise:
    def __init__(self, steps: tuple[str, ...], seed: int | None, config: engine.Config,
                 *, chain: bool, seed_given: bool = True,
                 example: engine.Variant | None = None) -> None:
        if (seed is None) == (example is None):
            raise ValueError("an exercise has either a seed or an example given as it is")
        self.id = secrets.token_urlsafe(16)
        self.seed, self.config, self.chain = seed, config, chain
        # A seed the server drew stays on the server until every step is over: with it, a
        # second exercise on a later step would hand out this one's answer as its givens.
        self.seed_given = seed_given
        self.on_example = example is not None
        self.variant = example if example is not None else engine.variant(seed, config)
        self.steps = steps
        self.position = 0
        self.states = ["open"] * len(steps)
        self.attempts = [0] * len(steps)
        self.hints: list[list[engine.Hint]] = [[] for _ in steps]
        self._current: engine.Exercise | None = None

    @classmethod
    def restore(cls, exercise_id: str, steps: tuple[str, ...], seed: int | None,
                config: engine.Config, *, chain: bool, seed_given: bool, position: int,
                states: list[str], attempts: list[int],
                hints: list[list[engine.Hint]],
                example: engine.Variant | None = None) -> Exercise:
        """An exercise from the parts a store kept (its variant drawn again, or the
        example it was given)."""
        if not (len(steps) == len(states) == len(attempts) == len(hints)
                and 0 <= position < len(steps)):
            raise ValueError("an exercise's steps, states, attempts and hints must match")
        exercise = cls(steps, seed, config, chain=chain, seed_given=seed_given,
                       example=example)
        exercise.id, exercise.position = exercise_id, position
        exercise.states, exercise.attempts, exercise.hints = states, attempts, hints
        return exercise

    @property
    def current(self) -> engine.Exercise:
        if self._current is None or self._current.step != self.steps[self.position]:
            self._current = engine.exercise(self.steps[self.position], self.variant)
        return self._current

    @property
    def state(self) -> str:
        return self.states[self.position]

    # ---------------------------------------------------------------------- actions
    def answer(self, answer: object) -> dict[str, Any]:
        """Grade an answer (already checked to have the step's shape)."""
        ex, i = self.current, self.position
        if self.attempts[i] >= MAX_ATTEMPTS:
            raise NoAttemptsError(f"no attempts left on this step (at most {MAX_ATTEMPTS}): "
                                  "reveal it or start a new exercise")
        self.attempts[i] += 1
        result = engine.grade(ex.step, answer, ex.truth, ex.given, config=self.config,
                              lr=ex.lr)
        hint = None
        if result.correct:
            if self.states[i] == "open":
                self.states[i] = "solved"
        else:
            wrong = tuple(int(v) for v in np.argwhere(~result.cells)[0]) if ex.shape else ()
            level = min(2, len(self.hints[i]) + 1)
            hint = engine.hint(ex.step, level, wrong, ex.given, config=self.config, lr=ex.lr)
            self.hints[i].append(hint)
        m = result.misconception
        return {
            "correct": result.correct, "score": result.score,
            "cells": result.cells if ex.shape else bool(result.cells),
            "misconception": None if m is None else _misconception(m),
            "hint": None if hint is None else _hint(hint),
            "attempts": self.attempts[i], "state": self.states[i],
            "answer": ex.truth if self.states[i] != "open" else None,
        }

    def reveal(self) -> None:
        if self.states[self.position] == "open":
            self.states[self.position] = "revealed"

    def next(self) -> None:
        if not self.chain or self.position == len(self.steps) - 1:
            raise NotReadyError("this exercise has no next step" if not self.chain else
                                "the chain is complete: this was its last step")
        if self.state == "open":
            raise NotReadyError(f"solve or reveal {self.steps[self.position]} first")
        self.position += 1

    # ------------------------------------------------------------------------- view
    def view(self) -> dict[str, Any]:
        """The current step's givens and state; the answer only once solved or revealed."""
        ex, i = self.current, self.position
        shown = self.states[i] != "open"
        return {
            "id": self.id, "step": ex.step, "index": ex.index,
            "seed": self.seed if self.seed_given or "open" not in self.states else None,
            "example": self.on_example,
            "config": serialize.config_out(self.config), "shape": list(ex.shape),
            "given": ex.given, "ranges": serialize.ranges(ex.given), "lr": ex.lr,
            "prompt": ex.prompt, "latex": ex.latex, "mathml": static_mathml(ex.latex),
            "state": self.states[i], "attempts": self.attempts[i],
            "max_attempts": MAX_ATTEMPTS, "hints": [_hint(h) for h in self.hints[i]],
            "answer": ex.truth if shown else None,
            "answer_range": _answer_range(ex) if shown else None,
            "chain": None if not self.chain else {
                "position": i, "steps": list(self.steps),
                "done": [s != "open" for s in self.states]},
            "misconceptions": [_misconception(m) for m in engine.misconceptions_for(ex.step)],
        }


def _answer_range(ex: engine.Exercise) -> dict[str, Any]:
    return serialize.ranges({ex.step: ex.truth})[ex.step]


def _misconception(m: engine.Misconception) -> dict[str, str]:
    return {"id": m.id, "title": m.title, "message": m.message}


def _hint(h: engine.Hint) -> dict[str, Any]:
    return {"level": h.level, "cell": list(h.cell), "text": h.text,
            "feeds": {name: [list(ix) for ix in cells] for name, cells in h.feeds.items()}}


def create(step: str | None, *, chain: bool, seed: int | None,
           config: engine.Config, example: engine.Variant | None = None) -> Exercise:
    """An exercise on ``example`` when one is given, else on the variant of ``seed`` (a
    random one when None)."""
    steps = engine.STEP_NAMES if chain else (str(step),)
    if example is not None:
        return Exercise(steps, None, config, chain=chain, example=example)
    given = seed is not None
    if seed is None:
        seed = secrets.randbelow(2**32)
    return Exercise(steps, seed, config, chain=chain, seed_given=given)


def store(request: Request) -> WalkStore[Exercise]:
    """The app's exercise store (made by the app factory with the app's settings)."""
    return request.app.state.exercises
