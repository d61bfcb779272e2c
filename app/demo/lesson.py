"""A lesson: the fixed example and the ordered slides the presenter walks through.

A lesson is a TOML file an instructor can read and edit (``app/lessons/default.toml`` is
the default; ``convlens demo --script FILE`` replaces it)::

    title = "Backpropagation in a CNN"
    lr = 0.1                        # η of the update (optional, default 0.1)
    require_id = true               # a student joins only with a student ID (optional)

    [example]                       # the example every class sees
    y = 1
    x = [[0.0, 0.0, 0.9, 0.2, 0.0, 0.1], ...]          # n × n
    [example.config]                # optional: the seed's network by default
    input_size = 6
    [example.params]                # shapes as the config says
    W1 = [[[0.2, 0.3, 0.4], [-0.1, 0.3, -0.3], [-0.5, 0.5, -0.6]]]
    b1 = [0.1]
    W2 = [[-0.5, 0.8, -0.6, 0.9]]
    b2 = [-0.2]

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

    [[slide]]                       # the second forward pass: the loss after the update
    kind = "loss-after"
    narration = "..."
    shows = "loss-falls"            # the point it makes (engine.points): the checker
                                    # warns when the example's numbers do not show it

Step slides are keyed by the engine step's ``writes`` (and ``phase``, optional: it must
match), checked against :data:`engine.STEPS`, and must follow the engine's order; each step
appears at most once. :func:`parse_lesson` collects every problem and raises
:class:`LessonError`, whose lines read ``FILE:LINE: problem``.
"""

from __future__ import annotations

import functools
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from latex2mathml.converter import convert

import engine
from engine import points
from engine.provenance import SOURCES

from ..schemas import DEFAULT_LR  # the API's default η, the one home of it
from .questions import Question
from .questions import check_lesson as check_questions
from .source import key_lines, line_of
from .walk import first_known, slide_cursors

DEFAULT_LESSON = Path(__file__).resolve().parents[1] / "lessons" / "default.toml"
MAX_LESSON_BYTES = 256_000
MAX_SLIDES = 200
MAX_TEXT = 1200  # characters of narration, notes, a prompt or an answer
MAX_TITLE = 120


KINDS = ("step", "intro", "loss-after")
TOP_KEYS = {"title": True, "lr": False, "require_id": False, "example": True,
            "slide": True}
EXAMPLE_KEYS = {"x": True, "y": True, "params": True, "config": False}
SLIDE_KEYS = {
    "step": ("step", "kind", "phase", "title", "narration", "notes", "predict", "reveal",
             "show", "highlight", "cell", "question", "shows"),
    "intro": ("kind", "name", "title", "narration", "notes", "predict", "reveal", "show",
              "formula", "highlight", "question", "shows"),
    "loss-after": ("kind", "name", "title", "narration", "notes", "predict", "reveal",
                   "question", "shows"),
}
STEP_BY_WRITES = {s.writes: (i, s) for i, s in enumerate(engine.STEPS)}
TENSOR_NAMES = tuple(engine.Config().shapes())  # every tensor and gradient, by the engine


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
    kind: str  # "step", "intro" or "loss-after"
    name: str  # what <main data-step> shows: the step's writes, or the slide's own name
    title: str
    narration: str
    line: int
    step: int | None = None  # index into engine.STEPS for a step slide
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


@dataclass(frozen=True)
class Lesson:
    title: str
    config: engine.Config
    x: np.ndarray
    y: int
    params: dict[str, np.ndarray]
    lr: float
    slides: tuple[Slide, ...]
    source: str = "<lesson>"
    questions: tuple[Question, ...] = ()  # the room answers them (app.demo.questions)
    require_id: bool = False  # a student joins the room's answers only with a student ID
    # slides whose point (``shows``) the example's numbers do not show: the lesson still
    # runs, and the instructor is told ("FILE:LINE: ..."), so the text can be changed
    warnings: tuple[str, ...] = ()
    beats: tuple[tuple[int, bool], ...] = field(init=False)

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
        self.lines = key_lines(text)
        self.problems: list[Problem] = []
        self.config: engine.Config | None = None  # the example's, once it is checked

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
        config, x, y, params = self.example(example) if isinstance(example, dict) else (
            None, None, None, None)
        self.config = config
        if not isinstance(example, dict):
            self.problem(("example",), f"example must be a table, got {_kind(example)}")
        slides = self.slides(raw.get("slide", []))
        trace = None
        if not self.problems and all(v is not None for v in (config, x, y, params)):
            trace = engine.trace(x, y, params, config)
        raw_slides = raw.get("slide", [])
        questions = check_questions(raw_slides, slides, trace, float(lr), self.problem) if (
            isinstance(raw_slides, list)) else ()
        if self.problems:
            raise LessonError(self.source, self.problems)
        assert config is not None and x is not None and y is not None and params is not None
        assert trace is not None
        warnings = tuple(
            f"{self.source}:{slide.line}: the example's numbers do not show this slide's "
            f"point ({name}: {points.POINTS[name].text})"
            for slide in slides for name in slide.shows
            if not points.holds(name, trace, float(lr)))
        return Lesson(warnings=warnings, title=title, config=config, x=x, y=y, params=params,
                      lr=float(lr), slides=tuple(slides), source=self.source, questions=questions,
                      require_id=bool(require_id))

    def example(self, example: Mapping[str, Any]) -> tuple[Any, Any, Any, Any]:
        path = ("example",)
        self.keys(example, path, EXAMPLE_KEYS, "[example]")
        config = engine.Config()
        given = example.get("config", {})
        if not isinstance(given, dict):
            self.problem((*path, "config"), f"config must be a table, got {_kind(given)}")
        else:
            self.keys(given, (*path, "config"), tuple(engine.LIMITS), "[example.config]")
            sizes = {k: v for k, v in given.items() if k in engine.LIMITS}
            try:
                config = engine.Config(**sizes)
            except ValueError as exc:
                bad = str(exc).split()[0] if str(exc).split()[0] in sizes else None
                self.problem((*path, "config", bad) if bad else (*path, "config"),
                             f"config: {exc}")
                config = None
        x = y = params = None
        if "x" in example and config is not None:
            x = self.engine_check((*path, "x"), engine.check_x, example["x"], config)
        if "y" in example:
            y = self.engine_check((*path, "y"), engine.check_y, example["y"])
            y = None if y is None else int(y)
        given_params = example.get("params")
        if "params" in example and not isinstance(given_params, dict):
            self.problem((*path, "params"), f"params must be a table, got {_kind(given_params)}")
        elif isinstance(given_params, dict):
            ppath = (*path, "params")
            self.keys(given_params, ppath, {name: True for name in engine.PARAM_NAMES},
                      "[example.params]")
            if config is not None:
                found = {name: self.parameter(given_params[name], (*ppath, name), name, config)
                         for name in engine.PARAM_NAMES if name in given_params}
                if len(found) == len(engine.PARAM_NAMES) and all(
                        v is not None for v in found.values()):
                    params = found
        return config, x, y, params

    def parameter(self, value: object, path: tuple[str | int, ...], name: str,
                  config: engine.Config) -> np.ndarray | None:
        """One parameter, by the engine's check of the four (the others stand in as zeros,
        so that each parameter's problem is reported, not only the first)."""
        shapes = config.shapes()
        others = {other: np.zeros(shapes[other]) for other in engine.PARAM_NAMES}
        checked = self.engine_check(path, engine.check_params, {**others, name: value}, config)
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
            if slide.step is not None:
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
        after: Slide | None = None
        for slide, (_, cursor) in zip(slides, slide_cursors(slides)):
            if slide.kind == "step" and after is not None:
                self.problem(self.path_of(slide, "step"), (
                    f"step {slide.name!r} comes after the loss-after slide (line "
                    f"{after.line}), which shows the second pass: steps of the first go "
                    "before it"))
            if slide.kind == "loss-after":
                after = after or slide
            early = [name for name in slide.show or () if first_known(name) > cursor]
            if early:
                where = (f"the {slide.name} step" if slide.kind == "step"
                         else "this point of the lesson")
                self.problem(self.path_of(slide, "show"), (
                    f"show names {', '.join(early)}, which the lesson has not computed yet "
                    f"at {where}; show it on a slide after its step"))

    def path_of(self, slide: Slide, key: str) -> tuple[str | int, ...]:
        return ("slide", slide.position, key)

    def slide(self, table: Mapping[str, Any], path: tuple[str | int, ...]) -> Slide | None:
        line = line_of(self.lines, path)
        before = len(self.problems)
        kind = table.get("kind", "step" if "step" in table else None)
        if kind is None:
            self.problem(path, "a slide needs either step = \"NAME\" (one step of the engine) "
                               "or kind = \"intro\" or \"loss-after\"")
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
            if not isinstance(name, str) or name not in STEP_BY_WRITES:
                self.problem((*path, "step"), f"unknown step {name!r} (known: "
                                              f"{', '.join(STEP_BY_WRITES)})")
                return None
            step_index, step = STEP_BY_WRITES[name]
            phase = table.get("phase", step.phase)
            if phase != step.phase:
                self.problem((*path, "phase"), f"step {name!r} is in the {step.phase} phase, "
                                               f"not {phase!r}")
            title = title or _step_title(step_index)
        else:
            if "step" in table:
                self.problem((*path, "step"), f"{what} cannot name a step (leave out kind to "
                                              "make a step slide)")
            default = "loss-after" if kind == "loss-after" else None
            name = table.get("name", default)
            if name is None:
                self.problem(path, f"{what} is missing the required key 'name'")
                return None
            if (not isinstance(name, str) or not name or len(name) > 40
                    or not all(c.isalnum() or c in "-_" for c in name)):
                self.problem((*path, "name"), f"name must be a short word of letters, digits, "
                                              f"- and _, got {name!r}")
                return None
            if name in TENSOR_NAMES:
                self.problem((*path, "name"), f"name {name!r} is a tensor's name; choose "
                                              "another so the slide is not mistaken for a step")
                return None
            if kind == "intro" and "title" not in table:
                self.problem(path, f"{what} is missing the required key 'title'")
            title = title or "After the update: the second forward pass"
        formula = self.formula(table, path) if kind == "intro" else ()
        on_slide = set(show or ())
        if step_index is not None:
            step = engine.STEPS[step_index]
            on_slide = set(show if show is not None else step.reads) | {step.writes}
        highlight = self.highlight(table, path, on_slide)
        cell = self.cell(table, path, name) if step_index is not None else None
        shows = self.shows(table, path)
        if len(self.problems) > before:
            return None
        return Slide(kind=kind, name=name, title=title, narration=narration, line=line,
                     step=step_index, notes=notes, predict=predict, reveal=reveal, show=show,
                     formula=formula, position=int(path[-1]), highlight=highlight, cell=cell,
                     shows=shows)

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
        if name not in SOURCES:
            self.problem(where, f"cell: the engine cannot trace a cell of {name} back to its "
                                f"sources (it can for {', '.join(SOURCES)})")
            return None
        shape = (self.config or engine.Config()).shapes()[name]
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
        shapes = (self.config or engine.Config()).shapes()
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
        unknown = [s for s in show if s not in TENSOR_NAMES]
        if unknown:
            self.problem((*path, "show"), f"show names unknown tensors {unknown} (known: "
                                          f"{', '.join(TENSOR_NAMES)})")
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


def _step_title(index: int) -> str:
    step = engine.STEPS[index]
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
