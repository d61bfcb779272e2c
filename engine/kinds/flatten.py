"""Flatten: F = the input's cells in one row, (filter, row, column) order; backward, dF put
back in the input's shape."""

from __future__ import annotations

import math

import numpy as np

from ..notation import FIT, Step, d, tex, vec

ROLE = "flatten"
OPTIONS: dict = {}
TITLE = "flatten"


def label(layer) -> str:
    return "flatten"


def shapes(layer, in_shape, *, first: bool, scalar: bool):
    return (math.prod(in_shape),), {}


def forward(x: np.ndarray, params, layer) -> tuple[np.ndarray, np.ndarray]:
    """x (N, ...) -> F (N, D), each example's cells in row-major order."""
    return x.reshape(x.shape[0], -1), x


def backward(dF: np.ndarray, cache: np.ndarray) -> tuple[np.ndarray, dict]:
    """dF (N, D) -> dIN in the input's shape and memory layout (a pool's or a conv's, batch
    axis innermost), so that the layers before it read it in the order they wrote."""
    dx = np.empty_like(cache)
    dx[...] = dF.reshape(cache.shape)
    return dx, {}


def _what(node) -> str:
    if node.reads.startswith("P"):
        return "pooled cells"
    return "pixels" if node.reads == "X" else f"cells of {node.reads}"


def forward_steps(node, net) -> list[Step]:
    IN = tex(node.reads)

    def numbers(t, lr):
        return rf"F = {vec(t['F'])}" if t["F"].size <= 2 * FIT else None

    order = "filter by filter, row by row" if len(node.in_shape) == 3 else "row by row"
    return [Step("forward", "F", (node.reads,), rf"F = \mathrm{{Flatten}}({IN})",
                 f"Flatten lays the {_what(node)} out in one row, {order}.", numbers)]


def backward_steps(node, net) -> list[Step]:
    IN = tex(node.reads)
    grid = "pooled grid" if node.reads.startswith("P") else f"shape of {node.reads}"

    def numbers(t, lr):
        if t["F"].size > FIT:
            return None
        h, w = node.in_shape[-2:]
        return rf"{d(IN)} = \mathrm{{reshape}}({vec(t['dF'])}, {h}\times{w})"

    return [Step("backward", "d" + node.reads, ("dF",),
                 rf"{d(IN)} = {d('F')} \times \frac{{\partial F}}{{\partial {IN}}}"
                 rf" = \mathrm{{reshape}}\left({d('F')}, {IN}.\mathrm{{shape}}\right)",
                 "Flatten only moved numbers around, so its gradient is the same numbers put "
                 f"back in the {grid}.", numbers)]


def sources(node, net) -> dict:
    IN = node.reads

    def fwd(t, index):
        return {IN: [[int(i) for i in np.unravel_index(index[0], t[IN].shape)]],
                "note": f"{IN} read filter by filter, row by row" if t[IN].ndim == 3
                else f"{IN} read row by row"}

    def bwd(t, index):
        return {"dF": [[int(np.ravel_multi_index(index, t[IN].shape))]],
                "note": f"dF put back in the shape of {IN}"}

    return {"F": fwd, "d" + IN: bwd}


def marks(t, node) -> dict:
    return {}


# ---------------------------------------------------------------- fit and misconceptions
from ..misconceptions import Misconception  # noqa: E402
from . import _wrong  # noqa: E402


def unfit(t, node) -> list[str]:
    return []


def _column_order(g, node, lr):
    v = _wrong.a(g, node.reads)
    return (v.transpose(0, 2, 1) if v.ndim == 3 else v.T).reshape(-1)


def _d_column_order(g, node, lr):
    shape = node.in_shape
    dF = _wrong.a(g, "dF")
    if len(shape) == 3:
        return dF.reshape(shape[0], shape[2], shape[1]).transpose(0, 2, 1)
    return dF.reshape(shape[1], shape[0]).T


MISCONCEPTIONS = (
    Misconception("column-order", "forward", "Flattened column by column",
       "Flatten reads {in} row by row (all of row 0, then row 1, …), filter by filter.",
       _column_order),
    Misconception("column-order", "backward", "Reshaped column by column",
       "{din} puts dF back exactly where Flatten took {in} from: row by row, filter by filter.",
       _d_column_order),
)
