"""What each beat of a lesson shows, computed once when the lesson is loaded.

The engine traces the lesson's example, takes one step of gradient descent and traces the
example again with the new parameters; every slide then gets its panels (the tensors the
step reads, then the one it writes, with colour ranges), its formula and the same formula
with the numbers as MathML, and its words.

A lesson is a walk, as on the explorer page: each beat has a *cursor* over its network's
steps (``engine.steps_for``; the last step it has shown), and what a beat may show is what
:func:`engine.known` says the walk has revealed by then — nothing else. A step slide's
question beat stands one step before its answer beat; the loss-after slide answers in the
second pass (cursor :func:`after`). Any network is drawn: its tensors (a conv's
(K, C, k, k) weights as one grid per filter and channel), the engine's formulas and titles.
Each beat becomes one *view*: the slide as shown at that beat, with every panel, number
line, mark and answer that is not yet known left out (a hidden panel keeps only its name and
shape, drawn as "?"). The audience receives exactly
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
from . import contrast
from .lesson import Lesson, Slide
from .walk import after, first_known, slide_cursors

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
OUTPUT_SHORT = {"sigmoid_bce": "σ", "softmax_ce": "softmax"}


def labels(net: engine.Network) -> dict[str, str]:
    """A panel's caption for each tensor of ``net``: what it is, then its name (the seed's
    are :data:`LABELS`); a gradient is called by its name."""
    out = {"X": "input X", "Y": "label Y", "L": "loss L", "dX": "saliency dX"}
    for n in net.nodes[:-1]:
        role = n.kind.ROLE
        if role in ("conv", "dense"):
            W, b = n.params["W"], n.params["b"]
            out[W] = f"{'filter' if role == 'conv' else 'dense'} {W}"
            out[b] = f"bias {b}"
        out[n.writes] = f"{n.kind.TITLE} {n.writes}"
    output = net.nodes[-1]
    out[output.reads] = f"{output.kind.LOGIT_TITLE} {output.reads}"
    out[output.writes] = f"{OUTPUT_SHORT[net.output]} {output.writes}"
    return out


def winner_marks(t: engine.Trace) -> dict[str, tuple[list[list[int]], str]]:
    """Where each max-pool's winners are outlined: its input, that input's gradient and,
    after an activation, the gradient of the Z before it; with the pool's output, from
    whose step on they are known (name: (winners, pool output))."""
    net = t.network
    out: dict[str, tuple[list[list[int]], str]] = {}
    nodes = net.nodes
    for n in nodes[:-1]:
        if n.layer.type != "maxpool":
            continue
        won = n.kind.winners(t, n).reshape(-1, 3).tolist()
        names = [n.reads, "d" + n.reads]
        before = nodes[n.position - 1] if n.position else None
        if before is not None and before.kind.ROLE == "act":
            names.append("d" + before.reads)
        out.update({name: (won, n.writes) for name in names})
    return out


def card_range(name: str, value: float, last: str = "A2") -> dict[str, object]:
    """A single number's colour yardstick: a probability (``last``, the prediction) against
    [0, 1], the loss against [0, max(1, L)], anything else against ±max(1, |v|)."""
    if name in (last, "Y"):
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
        self.net = net = lesson.network
        self.optimizer = optimizer = lesson.update
        self.steps = engine.steps_for(net, 1, optimizer)
        first = engine.trace(lesson.x, lesson.y, lesson.params, net)
        if optimizer is None:
            self.t: engine.Trace = first
            self.new = engine.sgd_step(lesson.params, first, lesson.lr)
        else:  # the optimizer's first update, from its state of zeros (t = 1)
            state = optimizer.init_state(lesson.params)
            self.t = engine.walk.Pass([first], 0, state, 1, optimizer)
            self.new, _ = optimizer.apply(lesson.params, first, state, 1, lesson.lr)
        self.given = engine.given(net, optimizer)
        self.records = engine.step_records(self.t, lesson.lr)
        self.t2 = engine.trace(lesson.x, lesson.y, self.new, net)
        tensors = {name: self.t[name] for name in (*net.shapes(), *self.given)}
        self.ranges = serialize.ranges(tensors, net)
        self.labels = LABELS if net.config is not None else labels(net)
        self.winners = {name: (won, first_known(pool, net))
                        for name, (won, pool) in winner_marks(self.t).items()}
        self.highlights: dict[str, tuple[tuple[int, ...], ...]] = {}

    def known_from(self, name: str) -> int:
        if name in self.given:  # X, Y, the parameters and the optimizer's state
            return -1
        return first_known(name, self.net)

    def panel(self, name: str, role: str, needs: int, *, value: object = None,
              label: str | None = None, key: str | None = None,
              range_: dict[str, object] | None = None) -> dict[str, Any]:
        """A tensor to draw, and ``needs``: the cursor from which it may be shown."""
        array = self.t[name] if value is None else value
        shown = _value(array)
        if range_ is None:
            range_ = (card_range(name, shown if isinstance(shown, float) else np.nan,
                                 self.net.last)
                      if not isinstance(shown, list) else self.ranges[name])
        won, marks_needs = self.winners.get(name, ([], -1)) if key is None else ([], -1)
        return {"key": key or name, "name": name, "label": label or self.labels.get(name, name),
                "role": role, "value": shown, "range": range_, "vertical": name in VERTICAL,
                "marks": [{"index": w, "kind": "focus"} for w in won],
                "marks_needs": marks_needs, "shape": list(np.shape(array)), "needs": needs,
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
        elif slide.kind == "contrast":
            self.contrast_slide(out, slide)
        elif slide.kind == "intro":
            out["phase"] = "intro"
            out["formulas"] = [static_mathml(latex) for latex in slide.formula]
            out["panels"] = [self.panel(name, "shows", self.known_from(name))
                             for name in slide.show or ()]
        else:
            self.after_slide(out)
        return out

    def step_slide(self, out: dict[str, Any], slide: Slide) -> None:
        assert slide.step is not None
        step = self.steps[slide.step]
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
            # the parameter before its update is coloured on its own range: one shared with
            # the new value would tell the room how far it moves before the answer
            panels = [self.panel(r, "reads", self.known_from(r)) for r in reads]
            panels.append(self.panel(name, "writes", slide.step, value=new, key=f"new-{name}",
                                     label=f"new {name}", range_=shared))
        else:
            panels = [self.panel(r, "reads", self.known_from(r)) for r in reads
                      if r != step.writes]
            panels.append(self.panel(step.writes, "writes", self.known_from(step.writes)))
        for panel in panels:  # the chosen cell, and the cells behind it
            if panel["key"] == step.writes and slide.cell is not None:
                panel["highlight"].append({"index": list(slide.cell), "kind": "focus"})
            elif panel["key"] == panel["name"]:
                panel["highlight"] += [{"index": c, "kind": "source"}
                                       for c in sources.get(panel["name"], ()) if c]
        out["panels"] = panels

    def contrast_slide(self, out: dict[str, Any], slide: Slide) -> None:
        """Both walks at the slide's step, as compare mode's view holds them."""
        assert slide.contrast is not None
        c = contrast.comparison(self.lesson.walk_body(), slide.contrast)
        at = contrast.position(c, slide.contrast.step)
        assert at is not None  # the lesson checker found it
        built = contrast.build(c, slide.contrast, at)
        i, j = c.positions[at]
        step = c.a.steps[i] if i is not None else c.b.steps[j]  # type: ignore[index]
        out["phase"] = step.phase
        out["contrast"] = {**built, "hide_labels": slide.contrast.hide_labels,
                           "step": slide.contrast.step}

    def worked_out(self, name: str, cell: tuple[int, ...]
                   ) -> tuple[dict[str, list[list[int]]], list[str] | None]:
        """The cells behind ``name[cell]`` (by the engine's provenance) and, for a sum of
        products, the line that works it out, product by product."""
        prov = engine.provenance(self.t, name, cell)
        shapes = self.net.shapes()
        sources = {k: v for k, v in prov.items() if k in shapes and isinstance(v, list)}
        if name not in PRODUCTS or self.net.layers[0].type != "conv":
            return sources, None  # the products of the first conv, the one reading X
        latex, left, right, added = PRODUCTS[name]
        pairs = [(self.t[left][tuple(a)], self.t[right][tuple(b)])
                 for a, b in zip(prov[left], prov[right])]
        terms = [f"{num(a, paren=True)} \\times {num(b, paren=True)}" for a, b in pairs
                 if name != "dW1" or b != 0]  # dZ1 is 0 wherever ReLU or max-pool stopped it
        if added is not None:
            terms.append(num(self.t[added][cell[0]], paren=True))
        K = shapes["W1"][0]
        where = idx(cell, K) if len(cell) == 3 else "[" + ",".join(map(str, cell)) + "]"
        total = num(np.asarray(self.t[name])[cell])
        rows = [" + ".join(terms[i:i + TERMS_PER_LINE])
                for i in range(0, len(terms), TERMS_PER_LINE)] or ["0"]
        lines = [rf"\quad + {row}" for row in rows]
        lines[0] = f"{latex}{where} = {rows[0]}"
        lines[-1] += f" = {total}"
        return sources, lines

    def after_slide(self, out: dict[str, Any]) -> None:
        last = self.net.last  # A2 in the seed's: the prediction
        before, after_ = float(self.t["L"]), float(self.t2["L"])
        y = int(self.lesson.y)
        # the probability of the example's class (σ: of class 1, the prediction itself)
        pick = (lambda a: float(np.asarray(a).reshape(-1)[y])) if np.size(self.t[last]) > 1 \
            else (lambda a: float(np.asarray(a).reshape(())))
        a_before, a_after = pick(self.t[last]), pick(self.t2[last])
        loss_step = next(s for s in self.steps if s.writes == "L")
        numbers = loss_step.numbers(self.t2, self.lesson.lr)
        # "L before" on a range its own value decides: one that also spans the loss after
        # would answer the slide's question (up or down?) before it is asked
        before_range = {"min": 0.0, "max": max(1.0, before), "scale": "sequential"}
        loss_range = {"min": 0.0, "max": max(1.0, before, after_), "scale": "sequential"}
        prob = {"min": 0.0, "max": 1.0, "scale": "sequential"}
        second = after(self.net)
        out["phase"] = "after"
        out["formulas"] = [static_mathml(loss_step.latex)]
        out["numbers"] = None if numbers is None else to_mathml(numbers)
        out["numbers_needs"] = second
        out["panels"] = [
            self.panel(last, "reads", self.known_from(last), label=f"{last} before",
                       range_=prob),
            self.panel("L", "reads", self.known_from("L"), label="L before",
                       range_=before_range),
            self.panel(last, "writes", second, value=self.t2[last], key=f"{last}-after",
                       label=f"{last} after", range_=prob),
            self.panel("L", "writes", second, value=self.t2["L"], key="L-after",
                       label="L after", range_=loss_range),
        ]
        out["summary"] = {"loss_before": before, "loss_after": after_,
                          "a2_before": a_before, "a2_after": a_after,
                          "prediction": last if np.size(self.t[last]) == 1 else f"{last}[{y}]"}


def _view_panel(panel: dict[str, Any], cursor: int, marks_known: bool) -> dict[str, Any]:
    shown = {k: v for k, v in panel.items() if k not in ("needs", "highlight", "marks_needs")}
    if cursor < panel["needs"]:
        return {"key": panel["key"], "name": panel["name"], "label": panel["label"],
                "role": panel["role"], "vertical": panel["vertical"],
                "shape": panel["shape"], "hidden": True}
    shown["hidden"] = False
    # the lesson's own highlights, and max-pool's winners once known (the pool's output)
    known = marks_known and cursor >= panel["marks_needs"]
    shown["marks"] = panel["highlight"] + (panel["marks"] if known else [])
    return shown


def beat_view(slide: dict[str, Any], *, beat: int, revealed: bool, cursor: int,
              slides: int, beats: int, presenter: bool) -> dict[str, Any]:
    """The slide as the room sees it at ``beat``: only what the walk has shown by
    ``cursor``; with ``presenter``, also the speaker notes and the answer to come."""
    # max-pool's winners, once known; not while a question is open (they would hint at it)
    marks_known = revealed
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
    if slide["kind"] == "contrast":  # labels, winners and the sentence once revealed
        shown = slide["contrast"]
        view["sides"] = [contrast.side_view(side, revealed=revealed, hide=shown["hide_labels"],
                                            step=shown["step"]) for side in shown["sides"]]
        view["explain"] = shown["explain"] if revealed else ""
    if presenter:
        view["notes"] = slide["notes"]
        view["answer"] = slide["reveal"]
    return view


def lesson_views(lesson: Lesson) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every beat's view: (the presenter's, the audience's)."""
    b = _Builder(lesson)
    slides = [b.slide(i, s) for i, s in enumerate(lesson.slides)]
    cursors = slide_cursors(lesson.slides, lesson.network)
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
        "title": lesson.title, "config": serialize.config_out(lesson.network),
        "network": serialize.network_out(lesson.network),
        "lr": lesson.lr, "y": lesson.y, "slides": len(lesson.slides),
        "beats": len(lesson.beats)}
    if views is not None:
        out["views"] = views
    return out
