"""Sessions: one example stepped through training one operation at a time.

A session holds an example (its network, x, y), the learning rate and the parameters at the
start of every epoch so far. Its cursor is the index (in ``engine.steps_for(network)``) of
the last step computed, -1 before the first. ``next`` reveals one more step; after the last
update step it applies the update, starts the next epoch and computes its first step (Z1 in
the seed's network). ``prev`` undoes
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

LAST = len(engine.STEPS) - 1  # the seed's network's last step
# Each epoch keeps the parameters it started from (that is what makes prev exact). A session
# may keep this many bytes of them, counted as Python holds them (epoch_bytes), and at most
# SESSION_MAX_EPOCHS epochs: 1,000 sessions at their cap hold at most ~0.5 GB of history (not
# to be confused with schemas.TRAIN_MAX_EPOCHS, the epochs of one /api/train request).
MAX_KEPT_BYTES = 512 * 1024
SESSION_MAX_EPOCHS = schemas.SESSION_MAX_EPOCHS
# One answer about a whole tensor's provenance holds at most this many source cells (the
# default network's largest, dW1, holds 153): past it, the rest is asked cell by cell.
PROVENANCE_BATCH = 1024
# A batch walk keeps the step records (the numbers each step's formula shows) of this many of
# its examples, those shown last; another's are computed again when it is shown. Sixteen
# examples' records of the default network took 0.8 MB (tracemalloc), four take ~0.2 MB.
RECORDS_KEPT = 4


@functools.lru_cache(maxsize=256)
def epoch_bytes(net: engine.Network) -> int:
    """What one more epoch costs a session: its parameter dict and arrays as
    ``engine.sgd_step`` makes them (each owning its data), a loss float, two list slots."""
    params = engine.init_params(net, 0)
    return (sys.getsizeof(params) + sum(sys.getsizeof(v.copy()) for v in params.values())
            + sys.getsizeof(1.5) + 2 * 8)


class AtStartError(ConflictError):
    """prev before the first step of epoch 0."""


class EpochLimitError(ConflictError):
    """next would start an epoch beyond what the session may keep."""


class NotReachedError(ConflictError):
    """A question about a tensor the walk has not shown yet."""


class Session:
    """``x`` is one image (n, n) or a batch of N (N, n, n); ``y`` a label or N of them.
    ``optimizer`` None is gradient descent; momentum and Adam keep a state per parameter,
    kept in each epoch's entry of ``history`` beside the parameters."""

    def __init__(self, net: engine.Network | engine.Config, x: np.ndarray, y: Any,
                 params: dict[str, np.ndarray], *, lr: float, seed: int,
                 optimizer: Any = None) -> None:
        self.id = secrets.token_urlsafe(16)
        self.replace(net, x, y, params, lr=lr, seed=seed, optimizer=optimizer)

    @property
    def config(self) -> engine.Config | None:
        """The seed-shaped Config of the walk's network; None for any other."""
        return self.net.config

    @property
    def steps(self) -> tuple[engine.Step, ...]:
        return engine.steps_for(self.net, self.batch, self.optimizer)

    @property
    def batch(self) -> int:
        """How many examples a pass averages over: 1 for one image."""
        return 1 if np.ndim(self.x) == 2 else len(self.x)

    @property
    def xs(self) -> np.ndarray:
        return self.x[None] if self.batch == 1 else self.x

    @property
    def ys(self) -> tuple[Any, ...]:
        return (self.y,) if self.batch == 1 else tuple(self.y)

    @property
    def last(self) -> int:
        """The index of the pass's last step."""
        return len(self.steps) - 1

    @classmethod
    def restore(cls, session_id: str, net: engine.Network | engine.Config, x: np.ndarray,
                y: Any, *,
                lr: float, seed: int, history: Any, loss_history: list[float], cursor: int,
                generation: str, optimizer: Any = None, derived: Any = None) -> Session:
        """A session from its parts, as a store kept them: ``history`` holds the parameters
        (and optimizer state) of every epoch (a list, or a list-like that fetched only some),
        ``derived`` what was computed for the last epoch's parameters, if known."""
        session = cls.__new__(cls)
        session.id, session.net, session.x, session.y = (session_id, engine.as_network(net),
                                                          x, y)
        session.optimizer = _plain(optimizer)
        session.lr, session.seed, session.generation = lr, seed, generation
        session.history, session.loss_history, session.cursor = history, loss_history, cursor
        session._examples, session._passes, session._records = derived or (None, {}, {})
        return session

    # ---------------------------------------------------------------- state
    def replace(self, net: engine.Network | engine.Config, x: np.ndarray, y: Any,
                params: dict[str, np.ndarray], *, lr: float, seed: int,
                optimizer: Any = None) -> None:
        """New example, parameters, lr or optimizer: back to epoch 0, before the first step
        (the optimizer's state starts from zero)."""
        self.net = engine.as_network(net)
        self.optimizer = _plain(optimizer)
        self.x, self.y, self.lr, self.seed = x, y, lr, seed
        self.generation = secrets.token_urlsafe(8)  # new whenever the walk starts over
        start = {name: params[name] for name in self.net.param_names}
        if self.optimizer is not None:
            start.update(self.optimizer.init_state(start))
        self.history: list[dict[str, np.ndarray]] = [start]
        self.loss_history: list[float] = []
        self.cursor = -1
        self._new_epoch()

    def reset(self) -> None:
        """Back to the walk's starting parameters, epoch 0, before the first step."""
        self.replace(self.net, self.x, self.y, self.history[0], lr=self.lr, seed=self.seed,
                     optimizer=self.optimizer)

    @property
    def epoch(self) -> int:
        return len(self.history) - 1

    @property
    def params(self) -> dict[str, np.ndarray]:
        entry = self.history[-1]
        return {name: entry[name] for name in self.net.param_names}

    @property
    def state(self) -> dict[str, np.ndarray]:
        """The optimizer's state before this pass's update (none for gradient descent)."""
        entry = self.history[-1]
        return {name: entry[name] for name in self.state_names}

    @property
    def state_names(self) -> tuple[str, ...]:
        given = engine.given(self.net, self.optimizer)
        return given[2 + len(self.net.param_names):]

    @property
    def max_epochs(self) -> int:
        """The passes this walk may go through: what MAX_KEPT_BYTES holds of its history (an
        optimizer's state costs as much again per name), and for a batch of N examples 1/N
        of that, so that stepping to the last pass computes no more traces than a
        one-example walk's does (a goto runs them all)."""
        kept = epoch_bytes(self.net) * (1 + len(self.state_names) // max(
            1, len(self.net.param_names)))
        return max(1, min(SESSION_MAX_EPOCHS, MAX_KEPT_BYTES // kept - 1) // self.batch)

    def examples(self) -> list[engine.Trace]:
        """Every example's trace of this pass (one for a single image)."""
        if self._examples is None:
            self._examples = engine.walk.traces(self.xs, self.ys, self.params, self.net)
        return self._examples

    def trace(self, example: int = 0) -> engine.Trace:
        """What this pass's steps read, shown for example ``example``."""
        found = self._passes.get(example)
        if found is None:
            found = self._passes[example] = engine.walk.Pass(
                self.examples(), example, self.state, self.epoch + 1, self.optimizer)
        return found

    def record(self, index: int, example: int = 0) -> dict[str, Any]:
        """Step ``index`` of this epoch with its numbers (each computed once per epoch, when
        first asked: a pass's first step does not pay for all the others)."""
        records = self._records.pop(example, None) or [None] * len(self.steps)
        self._records[example] = records  # the most recently shown example last
        while len(self._records) > RECORDS_KEPT:
            del self._records[next(iter(self._records))]  # recomputed if shown again
        found = records[index]
        if found is None:
            found = records[index] = serialize.step_out(self.trace(example), index, self.lr)
        return found

    def records(self, example: int = 0) -> list[dict[str, Any]]:
        """Every step of this epoch with its numbers."""
        return [self.record(i, example) for i in range(len(self.steps))]

    @property
    def derived(self) -> tuple[Any, dict[int, Any], dict[int, Any]]:
        """The traces and step records of this epoch, where computed already."""
        return self._examples, self._passes, self._records

    def _new_epoch(self) -> None:
        self._examples: list[engine.Trace] | None = None
        self._passes: dict[int, engine.Trace] = {}
        self._records: dict[int, list[Any]] = {}

    def check_example(self, example: int) -> int:
        if not 0 <= example < self.batch:
            raise ValueError(f"example must be in [0, {self.batch - 1}] for this walk's batch "
                             f"of {self.batch}, got {example}")
        return example

    def gradients(self) -> dict[str, np.ndarray]:
        """The gradients this pass's update uses, keyed dW1 ...: the example's, or the mean
        of the batch's."""
        t = self.trace()
        return {"d" + p: t[engine.walk.grad_name(p, self.batch)] for p in self.net.param_names}

    def loss(self) -> float:
        """L of this pass: the example's, or the batch's mean."""
        return engine.walk.batch_loss(self.examples())

    def updated(self) -> dict[str, np.ndarray]:
        """The next epoch's entry: the parameters after this pass's update, and the state."""
        if self.optimizer is None:
            return engine.sgd_step(self.params, self.gradients(), self.lr)
        new, state = self.optimizer.apply(self.params, self.gradients(), self.state,
                                          self.epoch + 1, self.lr)
        return {**new, **state}

    # -------------------------------------------------------------- stepping
    def next(self) -> None:
        if self.cursor < self.last:
            self.cursor += 1
            return
        if self.epoch >= self.max_epochs:
            raise EpochLimitError(f"this session keeps at most {self.max_epochs} epochs for this "
                             "config; reset it or start another")
        entry, loss = self.updated(), self.loss()
        self.history.append(entry)
        self.loss_history.append(loss)
        self._new_epoch()
        self.cursor = 0

    def prev(self) -> None:
        if self.cursor > 0 or (self.cursor == 0 and self.epoch == 0):
            self.cursor -= 1
        elif self.cursor == 0:
            self.history.pop()
            self.loss_history.pop()
            self._new_epoch()
            self.cursor = self.last
        else:
            raise AtStartError("already at the start: no step has been computed yet")

    def goto(self, epoch: int, cursor: int) -> None:
        """Step (with next and prev, so exactly as they would) to ``cursor`` of ``epoch``.
        Both are checked before anything moves: an epoch beyond the session's cap, a cursor
        outside [-1, last] and cursor -1 after epoch 0 (next from the last step applies the
        update and computes the new pass's first step at once) are ValueErrors."""
        if not -1 <= cursor <= self.last:
            raise ValueError(f"cursor must be in [-1, {self.last}], got {cursor}")
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
        return engine.known(self.cursor, self.net, self.batch, self.optimizer)

    # --------------------------------------------------------------- views
    def written(self, index: int, example: int = 0) -> np.ndarray:
        """What step ``index`` wrote: a tensor, or for an update step the new parameter."""
        return engine.step_value(self.trace(example), index, self.lr)

    def update(self, index: int) -> dict[str, Any] | None:
        """For an update step: the parameter before, the change and after (by gradient
        descent the change is -lr * gradient), and for momentum or Adam the state it keeps,
        before and after; the last update step adds the loss on the example (the batch's
        mean) before and after every one."""
        step = self.steps[index]
        if step.phase != "update":
            return None
        trace, name = self.trace(), step.writes
        grad = trace[step.reads[1]]
        before = trace[name]
        state: dict[str, Any] = {}
        if self.optimizer is None:
            change = -self.lr * grad
            after = self.written(index)
        else:
            details = self.optimizer.details(name, grad, trace, self.epoch + 1, self.lr)
            after = details["after"]
            change = details["change"]
            state = {k: v for k, v in details.items() if k not in ("change", "after")}
        together = np.concatenate([np.ravel(before), np.ravel(change), np.ravel(after)])
        out: dict[str, Any] = {"name": name, "before": before, "change": change,
                               "after": after,
                               "range": serialize.ranges({name: together}, self.net)[name]}
        if state:
            out["state"] = state
            out["t"] = self.epoch + 1
        if index == self.last:
            entry = self.updated()
            new = {p: entry[p] for p in self.net.param_names}
            out["loss_before"] = self.loss()
            out["loss_after"] = engine.walk.batch_loss(
                engine.walk.traces(self.xs, self.ys, new, self.net))
        return out

    def average(self, index: int) -> dict[str, Any] | None:
        """For a batch's averaging step: every example's gradient and their mean."""
        step = self.steps[index]
        if not step.writes.startswith(engine.walk.MEAN):
            return None
        name = step.reads[0]
        per_example = [t[name] for t in self.examples()]
        mean = self.trace()[step.writes]
        together = np.concatenate([*(np.ravel(g) for g in per_example), np.ravel(mean)])
        return {"name": name, "per_example": per_example, "mean": mean,
                "range": serialize.ranges({name: together}, self.net)[name]}

    def _walk_fields(self, example: int, index: int | None = None) -> dict[str, Any]:
        """What a batch or an optimizer adds to a view or a move (a walk of one example by
        gradient descent answers as it always did: the schema's defaults say the rest)."""
        out: dict[str, Any] = {}
        if self.batch > 1:
            out.update(batch=self.batch, example=example,
                       average=None if index is None or index < 0 else self.average(index))
        if self.optimizer is not None:
            out["optimizer"] = self.optimizer.to_dict()
        return out

    def move(self, example: int = 0) -> dict[str, Any]:
        """The current step and only what it adds: ``{cursor, epoch, step, tensor,
        known, reveals, ranges, update}`` -- the value it wrote, the names of every tensor of
        the pass now known, the tensors it makes known (with their colour ranges) and, for an
        update step, the update (for an averaging step, ``average``). For a batch, the
        per-example tensors are example ``example``'s."""
        example = self.check_example(example)
        if self.cursor < 0:
            return {"cursor": -1, "epoch": self.epoch, "step": None, "tensor": None,
                    "known": list(engine.given(self.net, self.optimizer)), "reveals": {},
                    "ranges": {}, "marks": {}, "update": None,
                    **self._walk_fields(example)}
        trace = self.trace(example)
        reveals = {name: trace[name] for name in self.steps[self.cursor].reveals}
        known = self.known()
        return {"cursor": self.cursor, "epoch": self.epoch,
                "step": self.record(self.cursor, example),
                "tensor": self.written(self.cursor, example),
                "known": list(known), "reveals": reveals,
                "ranges": serialize.view_ranges(reveals, self.net),
                "marks": serialize.marks(trace, known), "update": self.update(self.cursor),
                **self._walk_fields(example, self.cursor)}

    def provenance(self, name: str, index: tuple[int, ...], example: int = 0
                   ) -> dict[str, Any]:
        """The cells behind ``name[index]``; NotReachedError for a tensor not shown yet,
        ValueError for one without sources or an index outside it."""
        titles = engine.titles(self.net, self.batch)
        if name not in titles:
            raise ValueError(f"unknown tensor {name!r}; known: {', '.join(titles)}")
        if name not in self.known():
            raise NotReachedError(f"{name} is not computed yet: the walk is at step "
                                  f"{self.cursor + 1} of {self.last + 1}")
        return serialize.provenance_out(self.trace(example), name, index)

    def provenance_cells(self, name: str, example: int = 0) -> dict[str, Any]:
        """Provenance of a tensor's cells in row-major order, as many as fit in
        PROVENANCE_BATCH source cells: ``{tensor, cells, complete}``. Refused as
        :meth:`provenance` is."""
        shape = self.net.shapes()[name]
        cells, used = [], 0
        for index in np.ndindex(shape):
            found = self.provenance(name, tuple(int(i) for i in index), example)
            used += 1 + sum(len(v) for v in found["sources"].values())
            if used > PROVENANCE_BATCH and cells:
                return {"tensor": name, "cells": cells, "complete": False}
            cells.append(found)
        return {"tensor": name, "cells": cells, "complete": True}

    def gradients_reached(self) -> tuple[str, ...]:
        """The parameters' gradients the walk has shown (dW2 db2 from their steps on)."""
        known = self.known()
        return tuple(f"d{p}" for p in self.net.param_names if f"d{p}" in known)

    def gradcheck_input(self) -> GradcheckInput:
        """What a gradient check of this walk needs, to run away from the session."""
        return GradcheckInput(self.xs[0], self.ys[0], self.params, self.net, self.epoch,
                              self.cursor, self.gradients_reached())

    def view(self, example: int = 0) -> dict[str, Any]:
        """Everything computed so far, and nothing beyond the cursor (for a batch, example
        ``example``'s tensors; every example's at an averaging step)."""
        example = self.check_example(example)
        p = self.params
        tensors: dict[str, Any] = {"X": self.xs[example], "Y": np.asarray(self.ys[example]),
                                   **p, **self.state}
        updated: dict[str, Any] = {}
        steps = list(_hidden_steps(self.net, self.batch, self.optimizer))
        known = self.known()
        if self.cursor >= 0:
            trace = self.trace(example)
            for name in known[len(engine.given(self.net, self.optimizer)):]:
                tensors[name] = trace[name]
            for i in range(self.cursor + 1):
                if self.steps[i].phase == "update":
                    updated[self.steps[i].writes] = self.written(i)
                steps[i] = self.record(i, example)
        return {
            "id": self.id, **serialize.described(self.net), "lr": self.lr,
            "seed": self.seed, **self._walk_fields(example, self.cursor),
            "epoch": self.epoch, "cursor": self.cursor, "known": list(known),
            "step": steps[self.cursor] if self.cursor >= 0 else None, "steps": steps,
            "tensors": tensors, "updated": updated, "params": p,
            "ranges": serialize.view_ranges(tensors, self.net),
            "winners": serialize.winners(self.trace(example)) if "P1" in tensors else None,
            "marks": serialize.marks(self.trace(example), known) if self.cursor >= 0 else {},
            "loss_history": self.loss_history,
            "update": self.update(self.cursor) if self.cursor >= 0 else None,
        }


@functools.lru_cache(maxsize=256)
def _hidden_steps(net: engine.Network, batch: int = 1, optimizer: Any = None
                  ) -> tuple[dict[str, Any], ...]:
    """The step records of steps not reached yet: formulas, but no numbers."""
    return tuple({**s, "latex_numbers": None, "mathml_numbers": None}
                 for s in serialize.step_outlines(net, batch, optimizer))


def _plain(optimizer: Any) -> Any:
    """None for gradient descent (its steps are the walk's as they always were)."""
    if optimizer is None or optimizer.type == "sgd":
        return None
    return optimizer


@dataclass(frozen=True)
class GradcheckInput:
    """A walk's example, parameters and position, taken at one moment (the arrays are never
    changed in place, so sharing them is safe)."""

    x: np.ndarray
    y: float
    params: dict[str, np.ndarray]
    net: engine.Network
    epoch: int
    cursor: int
    reached: tuple[str, ...]


def create(body: schemas.SessionCreate) -> Session:
    net = convert.network_or_config(body)
    if body.x is None:
        x, _ = engine.preset("vertical_stroke", net.input_size)
        if isinstance(body.y, list):
            x = np.stack([x] * len(body.y))
    else:
        x = convert.images(body.x, net)
    y = convert.labels(body.y, net, x)
    params = convert.params_or_init(body.params, net, body.seed)
    return Session(net, x, y, params, lr=body.lr, seed=body.seed,
                   optimizer=convert.optimizer_of(body.optimizer))


def edit(session: Session, body: schemas.SessionPatch) -> None:
    """Apply a PATCH: everything is checked before anything changes."""
    if body.config is None and body.network is None:
        net = session.net
    else:
        net = convert.network_or_config(body)
    seed = session.seed if body.seed is None else body.seed
    if body.x is not None:
        x = convert.images(body.x, net)
    elif net.input_size != session.net.input_size:
        x, _ = engine.preset("vertical_stroke", net.input_size)
        if session.batch > 1:
            x = np.stack([x] * session.batch)
    else:
        x = session.x
    redraw = net != session.net or body.seed is not None
    given = ({} if body.params is None else
             convert.params_of(body.params.model_dump(exclude_none=True), net))
    base = engine.init_params(net, seed) if redraw else session.params
    if body.y is not None:
        y = convert.labels(body.y, net, x)
    elif (1 if np.ndim(x) == 2 else len(x)) != session.batch:
        raise convert.InputError(("body", "y"), "a new batch needs its labels: give y")
    elif session.batch == 1:
        y = session.y if _fits(session.y, net) else 1.0
    else:
        y = tuple(v if _fits(v, net) else 1.0 for v in session.ys)
    optimizer = session.optimizer if body.optimizer is None else convert.optimizer_of(
        body.optimizer)
    session.replace(net, x, y, {**base, **given},
                    lr=session.lr if body.lr is None else body.lr, seed=seed,
                    optimizer=optimizer)


def _fits(y: float, net: engine.Network) -> bool:
    try:
        engine.check_y(y, net)
    except ValueError:
        return False
    return True
