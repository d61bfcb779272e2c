"""Compare mode: two walks in lockstep, differing in one switch (or typed by hand).

A comparison holds two sessions (:mod:`app.sessions`) and walks them together over the
positions :func:`engine.compare.align` pairs their steps into: at position p each walk is at
the last of its own steps among positions 0 … p (a step only one network has moves that walk
alone, the other waits on what it showed last). After the last position both apply their
update and start their next pass together, so both are always at the same epoch. Each move
answers with both walk views, the cells where the tensors known to both differ, and the
engine's sentence on what the switch changed at this step.
"""

from __future__ import annotations

import functools
import secrets
from typing import Any

import engine
from engine import compare as contrast

from . import schemas, sessions
from .errors import ConflictError, InputError, ManyInputsError


class AtStartError(ConflictError):
    """prev before the first step of epoch 0."""


class Comparison:
    def __init__(self, a: sessions.Session, b: sessions.Session, switch: str | None) -> None:
        self.id = secrets.token_urlsafe(16)
        self.a, self.b, self.switch = a, b, switch
        self.position = -1

    @classmethod
    def restore(cls, comparison_id: str, a: sessions.Session, b: sessions.Session,
                switch: str | None, position: int) -> Comparison:
        c = cls.__new__(cls)
        c.id, c.a, c.b, c.switch, c.position = comparison_id, a, b, switch, position
        return c

    # ------------------------------------------------------------------ where
    @property
    def positions(self) -> tuple[tuple[int | None, int | None], ...]:
        return _aligned(self.a.net, self.a.batch, self.a.optimizer,
                        self.b.net, self.b.batch, self.b.optimizer)

    @property
    def last(self) -> int:
        return len(self.positions) - 1

    @property
    def epoch(self) -> int:
        return self.a.epoch

    def cursors(self, position: int) -> tuple[int, int]:
        """Each walk's cursor at ``position``: its last step among positions 0 … position."""
        ca = cb = -1
        for i, j in self.positions[:position + 1]:
            ca = ca if i is None else i
            cb = cb if j is None else j
        return ca, cb

    def _place(self, epoch: int, position: int) -> None:
        ca, cb = self.cursors(position)
        # a pass after the first starts at its first step (see Session.goto)
        self.a.goto(epoch, max(ca, 0) if epoch else ca)
        self.b.goto(epoch, max(cb, 0) if epoch else cb)
        self.position = position

    # ----------------------------------------------------------------- moving
    def next(self) -> None:
        if self.position < self.last:
            self._place(self.epoch, self.position + 1)
            return
        limit = min(self.a.max_epochs, self.b.max_epochs)
        if self.epoch >= limit:
            raise sessions.EpochLimitError(
                f"this comparison keeps at most {limit} epochs; reset it or start another")
        self._place(self.epoch + 1, 0)

    def prev(self) -> None:
        if self.position > 0 or (self.position == 0 and self.epoch == 0):
            self._place(self.epoch, self.position - 1)
        elif self.position == 0:
            self._place(self.epoch - 1, self.last)
        else:
            raise AtStartError("already at the start: no step has been computed yet")

    def goto(self, epoch: int, position: int) -> None:
        if not -1 <= position <= self.last:
            raise ValueError(f"position must be in [-1, {self.last}], got {position}")
        limit = min(self.a.max_epochs, self.b.max_epochs)
        if not 0 <= epoch <= limit:
            raise ValueError(f"epoch must be in [0, {limit}] for these walks, got {epoch}")
        if epoch > 0 and position < 0:
            raise ValueError("a pass after the first starts at its first step: position 0")
        self._place(epoch, position)

    def reset(self) -> None:
        self.a.reset()
        self.b.reset()
        self.position = -1

    # ------------------------------------------------------------------ views
    def explain(self) -> str:
        if self.position < 0:
            if self.switch is None:
                return "Two networks side by side: step both to see where they part."
            about = contrast.SWITCHES[self.switch]
            return f"{about['title']}: {about['description']}"
        i, j = self.positions[self.position]
        step_a = None if i is None else self.a.steps[i]
        step_b = None if j is None else self.b.steps[j]
        if self.switch is not None:
            return _explained(self.switch, i, j, self.a.net, self.a.batch, self.a.optimizer,
                              self.b.net, self.b.batch, self.b.optimizer)
        if step_a is None or step_b is None:
            which, step = ("a", step_a) if step_b is None else ("b", step_b)
            return f"Only network {which} has this step: it computes {step.writes}."
        return f"Both networks compute {step_a.writes}; the marked cells are where they differ."

    def differs(self, a: dict[str, Any], b: dict[str, Any]) -> dict[str, Any]:
        """Per tensor known to both walks (and each update's new parameter), the cells
        where they differ; ``"shape"`` where the two tensors are not alike."""
        names = [n for n in a["tensors"] if n in b["tensors"]]
        out = contrast.differs(a["tensors"], b["tensors"], names)
        updated = [n for n in a["updated"] if n in b["updated"]]
        for name, cells in contrast.differs(a["updated"], b["updated"], updated).items():
            out[f"new {name}"] = cells
        return out

    def move(self, example: int = 0) -> dict[str, Any]:
        """What a move adds, as a walk's move says it (:meth:`app.sessions.Session.move`)
        for each walk: ``moved`` says which of them took a step at this position (the other
        waits on what it showed last); ``differs`` covers the tensors this position reveals
        and, at an update, the new parameter."""
        a = self.a.move(min(example, self.a.batch - 1))
        b = self.b.move(min(example, self.b.batch - 1))
        pair = self.positions[self.position] if self.position >= 0 else (None, None)
        shown_a = {**a["reveals"], **({f"new {a['update']['name']}": a["update"]["after"]}
                                      if a["update"] else {})}
        shown_b = {**b["reveals"], **({f"new {b['update']['name']}": b["update"]["after"]}
                                      if b["update"] else {})}
        names = [n for n in shown_a if n in shown_b]
        return {"id": self.id, "switch": self.switch, "position": self.position,
                "epoch": self.epoch, "moved": [pair[0] is not None, pair[1] is not None],
                "a": a, "b": b, "differs": contrast.differs(shown_a, shown_b, names),
                "explain": self.explain()}

    def view(self, example: int = 0) -> dict[str, Any]:
        """Both walks' views (for a batch, example ``example``'s tensors where a walk has
        it; example 0 in a walk of one), the cells that differ and the sentence."""
        a = self.a.view(min(example, self.a.batch - 1))
        b = self.b.view(min(example, self.b.batch - 1))
        return {"id": self.id, "switch": self.switch, "position": self.position,
                "positions": [list(p) for p in self.positions], "epoch": self.epoch,
                "a": a, "b": b, "differs": self.differs(a, b), "explain": self.explain()}


@functools.lru_cache(maxsize=256)
def _aligned(net_a: engine.Network, batch_a: int, opt_a: Any, net_b: engine.Network,
             batch_b: int, opt_b: Any) -> tuple[tuple[int | None, int | None], ...]:
    pairs = contrast.align(engine.steps_for(net_a, batch_a, opt_a),
                           engine.steps_for(net_b, batch_b, opt_b), net_a, net_b)
    return tuple((i, j) for i, j in pairs)


@functools.lru_cache(maxsize=1024)
def _explained(switch: str, i: int | None, j: int | None, net_a: engine.Network, batch_a: int,
               opt_a: Any, net_b: engine.Network, batch_b: int, opt_b: Any) -> str:
    """The engine's sentence for a pair of steps: it depends on the steps and the networks
    only, so each is made once."""
    step_a = None if i is None else engine.steps_for(net_a, batch_a, opt_a)[i]
    step_b = None if j is None else engine.steps_for(net_b, batch_b, opt_b)[j]
    return contrast.explain(switch, step_a, step_b, net_a, net_b)


def _walk(body: dict[str, Any], loc: tuple[str | int, ...]) -> schemas.SessionCreate:
    """A walk's body, checked as POST /api/sessions checks it, its errors at ``loc``."""
    from pydantic import ValidationError
    try:
        return schemas.SessionCreate.model_validate(body)
    except ValidationError as exc:
        raise ManyInputsError([InputError((*loc, *e["loc"]), e["msg"])
                               for e in exc.errors()]) from None


def _session(body: schemas.SessionCreate, loc: tuple[str | int, ...]) -> sessions.Session:
    """The walk of one side, its errors (one, or a network's every problem) at ``loc``."""
    try:
        return sessions.create(body)
    except InputError as exc:
        raise InputError((*loc, *exc.loc[1:]), exc.msg) from None
    except ManyInputsError as exc:
        raise ManyInputsError([InputError((*loc, *e.loc[1:]), e.msg)
                               for e in exc.errors]) from None


def create(body: schemas.CompareCreate) -> Comparison:
    """From ``{a, b}`` (b's parameters, where not given, are a's wherever the two networks
    have one of the same name and shape) or ``{base, switch}``."""
    if body.switch is not None:
        if body.base is None or body.a is not None or body.b is not None:
            raise InputError(("body", "base"), "a switch takes a base walk (and no a or b)")
        a = _session(body.base, ("body", "base"))  # the base's own errors first
        base = body.base.model_dump(exclude_unset=True, mode="json")
        try:
            made = contrast.switch(base, body.switch)
        except contrast.SwitchError as exc:
            raise InputError(("body", "switch"), str(exc)) from None
        b = _session(_walk(made, ("body", "switch")), ("body", "switch"))
        return Comparison(a, b, body.switch)
    if body.a is None or body.b is None or body.base is not None:
        raise InputError(("body",), "give a and b, or base and switch")
    a = _session(body.a, ("body", "a"))
    b = _session(body.b, ("body", "b"))
    if body.b.params is None:
        shared = contrast.shared_params(a.params, a.net, b.net, b.seed)
        b.replace(b.net, b.x, b.y, shared, lr=b.lr, seed=b.seed, optimizer=b.optimizer)
    return Comparison(a, b, None)


def check_position(c: Comparison, position: int) -> None:
    if position > c.last:
        raise InputError(("body", "position"), (
            f"position must be in [-1, {c.last}] for these two walks, got {position}"))


