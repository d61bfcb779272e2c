"""A contrast slide: the lesson's example through two networks in lockstep, shown at one step.

The two walks are a comparison of compare mode (:mod:`app.compare`): the lesson's own walk
and the one a switch makes of it (``switch = "pool"``, a name of
:data:`engine.compare.SWITCHES`), or two networks written out (``[slide.b]``, and
``[slide.a]`` when the left one is not the lesson's). The slide stands at the first
position of the comparison where either walk computes ``step``; a walk without that step
waits on what it showed last, and its side says so. Each side draws the tensors its step
reads and writes, exactly as the comparison's view holds them (nothing past its cursor), on
a colour range shared by the two sides; the cells where the two differ are outlined, and
the engine's sentence says what the switch changed and why.

With ``hide_labels`` the sides are "Left" and "Right" until the answer beat: no network's
name, no formula, no max-pool winners and no sentence before it, so that the room can be
asked which side is which.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import engine
from engine import compare as engine_compare

from .. import compare, schemas, serialize
from ..errors import InputError

SIDES = ("a", "b")
PLACES = {"a": "Left", "b": "Right"}  # what a side is called while its label is hidden


@dataclass(frozen=True)
class Contrast:
    """What a contrast slide compares: at ``step``, the lesson's walk and its ``switch``,
    or the networks ``a`` (None: the lesson's) and ``b`` (JSON text of their specs)."""

    step: str
    switch: str | None = None
    a: str | None = None
    b: str | None = None
    hide_labels: bool = False

    def networks(self) -> dict[str, Any]:
        return {side: json.loads(spec) for side, spec in (("a", self.a), ("b", self.b))
                if spec is not None}


class ContrastError(ValueError):
    """The contrast cannot be made; ``key`` is the slide's key it is about."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def walk_body(net: engine.Network, x: np.ndarray, y: int, params: Mapping[str, np.ndarray],
              lr: float, optimizer: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The lesson's walk as ``POST /api/sessions`` takes it."""
    body: dict[str, Any] = {"network": net.to_dict(), "x": np.asarray(x).tolist(), "y": y,
                            "params": {k: np.asarray(v).tolist() for k, v in params.items()},
                            "lr": lr}
    if optimizer is not None:
        body["optimizer"] = dict(optimizer)
    return body


def comparison(base: Mapping[str, Any], contrast: Contrast) -> compare.Comparison:
    """The two walks, by compare mode's own rules (``switch``: walk b is the switched base;
    two networks: b takes a's parameters wherever they have one of the same name and shape,
    and a written-out a takes the lesson's so)."""
    if contrast.switch is not None:
        request: dict[str, Any] = {"base": dict(base), "switch": contrast.switch}
    else:
        nets = contrast.networks()
        a = dict(base)
        if "a" in nets:
            try:
                own = engine.network(nets["a"])
            except engine.NetworkError as exc:
                raise ContrastError("a", f"network: {exc}") from None
            shared = engine_compare.shared_params(base["params"], base["network"], own,
                                                  engine.DEFAULT_SEED)
            a.update(network=nets["a"], params={k: v.tolist() for k, v in shared.items()})
        request = {"a": a, "b": {**base, "network": nets["b"], "params": None}}
    from pydantic import ValidationError
    try:
        return compare.create(schemas.CompareCreate.model_validate(request))
    except ValidationError as exc:
        first = exc.errors()[0]
        where = [str(p) for p in first["loc"]]
        key = where[0] if where and where[0] in SIDES else "switch"
        raise ContrastError(key, f"{'.'.join(where[1:]) or key}: {first['msg']}") from None
    except InputError as exc:
        key = next((str(p) for p in exc.loc if p in (*SIDES, "switch")), "switch")
        raise ContrastError(key, exc.msg) from None


def position(c: compare.Comparison, step: str) -> int | None:
    """The first position where both walks compute ``step``, else where either does."""
    steps = {"a": c.a.steps, "b": c.b.steps}

    def writes(side: str, index: int | None) -> bool:
        return index is not None and steps[side][index].writes == step

    both = [p for p, (i, j) in enumerate(c.positions) if writes("a", i) and writes("b", j)]
    either = [p for p, (i, j) in enumerate(c.positions) if writes("a", i) or writes("b", j)]
    found = both or either
    return found[0] if found else None


def labels(c: compare.Comparison) -> dict[str, str]:
    """What tells the two walks apart, in a few words each: the layers they do not share,
    else their optimizers, else how many examples a pass takes."""
    words = {"a": str(c.a.net).split(" → "), "b": str(c.b.net).split(" → ")}
    own = {side: [w for w in words[side] if w not in words[other]]
           for side, other in (("a", "b"), ("b", "a"))}
    if own["a"] or own["b"]:
        return {side: " → ".join(own[side]) or "without it" for side in SIDES}
    walks = {"a": c.a, "b": c.b}
    kinds = {side: str(walks[side].optimizer or "SGD") for side in SIDES}
    if kinds["a"] != kinds["b"]:
        return kinds
    return {side: ("one example" if walks[side].batch == 1
                   else f"a batch of {walks[side].batch}") for side in SIDES}


def _value(array: object) -> object:
    a = np.asarray(array, dtype=np.float64)
    if a.size == 1 and a.ndim <= 1:
        v = float(a.reshape(()))
        return v if np.isfinite(v) else None
    return a.tolist()


def _shared_ranges(views: Mapping[str, Mapping[str, Any]]) -> dict[str, dict[str, Any]]:
    """One colour range per tensor for both sides (each side's range where only it has the
    tensor, or the two disagree on the scale): equal colours mean equal numbers."""
    out: dict[str, dict[str, Any]] = {}
    ra, rb = views["a"]["ranges"], views["b"]["ranges"]
    for name in {*ra, *rb}:
        if name in ra and name in rb and ra[name]["scale"] == rb[name]["scale"]:
            out[name] = {"min": min(ra[name]["min"], rb[name]["min"]),
                         "max": max(ra[name]["max"], rb[name]["max"]),
                         "scale": ra[name]["scale"]}
    return out


def build(c: compare.Comparison, contrast: Contrast, position_: int) -> dict[str, Any]:
    """The slide's two sides at ``position_`` (the comparison is moved there), each with
    its label, step and panels; the cells that differ; the engine's sentence."""
    c.goto(0, position_)
    view = c.view()
    i, j = c.positions[position_]
    cursors = dict(zip(SIDES, c.cursors(position_)))
    views = {"a": view["a"], "b": view["b"]}
    walks = {"a": c.a, "b": c.b}
    named = labels(c)
    shared = _shared_ranges(views)
    differs = view["differs"]
    sides = []
    for side, index in (("a", i), ("b", j)):
        walk, seen = walks[side], views[side]
        at = index if index is not None else cursors[side]
        step = walk.steps[at] if at >= 0 else None
        names = [] if step is None else [r for r in step.reads if r != step.writes] + [
            step.writes]
        panels = []
        for name in names:
            if name not in seen["tensors"]:
                continue
            value = _value(seen["tensors"][name])
            cells = differs.get(name, [])
            range_ = (shared.get(name) or seen["ranges"].get(name)
                      or serialize.card_range(name, float(np.ravel(value)[0]), walk.net))
            won = (seen.get("marks") or {}).get(name, {}).get("winners")
            winners = [] if not won else [{"index": w, "kind": "focus"}
                                          for w in np.asarray(won).reshape(-1, 3).tolist()]
            panels.append({
                "key": f"{side}-{name}", "name": name, "role": "writes" if step and (
                    name == step.writes) else "reads",
                "value": value, "range": range_, "vertical": name in ("F", "dF"),
                "shape": list(np.shape(seen["tensors"][name])),
                "differs": [] if cells == "shape" else [list(cell) for cell in cells],
                "other_shape": cells == "shape", "winners": winners})
        waiting = index is None
        sides.append({
            "side": side, "place": PLACES[side], "label": named[side],
            "network": str(walk.net), "step": step.writes if step else None,
            "waits": waiting, "formula": None if step is None else step.latex,
            "panels": panels})
    return {"sides": sides, "explain": view["explain"], "position": position_,
            "cursors": cursors, "switch": contrast.switch}


def side_view(side: dict[str, Any], *, revealed: bool, hide: bool, step: str
              ) -> dict[str, Any]:
    """One side as a beat shows it: its label once ``revealed`` (or never hidden)."""
    open_ = revealed or not hide
    place = side["place"]
    title = f"{place}: {side['label']}" if open_ else place
    note = ""
    if side["waits"]:
        shown = f"still at {side['step']}" if side["step"] else "before its first step"
        note = f"No {step} step here: this network waits, {shown}."
    panels = []
    for p in side["panels"]:
        marks = [{"index": cell, "kind": "source"} for cell in p["differs"]]
        if open_:
            marks += p["winners"]
        count = len(p["differs"])
        if p["other_shape"]:
            differ = "another shape on the other side"
        elif count:
            differ = f"{count} cell{'s' if count != 1 else ''} differ"
        else:
            differ = "the same on both sides"
        panels.append({
            "key": p["key"], "name": p["name"], "label": f"{place} {p['name']}",
            "role": p["role"], "value": p["value"], "range": p["range"],
            "vertical": p["vertical"], "shape": p["shape"], "hidden": False,
            "marks": marks, "differ": differ})
    return {"side": side["side"], "title": title, "network": side["network"] if open_ else "",
            "note": note, "panels": panels}
