"""Sessions: one example stepped through training one operation at a time.

A session holds an example (config, x, y), the learning rate and the parameters at the start
of every epoch so far. Its cursor is the index (in ``engine.STEPS``) of the last step
computed, -1 before the first. ``next`` reveals one more step; after the last update step it
applies the update, starts the next epoch and computes its first step (Z1). ``prev`` undoes
exactly, back to before the first step of epoch 0. Tensors of steps beyond the cursor are
never revealed.

Sessions are kept by a store (:mod:`app.store.walks`): in this process's memory or in
Redis, capped in count with least-recently-used eviction and an idle time-to-live, and per
client. A session stored in Redis is decoded for each request (:mod:`app.store.codecs`);
:meth:`Session.restore` builds it from its parts, and ``generation`` (new with every
:meth:`Session.replace`) tells a worker when the trace it computed for an epoch still
holds.
"""

from __future__ import annotations

import functools
import secrets
import sys
from dataclasses import dataclass
from typing import Any

import numpy as np

import engine

from . import convert, schemas, serialize
from .errors import ConflictError

LAST = len(engine.STEPS) - 1
# Each epoch keeps the parameters it started from (that is what makes prev exact). A session
# may keep this many bytes of them, counted as Python holds them (epoch_bytes), and at most
# SESSION_MAX_EPOCHS epochs: 1,000 sessions at their cap hold at most ~0.5 GB of history (not
# to be confused with schemas.TRAIN_MAX_EPOCHS, the epochs of one /api/train request).
MAX_KEPT_BYTES = 512 * 1024
SESSION_MAX_EPOCHS = schemas.SESSION_MAX_EPOCHS
# One answer about a whole tensor's provenance holds at most this many source cells (the
# default network's largest, dW1, holds 153): past it, the rest is asked cell by cell.
PROVENANCE_BATCH = 1024
GRADIENTS = tuple(f"d{name}" for name in engine.PARAM_NAMES)


@functools.cache
def epoch_bytes(config: engine.Config) -> int:
    """What one more epoch costs a session: its parameter dict and four arrays as
    ``engine.sgd_step`` makes them (each owning its data), a loss float, two list slots."""
    x, y, params = engine.seed_example(config)
    new = engine.sgd_step(params, engine.trace(x, y, params, config), 0.1)
    return (sys.getsizeof(new) + sum(sys.getsizeof(v) for v in new.values())
            + sys.getsizeof(1.5) + 2 * 8)


class AtStartError(ConflictError):
    """prev before the first step of epoch 0."""


class EpochLimitError(ConflictError):
    """next would start an epoch beyond what the session may keep."""


class NotReachedError(ConflictError):
    """A question about a tensor the walk has not shown yet."""


class Session:
    def __init__(self, config: engine.Config, x: np.ndarray, y: float,
                 params: dict[str, np.ndarray], *, lr: float, seed: int) -> None:
        self.id = secrets.token_urlsafe(16)
        self.replace(config, x, y, params, lr=lr, seed=seed)

    @classmethod
    def restore(cls, session_id: str, config: engine.Config, x: np.ndarray, y: float, *,
                lr: float, seed: int, history: Any, loss_history: list[float], cursor: int,
                generation: str, trace: engine.Trace | None = None,
                records: list[dict[str, Any]] | None = None) -> Session:
        """A session from its parts, as a store kept them: ``history`` holds the parameters
        of every epoch (a list, or a list-like that fetched only some), ``trace`` and
        ``records`` what was computed for the last epoch's parameters, if known."""
        session = cls.__new__(cls)
        session.id, session.config, session.x, session.y = session_id, config, x, y
        session.lr, session.seed, session.generation = lr, seed, generation
        session.history, session.loss_history, session.cursor = history, loss_history, cursor
        session._trace, session._records = trace, records
        return session

    # ---------------------------------------------------------------- state
    def replace(self, config: engine.Config, x: np.ndarray, y: float,
                params: dict[str, np.ndarray], *, lr: float, seed: int) -> None:
        """New example, parameters or lr: back to epoch 0, before the first step."""
        self.config, self.x, self.y, self.lr, self.seed = config, x, y, lr, seed
        self.generation = secrets.token_urlsafe(8)  # new whenever the walk starts over
        self.history: list[dict[str, np.ndarray]] = [params]
        self.loss_history: list[float] = []
        self.cursor = -1
        self._trace: engine.Trace | None = None
        self._records: list[dict[str, Any]] | None = None

    def reset(self) -> None:
        """Back to the walk's starting parameters, epoch 0, before the first step."""
        self.replace(self.config, self.x, self.y, self.history[0], lr=self.lr, seed=self.seed)

    @property
    def epoch(self) -> int:
        return len(self.history) - 1

    @property
    def params(self) -> dict[str, np.ndarray]:
        return self.history[-1]

    @property
    def max_epochs(self) -> int:
        return max(1, min(SESSION_MAX_EPOCHS, MAX_KEPT_BYTES // epoch_bytes(self.config) - 1))

    def trace(self) -> engine.Trace:
        if self._trace is None:
            self._trace = engine.trace(self.x, self.y, self.params, self.config)
        return self._trace

    def records(self) -> list[dict[str, Any]]:
        """Every step of this epoch with its numbers (computed once per epoch)."""
        if self._records is None:
            self._records = serialize.steps_out(self.trace(), self.lr)
        return self._records

    @property
    def derived(self) -> tuple[engine.Trace | None, list[dict[str, Any]] | None]:
        """The trace and step records of this epoch, where computed already."""
        return self._trace, self._records

    def _new_epoch(self) -> None:
        self._trace, self._records = None, None

    # -------------------------------------------------------------- stepping
    def next(self) -> None:
        if self.cursor < LAST:
            self.cursor += 1
            return
        if self.epoch >= self.max_epochs:
            raise EpochLimitError(f"this session keeps at most {self.max_epochs} epochs for this "
                             "config; reset it or start another")
        trace = self.trace()
        self.history.append(engine.sgd_step(self.params, trace, self.lr))
        self.loss_history.append(float(trace["L"]))
        self._new_epoch()
        self.cursor = 0

    def prev(self) -> None:
        if self.cursor > 0 or (self.cursor == 0 and self.epoch == 0):
            self.cursor -= 1
        elif self.cursor == 0:
            self.history.pop()
            self.loss_history.pop()
            self._new_epoch()
            self.cursor = LAST
        else:
            raise AtStartError("already at the start: no step has been computed yet")

    def goto(self, epoch: int, cursor: int) -> None:
        """Step (with next and prev, so exactly as they would) to ``cursor`` of ``epoch``.
        Both are checked before anything moves: an epoch beyond the session's cap, a cursor
        outside [-1, LAST] and cursor -1 after epoch 0 (next from the last step applies the
        update and computes the new pass's first step at once) are ValueErrors."""
        if not -1 <= cursor <= LAST:
            raise ValueError(f"cursor must be in [-1, {LAST}], got {cursor}")
        if not 0 <= epoch <= self.max_epochs:
            raise ValueError(f"epoch must be in [0, {self.max_epochs}] for this config, "
                             f"got {epoch}")
        if epoch > 0 and cursor < 0:
            raise ValueError("a pass after the first starts at its first step: cursor 0")
        while (self.epoch, self.cursor) < (epoch, cursor):
            self.next()
        while (self.epoch, self.cursor) > (epoch, cursor):
            self.prev()

    def known(self) -> tuple[str, ...]:
        """The tensors of this pass the walk has shown."""
        return engine.known(self.cursor)

    # --------------------------------------------------------------- views
    def written(self, index: int) -> np.ndarray:
        """What step ``index`` wrote: a tensor, or for an update step the new parameter."""
        return engine.step_value(self.trace(), index, self.lr)

    def update(self, index: int) -> dict[str, Any] | None:
        """For an update step: the parameter before, the change -lr * gradient and after;
        the last update step adds the loss on the example before and after all four."""
        step = engine.STEPS[index]
        if step.phase != "update":
            return None
        trace, name = self.trace(), step.writes
        before, change, after = trace[name], -self.lr * trace["d" + name], self.written(index)
        together = np.concatenate([np.ravel(before), np.ravel(change), np.ravel(after)])
        out: dict[str, Any] = {"name": name, "before": before, "change": change,
                               "after": after,
                               "range": serialize.ranges({name: together})[name]}
        if index == LAST:
            new = engine.sgd_step(self.params, trace, self.lr)
            out["loss_before"] = float(trace["L"])
            out["loss_after"] = engine.loss(self.x, self.y, new, self.config)
        return out

    def move(self) -> dict[str, Any]:
        """The current step and only what it adds: ``{cursor, epoch, step, tensor,
        known, reveals, ranges, update}`` -- the value it wrote, the names of every tensor of
        the pass now known, the tensors it makes known (with their colour ranges) and, for an
        update step, the update."""
        if self.cursor < 0:
            return {"cursor": -1, "epoch": self.epoch, "step": None, "tensor": None,
                    "known": list(engine.GIVEN), "reveals": {}, "ranges": {}, "update": None}
        trace = self.trace()
        reveals = {name: trace[name] for name in engine.STEPS[self.cursor].reveals}
        return {"cursor": self.cursor, "epoch": self.epoch,
                "step": self.records()[self.cursor], "tensor": self.written(self.cursor),
                "known": list(self.known()), "reveals": reveals,
                "ranges": serialize.view_ranges(reveals), "update": self.update(self.cursor)}

    def provenance(self, name: str, index: tuple[int, ...]) -> dict[str, Any]:
        """The cells behind ``name[index]``; NotReachedError for a tensor not shown yet,
        ValueError for one without sources or an index outside it."""
        if name not in engine.TITLES:
            raise ValueError(f"unknown tensor {name!r}; known: {', '.join(engine.TITLES)}")
        if name not in self.known():
            raise NotReachedError(f"{name} is not computed yet: the walk is at step "
                                  f"{self.cursor + 1} of {LAST + 1}")
        return serialize.provenance_out(self.trace(), name, index)

    def provenance_cells(self, name: str) -> dict[str, Any]:
        """Provenance of a tensor's cells in row-major order, as many as fit in
        PROVENANCE_BATCH source cells: ``{tensor, cells, complete}``. Refused as
        :meth:`provenance` is."""
        shape = engine.Config(**self.config.to_dict()).shapes()[name]
        cells, used = [], 0
        for index in np.ndindex(shape):
            found = self.provenance(name, tuple(int(i) for i in index))
            used += 1 + sum(len(v) for v in found["sources"].values())
            if used > PROVENANCE_BATCH and cells:
                return {"tensor": name, "cells": cells, "complete": False}
            cells.append(found)
        return {"tensor": name, "cells": cells, "complete": True}

    def gradients_reached(self) -> tuple[str, ...]:
        """The parameters' gradients the walk has shown (dW2 db2 from their steps on)."""
        known = self.known()
        return tuple(g for g in GRADIENTS if g in known)

    def gradcheck_input(self) -> GradcheckInput:
        """What a gradient check of this walk needs, to run away from the session."""
        return GradcheckInput(self.x, self.y, self.params, self.config, self.epoch,
                              self.cursor, self.gradients_reached())

    def view(self) -> dict[str, Any]:
        """Everything computed so far, and nothing beyond the cursor."""
        p = self.params
        tensors: dict[str, Any] = {"X": self.x, "Y": np.asarray(self.y), **p}
        updated: dict[str, Any] = {}
        steps = list(_hidden_steps())
        if self.cursor >= 0:
            trace, records = self.trace(), self.records()
            for name in engine.known(self.cursor)[len(engine.GIVEN):]:
                tensors[name] = trace[name]
            for i in range(self.cursor + 1):
                if engine.STEPS[i].phase == "update":
                    updated[engine.STEPS[i].writes] = self.written(i)
                steps[i] = records[i]
        return {
            "id": self.id, "config": serialize.config_out(self.config), "lr": self.lr,
            "seed": self.seed,
            "epoch": self.epoch, "cursor": self.cursor, "known": list(engine.known(self.cursor)),
            "step": steps[self.cursor] if self.cursor >= 0 else None, "steps": steps,
            "tensors": tensors, "updated": updated, "params": p,
            "ranges": serialize.view_ranges(tensors),
            "winners": serialize.winners(self.trace()) if "P1" in tensors else None,
            "loss_history": self.loss_history,
            "update": self.update(self.cursor) if self.cursor >= 0 else None,
        }


@functools.cache
def _hidden_steps() -> tuple[dict[str, Any], ...]:
    """The step records of steps not reached yet: formulas, but no numbers."""
    return tuple({**s, "latex_numbers": None, "mathml_numbers": None}
                 for s in serialize.step_outlines())


@dataclass(frozen=True)
class GradcheckInput:
    """A walk's example, parameters and position, taken at one moment (the arrays are never
    changed in place, so sharing them is safe)."""

    x: np.ndarray
    y: float
    params: dict[str, np.ndarray]
    config: engine.Config
    epoch: int
    cursor: int
    reached: tuple[str, ...]


def create(body: schemas.SessionCreate) -> Session:
    config = body.config.to_engine()
    if body.x is None:
        x, _ = engine.preset("vertical_stroke", config.input_size)
    else:
        x = convert.image(body.x, config)
    y = 1.0 if body.y is None else float(body.y)
    params = convert.params_or_init(body.params, config, body.seed)
    return Session(config, x, y, params, lr=body.lr, seed=body.seed)


def edit(session: Session, body: schemas.SessionPatch) -> None:
    """Apply a PATCH: everything is checked before anything changes."""
    config = session.config if body.config is None else body.config.to_engine()
    seed = session.seed if body.seed is None else body.seed
    if body.x is not None:
        x = convert.image(body.x, config)
    elif config.input_size != session.config.input_size:
        x, _ = engine.preset("vertical_stroke", config.input_size)
    else:
        x = session.x
    given = ({} if body.params is None else
             convert.params_of(body.params.model_dump(exclude_none=True), config))
    redraw = config != session.config or body.seed is not None
    base = engine.init_params(config, seed) if redraw else session.params
    session.replace(config, x, session.y if body.y is None else float(body.y),
                    {**base, **given}, lr=session.lr if body.lr is None else body.lr,
                    seed=seed)
