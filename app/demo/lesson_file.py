"""A lesson file made from an example: the explorer's current walk.

An instructor who found a good example in the explorer takes it to class: the default
lesson's slides, with its ``[example]`` (and η) replaced by the walk's, at the start of the
pass the walk is on. The file is checked as ``convlens demo --script`` would check it, and a
network the slides' words were not written for is said at its top. The slides whose point
its numbers do not show are not listed in it: the explorer serves it at any step, and that
list would tell a student what later steps show. ``convlens demo --check FILE`` names them.

    lesson_text(example) -> (text, notes)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

import engine

from .lesson import DEFAULT_LESSON, LessonError, parse_lesson

CONFIG_KEYS = tuple(engine.LIMITS)  # input_size, kernel_size, filters, pool_size
EXAMPLE_START = "[example]\n"
EXAMPLE_END = "\n# ----"  # the first rule after [example]: where the slides begin


@dataclass(frozen=True)
class Example:
    """X (n, n), Y 0 or 1, the parameters W1 (K, k, k), b1 (K,), W2 (1, D), b2 (1,) of the
    pass ``epoch`` starts from (0: the first), and η."""

    config: engine.Config
    x: np.ndarray
    y: int
    params: dict[str, np.ndarray]
    lr: float
    epoch: int = 0


def _array(value: np.ndarray) -> str:
    """A tensor as TOML: nested arrays of the shortest decimals that read back exactly."""
    if value.ndim == 0:
        return repr(float(value))
    return "[" + ", ".join(_array(v) for v in value) + "]"


def example_toml(example: Example) -> str:
    """The ``[example]`` tables of a lesson for ``example``."""
    c = example.config
    rows = "\n".join(f"  {_array(row)}," for row in example.x)
    params = "\n".join(f"{name} = {_array(np.asarray(example.params[name]))}"
                       for name in engine.PARAM_NAMES)
    where = (f"pass {example.epoch + 1} of the explorer's walk: the parameters after "
             f"{example.epoch} update{'s' if example.epoch != 1 else ''}"
             if example.epoch else "the explorer's walk, before its first update")
    return (f"{EXAMPLE_START}# The example of {where}.\ny = {example.y}\nx = [\n{rows}\n]\n\n"
            f"[example.config]\n" + "".join(f"{k} = {getattr(c, k)}\n" for k in CONFIG_KEYS)
            + f"\n[example.params]\n{params}\n")


def lesson_text(example: Example) -> tuple[str, list[str]]:
    """The default lesson on ``example``, with what to check first at its top; and those
    notes, one line each. ValueError when the lesson checker refuses the example (a network
    too big to draw on a phone, for one)."""
    text = DEFAULT_LESSON.read_text(encoding="utf-8")
    start = text.index(EXAMPLE_START)
    end = text.index(EXAMPLE_END, start)
    body = _replace_lr(text[:start] + example_toml(example) + text[end:], example.lr)
    try:
        parse_lesson(body, source="lesson.toml")
    except LessonError as exc:
        reasons = "; ".join(p.message for p in exc.problems)
        raise ValueError(f"this walk cannot become a lesson: {reasons}") from None
    notes = ["run `convlens demo --check FILE`: it names the slides whose point these "
             "numbers do not show, with their lines"]
    c = example.config
    if c != engine.Config():
        notes.append(
            f"the slides' words are written for the seed's network (a 6×6 input, one 3×3 "
            f"filter, 2×2 pooling, 15 parameters); this example's has a "
            f"{c.input_size}×{c.input_size} input, {c.filters} {c.kernel_size}×"
            f"{c.kernel_size} filter{'s' if c.filters > 1 else ''}, {c.pool_size}×"
            f"{c.pool_size} pooling and {c.n_params} parameters: read the narration")
    head = ("# Made from the explorer. Before class:\n"
            + "".join(f"#   {note}\n" for note in notes) + "#\n")
    return head + body, notes


def _replace_lr(text: str, lr: float) -> str:
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith("lr = "):
            lines[i] = f"lr = {lr!r}\n"
            return "".join(lines)
    raise AssertionError("the default lesson has no top-level lr line")
