"""Questions on a lesson's slides, answered by the room: what they are, how an answer is
read and graded, and how the room's answers add up.

A slide carries at most one question, as a ``[slide.question]`` table after its
``[[slide]]``. Four kinds::

    [slide.question]                # one of several options
    kind = "choice"
    prompt = "Is ∂L/∂A2 positive or negative?"
    options = ["positive", "negative", "zero"]
    answer = "negative"             # one of the options, word for word

    [slide.question]                # one number
    kind = "number"
    prompt = "What is the loss L? (natural log)"
    answer = "L"                    # a one-number tensor of the lesson's example, or a number
    tolerance = 0.005               # optional: the engine's Practice tolerance otherwise

    [slide.question]                # tap the cells of a tensor
    kind = "cells"
    prompt = "Tap the cells of A1 that receive a gradient."
    tensor = "A1"                   # drawn with its values; known at the question
    answer = "dA1 != 0"             # NAME OP NUMBER over a tensor of the same shape, or
                                    # a list of cells [[f, r, c], ...]

    [slide.question]                # a small grid, graded like a Practice exercise
    kind = "grid"
    prompt = "Compute dZ1."
    step = "dZ1"                    # the engine step; its givens are the example's

Any kind may be asked twice, as peer instruction: ``rounds = 2`` (a silent vote, closed
sealed, discussion with a neighbour, a second vote, then the reveal with both rounds) and
``timer = SECONDS`` (round 2's default time, which the presenter adjusts live).

Questions work on any network (the lesson's ``[network]``): tensor names and grid steps are
the network's own (``engine.practice.step_names``), and the givens and answers come from its
trace.

Every answer is worth one point: right or wrong for choice, number and cells (the exact set
of cells), the share of right cells for a grid (``engine.grade``, which also names the
misconception that explains a wrong grid). The right answers come from the lesson's own
example (the engine's trace), so they stay right when the example changes.

This module knows nothing of rooms, sockets or storage: :mod:`app.demo.answers` keeps the
answers, :mod:`app.demo.lesson` calls :func:`read_question` and :func:`resolve` while it
checks a lesson.
"""

from __future__ import annotations

import dataclasses
import math
import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import engine

KINDS = ("choice", "number", "cells", "grid")
ROUND_KEYS = ("rounds", "timer")  # peer instruction: any kind may have two rounds
KEYS = {
    "choice": ("kind", "prompt", "options", "answer", *ROUND_KEYS),
    "number": ("kind", "prompt", "answer", "tolerance", *ROUND_KEYS),
    "cells": ("kind", "prompt", "tensor", "answer", *ROUND_KEYS),
    "grid": ("kind", "prompt", "step", *ROUND_KEYS),
}
MAX_TIMER = 3600  # seconds of a round's timer
MAX_PROMPT = 300  # characters
MAX_OPTIONS = 6
MAX_OPTION = 80  # characters of one option
MAX_GRID_CELLS = 36  # a grid question's answer, typed on a phone
MAX_CELLS = 144  # cells of a tensor to tap
MAX_NUMBER = 1e9  # an answered number's magnitude
NUMBER_BARS = 8  # distinct numbers shown as bars; the rest are "other"
SIGNIFICANT = 3  # numbers are grouped for the bars at this many significant digits
CONDITION = re.compile(r"^\s*([A-Za-z][A-Za-z0-9]*)\s*(==|!=|>=|<=|>|<)\s*"
                       r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*$")
OPERATORS: dict[str, Callable[[np.ndarray, float], np.ndarray]] = {
    "==": lambda a, v: np.isclose(a, v, rtol=0, atol=1e-12),
    "!=": lambda a, v: ~np.isclose(a, v, rtol=0, atol=1e-12),
    ">=": np.greater_equal, "<=": np.less_equal, ">": np.greater, "<": np.less,
}

Path = tuple[str | int, ...]
Report = Callable[[Path, str], None]  # (key path, message): a problem of the lesson


class AnswerError(ValueError):
    """An answer that cannot be read; the message names what is wrong."""


@dataclass(frozen=True)
class Spec:
    """A question as written, checked for form only (the example may still be wrong)."""

    kind: str
    prompt: str
    path: Path
    options: tuple[str, ...] = ()
    answer: object = None
    tolerance: float | None = None
    tensor: str = ""
    step: str = ""
    rounds: int = 1
    timer: int | None = None


@dataclass(frozen=True)
class Question:
    id: str  # the slide's name: unique in a lesson
    kind: str
    prompt: str
    truth: Any = field(repr=False)  # choice: index; number: float; cells: frozenset; grid: array
    options: tuple[str, ...] = ()
    tolerance: float = 0.0  # number
    tensor: str = ""  # cells: the tapped tensor
    shape: tuple[int, ...] = ()  # cells: the tensor's; grid: the answer's
    values: Any = field(default=None, repr=False)  # cells: the tapped tensor's values
    step: str = ""  # grid
    given: Mapping[str, np.ndarray] = field(default_factory=dict, repr=False)  # grid
    lr: float | None = None  # grid, for the update steps' misconceptions
    net: engine.Network | None = field(default=None, repr=False)  # grid: a network that is
    # not seed-shaped, for its misconceptions (None: the seed's sizes, read off the tensors)
    rounds: int = 1  # 2: peer instruction (a silent vote, discussion, a second vote)
    timer: int | None = None  # seconds round 2 is open by default (None: until closed)

    def public(self) -> dict[str, Any]:
        """What a phone may see while the question is open: nothing of the right answer."""
        out: dict[str, Any] = {"id": self.id, "kind": self.kind, "prompt": self.prompt}
        if self.kind == "choice":
            out["options"] = list(self.options)
        elif self.kind == "cells":
            out.update(tensor=self.tensor, shape=list(self.shape),
                       values=np.asarray(self.values).tolist())
        elif self.kind == "grid":
            out.update(step=self.step, shape=list(self.shape),
                       given={k: np.asarray(v).tolist() for k, v in self.given.items()})
        return out

    def answer_json(self) -> Any:
        """The right answer in the form a phone sends one."""
        if self.kind == "cells":
            return sorted(list(c) for c in self.truth)
        if self.kind == "grid":
            return np.asarray(self.truth).tolist()
        return self.truth


@dataclass(frozen=True)
class Result:
    correct: bool
    score: float  # the points earned, of 1
    misconception: str = ""  # a grid's: the misconception's id
    late: bool = False  # given after the answer was shown: kept apart, never counted


# ------------------------------------------------------------------------- the lesson
def _kind_of(value: object) -> str:
    return {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a table"}.get(type(value), type(value).__name__)


def read_question(table: object, path: Path, problem: Report,
                  net: engine.Network = engine.SEED) -> Spec | None:
    """The ``[slide.question]`` table at ``path`` checked for form (tensor and step names
    are ``net``'s); each problem reported."""
    if not isinstance(table, dict):
        problem(path, f"question must be a table ([slide.question]), got {_kind_of(table)}")
        return None
    kind = table.get("kind")
    if kind not in KINDS:
        problem((*path, "kind") if "kind" in table else path,
                f"a question needs kind = one of {', '.join(KINDS)}, got {kind!r}")
        return None
    before = _Count(problem)
    for key in table:
        if key not in KEYS[kind]:
            before.report((*path, key), f"unknown key {key!r} in a {kind} question (known: "
                                        f"{', '.join(KEYS[kind])})")
    prompt = table.get("prompt")
    if not isinstance(prompt, str) or not prompt.strip():
        before.report((*path, "prompt") if "prompt" in table else path,
                      "a question needs a prompt: the words the room reads")
        prompt = ""
    elif len(prompt) > MAX_PROMPT:
        before.report((*path, "prompt"), f"prompt is {len(prompt)} characters long; keep it "
                                         f"under {MAX_PROMPT} so it fits a phone")
    prompt = " ".join(str(prompt).split())
    spec = Spec(kind=kind, prompt=prompt, path=path)
    names = tuple(net.shapes())
    if kind == "choice":
        spec = _read_choice(table, path, before, spec)
    elif kind == "number":
        spec = _read_number(table, path, before, spec, names)
    elif kind == "cells":
        spec = _read_cells(table, path, before, spec, names)
    else:
        step = table.get("step")
        steps = engine.practice.step_names(net)
        if step not in steps:
            before.report((*path, "step") if "step" in table else path,
                          f"a grid question needs step = one of the network's steps "
                          f"({', '.join(steps)}), got {step!r}")
        spec = Spec(kind, prompt, path, step=str(step))
    rounds, timer = _read_rounds(table, path, before)
    spec = dataclasses.replace(spec, rounds=rounds, timer=timer)
    return None if before.count else spec


def _read_rounds(table: Mapping[str, Any], path: Path, out: _Count) -> tuple[int, int | None]:
    """``rounds = 2`` (peer instruction) and ``timer = SECONDS`` (round 2's default)."""
    rounds = table.get("rounds", 1)
    if isinstance(rounds, bool) or rounds not in (1, 2):
        out.report((*path, "rounds"), f"rounds must be 1 or 2 (a silent vote, then a second "
                                      f"after discussion), got {rounds!r}")
        rounds = 1
    timer = table.get("timer")
    if timer is not None:
        if isinstance(timer, bool) or not isinstance(timer, int) or not 5 <= timer <= MAX_TIMER:
            out.report((*path, "timer"), f"timer must be a whole number of seconds, 5 to "
                                         f"{MAX_TIMER}, got {timer!r}")
            timer = None
        elif rounds != 2:
            out.report((*path, "timer"), "timer is round 2's: it needs rounds = 2")
            timer = None
    return int(rounds), timer


class _Count:
    def __init__(self, problem: Report) -> None:
        self.problem = problem
        self.count = 0

    def report(self, path: Path, message: str) -> None:
        self.count += 1
        self.problem(path, message)


def _read_choice(table: Mapping[str, Any], path: Path, out: _Count, spec: Spec) -> Spec:
    options = table.get("options")
    if (not isinstance(options, list) or not all(isinstance(o, str) and o.strip()
                                                  for o in options)
            or not 2 <= len(options) <= MAX_OPTIONS):
        out.report((*path, "options") if "options" in table else path,
                   f"a choice question needs options = a list of 2 to {MAX_OPTIONS} words")
        return spec
    opts = tuple(" ".join(o.split()) for o in options)
    if len(set(opts)) != len(opts):
        out.report((*path, "options"), "two options are the same")
    long = [o for o in opts if len(o) > MAX_OPTION]
    if long:
        out.report((*path, "options"), f"an option is {len(long[0])} characters long; keep "
                                       f"each under {MAX_OPTION}")
    answer = table.get("answer")
    if not isinstance(answer, str) or " ".join(answer.split()) not in opts:
        out.report((*path, "answer") if "answer" in table else path,
                   f"answer must be one of the options ({', '.join(map(repr, opts))}), "
                   f"got {answer!r}")
        return spec
    return Spec(spec.kind, spec.prompt, path, options=opts,
                answer=opts.index(" ".join(answer.split())))


def _read_number(table: Mapping[str, Any], path: Path, out: _Count, spec: Spec,
                 names: tuple[str, ...]) -> Spec:
    answer = table.get("answer")
    ok = (isinstance(answer, str) and answer in names) or (
        isinstance(answer, (int, float)) and not isinstance(answer, bool)
        and math.isfinite(answer))
    if not ok:
        out.report((*path, "answer") if "answer" in table else path,
                   f"answer must be a number or the name of a one-number tensor (such as L, "
                   f"A2, dZ2), got {answer!r}")
    tol = table.get("tolerance")
    if tol is not None and (isinstance(tol, bool) or not isinstance(tol, (int, float))
                            or not 0 < tol < MAX_NUMBER):
        out.report((*path, "tolerance"), f"tolerance must be a positive number, got {tol!r}")
        tol = None
    return Spec(spec.kind, spec.prompt, path, answer=answer,
                tolerance=None if tol is None else float(tol))


def _read_cells(table: Mapping[str, Any], path: Path, out: _Count, spec: Spec,
               names: tuple[str, ...]) -> Spec:
    tensor = table.get("tensor")
    if tensor not in names:
        out.report((*path, "tensor") if "tensor" in table else path,
                   f"a cells question needs tensor = the tensor to tap (one of "
                   f"{', '.join(names)}), got {tensor!r}")
    answer = table.get("answer")
    if isinstance(answer, str):
        m = CONDITION.match(answer)
        if not m or m.group(1) not in names:
            out.report((*path, "answer"), f"answer {answer!r} must read NAME OP NUMBER, such "
                                          f"as \"dA1 != 0\" (OP one of {', '.join(OPERATORS)})")
    elif not (isinstance(answer, list) and all(
            isinstance(c, list) and c and all(isinstance(i, int) and not isinstance(i, bool)
                                              for i in c) for c in answer)):
        out.report((*path, "answer") if "answer" in table else path,
                   "answer must be a condition such as \"dA1 != 0\" or a list of cells "
                   "[[f, r, c], ...]")
    return Spec(spec.kind, spec.prompt, path, tensor=str(tensor), answer=answer)


def resolve(spec: Spec, slide_id: str, *, trace: engine.Trace, lr: float,
            known: Sequence[str], problem: Report) -> Question | None:
    """The question with its right answer taken from the example's ``trace``. ``known`` is
    what the room has seen when the question is asked: a tensor to tap or a grid's givens
    must be among it, and the answer must not be (it would be on the screen already)."""
    q = _resolve(spec, slide_id, trace=trace, lr=lr, known=known, problem=problem)
    return None if q is None else dataclasses.replace(q, rounds=spec.rounds, timer=spec.timer)


def answer_names(spec: Spec) -> tuple[str, ...]:
    """The tensors that hold the answer of ``spec``: never on the screen when it is asked."""
    if spec.kind == "number" and isinstance(spec.answer, str):
        return (spec.answer,)
    if spec.kind == "cells" and isinstance(spec.answer, str):
        m = CONDITION.match(spec.answer)
        return (m.group(1),) if m and m.group(1) != spec.tensor else ()
    if spec.kind == "grid":
        return (spec.step,)
    return ()


def _resolve(spec: Spec, slide_id: str, *, trace: engine.Trace, lr: float,
             known: Sequence[str], problem: Report) -> Question | None:
    path = spec.path
    if spec.kind == "choice":
        return Question(slide_id, "choice", spec.prompt, spec.answer, options=spec.options)
    if spec.kind == "number":
        if isinstance(spec.answer, str):
            value = np.asarray(trace[spec.answer])
            if value.size != 1:
                problem((*path, "answer"), f"{spec.answer} has {value.size} numbers "
                                           f"(shape {value.shape}); a number question needs "
                                           "one")
                return None
            if spec.answer in known:
                problem((*path, "answer"), f"{spec.answer} is on the screen already when "
                                           "this question is asked: ask it on the slide "
                                           "before its step")
                return None
            truth = float(value.reshape(-1)[0])
        else:
            truth = float(spec.answer)  # type: ignore[arg-type]
        tol = spec.tolerance if spec.tolerance is not None else float(
            engine.tolerance(np.asarray([truth]))[0])
        return Question(slide_id, "number", spec.prompt, truth, tolerance=tol)
    if spec.kind == "cells":
        values = np.asarray(trace[spec.tensor])
        if spec.tensor not in known:
            problem((*path, "tensor"), f"{spec.tensor} is not on the screen yet when this "
                                       "question is asked: tap a tensor the room has seen")
            return None
        if values.ndim == 0:
            problem((*path, "tensor"), f"{spec.tensor} is a single number: there are no "
                                       "cells to tap; ask a number question")
            return None
        if values.size > MAX_CELLS:
            problem((*path, "tensor"), f"{spec.tensor} has {values.size} cells; at most "
                                       f"{MAX_CELLS} fit a phone")
            return None
        if isinstance(spec.answer, str):
            m = CONDITION.match(spec.answer)
            assert m is not None
            other = np.asarray(trace[m.group(1)])
            if m.group(1) in known and m.group(1) != spec.tensor:
                problem((*path, "answer"), f"{m.group(1)} is on the screen already when "
                                           "this question is asked")
                return None
            if other.shape != values.shape:
                problem((*path, "answer"), f"{m.group(1)} has shape {other.shape}, "
                                           f"{spec.tensor} {values.shape}: the condition "
                                           "must be over a tensor of the same shape")
                return None
            mask = OPERATORS[m.group(2)](other, float(m.group(3)))
            truth = frozenset(tuple(int(i) for i in c) for c in np.argwhere(mask))
        else:
            cells = [tuple(c) for c in spec.answer]  # type: ignore[union-attr]
            bad = [c for c in cells if len(c) != values.ndim
                   or not all(0 <= i < n for i, n in zip(c, values.shape))]
            if bad:
                problem((*path, "answer"), f"cell {list(bad[0])} is not in {spec.tensor}, "
                                           f"whose shape is {values.shape}")
                return None
            truth = frozenset(cells)
        return Question(slide_id, "cells", spec.prompt, truth, tensor=spec.tensor,
                        shape=tuple(values.shape), values=values)
    net = trace.network
    step = engine.practice.practice_step(spec.step, net)
    truth = np.asarray(trace[spec.step] - lr * trace["d" + spec.step]
                       if step.phase == "update" else trace[spec.step])
    if truth.size > MAX_GRID_CELLS:
        problem((*path, "step"), f"{spec.step} has {truth.size} numbers; a grid question "
                                 f"holds at most {MAX_GRID_CELLS} to type on a phone")
        return None
    if spec.step in known:
        problem((*path, "step"), f"{spec.step} is on the screen already when this question "
                                 "is asked: ask it on the slide of its step")
        return None
    missing = [name for name in step.reads if name not in known]
    if missing:
        problem((*path, "step"), f"the grid's givens {', '.join(missing)} are not on the "
                                 "screen yet when this question is asked")
        return None
    given = {name: np.asarray(trace[name]) for name in step.reads}
    return Question(slide_id, "grid", spec.prompt, truth, shape=tuple(truth.shape),
                    step=spec.step, given=given,
                    lr=lr if step.phase == "update" else None,
                    net=None if net.config is not None else net)


# ---------------------------------------------------------------------------- answers
DECIMAL_COMMA = re.compile(r"^[-+]?(\d+,\d*|,\d+)([eE][-+]?\d+)?$")


def typed_number(text: str) -> float:
    """A number as a person types it: a typographic minus, and a decimal comma ("−0,626")
    read as a point (static/js/common/format.js ``readNumber`` reads it the same way)."""
    t = text.strip().replace("−", "-")
    if DECIMAL_COMMA.match(t):
        t = t.replace(",", ".")
    try:
        return float(t)
    except ValueError:
        raise AnswerError("answer must be a number, such as -0.626 or -0,626") from None


def read_answer(q: Question, raw: object) -> Any:
    """A phone's answer to ``q`` in its canonical form, or :class:`AnswerError`."""
    if q.kind == "choice":
        if isinstance(raw, bool) or not isinstance(raw, int) or not 0 <= raw < len(q.options):
            raise AnswerError(f"answer must be the number of an option, 0 to "
                              f"{len(q.options) - 1}")
        return raw
    if q.kind == "number":
        if isinstance(raw, str):
            raw = typed_number(raw)
        if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(
                raw) or abs(raw) > MAX_NUMBER:
            raise AnswerError(f"answer must be a finite number of magnitude at most "
                              f"{MAX_NUMBER:g}")
        return float(raw)
    if q.kind == "cells":
        if not isinstance(raw, list) or len(raw) > int(np.prod(q.shape)):
            raise AnswerError(f"answer must be a list of at most {int(np.prod(q.shape))} "
                              "cells")
        cells = set()
        for c in raw:
            if (not isinstance(c, list) or len(c) != len(q.shape)
                    or not all(isinstance(i, int) and not isinstance(i, bool) for i in c)
                    or not all(0 <= i < n for i, n in zip(c, q.shape))):
                raise AnswerError(f"each cell must be {len(q.shape)} indices within "
                                  f"{q.tensor}'s shape {list(q.shape)}")
            cells.add(tuple(c))
        return sorted(list(c) for c in cells)
    try:
        array = engine.practice.check_answer(raw, q.shape)
    except ValueError as exc:
        raise AnswerError(str(exc)) from None
    if np.abs(array).max(initial=0) > MAX_NUMBER:
        raise AnswerError(f"answer's numbers must be of magnitude at most {MAX_NUMBER:g}")
    return array.tolist()


def grade(q: Question, answer: Any) -> Result:
    """An answer already read by :func:`read_answer`, marked against the truth."""
    if q.kind == "choice":
        right = answer == q.truth
        return Result(right, float(right))
    if q.kind == "number":
        right = abs(float(answer) - q.truth) <= q.tolerance
        return Result(right, float(right))
    if q.kind == "cells":
        right = frozenset(tuple(c) for c in answer) == q.truth
        return Result(right, float(right))
    g = engine.grade(q.step, answer, q.truth, q.given, lr=q.lr, net=q.net)
    return Result(g.correct, round(g.score, 4), g.misconception.id if g.misconception else "")


def _bar_key(value: float) -> float:
    return float(f"{value:.{SIGNIFICANT}g}")


def distribution(q: Question, answers: Sequence[tuple[Any, Result]]) -> dict[str, Any]:
    """What the room answered, for the presenter while open and for everyone at the
    reveal: ``{kind, answered, right, ...}`` with, by kind, ``counts`` per option, ``bars``
    of the most frequent numbers, ``taps`` per cell, or the grid's ``misconceptions`` and
    ``cells_right`` (per cell, how many answers had it right)."""
    out: dict[str, Any] = {"question": q.id, "kind": q.kind, "answered": len(answers),
                           "right": sum(r.correct for _, r in answers)}
    if q.kind == "choice":
        counts = [0] * len(q.options)
        for a, _ in answers:
            counts[a] += 1
        out["counts"] = counts
    elif q.kind == "number":
        tally = Counter(_bar_key(a) for a, _ in answers)
        top = tally.most_common(NUMBER_BARS)
        out["bars"] = [{"value": v, "count": n} for v, n in sorted(top)]
        out["other"] = len(answers) - sum(n for _, n in top)
    elif q.kind == "cells":
        taps = np.zeros(q.shape, dtype=np.int64)
        for a, _ in answers:
            for c in a:
                taps[tuple(c)] += 1
        out["taps"] = taps.tolist()
    else:
        out["score"] = (round(sum(r.score for _, r in answers) / len(answers), 4)
                        if answers else 0.0)
        # per cell, how many got it right: the reveal draws it over the true answer
        right = np.zeros(q.shape, dtype=np.int64)
        for a, _ in answers:
            right += engine.practice.right_cells(np.asarray(a, dtype=np.float64),
                                                 np.asarray(q.truth)).astype(np.int64)
        out["cells_right"] = right.tolist()
        tally = Counter(r.misconception for _, r in answers if r.misconception)
        titles = {m.id: m.title for m in engine.MISCONCEPTIONS}
        out["misconceptions"] = [{"id": m, "title": titles.get(m, m), "count": n}
                                 for m, n in tally.most_common(3)]
    return out


def check_lesson(raw_slides: Sequence[object], slides: Sequence[Any],
                 trace: engine.Trace | None, lr: float, problem: Report, *,
                 net: engine.Network = engine.SEED) -> tuple[Question, ...]:
    """The questions of a lesson's checked ``slides`` (each knows its ``position`` among
    the ``[[slide]]`` tables ``raw_slides``) on the network ``net``, every problem reported
    at its line. Without a ``trace`` (the example has problems of its own) only their form
    is checked."""
    from .walk import slide_cursors

    out: list[Question] = []
    for slide, (ask, _) in zip(slides, slide_cursors(slides, net)):
        table = raw_slides[slide.position]
        if not isinstance(table, dict) or "question" not in table:
            continue
        path: Path = ("slide", slide.position, "question")
        spec = read_question(table["question"], path, problem, net)
        if spec is None:
            continue
        if not slide.predict:
            problem(path, "a question goes on a slide that asks first (predict and reveal), "
                          "so its answer is not on the screen while the room answers")
            continue
        if trace is not None:
            q = resolve(spec, slide.name, trace=trace, lr=lr, known=engine.known(ask, net),
                        problem=problem)
            if q is not None:
                out.append(q)
    return tuple(out)


# ------------------------------------------------------------------- the concept check
CHECK_SIZE = (3, 6)  # questions of a lesson's [check]
CHECK_SEEDS = {"pre": 2_022, "post": 2_023}  # the variants drawn for the two checks
PHASES = ("pre", "post")


def check_id(i: int) -> str:
    return f"check-{i + 1}"


def read_check(table: object, lr: float, problem: Report, *, net: engine.Network,
               resolving: bool = True) -> dict[str, tuple[Question, ...]]:
    """A lesson's ``[check]``: 3 to 6 ``[[check.question]]`` tables of any kind, asked before
    the lesson (``pre``) and again after it (``post``). Each check is on an example the
    engine draws for it (:func:`engine.practice.variant`), the post-check's another than the
    pre-check's, so the second time is not the same arithmetic; neither is the lesson's own
    example. A phone shows a question with what it needs (the tensor to tap, a grid's
    givens): the answer's tensors are never among them. ``{}`` when there are problems
    (each reported) or ``resolving`` is off (the lesson has problems of its own)."""
    path: Path = ("check",)
    if not isinstance(table, dict):
        problem(path, f"check must be a table ([[check.question]] tables), got "
                      f"{_kind_of(table)}")
        return {}
    for key in table:
        if key != "question":
            problem((*path, key), f"unknown key {key!r} in the check (known: question)")
    raw = table.get("question")
    low, high = CHECK_SIZE
    if not isinstance(raw, list) or not low <= len(raw) <= high:
        problem((*path, "question") if "question" in table else path,
                f"a check holds {low} to {high} questions ([[check.question]] tables), got "
                f"{len(raw) if isinstance(raw, list) else _kind_of(raw)}")
        return {}
    before = _Count(problem)
    specs = []
    for i, one in enumerate(raw):
        where: Path = (*path, "question", i)
        if isinstance(one, dict) and ("rounds" in one or "timer" in one):
            before.report((*where, "rounds" if "rounds" in one else "timer"),
                          "a check question has one round: each student answers alone")
        spec = read_question(one, where, before.report, net)
        if spec is not None:
            specs.append(spec)
    if before.count or not resolving:
        return {}
    names = tuple(net.shapes())
    out: dict[str, tuple[Question, ...]] = {}
    for phase in PHASES:
        try:
            trace = engine.practice.variant(CHECK_SEEDS[phase], net).trace
        except ValueError as exc:
            problem(path, f"the engine cannot draw an example for the check: {exc}")
            return {}
        questions = []
        for i, spec in enumerate(specs):
            hidden = answer_names(spec)
            q = resolve(spec, check_id(i), trace=trace, lr=lr,
                        known=tuple(n for n in names if n not in hidden), problem=before.report)
            if q is not None:
                questions.append(q)
        out[phase] = tuple(questions)
    return {} if before.count else out
