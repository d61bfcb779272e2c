"""A lesson: the fixed example and the ordered slides the presenter walks through.

A lesson is a TOML file an instructor can read and edit (``app/lessons/default.toml`` is
the default; ``convlens demo --script FILE`` replaces it)::

    title = "Backpropagation in a CNN"
    lr = 0.1                        # η of the update (optional, default 0.1)
    optimizer = { type = "adam" }   # the update (optional, default SGD; engine.optimizers)
    require_id = true               # a student joins only with a student ID (optional)
    sus = true                      # the ten SUS items after the post-check (optional)

    [network]                       # optional: any network (engine.network's JSON form)
    input = { size = 8 }
    output = "softmax_ce"
    layers = [
      { type = "conv", filters = 2, kernel = 3 },
      { type = "relu" },
      ...
    ]

    [example]                       # the example every class sees
    y = 1                           # 0 or 1 (sigmoid_bce), a class 0 .. C-1 (softmax_ce)
    x = [[0.0, 0.0, 0.9, 0.2, 0.0, 0.1], ...]          # n × n
    [example.config]                # or this shorthand of a seed-shaped network; neither:
    input_size = 6                  # the seed's network
    [example.params]                # named and shaped as the network says
    W1 = [[[0.2, 0.3, 0.4], [-0.1, 0.3, -0.3], [-0.5, 0.5, -0.6]]]
    b1 = [0.1]
    W2 = [[-0.5, 0.8, -0.6, 0.9]]
    b2 = [-0.2]

    [[check.question]]              # a concept check asked before the lesson and after
    kind = "choice"                 # it, on examples of its own (3 to 6 questions of any
    prompt = "..."                  # kind: app.demo.questions.read_check)

    [[slide]]                       # a slide of its own: a name, a title, narration
    kind = "intro"
    name = "intro"
    title = "The network"
    narration = "..."
    show = ["X", "W1", "b1", "W2", "b2"]   # tensors to draw (optional)
    formula = ['Z_1 = \\mathrm{Conv}(X, W_1) + b_1']   # LaTeX lines (optional)

    [[slide]]                       # one step of the engine, named by the tensor it writes
    step = "dA1"
    narration = "..."
    predict = "Which A1 cells receive a gradient?"   # asked first ...
    reveal = "Only the winner of each window."        # ... answered on the next press
    notes = "For the presenter only."

    [[slide]]                       # two networks side by side at one step (app.compare)
    kind = "contrast"
    switch = "pool"                 # engine.compare.SWITCHES; or [slide.b] (and [slide.a])
    step = "dA1"                    # the step both are shown at (one may only wait)
    hide_labels = true              # "Left"/"Right" until the next beat: which is which?
    narration = "..."

    [[slide]]                       # the second forward pass: the loss after the update
    kind = "loss-after"
    narration = "..."
    shows = "loss-falls"            # the point it makes (engine.points): the checker
                                    # warns when the example's numbers do not show it

Step slides are keyed by the engine step's ``writes`` (and ``phase``, optional: it must
match), checked against the network's steps (``engine.steps_for``), and must follow the
engine's order; each step appears at most once. :func:`parse_lesson` collects every problem
(every problem of the network too, each naming its layer) and raises :class:`LessonError`,
whose lines read ``FILE:LINE: problem``. A contrast slide (:mod:`app.demo.contrast`)
stands on the lesson's walk where its own left walk does at its step, in the same order
as the step slides. A network a phone cannot draw (a tensor of more
than :data:`MAX_DRAWN` numbers besides X) is refused.
"""

from __future__ import annotations

import functools
import json
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from latex2mathml.converter import convert

import engine
from engine import optimizers, points
from engine.compare import SWITCHES
from engine.network import _layer as _engine_layer  # the one reading of a layer's options

from ..schemas import DEFAULT_LR  # the API's default η, the one home of it
from .contrast import Contrast, ContrastError, comparison, labels, position, walk_body
from .questions import Question, read_check
from .questions import check_lesson as check_questions
from .source import inline_items, key_lines, line_of
from .walk import first_known, slide_cursors

DEFAULT_LESSON = Path(__file__).resolve().parents[1] / "lessons" / "default.toml"
MAX_LESSON_BYTES = 256_000
MAX_SLIDES = 200
MAX_TEXT = 1200  # characters of narration, notes, a prompt or an answer
MAX_TITLE = 120


KINDS = ("step", "intro", "loss-after", "contrast")
MAX_DRAWN = 144  # numbers of one tensor (X aside) a phone draws: 12 × 12
TOP_KEYS = {"title": True, "lr": False, "optimizer": False, "require_id": False,
            "network": False, "example": True, "slide": True, "check": False, "sus": False}
EXAMPLE_KEYS = {"x": True, "y": True, "params": True, "config": False}
SLIDE_KEYS = {
    "step": ("step", "kind", "phase", "title", "narration", "notes", "predict", "reveal",
             "show", "highlight", "cell", "question", "shows"),
    "intro": ("kind", "name", "title", "narration", "notes", "predict", "reveal", "show",
              "formula", "highlight", "question", "shows"),
    "loss-after": ("kind", "name", "title", "narration", "notes", "predict", "reveal",
                   "question", "shows"),
    "contrast": ("kind", "name", "title", "narration", "notes", "predict", "reveal", "step",
                 "switch", "a", "b", "hide_labels"),
}
STEP_BY_WRITES = {s.writes: (i, s) for i, s in enumerate(engine.STEPS)}  # the seed's
TENSOR_NAMES = tuple(engine.Config().shapes())  # every tensor and gradient of the seed's
_LAYER = re.compile(r"^layers\[(\d+)\](?:\.(\w+))?$")


def steps_by_writes(net: engine.Network, optimizer: object = None
                    ) -> dict[str, tuple[int, engine.Step]]:
    """The network's steps (updated by ``optimizer``) by the tensor each writes, with their
    index."""
    return {s.writes: (i, s) for i, s in enumerate(engine.steps_for(net, 1, optimizer))}


@dataclass(frozen=True)
class Problem:
    line: int
    message: str


class LessonError(ValueError):
    """Every problem found in a lesson, each with the line it is on."""

    def __init__(self, source: str, problems: list[Problem]) -> None:
        self.source = source
        self.problems = sorted(problems, key=lambda p: p.line)
        super().__init__("\n".join(f"{source}:{p.line}: {p.message}" for p in self.problems))


@dataclass(frozen=True)
class Slide:
    kind: str  # "step", "intro", "loss-after" or "contrast"
    name: str  # what <main data-step> shows: the step's writes, or the slide's own name
    title: str
    narration: str
    line: int
    # a step slide's: index into engine.steps_for(network); a contrast slide's: the cursor
    # its left walk has at its step (where it stands on the lesson's walk)
    step: int | None = None
    notes: str = ""
    predict: str = ""
    reveal: str = ""
    show: tuple[str, ...] | None = None
    formula: tuple[str, ...] = ()
    position: int = 0  # its place among the file's [[slide]] tables
    # cells to outline: (tensor name, (index, ...)), as `highlight = { A1 = [[0, 1, 2]] }`
    highlight: tuple[tuple[str, tuple[tuple[int, ...], ...]], ...] = ()
    # a step slide's chosen cell of the tensor it writes: the numbers line works it out
    # and the cells behind it are outlined (``engine.provenance``)
    cell: tuple[int, ...] | None = None
    shows: tuple[str, ...] = ()  # the points it makes (engine.points)
    contrast: Contrast | None = None  # a contrast slide's two walks and step


@dataclass(frozen=True)
class Lesson:
    title: str
    network: engine.Network
    x: np.ndarray
    y: int
    params: dict[str, np.ndarray]
    lr: float
    slides: tuple[Slide, ...]
    source: str = "<lesson>"
    optimizer: dict[str, Any] | None = None  # the update's, as engine.optimizers reads it
    questions: tuple[Question, ...] = ()  # the room answers them (app.demo.questions)
    require_id: bool = False  # a student joins the room's answers only with a student ID
    # the concept check asked before and after the lesson ({"pre": ..., "post": ...}, each on
    # an example of its own; empty: none), and whether the ten SUS items follow it
    check: Mapping[str, tuple[Question, ...]] = field(default_factory=dict)
    sus: bool = False
    # slides whose point (``shows``) the example's numbers do not show: the lesson still
    # runs, and the instructor is told ("FILE:LINE: ..."), so the text can be changed
    warnings: tuple[str, ...] = ()
    beats: tuple[tuple[int, bool], ...] = field(init=False)

    @property
    def config(self) -> engine.Config | None:
        """The seed-shaped shorthand of the network, or None."""
        return self.network.config

    @property
    def update(self) -> optimizers.Optimizer | None:
        """The engine's optimizer of the lesson (None: gradient descent)."""
        return None if self.optimizer is None else optimizers.optimizer(self.optimizer)

    def walk_body(self) -> dict[str, Any]:
        """The lesson's walk as ``POST /api/sessions`` takes it."""
        return walk_body(self.network, self.x, self.y, self.params, self.lr, self.optimizer)

    def __post_init__(self) -> None:
        beats: list[tuple[int, bool]] = []
        for i, slide in enumerate(self.slides):
            if slide.predict:
                beats.append((i, False))
            beats.append((i, True))
        object.__setattr__(self, "beats", tuple(beats))


# ------------------------------------------------------------------------------ loading
def load_lesson(path: str | Path | None = None) -> Lesson:
    """Read and check a lesson file (the default lesson when ``path`` is None)."""
    path = DEFAULT_LESSON if path is None else Path(path)
    name = str(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise LessonError(name, [Problem(1, f"cannot read the lesson: {exc.strerror}")]) from None
    if len(data) > MAX_LESSON_BYTES:
        raise LessonError(name, [Problem(1, f"the lesson is {len(data)} bytes; the limit is "
                                            f"{MAX_LESSON_BYTES}")])
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise LessonError(name, [Problem(line, "the lesson is not UTF-8 text")]) from None
    return parse_lesson(text, source=name)


def parse_lesson(text: str, source: str = "<lesson>") -> Lesson:
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        line = 1
        if "(at line " in message:
            message, _, where = message.rpartition(" (at line ")
            line = int(where.split(",")[0].rstrip(")"))
        elif "(at end of document)" in message:
            message = message.replace(" (at end of document)", "")
            line = max(1, text.count("\n") + (0 if text.endswith("\n") else 1))
        raise LessonError(source, [Problem(line, f"not valid TOML: {message}")]) from None
    return _Checker(text, source).lesson(raw)


# ----------------------------------------------------------------------------- checking
def _kind(value: object) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a table"
    return type(value).__name__


class _Checker:
    def __init__(self, text: str, source: str) -> None:
        self.source = source
        self.text_ = text
        self.lines = key_lines(text)
        self.problems: list[Problem] = []
        # the lesson's network, once checked (None: it has problems, reported)
        self.net: engine.Network | None = engine.SEED
        self.steps = steps_by_writes(engine.SEED)
        self.optimizer: optimizers.Optimizer | None = None
        self.base: dict[str, Any] | None = None  # the lesson's walk, once its example is right

    def problem(self, path: tuple[str | int, ...], message: str) -> None:
        self.problems.append(Problem(line_of(self.lines, path), message))

    def keys(self, table: Mapping[str, Any], path: tuple[str | int, ...],
             allowed: Mapping[str, bool] | tuple[str, ...], what: str) -> None:
        known = tuple(allowed)
        for key in table:
            if key not in known:
                self.problem((*path, key), f"unknown key {key!r} in {what} "
                                           f"(known: {', '.join(known)})")
        if isinstance(allowed, Mapping):
            for key, required in allowed.items():
                if required and key not in table:
                    self.problem(path, f"{what} is missing the required key {key!r}")

    def text(self, table: Mapping[str, Any], path: tuple[str | int, ...], key: str,
             limit: int = MAX_TEXT) -> str:
        value = table.get(key, "")
        if not isinstance(value, str):
            self.problem((*path, key), f"{key} must be a string, got {_kind(value)}")
            return ""
        if len(value) > limit:
            self.problem((*path, key), f"{key} is {len(value)} characters long; keep it "
                                       f"under {limit} so it fits the screen")
        return " ".join(value.split())  # one paragraph: the page wraps it

    def engine_check(self, path: tuple[str | int, ...], check: Any, *args: Any) -> Any:
        """The engine's own check of an input; its refusal becomes a problem at ``path``."""
        try:
            return check(*args)
        except ValueError as exc:
            self.problem(path, str(exc))
            return None

    # ------------------------------------------------------------------------ lesson
    def lesson(self, raw: Mapping[str, Any]) -> Lesson:
        self.keys(raw, (), TOP_KEYS, "the lesson")
        title = self.text(raw, (), "title", MAX_TITLE) if "title" in raw else ""
        lr = self.engine_check(("lr",), engine.check_lr, raw.get("lr", DEFAULT_LR))
        lr = DEFAULT_LR if lr is None else lr
        require_id = raw.get("require_id", False)
        if not isinstance(require_id, bool):
            self.problem(("require_id",), f"require_id must be true or false, got "
                                          f"{_kind(require_id)}")
        example = raw.get("example", {})
        optimizer = self.update(raw)
        self.optimizer = None if optimizer is None or optimizer.type == "sgd" else optimizer
        net = self.network(raw)
        self.net = net
        self.steps = steps_by_writes(net, self.optimizer) if net is not None else {}
        x, y, params = self.example(example, net) if isinstance(example, dict) else (
            None, None, None)
        if not isinstance(example, dict):
            self.problem(("example",), f"example must be a table, got {_kind(example)}")
        spec = None if self.optimizer is None else self.optimizer.to_dict()
        if net is not None and all(v is not None for v in (x, y, params)):
            self.base = walk_body(net, x, y, params, float(lr), spec)
        slides = self.slides(raw.get("slide", []))
        trace = None
        if not self.problems and all(v is not None for v in (net, x, y, params)):
            trace = engine.trace(x, y, params, net)
        raw_slides = raw.get("slide", [])
        questions = check_questions(raw_slides, slides, trace, float(lr), self.problem,
                                    net=net or engine.SEED) if (
            isinstance(raw_slides, list)) else ()
        if self.optimizer is not None and isinstance(raw_slides, list):
            steps = engine.steps_for(net, 1, self.optimizer) if net is not None else ()
            for slide in slides:  # practice grades an update as gradient descent's
                table = raw_slides[slide.position]
                if (slide.kind == "step" and slide.step is not None and "question" in table
                        and steps[slide.step].phase == "update"):
                    self.problem(("slide", slide.position, "question"), (
                        f"a question on the {slide.name} update is graded as gradient "
                        f"descent's, and this lesson's optimizer is {self.optimizer.type}: "
                        "ask it on another step"))
        sus = raw.get("sus", False)
        if not isinstance(sus, bool):
            self.problem(("sus",), f"sus must be true or false, got {_kind(sus)}")
        check = read_check(raw["check"], float(lr), self.problem, net=net or engine.SEED,
                           resolving=not self.problems and net is not None) if (
            "check" in raw) else {}
        if sus is True and not check and "check" not in raw:
            self.problem(("sus",), "sus = true asks the ten SUS items after the post-check: "
                                   "the lesson needs a [check]")
        if self.problems:
            raise LessonError(self.source, self.problems)
        assert net is not None and x is not None and y is not None and params is not None
        assert trace is not None
        if self.optimizer is not None:  # the points judged by the lesson's own update
            trace = engine.walk.Pass([trace], 0, self.optimizer.init_state(params), 1,
                                     self.optimizer)
        warnings = tuple(self.point_warning(slide, name, trace, float(lr))
                         for slide in slides for name in slide.shows
                         if not points.holds(name, trace, float(lr)))
        return Lesson(warnings=warnings, title=title, network=net, x=x, y=y, params=params,
                      lr=float(lr), slides=tuple(slides), source=self.source, questions=questions,
                      require_id=bool(require_id), optimizer=spec, check=check,
                      sus=sus is True)

    def update(self, raw: Mapping[str, Any]) -> optimizers.Optimizer | None:
        """``optimizer = { type = "adam", beta1 = 0.9 }``, by the engine's check of it."""
        if "optimizer" not in raw:
            return None
        given = raw["optimizer"]
        if not isinstance(given, dict):
            self.problem(("optimizer",), f"optimizer must be a table such as "
                                         f'{{ type = "adam" }}, got {_kind(given)}')
            return None
        try:
            return optimizers.optimizer(given)
        except optimizers.OptimizerError as exc:
            for p in exc.problems:
                self.problem(("optimizer", *p.field.split(".")), f"optimizer: {p.message}")
            return None

    def point_warning(self, slide: Slide, name: str, trace: engine.Trace, lr: float) -> str:
        """Why a slide's point is not shown: the network lacks what it is about, or the
        example's numbers do not show it."""
        where = f"{self.source}:{slide.line}"
        assert self.net is not None
        reason = points.unmet(name, self.net)
        if reason is not None:
            return (f"{where}: this slide's point {name} does not apply to the lesson's "
                    f"network: {reason} ({self.net})")
        return (f"{where}: the example's numbers do not show this slide's point ({name}: "
                f"{points.POINTS[name].text})")

    # ----------------------------------------------------------------------- network
    def network(self, raw: Mapping[str, Any]) -> engine.Network | None:
        """The lesson's network: ``[network]``, the ``[example.config]`` shorthand, or the
        seed's; None when it has problems (each reported)."""
        example = raw.get("example")
        config = example.get("config") if isinstance(example, dict) else None
        if "network" in raw and config is not None:
            self.problem(("example", "config"), (
                "the lesson gives both [network] and [example.config]: keep one ([network] "
                "describes any network, [example.config] is the shorthand for one shaped "
                "like the seed's)"))
            return None
        if "network" in raw:
            net = self.network_table(raw["network"])
            where: tuple[str | int, ...] = ("network",)
        elif config is not None:
            net = self.config_table(config)
            where = ("example", "config")
        else:
            return engine.SEED
        if net is not None and not self.drawable(net, where):
            return None
        return net

    def config_table(self, given: object) -> engine.Network | None:
        path = ("example", "config")
        if not isinstance(given, dict):
            self.problem(path, f"config must be a table, got {_kind(given)}")
            return None
        self.keys(given, path, tuple(engine.LIMITS), "[example.config]")
        sizes = {k: v for k, v in given.items() if k in engine.LIMITS}
        try:
            return engine.Network.from_config(engine.Config(**sizes))
        except ValueError as exc:
            bad = str(exc).split()[0] if str(exc).split()[0] in sizes else None
            self.problem((*path, bad) if bad else path, f"config: {exc}")
            return None

    def network_table(self, spec: object) -> engine.Network | None:
        """``[network]`` by the engine's check; every problem it finds is reported at its
        layer's line, and so is a layer whose sizes do not fit even when the engine stopped
        at the order of the layers."""
        if not isinstance(spec, dict):
            self.problem(("network",), f"network must be a table (input, layers, output), got "
                                       f"{_kind(spec)}")
            return None
        start = self.lines.get(("network", "layers"))
        if start is not None:  # layers = [ {...}, {...} ]: each item's line
            for i, at in enumerate(inline_items(self.text_, start)):
                self.lines.setdefault(("network", "layers", i), at)
        try:
            return engine.network(spec)
        except engine.NetworkError as exc:
            found = list(exc.problems)
        found += [p for p in _size_problems(spec, found) if p not in found]
        layers = spec.get("layers") if isinstance(spec.get("layers"), list) else []
        for p in found:
            m = _LAYER.match(p.field)
            if m:
                i = int(m.group(1))
                kind = layers[i].get("type") if isinstance(layers[i], dict) else None
                named = f"layers[{i}]" + (f" ({kind})" if isinstance(kind, str) else "")
                if m.group(2):
                    named += f".{m.group(2)}"
                path: tuple[str | int, ...] = ("network", "layers", i,
                                               *((m.group(2),) if m.group(2) else ()))
            else:
                named = p.field.removeprefix("network.")
                path = ("network", *named.split("."))
            self.problem(path, f"[network] {named}: {p.message}")
        return None

    def drawable(self, net: engine.Network, where: tuple[str | int, ...]) -> bool:
        """Every tensor but X fits a phone's screen: at most MAX_DRAWN numbers."""
        shapes = {name: s for name, s in net.shapes().items()
                  if name not in ("X", "dX") and not name.startswith("d")}
        name = max(shapes, key=lambda n: int(np.prod(shapes[n])))
        size = int(np.prod(shapes[name]))
        if size <= MAX_DRAWN:
            return True
        self.problem(where, f"this network's {name} holds {size} numbers (shape "
                            f"{shapes[name]}): a phone draws at most {MAX_DRAWN} of one "
                            "tensor; choose a smaller input, kernel or fewer filters")
        return False

    # ----------------------------------------------------------------------- example
    def example(self, example: Mapping[str, Any], net: engine.Network | None
                ) -> tuple[Any, Any, Any]:
        path = ("example",)
        self.keys(example, path, EXAMPLE_KEYS, "[example]")
        x = y = params = None
        if isinstance(example.get("y"), list):  # a batch: the slides show one example
            self.problem((*path, "y"), "a lesson shows one example: y is one label and x one "
                                       "image (a walk over a batch cannot become a lesson)")
            return x, y, params
        if "x" in example and net is not None:
            x = self.engine_check((*path, "x"), engine.check_x, example["x"], net)
        if "y" in example and net is not None:  # a class of the network's output
            y = self.engine_check((*path, "y"), engine.check_y, example["y"], net)
            y = None if y is None else int(y)
        given_params = example.get("params")
        if "params" in example and not isinstance(given_params, dict):
            self.problem((*path, "params"), f"params must be a table, got {_kind(given_params)}")
        elif isinstance(given_params, dict) and net is not None:
            ppath = (*path, "params")
            names = net.param_names
            self.keys(given_params, ppath, {name: True for name in names},
                      f"[example.params] (this network's: {', '.join(names)})")
            found = {name: self.parameter(given_params[name], (*ppath, name), name, net)
                     for name in names if name in given_params}
            if len(found) == len(names) and all(v is not None for v in found.values()):
                params = found
        return x, y, params

    def parameter(self, value: object, path: tuple[str | int, ...], name: str,
                  net: engine.Network) -> np.ndarray | None:
        """One parameter, by the engine's check of them all (the others stand in as zeros,
        so that each parameter's problem is reported, not only the first)."""
        shapes = net.shapes()
        others = {other: np.zeros(shapes[other]) for other in net.param_names}
        checked = self.engine_check(path, engine.check_params, {**others, name: value}, net)
        return None if checked is None else checked[name]

    def slides(self, slides: object) -> list[Slide]:
        if not isinstance(slides, list) or not all(isinstance(s, dict) for s in slides):
            self.problem(("slide",), "slides are written as [[slide]] tables")
            return []
        if not slides:
            return []
        if len(slides) > MAX_SLIDES:
            self.problem(("slide", MAX_SLIDES), f"a lesson holds at most {MAX_SLIDES} slides, "
                                                f"this one has {len(slides)}")
        out: list[Slide] = []
        seen_steps: dict[int, int] = {}  # engine step index -> line of its slide
        seen_names: dict[str, int] = {}
        last_step: tuple[int, str, int] | None = None  # (index, writes, line)
        for i, table in enumerate(slides):
            slide = self.slide(table, ("slide", i))
            if slide is None:
                continue
            if slide.kind == "contrast":
                assert slide.step is not None
                if last_step is not None and slide.step < last_step[0]:
                    self.problem(("slide", i, "step"), (
                        f"the contrast at {slide.contrast.step!r} is out of order: it comes "
                        f"after {last_step[1]!r} (line {last_step[2]}), but the engine computes "
                        f"{slide.contrast.step} first"))
                    continue
                last_step = (slide.step, slide.name, slide.line)
            if slide.kind == "step":
                assert slide.step is not None
                first = seen_steps.get(slide.step)
                if first is not None:
                    self.problem(("slide", i, "step"), f"step {slide.name!r} appears twice "
                                                       f"(first at line {first})")
                    continue
                seen_steps[slide.step] = slide.line
                if last_step is not None and slide.step < last_step[0]:
                    self.problem(("slide", i, "step"), (
                        f"step {slide.name!r} is out of order: it comes after "
                        f"{last_step[1]!r} (line {last_step[2]}), but the engine computes "
                        f"{slide.name} first"))
                last_step = (slide.step, slide.name, slide.line)
            else:
                first = seen_names.get(slide.name)
                if first is not None:
                    self.problem(("slide", i, "name"), f"the slide name {slide.name!r} is "
                                                       f"used twice (first at line {first})")
                    continue
                seen_names[slide.name] = slide.line
            out.append(slide)
        self.walk(out)
        return out

    def walk(self, slides: list[Slide]) -> None:
        """Every tensor a slide shows must be known where the slide stands on the walk
        (``engine.known``): a slide may not show what a later step computes."""
        if self.net is None:
            return  # the network has problems: where a tensor is known cannot be said
        net = self.net
        after: Slide | None = None
        for slide, (_, cursor) in zip(slides, slide_cursors(slides, net)):
            if slide.kind in ("step", "contrast") and after is not None:
                self.problem(self.path_of(slide, "step"), (
                    f"step {slide.name!r} comes after the loss-after slide (line "
                    f"{after.line}), which shows the second pass: steps of the first go "
                    "before it"))
            if slide.kind == "loss-after":
                after = after or slide
            early = [name for name in slide.show or () if first_known(name, net) > cursor]
            if early:
                where = (f"the {slide.name} step" if slide.kind == "step"
                         else "this point of the lesson")
                self.problem(self.path_of(slide, "show"), (
                    f"show names {', '.join(early)}, which the lesson has not computed yet "
                    f"at {where}; show it on a slide after its step"))

    def names(self) -> tuple[str, ...]:
        """Every tensor and gradient of the lesson's network (none while it is unknown)."""
        return tuple(self.net.shapes()) if self.net is not None else ()

    def path_of(self, slide: Slide, key: str) -> tuple[str | int, ...]:
        return ("slide", slide.position, key)

    def slide(self, table: Mapping[str, Any], path: tuple[str | int, ...]) -> Slide | None:
        line = line_of(self.lines, path)
        before = len(self.problems)
        kind = table.get("kind", "step" if "step" in table else None)
        if kind is None:
            self.problem(path, "a slide needs either step = \"NAME\" (one step of the engine) "
                               "or kind = \"intro\", \"loss-after\" or \"contrast\"")
            return None
        if kind not in KINDS:
            self.problem((*path, "kind"), f"unknown slide kind {kind!r} (known: "
                                          f"{', '.join(KINDS)})")
            return None
        what = f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} slide"
        self.keys(table, path, SLIDE_KEYS[kind], what)
        narration = self.text(table, path, "narration")
        if "narration" not in table:
            self.problem(path, f"{what} is missing the required key 'narration'")
        notes = self.text(table, path, "notes")
        predict = self.text(table, path, "predict")
        reveal = self.text(table, path, "reveal")
        if bool(predict) != bool(reveal):
            missing = "reveal" if predict else "predict"
            self.problem(path, f"predict and reveal go together: this slide is missing "
                               f"{missing!r}")
        title = self.text(table, path, "title", MAX_TITLE)
        show = self.show(table, path)
        step_index = None
        if kind == "step":
            name = table.get("step")
            if "step" not in table:
                self.problem(path, "a step slide is missing the required key 'step'")
                return None
            if self.net is None:
                return None  # the network's problems are reported; its steps are unknown
            if not isinstance(name, str) or name not in self.steps:
                self.problem((*path, "step"), f"unknown step {name!r}: the lesson's network "
                                              f"has no such step (its steps: "
                                              f"{', '.join(self.steps)})")
                return None
            step_index, step = self.steps[name]
            phase = table.get("phase", step.phase)
            if phase != step.phase:
                self.problem((*path, "phase"), f"step {name!r} is in the {step.phase} phase, "
                                               f"not {phase!r}")
            title = title or _step_title(step)
        else:
            if "step" in table and kind != "contrast":
                self.problem((*path, "step"), f"{what} cannot name a step (leave out kind to "
                                              "make a step slide)")
            default = {"loss-after": "loss-after",
                       "contrast": f"contrast-{table.get('step')}"}.get(kind)
            name = table.get("name", default)
            if name is None:
                self.problem(path, f"{what} is missing the required key 'name'")
                return None
            if (not isinstance(name, str) or not name or len(name) > 40
                    or not all(c.isalnum() or c in "-_" for c in name)):
                self.problem((*path, "name"), f"name must be a short word of letters, digits, "
                                              f"- and _, got {name!r}")
                return None
            if name in TENSOR_NAMES or name in self.names():
                self.problem((*path, "name"), f"name {name!r} is a tensor's name; choose "
                                              "another so the slide is not mistaken for a step")
                return None
            if kind == "intro" and "title" not in table:
                self.problem(path, f"{what} is missing the required key 'title'")
            title = title or "After the update: the second forward pass"
        contrast = None
        if kind == "contrast":
            made = self.contrast(table, path)
            if made is None:
                return None
            contrast, step_index, sides = made
            if not table.get("title"):
                switch = SWITCHES.get(contrast.switch or "")
                title = switch["title"] if switch else "Two networks side by side"
            if contrast.hide_labels and not predict:
                predict = "Which side is which?"
                reveal = reveal or f"Left: {sides['a']}. Right: {sides['b']}."
        formula = self.formula(table, path) if kind == "intro" else ()
        on_slide = set(show or ())
        if kind == "step":
            on_slide = set(show if show is not None else step.reads) | {step.writes}
        highlight = self.highlight(table, path, on_slide)
        cell = self.cell(table, path, name) if kind == "step" else None
        shows = self.shows(table, path)
        if len(self.problems) > before:
            return None
        return Slide(kind=kind, name=name, title=title, narration=narration, line=line,
                     step=step_index, notes=notes, predict=predict, reveal=reveal, show=show,
                     formula=formula, position=int(path[-1]), highlight=highlight, cell=cell,
                     shows=shows, contrast=contrast)

    def contrast(self, table: Mapping[str, Any], path: tuple[str | int, ...]
                 ) -> tuple[Contrast, int, dict[str, str]] | None:
        """A contrast slide's two walks (compare mode's) and step, checked: the switch
        applies to the lesson's network, or the networks are right; either has the step.
        Returns the contrast, where it stands on the lesson's walk, and each side's label."""
        before = len(self.problems)
        step = table.get("step")
        if "step" not in table:
            self.problem(path, "a contrast slide is missing the required key 'step' (the step "
                               "both networks are shown at)")
        elif not isinstance(step, str):
            self.problem((*path, "step"), f"step must be a step's name, got {_kind(step)}")
        switch, nets = table.get("switch"), {k: table[k] for k in ("a", "b") if k in table}
        if "a" in nets and "b" not in nets:
            self.problem((*path, "a"), "[slide.a] goes with a [slide.b]: the network beside it")
        elif switch is None and "b" not in nets:
            self.problem(path, f"a contrast slide needs switch = \"NAME\" (one of "
                               f"{', '.join(SWITCHES)}) or a [slide.b] network")
        elif switch is not None and nets:
            self.problem((*path, "switch"), "give switch or the networks [slide.a] / "
                                            "[slide.b], not both")
        elif switch is not None and switch not in SWITCHES:
            self.problem((*path, "switch"), f"unknown switch {switch!r} (known: "
                                            f"{', '.join(SWITCHES)})")
        for key, spec in nets.items():
            if not isinstance(spec, dict):
                self.problem((*path, key), f"{key} must be a network table (input, layers, "
                                           f"output), got {_kind(spec)}")
        hide = table.get("hide_labels", False)
        if not isinstance(hide, bool):
            self.problem((*path, "hide_labels"), f"hide_labels must be true or false, got "
                                                 f"{_kind(hide)}")
        if len(self.problems) > before or self.base is None or self.net is None:
            return None  # (an example with problems has them reported already)
        contrast = Contrast(step=step, switch=switch, hide_labels=hide,
                            **{k: json.dumps(v, sort_keys=True) for k, v in nets.items()})
        try:
            c = comparison(self.base, contrast)
        except ContrastError as exc:
            if exc.key == "switch" and switch is not None:
                self.problem((*path, "switch"), f"switch {switch!r} does not apply to the "
                                                f"lesson's network ({self.net}): {exc}")
            else:
                self.problem((*path, exc.key if exc.key in nets else "b"),
                             f"[slide.{exc.key}] {exc}")
            return None
        at = position(c, step)
        if at is None:
            left = ", ".join(s.writes for s in c.a.steps)
            right = ", ".join(s.writes for s in c.b.steps)
            self.problem((*path, "step"), f"unknown step {step!r}: neither network has it "
                                          f"(the left one's steps: {left}; the right one's: "
                                          f"{right})")
            return None
        cursor = c.cursors(at)[0]
        if "a" in nets:  # two networks of their own: placed by the lesson's step of the name
            if step not in self.steps:
                self.problem((*path, "step"), (
                    f"with a [slide.a] of its own, the step must also be one of the lesson's "
                    f"network's, which places the slide on the lesson's walk (its steps: "
                    f"{', '.join(self.steps)})"))
                return None
            cursor = self.steps[step][0]
        return contrast, cursor, labels(c)

    def shows(self, table: Mapping[str, Any], path: tuple[str | int, ...]) -> tuple[str, ...]:
        """``shows = "NAME"`` or a list of names: the points the slide makes."""
        if "shows" not in table:
            return ()
        value = table["shows"]
        names = [value] if isinstance(value, str) else value
        if not isinstance(names, list) or not names:
            self.problem((*path, "shows"), "shows must be a point's name or a list of them "
                                           f"(known: {', '.join(points.POINTS)})")
            return ()
        return tuple(n for n in names if self.engine_check((*path, "shows"),
                                                           points.check_point, n))

    def cell(self, table: Mapping[str, Any], path: tuple[str | int, ...], name: str
             ) -> tuple[int, ...] | None:
        """``cell = [f, i, j]``: an index into the tensor the step writes, for a step whose
        cells the engine can trace back (:data:`engine.provenance.SOURCES`)."""
        if "cell" not in table:
            return None
        where = (*path, "cell")
        if self.net is None:
            return None
        sources = engine.provenance_sources(self.net)
        if name not in sources:
            self.problem(where, f"cell: the engine cannot trace a cell of {name} back to its "
                                f"sources (it can for {', '.join(sources)})")
            return None
        shape = self.net.shapes()[name]
        cell = table["cell"]
        if (not isinstance(cell, list) or len(cell) != len(shape) or not all(
                isinstance(i, int) and not isinstance(i, bool) for i in cell)):
            self.problem(where, f"cell must be {len(shape)} whole numbers, an index into "
                                f"{name} of shape {shape}")
            return None
        if not all(0 <= i < n for i, n in zip(cell, shape)):
            self.problem(where, f"cell {cell} lies outside {name}, whose shape is {shape}")
            return None
        return tuple(cell)

    def highlight(self, table: Mapping[str, Any], path: tuple[str | int, ...],
                  on_slide: set[str]) -> tuple[tuple[str, tuple[tuple[int, ...], ...]], ...]:
        """``highlight = { NAME = [[i, j, ...], ...] }``: cells of tensors the slide draws,
        each a full index in the engine's shape of that tensor."""
        if "highlight" not in table:
            return ()
        given = table["highlight"]
        where = (*path, "highlight")
        if not isinstance(given, dict):
            self.problem(where, "highlight must be a table of tensor names and cell lists, as "
                                "in highlight = { A1 = [[0, 1, 2]] }")
            return ()
        if self.net is None:
            return ()
        shapes = self.net.shapes()
        out = []
        for name, cells in given.items():
            if name not in on_slide:
                self.problem(where, f"highlight names {name!r}, which this slide does not "
                                    f"draw (it draws {', '.join(sorted(on_slide)) or 'none'})")
                continue
            shape = shapes[name]
            if (not isinstance(cells, list) or not 1 <= len(cells) <= 64 or not all(
                    isinstance(c, list) and len(c) == len(shape)
                    and all(isinstance(i, int) and not isinstance(i, bool) for i in c)
                    for c in cells)):
                self.problem(where, f"highlight {name} must be a list of 1 to 64 cells, each "
                                    f"{len(shape)} whole numbers (an index into {shape})")
                continue
            outside = [c for c in cells if not all(0 <= i < n for i, n in zip(c, shape))]
            if outside:
                self.problem(where, f"highlight {name}: {outside} lies outside its shape "
                                    f"{shape}")
                continue
            out.append((name, tuple(tuple(c) for c in cells)))
        return tuple(out)

    def show(self, table: Mapping[str, Any], path: tuple[str | int, ...]
             ) -> tuple[str, ...] | None:
        if "show" not in table:
            return None
        show = table["show"]
        if not isinstance(show, list) or not all(isinstance(s, str) for s in show):
            self.problem((*path, "show"), "show must be a list of tensor names")
            return None
        unknown = [s for s in show if s not in self.names()] if self.net is not None else []
        if unknown:
            self.problem((*path, "show"), f"show names tensors the lesson's network does not "
                                          f"have: {unknown} (it has: "
                                          f"{', '.join(self.names())})")
        if len(show) > 8:
            self.problem((*path, "show"), f"show at most 8 tensors on a slide, got {len(show)}")
        return tuple(show)

    def formula(self, table: Mapping[str, Any], path: tuple[str | int, ...]) -> tuple[str, ...]:
        if "formula" not in table:
            return ()
        value = table["formula"]
        lines = [value] if isinstance(value, str) else value
        if not isinstance(lines, list) or not all(isinstance(s, str) for s in lines):
            self.problem((*path, "formula"), "formula must be a LaTeX string or a list of them")
            return ()
        for latex in lines:
            try:
                _mathml(latex)
            except Exception as exc:  # latex2mathml raises many kinds, most without a message
                self.problem((*path, "formula"), f"formula {latex!r} is not LaTeX that can be "
                                                 f"shown: {_latex_problem(exc)}")
        return tuple(lines)


def _size_problems(spec: Mapping[str, Any], found: list[engine.Problem]
                   ) -> list[engine.Problem]:
    """The sizes of the layers, each kind's own rule (``kind.shapes``), from the input up to
    the first layer with a problem already found: the engine checks sizes only once the
    order of the layers is right, and a lesson's author should hear of both at once."""
    if any(p.field.startswith("input") for p in found):
        return []
    layers = spec.get("layers")
    if not isinstance(layers, list):
        return []
    bad = {int(m.group(1)) for p in found if (m := _LAYER.match(p.field))}
    size = (spec.get("input") or {}).get("size", 6) if isinstance(spec.get("input"),
                                                                   dict | None) else 6
    shape: tuple[int, ...] = (size, size)
    dense = [i for i, item in enumerate(layers)
             if isinstance(item, dict) and item.get("type") == "dense"]
    out: list[engine.Problem] = []
    for i, item in enumerate(layers):
        if i in bad or not isinstance(item, dict) or item.get("type") not in engine.LAYER_KINDS:
            break
        scratch: list[engine.Problem] = []
        # the engine's reading of one layer: its options with their defaults filled in
        layer = _engine_layer(item, f"layers[{i}]", scratch)
        if layer is None or scratch:
            break
        try:
            shape, _ = engine.KINDS[layer.type].shapes(
                layer, shape, first=i == 0,
                scalar=bool(dense) and i == dense[-1] and spec.get("output") != "softmax_ce")
        except ValueError as exc:
            out.append(engine.Problem(f"layers[{i}]", str(exc)))
            break
    return out


def _step_title(step: engine.Step) -> str:
    if step.phase == "update":
        return f"Update {step.writes}"
    if step.phase == "backward":
        return f"Backward: {step.writes}"
    return f"Forward: {step.writes}"


LATEX_PROBLEMS = {  # latex2mathml's exceptions, in words
    "NoAvailableTokensError": "a command at the end is missing what it applies to "
                              "(as in \\sqrt with nothing after it)",
    "MissingSuperScriptOrSubscriptError": "a ^ or _ has nothing after it",
    "DoubleSuperscriptsError": "two ^ in a row: group them, as in x^{ab}",
    "DoubleSubscriptsError": "two _ in a row: group them, as in x_{ab}",
    "MissingEndError": "a \\begin{...} has no \\end{...}",
    "ExtraLeftOrMissingRightError": "a \\left has no \\right",
    "NumeratorNotFoundError": "a fraction has no numerator",
    "DenominatorNotFoundError": "a fraction has no denominator",
    "LimitsMustFollowMathOperatorError": "\\limits must follow an operator such as \\sum",
    "InvalidAlignmentError": "an array's column alignment is not one of l, c, r",
    "InvalidStyleForGenfracError": "\\genfrac's style must be 0 to 3",
    "InvalidWidthError": "a width is not a valid length",
}


def _latex_problem(exc: Exception) -> str:
    known = LATEX_PROBLEMS.get(type(exc).__name__)
    if known:
        return known
    return str(exc) or "the converter could not read it (check the braces and commands)"


@functools.lru_cache(maxsize=256)
def _mathml(latex: str) -> str:
    return convert(latex, display="block")
