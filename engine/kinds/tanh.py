"""tanh: A_i = tanh(Z_i); dZ_i = dA_i ⊙ (1 - A_i²)."""

from __future__ import annotations

import numpy as np

from ..notation import d, idx, num, squared, tex
from . import _activation

ROLE = "act"
OPTIONS: dict = {}
TITLE = "tanh"

# What engine.compare says of this kind beside the one a switch trades it for
# (templates: {in} {out} {dout} {din} name the node's tensors).
CONTRAST = {"name": "tanh",
            "forward": "tanh squashes every {in} cell into (−1, 1), negative ones included",
            "backward": "tanh scales every cell of {dout} by 1 − {out}², so none is blocked "
                        "but a saturated cell nearly is"}


def label(layer) -> str:
    return "tanh"


shapes = _activation.shapes


def forward(z: np.ndarray, params, layer) -> tuple[np.ndarray, np.ndarray]:
    A = np.tanh(z)
    return A, A


def backward(dA: np.ndarray, cache: np.ndarray) -> tuple[np.ndarray, dict]:
    return dA * (1.0 - cache * cache), {}


def _steps(node, net):
    A, Z = tex(node.writes), tex(node.reads)

    def numbers(t, lr):
        cell = _activation.first_cell(node)
        return (rf"{A}{idx(cell)} = \tanh({num(t[node.reads][cell])})"
                rf" = {num(t[node.writes][cell])}")

    def local(t, cell):
        a = float(t[node.writes][cell])
        return rf"(1 - {squared(a)})", 1 - a * a

    return _activation.steps(
        node, net, forward_latex=rf"{A} = \tanh({Z})",
        forward_text=f"tanh squashes every cell of {node.reads} into (-1, 1).",
        forward_numbers=numbers,
        backward_latex=(rf"{d(Z)} = {d(A)} \odot \frac{{\partial {A}}}{{\partial {Z}}}"
                        rf" = {d(A)} \odot (1 - {A}^2)"),
        backward_text=f"tanh's slope is 1 - {node.writes}²: the gradient passes fully where "
                      f"{node.writes} is near 0 and hardly at all where it is near ±1.",
        backward_reads=(node.writes,), local=local)


forward_steps, backward_steps = _activation.split(_steps)


def sources(node, net) -> dict:
    return _activation.sources(
        node, net, forward_note=lambda t, i: f"tanh of {node.reads}",
        backward_note=lambda t, i: f"times 1 - {node.writes}²",
        backward_reads=(node.writes,))


def marks(t, node) -> dict:
    return {}


# ---------------------------------------------------------------- fit and misconceptions
from ..misconceptions import Misconception  # noqa: E402
from . import _wrong  # noqa: E402

SATURATED = 1e-3  # a slope 1 - A² below this: the gradient all but vanishes


def unfit(t, node) -> list[str]:
    A = np.asarray(t[node.writes])
    if np.any(1 - A * A < SATURATED):
        return [f"a {node.writes} cell is saturated (tanh near ±1)"]
    return []


def _d_forgotten(g, node, lr):
    return _wrong.a(g, "d" + node.writes).copy()


def _d_of_z(g, node, lr):
    A = _wrong.a(g, node.writes)
    Z = np.arctanh(np.clip(A, -1 + 1e-15, 1 - 1e-15))  # the Z a student would square
    return _wrong.a(g, "d" + node.writes) * (1 - Z * Z)


def _d_one_minus_a(g, node, lr):
    return _wrong.a(g, "d" + node.writes) * (1 - _wrong.a(g, node.writes))


MISCONCEPTIONS = (
    Misconception("slope-forgotten", "backward", "tanh's slope 1 − {out}² left out",
       "The gradient passes through tanh times its slope: multiply {dout} by 1 − {out}², "
       "which is small where {out} is near ±1.", _d_forgotten),
    Misconception("slope-of-z", "backward", "1 − {in}² instead of 1 − {out}²",
       "tanh's slope is 1 − tanh(Z)², written with the output: 1 − {out}², not 1 − {in}².",
       _d_of_z),
    Misconception("one-minus-a", "backward", "1 − {out} instead of 1 − {out}²",
       "tanh's slope is 1 − {out}²: square {out} before taking it from 1.", _d_one_minus_a),
)
