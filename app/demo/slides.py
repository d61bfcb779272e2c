"""What each beat of a lesson shows, computed once when the lesson is loaded.

The engine traces the lesson's example, takes one step of gradient descent and traces the
example again with the new parameters; every slide then gets its panels (the tensors the
step reads, then the one it writes, with colour ranges), its formula and the same formula
with the numbers as MathML, and its words.

A lesson is a walk, as on the explorer page: each beat has a *cursor* over
:data:`engine.STEPS` (the last step it has shown), and what a beat may show is what
:func:`engine.known` says the walk has revealed by then — nothing else. A step slide's
question beat stands one step before its answer beat; the loss-after slide answers in the
second pass (cursor :data:`AFTER`). Each beat becomes one *view*: the slide as shown at that
beat, with every panel, number line, mark and answer that is not yet known left out (a
hidden panel keeps only its name and shape, drawn as "?"). The audience receives exactly
these views, one at a time, as the room reaches them; the presenter's views add the speaker
notes and the coming answer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import engine
from engine.steps import idx, num

from .. import serialize
from ..mathml import static_mathml, to_mathml
from .lesson import TENSOR_NAMES, Lesson, Slide
from .walk import AFTER, first_known, slide_cursors

LABELS = {
    "X": "input X", "Y": "label Y", "W1": "filter W1", "b1": "bias b1", "Z1": "conv Z1",
    "A1": "ReLU A1", "P1": "max-pool P1", "F": "flatten F", "W2": "dense W2", "b2": "bias b2",
    "Z2": "logit Z2", "A2": "σ A2", "L": "loss L", "dX": "saliency dX",
}
# Sums of products a chosen cell can be worked out as: the tensor written, the two factor
# tensors whose cells engine.provenance lists pairwise, and what is added after the sum.
PRODUCTS = {"Z1": ("Z_1", "X", "W1", "b1"),
            "dW1": (r"\frac{\partial L}{\partial W_1}", "X", "dZ1", None)}
TERMS_PER_LINE = 4
VERTICAL = frozenset({"F", "dF"})  # vectors drawn as a column, as on the explorer page
WINNER_MARKS = frozenset({"A1", "dA1", "dZ1"})  # where max-pool's winners are outlined
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
        self.highlights: dict[str, tuple[tuple[int, ...], ...]] = {}

    def panel(self, name: str, role: str, needs: int, *, value: object = None,
              label: str | None = None, key: str | None = None,
              range_: dict[str, object] | None = None) -> dict[str, Any]:
        """A tensor to draw, and ``needs``: the cursor from which it may be shown."""
        array = self.t[name] if value is None else value
        shown = _value(array)
        if range_ is None:
            range_ = (card_range(name, shown if isinstance(shown, float) else np.nan)
                      if not isinstance(shown, list) else self.ranges[name])
        marks = ([{"index": w, "kind": "focus"} for w in self.winners]
                 if name in WINNER_MARKS and key is None else [])
        return {"key": key or name, "name": name, "label": label or LABELS.get(name, name),
                "role": role, "value": shown, "range": range_, "vertical": name in VERTICAL,
                "marks": marks, "shape": list(np.shape(array)), "needs": needs,
                "highlight": [{"index": list(cell), "kind": "focus"}
                              for cell in self.highlights.get(name, ())]}

    def slide(self, index: int, slide: Slide) -> dict[str, Any]:
        """The whole slide, each part with the cursor it needs (``*_needs``)."""
        self.highlights = dict(slide.highlight)
        out: dict[str, Any] = {
            "index": index, "kind": slide.kind, "name": slide.name, "title": slide.title,
            "narration": slide.narration, "notes": slide.notes, "predict": slide.predict,
            "reveal": slide.reveal, "formulas": [], "numbers": None, "numbers_needs": -1,
            "summary": None, "panels": []}
        if slide.kind == "step":
            self.step_slide(out, slide)
        elif slide.kind == "intro":
            out["phase"] = "intro"
            out["formulas"] = [static_mathml(latex) for latex in slide.formula]
            out["panels"] = [self.panel(name, "shows", first_known(name))
                             for name in slide.show or ()]
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
        out["numbers_needs"] = slide.step  # the line ends in the step's result
        reads = slide.show if slide.show is not None else step.reads
        sources: dict[str, list[list[int]]] = {}
        if slide.cell is not None:
            sources, worked = self.worked_out(step.writes, slide.cell)
            if worked is not None:  # one line per few products: a projector does not scroll
                out["numbers"] = "".join(to_mathml(line) for line in worked)
        if step.phase == "update":
            name = step.writes
            new = engine.step_value(self.t, slide.step, self.lesson.lr)
            top = max(float(np.max(np.abs(self.t[name]))), float(np.max(np.abs(new))), 1e-12)
            shared = {"min": -top, "max": top, "scale": "diverging"}
            panels = [self.panel(r, "reads", first_known(r),
                                 range_=shared if r == name else None) for r in reads]
            panels.append(self.panel(name, "writes", slide.step, value=new, key=f"new-{name}",
                                     label=f"new {name}", range_=shared))
        else:
            panels = [self.panel(r, "reads", first_known(r)) for r in reads
                      if r != step.writes]
            panels.append(self.panel(step.writes, "writes", first_known(step.writes)))
        for panel in panels:  # the chosen cell, and the cells behind it
            if panel["key"] == step.writes and slide.cell is not None:
                panel["highlight"].append({"index": list(slide.cell), "kind": "focus"})
            elif panel["key"] == panel["name"]:
                panel["highlight"] += [{"index": c, "kind": "source"}
                                       for c in sources.get(panel["name"], ()) if c]
        out["panels"] = panels

    def worked_out(self, name: str, cell: tuple[int, ...]
                   ) -> tuple[dict[str, list[list[int]]], list[str] | None]:
        """The cells behind ``name[cell]`` (by the engine's provenance) and, for a sum of
        products, the line that works it out, product by product."""
        prov = engine.provenance(self.t, name, cell)
        sources = {k: v for k, v in prov.items() if k in TENSOR_NAMES and isinstance(v, list)}
        if name not in PRODUCTS:
            return sources, None
        latex, left, right, added = PRODUCTS[name]
        pairs = [(self.t[left][tuple(a)], self.t[right][tuple(b)])
                 for a, b in zip(prov[left], prov[right])]
        terms = [f"{num(a, paren=True)} \\times {num(b, paren=True)}" for a, b in pairs
                 if name != "dW1" or b != 0]  # dZ1 is 0 wherever ReLU or max-pool stopped it
        if added is not None:
            terms.append(num(self.t[added][cell[0]], paren=True))
        K = self.lesson.config.filters
        where = idx(cell, K) if len(cell) == 3 else "[" + ",".join(map(str, cell)) + "]"
        total = num(np.asarray(self.t[name])[cell])
        rows = [" + ".join(terms[i:i + TERMS_PER_LINE])
                for i in range(0, len(terms), TERMS_PER_LINE)] or ["0"]
        lines = [rf"\quad + {row}" for row in rows]
        lines[0] = f"{latex}{where} = {rows[0]}"
        lines[-1] += f" = {total}"
        return sources, lines

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
        out["numbers_needs"] = AFTER
        out["panels"] = [
            self.panel("A2", "reads", first_known("A2"), label="A2 before", range_=prob),
            self.panel("L", "reads", first_known("L"), label="L before", range_=loss_range),
            self.panel("A2", "writes", AFTER, value=self.t2["A2"], key="A2-after",
                       label="A2 after", range_=prob),
            self.panel("L", "writes", AFTER, value=self.t2["L"], key="L-after",
                       label="L after", range_=loss_range),
        ]
        out["summary"] = {"loss_before": before, "loss_after": after,
                          "a2_before": a_before, "a2_after": a_after}


def _view_panel(panel: dict[str, Any], cursor: int, marks_known: bool) -> dict[str, Any]:
    shown = {k: v for k, v in panel.items() if k not in ("needs", "highlight")}
    if cursor < panel["needs"]:
        return {"key": panel["key"], "name": panel["name"], "label": panel["label"],
                "role": panel["role"], "vertical": panel["vertical"],
                "shape": panel["shape"], "hidden": True}
    shown["hidden"] = False
    # the lesson's own highlights, and max-pool's winners once known
    shown["marks"] = panel["highlight"] + (panel["marks"] if marks_known else [])
    return shown


def beat_view(slide: dict[str, Any], *, beat: int, revealed: bool, cursor: int,
              slides: int, beats: int, presenter: bool) -> dict[str, Any]:
    """The slide as the room sees it at ``beat``: only what the walk has shown by
    ``cursor``; with ``presenter``, also the speaker notes and the answer to come."""
    # max-pool's winners, once known; not while a question is open (they would hint at it)
    marks_known = revealed and cursor >= first_known("P1")
    view: dict[str, Any] = {
        "beat": beat, "beats": beats, "slide": slide["index"], "slides": slides,
        "revealed": revealed, "kind": slide["kind"], "name": slide["name"],
        "phase": slide["phase"], "title": slide["title"], "narration": slide["narration"],
        "predict": slide["predict"], "reveal": slide["reveal"] if revealed else "",
        "formulas": slide["formulas"],
        "numbers": slide["numbers"] if cursor >= slide["numbers_needs"] else None,
        "summary": slide["summary"] if revealed else None,
        "panels": [_view_panel(p, cursor, marks_known) for p in slide["panels"]],
    }
    if presenter:
        view["notes"] = slide["notes"]
        view["answer"] = slide["reveal"]
    return view


def lesson_views(lesson: Lesson) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every beat's view: (the presenter's, the audience's)."""
    b = _Builder(lesson)
    slides = [b.slide(i, s) for i, s in enumerate(lesson.slides)]
    cursors = slide_cursors(lesson.slides)
    presenter: list[dict[str, Any]] = []
    audience: list[dict[str, Any]] = []
    for beat, (index, revealed) in enumerate(lesson.beats):
        asked, answered = cursors[index]
        common = {"beat": beat, "revealed": revealed, "slides": len(slides),
                  "beats": len(lesson.beats), "cursor": answered if revealed else asked}
        presenter.append(beat_view(slides[index], presenter=True, **common))
        audience.append(beat_view(slides[index], presenter=False, **common))
    return presenter, audience


def lesson_payload(lesson: Lesson, views: list[dict[str, Any]] | None = None
                   ) -> dict[str, Any]:
    """What the presenter's page draws: the example and every beat's view (with notes).
    Without ``views``, the public part only: the title, the example's settings and sizes."""
    out: dict[str, Any] = {
        "title": lesson.title, "config": serialize.config_out(lesson.config),
        "lr": lesson.lr, "y": lesson.y, "slides": len(lesson.slides),
        "beats": len(lesson.beats)}
    if views is not None:
        out["views"] = views
    return out
