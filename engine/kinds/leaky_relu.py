"""Leaky ReLU: A_i = Z_i where Z_i > 0, else α Z_i; dZ_i = dA_i ⊙ (1 or α)."""

from __future__ import annotations

import numpy as np

from ..notation import d, idx, num, tex
from . import _activation

ROLE = "act"
OPTIONS = {"slope": (0.01, 0.0001, 0.5, float)}
TITLE = "leaky ReLU"

# What engine.compare says of this kind beside the one a switch trades it for
# (templates: {in} {out} {dout} {din} name the node's tensors).
CONTRAST = {"name": "leaky ReLU",
            "forward": "leaky ReLU multiplies every negative {in} cell by {slope}",
            "backward": "leaky ReLU passes {slope} × {dout} where {in} ≤ 0, so no cell is "
                        "blocked, and {dout} unchanged elsewhere"}


def label(layer) -> str:
    return f"leaky ReLU {layer['slope']:g}"


shapes = _activation.shapes


def forward(z: np.ndarray, params, layer) -> tuple[np.ndarray, tuple]:
    a = layer["slope"]
    return np.where(z > 0, z, a * z), (z, a)


def backward(dA: np.ndarray, cache: tuple) -> tuple[np.ndarray, dict]:
    z, a = cache
    return dA * np.where(z > 0, 1.0, a), {}


def _steps(node, net):
    A, Z, a = tex(node.writes), tex(node.reads), node.layer["slope"]

    def numbers(t, lr):
        cell = _activation.first_cell(node)
        z = t[node.reads][cell]
        value = num(t[node.writes][cell])
        if z > 0:
            return rf"{A}{idx(cell)} = {num(z)} = {value}\quad({num(z)} > 0)"
        return rf"{A}{idx(cell)} = {num(a)} \times {num(z, paren=True)} = {value}"

    def local(t, cell):
        factor = 1.0 if t[node.reads][cell] > 0 else a
        return num(factor), factor

    return _activation.steps(
        node, net,
        forward_latex=(rf"{A} = \begin{{cases}} {Z} & {Z} > 0 \\ {num(a)}\,{Z} & {Z} \le 0"
                       rf" \end{{cases}}"),
        forward_text=f"Leaky ReLU keeps the positive cells of {node.reads} and multiplies "
                     f"every other one by the slope {a:g}, so none is cut to zero.",
        forward_numbers=numbers,
        backward_latex=(rf"{d(Z)} = {d(A)} \odot \frac{{\partial {A}}}{{\partial {Z}}},\quad"
                        rf" \frac{{\partial {A}}}{{\partial {Z}}} = \begin{{cases}} 1 & {Z} > 0 \\"
                        rf" {num(a)} & {Z} \le 0 \end{{cases}}"),
        backward_text=f"Leaky ReLU passes the whole gradient where {node.reads} was positive "
                      f"and {a:g} of it elsewhere: a negative cell still learns, slowly.",
        backward_reads=(node.reads,), local=local)


forward_steps, backward_steps = _activation.split(_steps)


def sources(node, net) -> dict:
    Z, a = node.reads, node.layer["slope"]
    return _activation.sources(
        node, net,
        forward_note=lambda t, i: (f"{Z} is positive: kept" if t[Z][i] > 0
                                   else f"{Z} <= 0: multiplied by {a:g}"),
        backward_note=lambda t, i: (f"{Z} > 0: the gradient passes" if t[Z][i] > 0
                                    else f"{Z} <= 0: {a:g} of the gradient passes"),
        backward_reads=(Z,))


def marks(t, node) -> dict:
    return {"d" + node.reads: {"leaky": (np.asarray(t[node.reads]) <= 0).tolist()}}


# ---------------------------------------------------------------- fit and misconceptions
from ..misconceptions import Misconception  # noqa: E402
from . import _wrong  # noqa: E402


def unfit(t, node) -> list[str]:
    """A Z exactly 0 sits on the kink, where the slope is a convention."""
    if np.any(np.abs(np.asarray(t[node.reads])) < _wrong.EPS):
        return [f"a {node.reads} cell is 0"]
    return []


def _a_as_relu(g, node, lr):
    return np.maximum(_wrong.a(g, node.reads), 0.0)


def _d_as_relu(g, node, lr):
    return _wrong.a(g, "d" + node.writes) * (_wrong.a(g, node.reads) > 0)


def _d_slope_everywhere(g, node, lr):
    return _wrong.a(g, "d" + node.writes) * node.layer["slope"]


MISCONCEPTIONS = (
    Misconception("as-relu", "forward", "Slope forgotten (treated as ReLU)",
       "Leaky ReLU does not cut a negative cell to 0: it multiplies it by the slope "
       "{slope}.", _a_as_relu),
    Misconception("as-relu", "backward", "Slope forgotten (treated as ReLU)",
       "Where {in} ≤ 0 leaky ReLU's slope is {slope}, not 0: those cells pass {slope} of "
       "{dout}, so none of them gets exactly 0.", _d_as_relu),
    Misconception("slope-everywhere", "backward", "Slope used on every cell",
       "The slope {slope} applies only where {in} ≤ 0; where {in} > 0 the gradient passes "
       "whole (slope 1).", _d_slope_everywhere),
)
