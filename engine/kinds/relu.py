"""ReLU: A_i = max(Z_i, 0); dZ_i = dA_i ⊙ [Z_i > 0] (the derivative is 0 at Z_i = 0)."""

from __future__ import annotations

import numpy as np

from ..notation import d, idx, num, tex
from . import _activation

ROLE = "act"
OPTIONS: dict = {}
TITLE = "ReLU"

# What engine.compare says of this kind beside the one a switch trades it for
# (templates: {in} {out} {dout} {din} name the node's tensors).
CONTRAST = {"name": "ReLU",
            "forward": "ReLU sets every negative {in} cell to 0",
            "backward": "ReLU blocks the gradient wherever {in} ≤ 0 and passes {dout} unchanged "
                        "elsewhere"}


def label(layer) -> str:
    return "ReLU"


shapes = _activation.shapes


def forward(z: np.ndarray, params, layer) -> tuple[np.ndarray, np.ndarray]:
    return np.maximum(z, 0.0), z


def backward(dA: np.ndarray, cache: np.ndarray) -> tuple[np.ndarray, dict]:
    return dA * (cache > 0), {}


def _steps(node, net):
    A, Z = tex(node.writes), tex(node.reads)

    def numbers(t, lr):
        cell = _activation.first_cell(node)
        z = t[node.reads][cell]
        active = int(np.count_nonzero(t[node.reads] > 0))
        return (rf"{A}{idx(cell)} = \max({num(z)}, 0) = {num(t[node.writes][cell])}"
                rf"\quad({active} \text{{ of }} {t[node.reads].size} \text{{ cells pass}})")

    def local(t, cell):
        gate = 1 if t[node.reads][cell] > 0 else 0
        return str(gate), gate

    return _activation.steps(
        node, net, forward_latex=rf"{A} = \mathrm{{ReLU}}({Z}) = \max({Z}, 0)",
        forward_text=f"ReLU keeps the positive cells of {node.reads} and sets every negative "
                     "one to zero.",
        forward_numbers=numbers,
        backward_latex=(rf"{d(Z)} = {d(A)} \odot \frac{{\partial {A}}}{{\partial {Z}}},\quad"
                        rf" \frac{{\partial {A}}}{{\partial {Z}}} = \begin{{cases}} 1 & {Z} > 0 \\"
                        rf" 0 & {Z} \le 0 \end{{cases}}"),
        backward_text=f"ReLU lets the gradient through where {node.reads} was positive and "
                      "blocks it elsewhere.",
        backward_reads=(node.reads,), local=local)


forward_steps, backward_steps = _activation.split(_steps)


def sources(node, net) -> dict:
    Z = node.reads
    return _activation.sources(
        node, net,
        forward_note=lambda t, i: (f"{Z} is positive: ReLU keeps it" if t[Z][i] > 0
                                   else f"{Z} <= 0: ReLU gives 0"),
        backward_note=lambda t, i: (f"{Z} > 0: the gradient passes" if t[Z][i] > 0
                                    else f"{Z} <= 0: ReLU blocks it"),
        backward_reads=(Z,))


def marks(t, node) -> dict:
    """The cells whose gradient ReLU blocks (Z <= 0), drawn over dZ at its step."""
    return {"d" + node.reads: {"masked": (np.asarray(t[node.reads]) <= 0).tolist()}}


# ---------------------------------------------------------------- fit and misconceptions
from ..misconceptions import Misconception  # noqa: E402
from . import _wrong  # noqa: E402


def unfit(t, node) -> list[str]:
    """A Z exactly 0 sits on ReLU's kink: whether its gradient passes is a convention."""
    if np.any(np.abs(np.asarray(t[node.reads])) < _wrong.EPS):
        return [f"a {node.reads} cell is 0"]
    return []


def _no_mask(g, node, lr):
    return _wrong.a(g, "d" + node.writes).copy()


def _inverted(g, node, lr):
    return _wrong.a(g, "d" + node.writes) * (_wrong.a(g, node.reads) <= 0)


def _mask_of_gradient(g, node, lr):
    dA = _wrong.a(g, "d" + node.writes)
    return dA * (dA > 0)


MISCONCEPTIONS = (
    Misconception("no-mask", "backward", "ReLU mask left out",
       "ReLU passes the gradient only where {in} > 0: multiply {dout} by the mask [{in} > 0], "
       "so a cell where {in} was negative gets 0.", _no_mask),
    Misconception("inverted-mask", "backward", "ReLU mask inverted",
       "The gradient passes where {in} > 0 (ReLU's slope is 1 there) and is blocked where "
       "{in} ≤ 0, not the other way round.", _inverted),
    Misconception("mask-of-gradient", "backward", "Mask taken from {dout} instead of {in}",
       "The mask comes from the forward pass: [{in} > 0]. A negative gradient passes where "
       "{in} was positive; the sign of {dout} does not matter.", _mask_of_gradient),
)
