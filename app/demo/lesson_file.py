"""A lesson file made from an example: the explorer's current walk, or a link to it.

An instructor who found a good example in the explorer takes it to class: the default
lesson's slides, with its ``[example]`` (and η) replaced by the walk's, at the start of the
pass the walk is on. The file is checked as ``convlens demo --script`` would check it; the
points its numbers do not show, and a network the slides' words were not written for, are
listed at its top as comments (and printed by ``convlens lesson``).

    from_url(url) -> Example            what an explorer link (its ``#…`` part) holds
    lesson_text(example) -> (text, warnings)
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

import numpy as np

import engine

from ..schemas import DEFAULT_LR, SESSION_MAX_EPOCHS
from .lesson import DEFAULT_LESSON, LessonError, parse_lesson

CONFIG_KEYS = ("input_size", "kernel_size", "filters", "pool_size")  # the link's cfg=
MAX_URL = 64_000  # characters: a 28×28 input written out is about 4,000
EXAMPLE_START = "[example]\n"
EXAMPLE_END = "\n# ----"  # the first rule after [example]: where the slides begin


@dataclass(frozen=True)
class Example:
    config: engine.Config
    x: np.ndarray
    y: int
    params: dict[str, np.ndarray]
    lr: float
    epoch: int = 0  # the pass it starts (0: the first)


def from_url(url: str) -> Example:
    """The example an explorer link holds, at the start of the pass it is on: the link's
    x (or its preset), y, η, seed and hand-edited parameters, as the page reads them, then
    the updates of the passes before. ValueError naming the part that is wrong."""
    if len(url) > MAX_URL:
        raise ValueError(f"the link is {len(url)} characters long; the limit is {MAX_URL}")
    fragment = urlsplit(url).fragment
    if not fragment:
        raise ValueError("the link has no #… part: copy it with the explorer's Link button")
    h = {key: values[-1] for key, values in parse_qs(fragment).items()}
    config = engine.Config()
    if "cfg" in h:
        sizes = h["cfg"].split(",")
        if len(sizes) != len(CONFIG_KEYS) or not all(s.strip().isdigit() for s in sizes):
            raise ValueError(f"cfg must be four whole numbers ({', '.join(CONFIG_KEYS)}), "
                             f"got {h['cfg']!r}")
        config = engine.Config(**dict(zip(CONFIG_KEYS, map(int, sizes))))
    y: object = 1
    if "x" in h:
        try:
            flat = [float(v) for v in h["x"].split(",")]
        except ValueError:
            raise ValueError("x must be numbers separated by commas") from None
        n = config.input_size
        if len(flat) != n * n:
            plural = "s" if len(flat) != 1 else ""
            raise ValueError(f"x has {len(flat)} number{plural}; the {n}×{n} input needs "
                             f"{n * n}")
        x = engine.check_x(np.reshape(flat, (n, n)), config)
    else:
        x, y = engine.preset(h.get("preset", "vertical_stroke"), config.input_size)
    if "y" in h:
        y = 0 if h["y"] == "0" else 1  # as the page reads it
    lr = engine.check_lr(_number(h, "lr", DEFAULT_LR))
    seed = _whole(h, "seed", engine.DEFAULT_SEED)
    params = engine.init_params(config, seed)
    if "params" in h:
        try:
            given = json.loads(h["params"])
        except json.JSONDecodeError:
            raise ValueError("params is not JSON: copy the link again") from None
        if not isinstance(given, dict):
            raise ValueError("params must be a JSON object of W1, b1, W2 and b2")
        params = engine.check_params({**params, **given}, config)
    epoch = max(0, _whole(h, "pass", 1) - 1)
    if epoch > SESSION_MAX_EPOCHS:
        raise ValueError(f"pass {epoch + 1} is beyond the {SESSION_MAX_EPOCHS + 1} passes a "
                         "walk can reach")
    for _ in range(epoch):  # each pass is one update on the same example
        params = engine.sgd_step(params, engine.trace(x, float(y), params, config), lr)
    return Example(config, np.asarray(x, dtype=np.float64), int(y), params, float(lr), epoch)


def _number(h: dict[str, str], key: str, default: float) -> float:
    if key not in h:
        return default
    try:
        return float(h[key])
    except ValueError:
        raise ValueError(f"{key} must be a number, got {h[key]!r}") from None


def _whole(h: dict[str, str], key: str, default: int) -> int:
    if key not in h:
        return default
    if not h[key].isdigit():
        raise ValueError(f"{key} must be a whole number, got {h[key]!r}")
    return int(h[key])


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


def lesson_text(example: Example, source: str = "the explorer") -> tuple[str, list[str]]:
    """The default lesson on ``example``, with what to check first at its top; and those
    warnings, one line each."""
    text = DEFAULT_LESSON.read_text(encoding="utf-8")
    start = text.index(EXAMPLE_START)
    end = text.index(EXAMPLE_END, start)
    body = text[:start] + example_toml(example) + text[end:]
    body = _replace_lr(body, example.lr)
    warnings = []
    if example.config != engine.Config():
        warnings.append(
            f"the slides' words are written for the seed's network (a 6×6 input, one 3×3 "
            f"filter, 2×2 pooling, 15 parameters); this example's has a "
            f"{example.config.input_size}×{example.config.input_size} input, "
            f"{example.config.filters} {example.config.kernel_size}×"
            f"{example.config.kernel_size} filter{'s' if example.config.filters > 1 else ''}"
            f", {example.config.pool_size}×{example.config.pool_size} pooling and "
            f"{example.config.n_params} parameters: read the narration before class")
    # twice: the list of what to check goes at the top, which moves every line below it
    # down by as many lines as the list has
    found = _warnings(body, source)
    if not found and not warnings:
        return body, []
    count = len(warnings) + len(found)
    head = "#" * 0 + "\n" * (count + 2)
    found = _warnings(head + body, source)
    warnings += found
    head = (f"# Made from {source}. Check before class:\n"
            + "".join(f"#   {w}\n" for w in warnings) + "#\n")
    return head + body, warnings


def _warnings(text: str, source: str) -> list[str]:
    try:
        lesson = parse_lesson(text, source="lesson.toml")
    except LessonError as exc:  # an example the engine took always makes a lesson
        raise AssertionError(f"the lesson made from {source} was refused:\n{exc}") from None
    return [w.replace("lesson.toml:", "line ", 1) for w in lesson.warnings]


def _replace_lr(text: str, lr: float) -> str:
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith("lr = "):
            lines[i] = f"lr = {lr!r}\n"
            return "".join(lines)
    raise AssertionError("the default lesson has no top-level lr line")
