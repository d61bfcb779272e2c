"""A lesson file made from an example: the explorer's current walk.

An instructor who found a good example in the explorer takes it to class: the default
lesson's slides, with its ``[example]`` (and η) replaced by the walk's, at the start of the
pass the walk is on. A walk on a network that is not seed-shaped becomes a lesson of its own
(:func:`network_lesson`): its ``[network]`` table, its example, an intro slide, one slide
per step of the engine in the engine's own words, and the second pass.

A walk updated by momentum or Adam keeps its optimizer (``optimizer = { type = "adam",
... }``, every option written out); one past its first pass cannot become a lesson (the
lesson's optimizer starts from a state of zeros, and the walk's is not), nor can a walk over
a mini-batch (a lesson shows one example): :func:`walk_example` says so, and the explorer's
route answers 409.

The file is checked as ``convlens demo --script`` would check it, and a network the slides'
words were not written for is said at its top. The slides whose point its numbers do not
show are not listed in it: the explorer serves it at any step, and that list would tell a
student what later steps show. ``convlens demo --check FILE`` names them.

    walk_example(session) -> Example;  lesson_text(example) -> (text, notes)
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

import engine

from .lesson import DEFAULT_LESSON, LessonError, parse_lesson

CONFIG_KEYS = tuple(engine.LIMITS)  # input_size, kernel_size, filters, pool_size
EXAMPLE_START = "[example]\n"
EXAMPLE_END = "\n# ----"  # the first rule after [example]: where the slides begin


@dataclass(frozen=True)
class Example:
    """The walk's network (or its Config shorthand), X (n, n), Y (0 or 1, or a class), the
    parameters (W1, b1, W2, b2 ... as the network names them) of the pass ``epoch`` starts
    from (0: the first), and η."""

    net: engine.Network | engine.Config
    x: np.ndarray
    y: int
    params: dict[str, np.ndarray]
    lr: float
    epoch: int = 0
    optimizer: Mapping[str, Any] | None = None  # engine.optimizers' spec; None: SGD

    @property
    def network(self) -> engine.Network:
        return engine.as_network(self.net)

    @property
    def config(self) -> engine.Config | None:
        return self.network.config


def walk_example(walk: Any) -> Example:
    """The example of an explorer's walk (:class:`app.sessions.Session`) at the start of the
    pass it is on. ValueError for a walk a lesson cannot hold: one over a mini-batch, or one
    with momentum or Adam past its first pass."""
    if walk.batch != 1:
        raise ValueError(f"this walk cannot become a lesson: it takes a batch of {walk.batch} "
                         "examples and a lesson shows one (start a walk on one of them)")
    optimizer = walk.optimizer
    if optimizer is not None and walk.epoch:
        raise ValueError(
            f"this walk cannot become a lesson: its {optimizer.type} state after "
            f"{walk.epoch} update{'s' if walk.epoch != 1 else ''} is not zero, and a lesson's "
            "optimizer starts from zero (take the lesson at the walk's first pass)")
    return Example(walk.net, walk.x, int(walk.y), walk.params, walk.lr, walk.epoch,
                   None if optimizer is None else optimizer.to_dict())


def optimizer_toml(optimizer: Mapping[str, Any] | None) -> str:
    """The lesson's ``optimizer = { ... }`` line ("" for gradient descent)."""
    if optimizer is None or optimizer.get("type", "sgd") == "sgd":
        return ""
    options = ", ".join(f"{k} = {_text(v) if isinstance(v, str) else repr(v)}"
                        for k, v in optimizer.items())
    return f"optimizer = {{ {options} }}\n"


def _array(value: np.ndarray) -> str:
    """A tensor as TOML: nested arrays of the shortest decimals that read back exactly."""
    if value.ndim == 0:
        return repr(float(value))
    return "[" + ", ".join(_array(v) for v in value) + "]"


def example_toml(example: Example) -> str:
    """The ``[example]`` tables of a lesson for ``example`` (with ``[example.config]`` for a
    seed-shaped network; any other's is the ``[network]`` table, :func:`network_toml`)."""
    c = example.config
    rows = "\n".join(f"  {_array(row)}," for row in example.x)
    params = "\n".join(f"{name} = {_array(np.asarray(example.params[name]))}"
                       for name in example.network.param_names)
    where = (f"pass {example.epoch + 1} of the explorer's walk: the parameters after "
             f"{example.epoch} update{'s' if example.epoch != 1 else ''}"
             if example.epoch else "the explorer's walk, before its first update")
    config = ("" if c is None else "[example.config]\n"
              + "".join(f"{k} = {getattr(c, k)}\n" for k in CONFIG_KEYS) + "\n")
    return (f"{EXAMPLE_START}# The example of {where}.\ny = {example.y}\nx = [\n{rows}\n]\n\n"
            + config + f"[example.params]\n{params}\n")


def _value(value: object) -> str:
    """A layer's option as TOML."""
    if isinstance(value, float):
        return repr(value)
    return str(value)


def network_toml(net: engine.Network) -> str:
    """The ``[network]`` table of ``net``: its input, output and one layer a line."""
    layers = "\n".join(
        "  { " + ", ".join([f'type = "{layer.type}"']
                           + [f"{k} = {_value(v)}" for k, v in layer.options]) + " },"
        for layer in net.layers)
    return (f"[network]\n# {net}\ninput = {{ size = {net.input_size} }}\n"
            f'output = "{net.output}"\nlayers = [\n{layers}\n]\n')


def _text(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's)."""
    return json.dumps(value, ensure_ascii=False)


def network_lesson(example: Example) -> str:
    """A lesson for a network the default lesson's words were not written for: an intro
    that shows X and the parameters, one slide per engine step (the engine's formula and
    sentence), and the second pass."""
    net = example.network
    n = net.input_size
    steps = engine.steps_for(net)
    forward = [s.latex for s in steps if s.phase == "forward"]
    formulas = [r" \quad ".join(forward[i:i + 3]) for i in range(0, len(forward), 3)]
    shown = ["X", *net.param_names][:8]  # a slide draws at most 8 tensors
    label = ("Y = 0 or 1" if net.output == "sigmoid_bce"
             else f"one of {net.classes} classes")
    intro = (f"One {n}×{n} image X, labelled Y = {example.y} ({label}). The network is "
             f"{net}: it learns {net.n_params} numbers. Everyone here starts from these same "
             "values, so your numbers match the screen.")
    slides = [
        "# ---------------------------------------------------------------------------- "
        "the slides\n",
        '[[slide]]\nkind = "intro"\nname = "intro"\ntitle = "The network"\n'
        f"show = [{', '.join(map(_text, shown))}]\n"
        f"formula = [\n" + "".join(f"  {_text(f)},\n" for f in formulas) + "]\n"
        f"narration = {_text(intro)}\n",
    ]
    for step in steps:
        slides.append(f"[[slide]]\nstep = {_text(step.writes)}\nnarration = {_text(step.text)}\n")
    slides.append('[[slide]]\nkind = "loss-after"\nnarration = "The same example again, '
                  'through the network with the updated parameters: did the loss fall?"\n')
    return (f"# convlens lesson: one training step of {net}, number by number.\n"
            "#\n# Made for this network from the engine's own steps: one slide per step, in "
            "the\n# engine's words. Edit freely (add `predict`, `reveal`, questions) and run\n"
            "# `convlens demo --check THIS_FILE`.\n\n"
            f'title = "One training step of a CNN, number by number"\nlr = {example.lr!r}\n'
            + optimizer_toml(example.optimizer) + "\n"
            + network_toml(net) + "\n" + example_toml(example) + "\n" + "\n".join(slides))


def lesson_text(example: Example) -> tuple[str, list[str]]:
    """The default lesson on ``example``, with what to check first at its top; and those
    notes, one line each. ValueError when the lesson checker refuses the example (a network
    too big to draw on a phone, for one)."""
    if example.config is None:
        body = network_lesson(example)
    else:
        text = DEFAULT_LESSON.read_text(encoding="utf-8")
        start = text.index(EXAMPLE_START)
        end = text.index(EXAMPLE_END, start)
        body = _replace_lr(text[:start] + example_toml(example) + text[end:], example.lr,
                           optimizer_toml(example.optimizer))
    try:
        parse_lesson(body, source="lesson.toml")
    except LessonError as exc:
        reasons = "; ".join(p.message for p in exc.problems)
        raise ValueError(f"this walk cannot become a lesson: {reasons}") from None
    notes = ["run `convlens demo --check FILE`: it names the slides whose point these "
             "numbers do not show, with their lines"]
    c = example.config
    if c is None:
        notes.append("the slides are the engine's own steps for this network, in its words: "
                     "add what you will ask the room (predict, reveal, questions)")
    elif c != engine.Config():
        notes.append(
            f"the slides' words are written for the seed's network (a 6×6 input, one 3×3 "
            f"filter, 2×2 pooling, 15 parameters); this example's has a "
            f"{c.input_size}×{c.input_size} input, {c.filters} {c.kernel_size}×"
            f"{c.kernel_size} filter{'s' if c.filters > 1 else ''}, {c.pool_size}×"
            f"{c.pool_size} pooling and {c.n_params} parameters: read the narration")
    head = ("# Made from the explorer. Before class:\n"
            + "".join(f"#   {note}\n" for note in notes) + "#\n")
    return head + body, notes


def _replace_lr(text: str, lr: float, after: str = "") -> str:
    lines = text.splitlines(keepends=True)
    for i, line in enumerate(lines):
        if line.startswith("lr = "):
            lines[i] = f"lr = {lr!r}\n{after}"
            return "".join(lines)
    raise AssertionError("the default lesson has no top-level lr line")
