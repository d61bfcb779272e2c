"""What each slide of a lesson shows, computed once when the lesson is loaded.

The engine traces the lesson's example, takes one step of gradient descent and traces the
example again with the new parameters; every slide then gets its panels (the tensors the
step reads, then the one it writes, with colour ranges), its formula and the same formula
with the numbers as MathML, and its words. The result is one JSON document that the
presenter's and the audience's pages fetch once; afterwards only the room's position moves
over the socket.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import engine

from .. import serialize
from ..mathml import static_mathml, to_mathml
from .lesson import TENSOR_NAMES, Lesson, Slide

LABELS = {
    "X": "input X", "Y": "label Y", "W1": "filter W1", "b1": "bias b1", "Z1": "conv Z1",
    "A1": "ReLU A1", "P1": "max-pool P1", "F": "flatten F", "W2": "dense W2", "b2": "bias b2",
    "Z2": "logit Z2", "A2": "σ A2", "L": "loss L", "dX": "saliency dX",
}
VERTICAL = frozenset({"F", "dF"})  # vectors drawn as a column, as on the explorer page
WINNER_MARKS = frozenset({"A1", "dA1", "dZ1"})  # where max-pool's winners are outlined
POOL_STEP = next(i for i, s in enumerate(engine.STEPS) if s.writes == "P1")


def card_range(name: str, value: float) -> dict[str, object]:
    """A single number's colour yardstick: a probability against [0, 1], the loss against
    [0, max(1, L)], anything else against ±max(1, |v|)."""
    if name in ("A2", "Y"):
        return {"min": 0.0, "max": 1.0, "scale": "sequential"}
    if name == "L":
        return {"min": 0.0, "max": max(1.0, value), "scale": "sequential"}
    top = max(1.0, abs(value)) if np.isfinite(value) else 1.0
    return {"min": -top, "max": top, "scale": "diverging"}


def _value(array: object) -> object:
    """A tensor as JSON: nested lists, a single number for a scalar or a one-element vector."""
    a = np.asarray(array, dtype=np.float64)
    if a.size == 1:
        v = float(a.reshape(()))
        return v if np.isfinite(v) else None
    return a.tolist()


class _Builder:
    def __init__(self, lesson: Lesson) -> None:
        self.lesson = lesson
        self.t = engine.trace(lesson.x, lesson.y, lesson.params, lesson.config)
        self.records = engine.step_records(self.t, lesson.lr)
        self.new = engine.sgd_step(lesson.params, self.t, lesson.lr)
        self.t2 = engine.trace(lesson.x, lesson.y, self.new, lesson.config)
        tensors = {name: self.t[name] for name in TENSOR_NAMES}
        self.ranges = serialize.ranges(tensors)
        self.winners = engine.winners(self.t).reshape(-1, 3).tolist()

    def panel(self, name: str, role: str, *, value: object = None, label: str | None = None,
              key: str | None = None, range_: dict[str, object] | None = None
              ) -> dict[str, Any]:
        array = self.t[name] if value is None else value
        shown = _value(array)
        if range_ is None:
            range_ = (card_range(name, shown if isinstance(shown, float) else np.nan)
                      if not isinstance(shown, list) else self.ranges[name])
        marks = ([{"index": w, "kind": "focus"} for w in self.winners]
                 if name in WINNER_MARKS and key is None else [])
        return {"key": key or name, "name": name, "label": label or LABELS.get(name, name),
                "role": role, "value": shown, "range": range_, "vertical": name in VERTICAL,
                "marks": marks}

    def slide(self, index: int, slide: Slide) -> dict[str, Any]:
        out: dict[str, Any] = {
            "index": index, "kind": slide.kind, "name": slide.name, "title": slide.title,
            "narration": slide.narration, "notes": slide.notes, "predict": slide.predict,
            "reveal": slide.reveal, "formulas": [], "numbers": None, "summary": None,
            "panels": []}
        if slide.kind == "step":
            self.step_slide(out, slide)
        elif slide.kind == "intro":
            out["phase"] = "intro"
            out["formulas"] = [static_mathml(latex) for latex in slide.formula]
            out["panels"] = [self.panel(name, "shows") for name in slide.show or ()]
        else:
            self.after_slide(out)
        return out

    def step_slide(self, out: dict[str, Any], slide: Slide) -> None:
        assert slide.step is not None
        step = engine.STEPS[slide.step]
        record = self.records[slide.step]
        out["phase"] = step.phase
        out["formulas"] = [static_mathml(step.latex)]
        numbers = record["latex_numbers"]
        out["numbers"] = None if numbers is None else to_mathml(numbers)
        reads = slide.show if slide.show is not None else step.reads
        if step.phase == "update":
            name = step.writes
            new = engine.step_value(self.t, slide.step, self.lesson.lr)
            top = max(float(np.max(np.abs(self.t[name]))), float(np.max(np.abs(new))), 1e-12)
            shared = {"min": -top, "max": top, "scale": "diverging"}
            panels = [self.panel(r, "reads", range_=shared if r == name else None)
                      for r in reads]
            panels.append(self.panel(name, "writes", value=new, key=f"new-{name}",
                                     label=f"new {name}", range_=shared))
        else:
            panels = [self.panel(r, "reads") for r in reads if r != step.writes]
            panels.append(self.panel(step.writes, "writes"))
        if slide.step < POOL_STEP:  # the winners are not known before max-pool
            for panel in panels:
                panel["marks"] = []
        out["panels"] = panels

    def after_slide(self, out: dict[str, Any]) -> None:
        before, after = float(self.t["L"]), float(self.t2["L"])
        a_before, a_after = float(self.t["A2"]), float(self.t2["A2"])
        loss_step = next(i for i, s in enumerate(engine.STEPS) if s.writes == "L")
        latex = engine.STEPS[loss_step].latex
        numbers = engine.STEPS[loss_step].numbers(self.t2, self.lesson.lr)
        loss_range = {"min": 0.0, "max": max(1.0, before, after), "scale": "sequential"}
        prob = card_range("A2", a_before)
        out["phase"] = "after"
        out["formulas"] = [static_mathml(latex)]
        out["numbers"] = None if numbers is None else to_mathml(numbers)
        out["panels"] = [
            self.panel("A2", "reads", label="A2 before", range_=prob),
            self.panel("L", "reads", label="L before", range_=loss_range),
            self.panel("A2", "writes", value=self.t2["A2"], key="A2-after", label="A2 after",
                       range_=prob),
            self.panel("L", "writes", value=self.t2["L"], key="L-after", label="L after",
                       range_=loss_range),
        ]
        out["summary"] = {"loss_before": before, "loss_after": after,
                          "a2_before": a_before, "a2_after": a_after}


def lesson_payload(lesson: Lesson) -> dict[str, Any]:
    """Everything the pages draw, speaker notes included (strip them for the audience)."""
    b = _Builder(lesson)
    return {
        "title": lesson.title, "config": serialize.config_out(lesson.config),
        "lr": lesson.lr, "y": lesson.y,
        "slides": [b.slide(i, s) for i, s in enumerate(lesson.slides)],
        "beats": [[slide, revealed] for slide, revealed in lesson.beats],
    }


def audience_payload(payload: dict[str, Any]) -> dict[str, Any]:
    """The payload without speaker notes."""
    return {**payload, "slides": [{**s, "notes": ""} for s in payload["slides"]]}
