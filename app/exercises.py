"""Exercises: a step (or the whole pass) of a hand-computable example, graded on the server.

An exercise holds its variant (:func:`engine.variant`), the steps to compute (one, or the
chain Z1 → … → db1 → the updates), where it is, and for each step its attempts, its state
(open, solved, revealed) and the hints unlocked. The right answer stays here: a view holds it
only once the step is solved or revealed.

Exercises live in a store of their own (:mod:`app.store.walks`: capped, least recently
used evicted first, expiring when unused), in memory or in Redis; :meth:`Exercise.restore`
builds one from the parts a store kept. The variant is never stored: it is drawn again from
the seed and the network (``engine.variant`` keeps the last ones drawn in this process).
Any network can be practised: a seed-shaped one (a Config) has the seed's 21 steps, any
other the steps of :func:`engine.practice.step_names`. Beyond a walk's steps (issue 21),
every parameter's update by momentum or Adam (``W1@adam``) and its mini-batch mean
gradient (``mean_dW1``): :func:`more_step_names`. An exercise keeps the optimizer its
updates use and the batch size of its means (None: Practice's defaults).
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
    def __init__(self, steps: tuple[str, ...], seed: int | None,
                 config: engine.Config | engine.Network, *, chain: bool,
                 seed_given: bool = True, example: engine.Variant | None = None,
                 optimizer: engine.optimizers.Optimizer | None = None,
                 batch: int | None = None) -> None:
        if (seed is None) == (example is None):
            raise ValueError("an exercise has either a seed or an example given as it is")
        self.id = secrets.token_urlsafe(16)
        self.net = engine.as_network(config)
        self.seed, self.config, self.chain = seed, self.net.config, chain
        # A seed the server drew stays on the server until every step is over: with it, a
        # second exercise on a later step would hand out this one's answer as its givens.
        self.seed_given = seed_given
        self.on_example = example is not None
        key = self.config if self.config is not None else self.net
        self.variant = example if example is not None else engine.variant(seed, key)
        self.steps = steps
        self.optimizer, self.batch = optimizer, batch  # of the update and mean steps
        self.position = 0
        self.states = ["open"] * len(steps)
        self.attempts = [0] * len(steps)
        self.hints: list[list[engine.Hint]] = [[] for _ in steps]
        self._current: engine.Exercise | None = None

    @classmethod
    def restore(cls, exercise_id: str, steps: tuple[str, ...], seed: int | None,
                config: engine.Config | engine.Network, *, chain: bool, seed_given: bool,
                position: int,
                states: list[str], attempts: list[int],
                hints: list[list[engine.Hint]],
                example: engine.Variant | None = None,
                optimizer: engine.optimizers.Optimizer | None = None,
                batch: int | None = None) -> Exercise:
        """An exercise from the parts a store kept (its variant drawn again, or the
        example it was given)."""
        if not (len(steps) == len(states) == len(attempts) == len(hints)
                and 0 <= position < len(steps)):
            raise ValueError("an exercise's steps, states, attempts and hints must match")
        exercise = cls(steps, seed, config, chain=chain, seed_given=seed_given,
                       example=example, optimizer=optimizer, batch=batch)
        exercise.id, exercise.position = exercise_id, position
        exercise.states, exercise.attempts, exercise.hints = states, attempts, hints
        return exercise

    @property
    def current(self) -> engine.Exercise:
        step = self.steps[self.position]
        if self._current is None or self._current.step != step:
            self._current = engine.exercise(step, self.variant, optimizer=self.optimizer,
                                            batch=self.batch)
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
        result = engine.grade(ex.step, answer, ex.truth, ex.given, config=self.net, lr=ex.lr)
        hint = None
        if result.correct:
            if self.states[i] == "open":
                self.states[i] = "solved"
        else:
            wrong = tuple(int(v) for v in np.argwhere(~result.cells)[0]) if ex.shape else ()
            level = min(2, len(self.hints[i]) + 1)
            hint = engine.hint(ex.step, level, wrong, ex.given, config=self.net, lr=ex.lr)
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
            "config": serialize.config_out(self.net), "network": serialize.network_out(self.net),
            "shape": list(ex.shape), "given": ex.given,
            "ranges": _ranges(ex, self.net), "lr": ex.lr,
            "prompt": ex.prompt, "latex": ex.latex, "mathml": static_mathml(ex.latex),
            "state": self.states[i], "attempts": self.attempts[i],
            "max_attempts": MAX_ATTEMPTS, "hints": [_hint(h) for h in self.hints[i]],
            "answer": ex.truth if shown else None,
            "answer_range": _answer_range(ex, self.net) if shown else None,
            "chain": None if not self.chain else {
                "position": i, "steps": list(self.steps),
                "done": [s != "open" for s in self.states]},
            "misconceptions": [_misconception(m)
                               for m in engine.misconceptions_for(ex.step, self.net)],
        }


def _ranges(ex: engine.Exercise, net: engine.Network) -> dict[str, Any]:
    """The givens' colour ranges; a mean's per-example gradients on one range (their cells
    compare across examples); an update's numbers (t, the options) against a card's
    yardstick, its second moment (a mean of squares, never negative) sequential."""
    if is_mean(ex.step):
        one = serialize.ranges({"all": np.stack(list(ex.given.values()))}, net)["all"]
        return {name: dict(one) for name in ex.given}
    if not is_update(ex.step):
        return serialize.ranges(ex.given, net)
    out = serialize.view_ranges(ex.given, net)
    for name, value in ex.given.items():
        if name.startswith("s_") and np.size(value) > 1:
            out[name] = {"min": 0.0, "max": max(float(np.max(value)), 1e-12),
                         "scale": "sequential"}
    return out


def _answer_range(ex: engine.Exercise, net: engine.Network) -> dict[str, Any]:
    return serialize.ranges({ex.step: ex.truth}, net)[ex.step]


def _misconception(m: engine.Misconception) -> dict[str, str]:
    return {"id": m.id, "title": m.title, "message": m.message}


def _hint(h: engine.Hint) -> dict[str, Any]:
    return {"level": h.level, "cell": list(h.cell), "text": h.text,
            "feeds": {name: [list(ix) for ix in cells] for name, cells in h.feeds.items()}}


def create(step: str | None, *, chain: bool, seed: int | None,
           config: engine.Config | engine.Network,
           example: engine.Variant | None = None,
           optimizer: engine.optimizers.Optimizer | None = None,
           batch: int | None = None) -> Exercise:
    """An exercise on ``example`` when one is given, else on the variant of ``seed`` (a
    random one when None), for the network ``config`` (a Config or any Network). A chain
    with an ``optimizer`` (not sgd) has that optimizer's updates (W1@adam …). Its first
    step is made here: a ValueError of the engine's comes from this call."""
    steps = (engine.practice.step_names(config, optimizer=optimizer) if chain
             else (str(step),))
    options = {"optimizer": optimizer, "batch": batch}
    if example is not None:
        exercise = Exercise(steps, None, config, chain=chain, example=example, **options)
    else:
        given = seed is not None
        if seed is None:
            seed = secrets.randbelow(2**32)
        exercise = Exercise(steps, seed, config, chain=chain, seed_given=given, **options)
    exercise.current  # noqa: B018  (made now: the engine's refusal is the request's)
    return exercise


# ---------------------------------------------- optimizers' updates, a mini-batch's mean
def is_update(step: str) -> bool:
    """An optimizer's update step: W1@momentum, W1@adam."""
    return engine.practice.AT in step


def is_mean(step: str) -> bool:
    """A mini-batch's mean gradient step: mean_dW1."""
    return step.startswith(engine.practice.MEAN)


def update_kinds() -> tuple[str, ...]:
    """The optimizers with update steps of their own: every one but sgd."""
    return tuple(kind for kind in engine.optimizers.OPTIMIZERS if kind != "sgd")


def more_step_names(net: engine.Network) -> tuple[str, ...]:
    """Beyond ``net``'s walk steps: every parameter's update by each optimizer but sgd,
    then every parameter's mean gradient."""
    p = engine.practice
    return (*(p.optimizer_step_name(param, kind) for kind in update_kinds()
              for param in net.param_names), *p.mean_step_names(net))


def more_steps(net: engine.Network) -> list[dict[str, Any]]:
    """The catalogue's entries of :func:`more_step_names`."""
    out = []
    for name in more_step_names(net):
        param, _, kind = name.partition(engine.practice.AT)
        mean = is_mean(name)
        if mean:
            param = name.removeprefix(engine.practice.MEAN + "d")
        out.append({
            "name": name, "group": "mean" if mean else "optimizer",
            "optimizer": None if mean else kind,
            "title": "Mean" if mean else engine.optimizers.OPTIMIZERS[kind].TITLE,
            "param": param, "of": "d" + param if mean else param,
            "misconceptions": [_misconception(m)
                               for m in engine.misconceptions_for(name, net)]})
    return out


def store(request: Request) -> WalkStore[Exercise]:
    """The app's exercise store (made by the app factory with the app's settings)."""
    return request.app.state.exercises
