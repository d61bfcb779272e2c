"""The sigmoid as a hidden activation: A_i = σ(Z_i); dZ_i = dA_i ⊙ A_i (1 - A_i)."""

from __future__ import annotations

import numpy as np

from ..notation import d, idx, num, tex
from . import _activation

ROLE = "act"
OPTIONS: dict = {}
TITLE = "σ"


def label(layer) -> str:
    return "sigmoid"


shapes = _activation.shapes


def sigma(z: np.ndarray) -> np.ndarray:
    """1 / (1 + e^-z), written so that neither branch overflows."""
    e = np.exp(-np.abs(z))
    return np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def forward(z: np.ndarray, params, layer) -> tuple[np.ndarray, np.ndarray]:
    A = sigma(z)
    return A, A


def backward(dA: np.ndarray, cache: np.ndarray) -> tuple[np.ndarray, dict]:
    return dA * cache * (1.0 - cache), {}


def _steps(node, net):
    A, Z = tex(node.writes), tex(node.reads)

    def numbers(t, lr):
        cell = _activation.first_cell(node)
        return (rf"{A}{idx(cell)} = \frac{{1}}{{1 + e^{{-{num(t[node.reads][cell], paren=True)}}}}}"
                rf" = {num(t[node.writes][cell])}")

    def local(t, cell):
        a = float(t[node.writes][cell])
        return rf"{num(a)}\,(1 - {num(a)})", a * (1 - a)

    return _activation.steps(
        node, net, forward_latex=rf"{A} = \sigma({Z}) = \frac{{1}}{{1 + e^{{-{Z}}}}}",
        forward_text=f"The sigmoid squashes every cell of {node.reads} into (0, 1).",
        forward_numbers=numbers,
        backward_latex=(rf"{d(Z)} = {d(A)} \odot \frac{{\partial {A}}}{{\partial {Z}}}"
                        rf" = {d(A)} \odot {A}(1 - {A})"),
        backward_text=f"The sigmoid's slope is {node.writes}(1 - {node.writes}), at most 1/4: "
                      "the gradient shrinks at every sigmoid it passes.",
        backward_reads=(node.writes,), local=local)


forward_steps, backward_steps = _activation.split(_steps)


def sources(node, net) -> dict:
    return _activation.sources(
        node, net, forward_note=lambda t, i: f"σ of {node.reads}",
        backward_note=lambda t, i: f"times {node.writes}(1 - {node.writes})",
        backward_reads=(node.writes,))


def marks(t, node) -> dict:
    return {}


# ---------------------------------------------------------------- fit and misconceptions
from ..misconceptions import Misconception  # noqa: E402
from . import _wrong  # noqa: E402

SATURATED = 1e-3  # a slope A(1 - A) below this: the gradient all but vanishes


def unfit(t, node) -> list[str]:
    A = np.asarray(t[node.writes])
    if np.any(A * (1 - A) < SATURATED):
        return [f"a {node.writes} cell is saturated (σ near 0 or 1)"]
    return []


def _d_forgotten(g, node, lr):
    return _wrong.a(g, "d" + node.writes).copy()


def _d_times_a(g, node, lr):
    return _wrong.a(g, "d" + node.writes) * _wrong.a(g, node.writes)


MISCONCEPTIONS = (
    Misconception("slope-forgotten", "backward", "σ's slope {out}(1 − {out}) left out",
       "The gradient passes through the sigmoid times its slope: multiply {dout} by "
       "{out}(1 − {out}), at most 1/4.", _d_forgotten),
    Misconception("times-a", "backward", "Multiplied by {out} alone",
       "The sigmoid's slope is {out}(1 − {out}): both factors, not {out} alone.", _d_times_a),
)
