"""Questions in the lesson file: accepted on a slide that asks first, each problem refused
at its line, all of them in one pass, with the right answer taken from the example."""

from __future__ import annotations

import numpy as np

import engine
from app.demo.lesson import parse_lesson
from tests.demo.test_demo_lesson import MINI, line, only_problem, refused

CELLS = '''
[slide.question]
kind = "cells"
prompt = "Tap the cells of A1 that receive a gradient."
tensor = "A1"
answer = "dA1 != 0"
'''


def with_question(table: str = CELLS) -> str:
    return MINI + table


def test_a_question_is_read_and_resolved_from_the_example():
    lesson = parse_lesson(with_question(), source="lesson.toml")
    (q,) = lesson.questions
    t = engine.trace(lesson.x, lesson.y, lesson.params, lesson.config)
    assert q.id == "dA1" and q.kind == "cells"
    assert q.truth == {tuple(c) for c in np.argwhere(t["dA1"] != 0)}
    np.testing.assert_array_equal(q.values, t["A1"])


def test_a_bad_kind_is_refused_at_its_line():
    text = with_question(CELLS.replace('kind = "cells"', 'kind = "poll"'))
    at, message = only_problem(text)
    assert at == line(text, 'kind = "poll"') and "kind = one of" in message


def test_every_problem_of_a_question_at_once():
    text = with_question(CELLS.replace('tensor = "A1"', 'tensor = "A9"')
                         .replace('"dA1 != 0"', '"dA1 ~ 0"'))
    error = refused(text)
    lines = {p.line for p in error.problems}
    assert lines == {line(text, 'tensor = "A9"'), line(text, 'answer = "dA1 ~ 0"')}
    assert str(error).startswith("lesson.toml:")


def test_a_question_needs_a_slide_that_asks_first():
    text = MINI.replace('narration = "Conv."', 'narration = "Conv."\n[slide.question]\n'
                        'kind = "number"\nprompt = "Z1[0,0,0]?"\nanswer = 0.5')
    at, message = only_problem(text)
    assert at == line(text, "[slide.question]") and "asks first" in message


def test_a_choice_answer_must_be_an_option_and_a_grid_small_and_not_yet_shown():
    text = with_question('''
[slide.question]
kind = "choice"
prompt = "Sign?"
options = ["positive", "negative"]
answer = "zero"
''')
    at, message = only_problem(text)
    assert at == line(text, 'answer = "zero"') and "one of the options" in message
    text = with_question('''
[slide.question]
kind = "grid"
prompt = "dZ1?"
step = "dZ1"
''')
    at, message = only_problem(text)  # dZ1's givens (dA1) come after the dA1 slide asks
    assert at == line(text, 'step = "dZ1"') and "givens" in message
