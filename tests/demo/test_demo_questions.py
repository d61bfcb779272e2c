"""Questions on slides: read from the lesson's tables, resolved against the example's
trace, answers read, graded (the grid by the engine's Practice grader and misconception
library) and added up into the room's distribution."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from app.demo.lesson import load_lesson
from app.demo.questions import (
    AnswerError,
    distribution,
    grade,
    read_answer,
    read_question,
    resolve,
)


@pytest.fixture(scope="module")
def trace():
    lesson = load_lesson()
    return engine.trace(lesson.x, lesson.y, lesson.params, lesson.config)


STEP = {s.writes: i for i, s in enumerate(engine.STEPS)}


def make(table, trace, known=None):
    """The question on the slide of its own step (a choice: of dA2), asked before it."""
    problems = []
    spec = read_question(table, ("slide", 0, "question"), lambda p, m: problems.append((p, m)))
    if spec is None:
        return None, problems
    slide = {"number": "dZ2", "cells": "dA1", "grid": table.get("step")}.get(spec.kind, "dA2")
    known = engine.known(STEP[slide] - 1) if known is None else known
    q = resolve(spec, slide, trace=trace, lr=0.1, known=known,
                problem=lambda p, m: problems.append((p, m)))
    return q, problems


CHOICE = {"kind": "choice", "prompt": "Sign of dA2?", "options": ["positive", "negative"],
          "answer": "negative"}
NUMBER = {"kind": "number", "prompt": "dZ2?", "answer": "dZ2"}
CELLS = {"kind": "cells", "prompt": "Tap", "tensor": "A1", "answer": "dA1 != 0"}
GRID = {"kind": "grid", "prompt": "dW2?", "step": "dW2"}


def test_each_kind_resolves_against_the_trace(trace):
    choice, p1 = make(CHOICE, trace)
    number, p2 = make(NUMBER, trace)
    cells, p3 = make(CELLS, trace)
    grid, p4 = make(GRID, trace)
    assert p1 == p2 == p3 == p4 == []
    assert choice.truth == 1
    assert number.truth == pytest.approx(float(trace["A2"]) - 1.0)
    assert cells.truth == {tuple(c) for c in np.argwhere(trace["dA1"] != 0)}
    assert len(cells.truth) == 4  # one winner per 2×2 window of the 4×4 A1
    np.testing.assert_allclose(grid.truth, [trace["dZ2"] * trace["F"]])
    assert set(grid.given) == {"F", "dZ2"}


def test_public_view_holds_nothing_of_the_answer(trace):
    for table in (CHOICE, NUMBER, CELLS, GRID):
        q, _ = make(table, trace)
        public = q.public()
        assert "truth" not in public and "answer" not in public
        text = repr(public)
        if q.kind == "grid":
            for v in np.asarray(q.truth).ravel():
                assert f"{v!r}" not in text
        if q.kind == "cells":
            assert "!=" not in text and "dA1 " not in text


@pytest.mark.parametrize("table, message", [
    ({"kind": "poll", "prompt": "x"}, "kind = one of"),
    ({**CHOICE, "answer": "maybe"}, "answer must be one of the options"),
    ({**CHOICE, "options": ["only"]}, "options = a list of 2 to"),
    ({**CHOICE, "options": ["a", "a"], "answer": "a"}, "two options are the same"),
    ({**NUMBER, "answer": "Q9"}, "answer must be a number or the name"),
    ({**NUMBER, "tolerance": -1}, "tolerance must be a positive number"),
    ({**CELLS, "tensor": "Z9"}, "needs tensor ="),
    ({**CELLS, "answer": "dA1 ~ 0"}, "must read NAME OP NUMBER"),
    ({**GRID, "step": "dQ"}, "a grid question needs step"),
    ({**GRID, "colour": "red"}, "unknown key 'colour'"),
    ({"kind": "choice", "options": ["a", "b"], "answer": "a"}, "needs a prompt"),
])
def test_form_problems_are_named(trace, table, message):
    q, problems = make(table, trace)
    assert q is None
    assert any(message in m for _, m in problems), problems


@pytest.mark.parametrize("table, known_cursor, message", [
    (NUMBER | {"answer": "W1"}, None, "has 9 numbers"),
    (CELLS | {"answer": "dW1 != 0"}, None, "must be over a tensor of the same shape"),
    (CELLS | {"answer": [[0, 4, 0]]}, None, "is not in A1"),
    (CELLS, 0, "not on the screen yet"),  # A1 before the A1 step
    (GRID | {"step": "dZ1"}, 8, "givens"),  # dZ1's givens not known at the dZ2 step
    (NUMBER, 9, "on the screen already"),  # dZ2 asked after its step
    (CELLS, 15, "on the screen already"),
    (GRID, 10, "on the screen already"),
])
def test_resolution_problems_are_named(trace, table, known_cursor, message):
    known = None if known_cursor is None else engine.known(known_cursor)
    q, problems = make(table, trace, known=known)
    assert q is None
    assert any(message in m for _, m in problems), problems


def test_choice_and_number_answers(trace):
    choice, _ = make(CHOICE, trace)
    assert grade(choice, read_answer(choice, 1)).correct
    assert not grade(choice, read_answer(choice, 0)).correct
    for bad in (2, -1, True, "1", 0.5, None):
        with pytest.raises(AnswerError):
            read_answer(choice, bad)
    number, _ = make(NUMBER, trace)
    truth = number.truth
    assert grade(number, read_answer(number, round(truth, 3))).correct
    assert grade(number, read_answer(number, f"{truth:.3f}".replace("-", "−"))).correct
    assert grade(number, read_answer(number, f" {truth:.3f} ".replace(".", ","))).correct
    assert read_answer(number, "−0,626") == -0.626 and read_answer(number, ",5") == 0.5
    assert read_answer(number, "1,5e-3") == 0.0015 and read_answer(number, "2,") == 2.0
    assert not grade(number, read_answer(number, -truth)).correct
    for bad in ("abc", float("nan"), 1e12, [1], True, "1,000.5", "0,7,5", "", "nan"):
        with pytest.raises(AnswerError):
            read_answer(number, bad)


def test_cells_answers_are_a_set(trace):
    cells, _ = make(CELLS, trace)
    right = [list(c) for c in cells.truth]
    assert grade(cells, read_answer(cells, right + right[:1])).correct  # a double tap
    assert not grade(cells, read_answer(cells, right[:-1])).correct
    for bad in ([[0, 4, 0]], [[0, 1]], [["0", 1, 1]], "0,1,1", [[0, 1, 1]] * 17):
        with pytest.raises(AnswerError):
            read_answer(cells, bad)


def test_grid_answers_use_the_engine_grade_and_misconceptions(trace):
    grid, _ = make(GRID, trace)
    right = read_answer(grid, np.round(grid.truth, 4).tolist())
    assert grade(grid, right).correct
    forgot = read_answer(grid, [np.asarray(trace["F"]).tolist()])  # dW2 = F: no dZ2
    result = grade(grid, forgot)
    assert not result.correct and result.misconception == "dw2-no-upstream"
    with pytest.raises(AnswerError, match="shape"):
        read_answer(grid, [[1, 2, 3]])


def test_distribution_of_each_kind(trace):
    choice, _ = make(CHOICE, trace)
    picks = [1, 1, 0]
    d = distribution(choice, [(a, grade(choice, a)) for a in picks])
    assert d["counts"] == [1, 2] and d["answered"] == 3 and d["right"] == 2

    number, _ = make(NUMBER, trace)
    values = [number.truth, number.truth + 1e-6, 0.5, 0.25]
    d = distribution(number, [(v, grade(number, v)) for v in values])
    assert sum(b["count"] for b in d["bars"]) + d["other"] == 4
    assert max(b["count"] for b in d["bars"]) == 2  # the first two round to the same bar

    cells, _ = make(CELLS, trace)
    right = [list(c) for c in sorted(cells.truth)]
    d = distribution(cells, [(right, grade(cells, right)), (right[:1], grade(cells, right[:1]))])
    taps = np.asarray(d["taps"])
    assert taps[tuple(right[0])] == 2 and taps[tuple(right[1])] == 1 and taps.sum() == 5

    grid, _ = make(GRID, trace)
    forgot = [np.asarray(trace["F"]).tolist()]
    right = np.asarray(grid.truth).tolist()
    d = distribution(grid, [(a, grade(grid, a)) for a in (forgot, forgot, right)])
    assert d["right"] == 1 and d["misconceptions"][0]["id"] == "dw2-no-upstream"
    assert d["misconceptions"][0]["count"] == 2
