"""A lesson on a network that is not the seed's: two convs, average pooling, a softmax over
three classes (``[network]``), its example, hand-written slides with questions, and the
reference walk (``engine.known``) the tests check what is shown against."""

from __future__ import annotations

import numpy as np

import engine
from app.demo.lesson_file import Example, example_toml, network_toml

NET_SPEC = {"input": {"size": 8}, "layers": [
    {"type": "conv", "filters": 2, "kernel": 3}, {"type": "relu"},
    {"type": "avgpool", "size": 2}, {"type": "conv", "filters": 2, "kernel": 2},
    {"type": "relu"}, {"type": "flatten"}, {"type": "dense", "units": 3}],
    "output": "softmax_ce"}
NET = engine.network(NET_SPEC)
X, _, PARAMS = engine.seed_example(NET, seed=3)
Y = 2
LR = 0.5

SLIDES = '''
# ------------------------------------------------------------------------------ slides
[[slide]]
kind = "intro"
name = "intro"
title = "Two convolutions, then three classes"
show = ["X", "W1", "W2", "W3"]
formula = ['Z_1 = \\mathrm{Conv}(X, W_1) + b_1 \\quad P_1 = \\mathrm{AvgPool}(A_1)']
narration = "One 8×8 image, class 2 of three."

[[slide]]
step = "Z1"
narration = "The first convolution."
cell = [1, 0, 0]

[[slide]]
step = "A1"
narration = "ReLU."
predict = "Which cells of Z1 does ReLU set to 0?"
reveal = "The negative ones."
shows = "relu-zeroes"

[slide.question]
kind = "cells"
prompt = "Tap the cells of Z1 that ReLU sets to 0."
tensor = "Z1"
answer = "Z1 <= 0"

[[slide]]
step = "P1"
narration = "Average pooling: each 2×2 window becomes its mean."
predict = "What is each window's mean?"
reveal = "P1, window by window."
shows = "positive-losers"

[slide.question]
kind = "grid"
prompt = "Compute P1."
step = "P1"

[[slide]]
step = "Z2"
narration = "The second convolution reads both channels of P1: W2 is (2, 2, 2, 2)."

[[slide]]
step = "A2"
narration = "ReLU again."

[[slide]]
step = "F"
narration = "Flatten."

[[slide]]
step = "Z3"
narration = "Three logits."

[[slide]]
step = "A3"
narration = "Softmax: three probabilities that add up to 1."

[[slide]]
step = "L"
narration = "The loss: minus the log of the probability of class 2."
predict = "What is the loss?"
reveal = "L."

[slide.question]
kind = "number"
prompt = "What is L? (natural log)"
answer = "L"

[[slide]]
step = "dZ3"
narration = "Softmax and cross-entropy together: A3 minus the one-hot label."
predict = "Which logit's gradient is negative?"
reveal = "The one of the right class."

[slide.question]
kind = "choice"
prompt = "Which entry of dZ3 is negative?"
options = ["0", "1", "2"]
answer = "2"

[[slide]]
step = "dW2"
narration = "The second conv's weight gradient: four dimensions."

[[slide]]
step = "dZ1"
narration = "Through the average pool and the first ReLU."

[[slide]]
step = "W2"
narration = "The update of W2."

[[slide]]
kind = "loss-after"
narration = "The example again, after the update."
shows = "loss-falls"
'''


def lesson_text() -> str:
    example = Example(NET, X, Y, PARAMS, LR)
    return (f'title = "Two convs and a softmax"\nlr = {LR}\n\n' + network_toml(NET) + "\n"
            + example_toml(example) + SLIDES)


# --------------------------------------------------------------------- the reference
STEPS = engine.steps_for(NET)
TRACE = engine.trace(X, Y, PARAMS, NET)
NEW = engine.sgd_step(PARAMS, TRACE, LR)
SECOND = engine.trace(X, Y, NEW, NET)
UPDATES = {i: s.writes for i, s in enumerate(STEPS) if s.phase == "update"}


def cursor_of(lesson, beat: int) -> int:
    """Where the walk stands at ``beat`` (past the last step: the second pass)."""
    index, revealed = lesson.beats[beat]
    cursor = -1
    for slide in lesson.slides[:index]:
        cursor = slide.step if slide.kind == "step" else (
            len(STEPS) if slide.kind == "loss-after" else cursor)
    slide = lesson.slides[index]
    if slide.kind == "step":
        return slide.step if revealed else slide.step - 1
    if slide.kind == "loss-after":
        return len(STEPS) if revealed else len(STEPS) - 1
    return cursor


def known_at(cursor: int) -> set[str]:
    return set(engine.known(min(cursor, len(STEPS) - 1), NET))


def values(array, signs: bool = False) -> set[float]:
    out = {round(float(v), 9) for v in np.ravel(array)}
    return out | {-v for v in out} if signs else out


def unshown_values(cursor: int) -> set[float]:
    """Numbers only a later step computes: in no tensor known at ``cursor``."""
    known = known_at(cursor)
    later: set[float] = set()
    for name in NET.shapes():
        if name not in known:
            later |= values(TRACE[name])
    for index, name in UPDATES.items():
        if index > cursor:
            later |= values(NEW[name])
    if cursor < len(STEPS):
        later |= values(SECOND[NET.last]) | values(SECOND["L"])
    seen: set[float] = {0.0, 1.0}
    for name in known:
        seen |= values(TRACE[name], signs=True)
    for index, name in UPDATES.items():
        if index <= cursor:
            seen |= values(NEW[name], signs=True)
    return later - seen


def numbers_in(data) -> set[float]:
    if isinstance(data, bool) or data is None:
        return set()
    if isinstance(data, int | float):
        return {round(float(data), 9)}
    if isinstance(data, dict):
        return set().union(*(numbers_in(v) for v in data.values())) if data else set()
    if isinstance(data, list):
        return set().union(*(numbers_in(v) for v in data)) if data else set()
    return set()


def allowed_panel(key: str, cursor: int) -> bool:
    """May a panel of this key hold its value at ``cursor``?"""
    step_of = {f"new-{name}": index for index, name in UPDATES.items()}
    if key in step_of:
        return step_of[key] <= cursor
    if key in (f"{NET.last}-after", "L-after"):
        return cursor == len(STEPS)
    return key in known_at(cursor)
