"""Where each number comes from, so a page can light up the cells behind a cell.

:func:`provenance` takes a trace, a tensor name and an element's index and returns the
cells (as index lists per tensor) that produced it, with the terms of its sum where it is
one. Indices use the shapes of :mod:`engine.config` (filter axis first).
"""

from __future__ import annotations

import numpy as np

from .layers import pool_windows
from .model import Trace

Cell = list[int]


def _check_index(tensors: Trace, name: str, index: tuple[int, ...]) -> None:
    shape = np.shape(tensors[name])
    if len(index) != len(shape) or not all(0 <= i < s for i, s in zip(index, shape)):
        raise ValueError(f"index {list(index)} is outside {name}, whose shape is {shape}")


def winners(tensors: Trace) -> np.ndarray:
    """(K, q, q, 3): for every P1 cell, the A1 cell [f, r, c] that won its window."""
    A1, P1 = tensors["A1"], tensors["P1"]
    K, q = P1.shape[0], P1.shape[-1]
    p = tensors.config.pool_size
    win = pool_windows(A1, p).argmax(axis=-1)  # first maximum in row-major order
    f, i, j = np.indices((K, q, q))
    return np.stack([f, i * p + win // p, j * p + win % p], axis=-1)


def provenance(tensors: Trace, name: str,
               index: tuple[int, ...] | list[int]) -> dict[str, object]:
    """The sources of ``tensors[name][index]``.

    Supported names: Z1 A1 P1 F dW2 db2 dF dP1 dA1 dZ1 dW1 db1 dX. The result maps source tensor
    names to lists of cells, plus ``value`` and, for sums, ``terms`` (the products summed,
    in the order of the cells) with their ``factors`` (pairs), ``bias`` where one is added,
    and ``note`` (a sentence for the page).
    """
    index = tuple(int(i) for i in index)
    if name not in SOURCES:
        raise ValueError(f"no provenance for {name!r}; known: {', '.join(SOURCES)}")
    _check_index(tensors, name, index)
    result = SOURCES[name](tensors, index)
    result["value"] = float(np.asarray(tensors[name])[index])
    return result


def _products(factors: list[list[float]]) -> dict[str, object]:
    """A sum of products: its factors (pairs, in the order of the cells) and its terms."""
    return {"factors": factors, "terms": [a * b for a, b in factors]}


def _z1(t: Trace, index: tuple[int, ...]) -> dict[str, object]:
    f, i, j = index
    k = t["W1"].shape[-1]
    x_cells = [[i + a, j + b] for a in range(k) for b in range(k)]
    w_cells = [[f, a, b] for a in range(k) for b in range(k)]
    factors = [[float(t["X"][r, c]), float(t["W1"][f, a, b])]
               for (r, c), (_, a, b) in zip(x_cells, w_cells)]
    return {"X": x_cells, "W1": w_cells, "b1": [[f]], **_products(factors),
            "bias": float(t["b1"][f]),
            "note": "the X window times W1, summed, plus b1"}


def _a1(t: Trace, index: tuple[int, ...]) -> dict[str, object]:
    active = bool(t["Z1"][index] > 0)
    return {"Z1": [list(index)],
            "note": "Z1 is positive: ReLU keeps it" if active else "Z1 <= 0: ReLU gives 0"}


def _p1(t: Trace, index: tuple[int, ...]) -> dict[str, object]:
    f, i, j = index
    p = t.config.pool_size
    window = [[f, i * p + r, j * p + c] for r in range(p) for c in range(p)]
    return {"A1": [winners(t)[index].tolist()], "window": window,
            "note": "the maximum of its A1 window (the first one, if tied)"}


def _f(t: Trace, index: tuple[int, ...]) -> dict[str, object]:
    return {"P1": [list(np.unravel_index(index[0], t["P1"].shape))],
            "note": "P1 read filter by filter, row by row"}


def _dw2(t: Trace, index: tuple[int, ...]) -> dict[str, object]:
    return {"dZ2": [[]], "F": [[index[1]]],
            **_products([[float(t["dZ2"]), float(t["F"][index[1]])]]),
            "note": "dZ2 times the feature this weight multiplies"}


def _db2(t: Trace, index: tuple[int, ...]) -> dict[str, object]:
    return {"dZ2": [[]], "note": "equal to dZ2: the bias adds 1 times itself to Z2"}


def _df(t: Trace, index: tuple[int, ...]) -> dict[str, object]:
    return {"dZ2": [[]], "W2": [[0, index[0]]],
            **_products([[float(t["dZ2"]), float(t["W2"][0, index[0]])]]),
            "note": "dZ2 times the weight of this feature"}


def _dp1(t: Trace, index: tuple[int, ...]) -> dict[str, object]:
    return {"dF": [[int(np.ravel_multi_index(index, t["P1"].shape))]],
            "note": "dF put back in the shape of P1"}


def _da1(t: Trace, index: tuple[int, ...]) -> dict[str, object]:
    f, r, c = index
    q, p = t["P1"].shape[-1], t.config.pool_size
    i, j = r // p, c // p
    if i >= q or j >= q:
        return {"dP1": [], "note": "outside every pooling window: gets 0"}
    winner = winners(t)[f, i, j].tolist()
    if winner != [f, r, c]:
        tied = bool(t["A1"][f, r, c] == t["A1"][tuple(winner)])
        note = ("tied with its window's maximum but lost the tie-break (the first maximum "
                "in row-major order wins): gets 0" if tied
                else "not the maximum of its window: gets 0")
        return {"dP1": [], "A1": [winner], "note": note}
    return {"dP1": [[f, i, j]], "note": "the maximum of its window: gets that window's dP1"}


def _dz1(t: Trace, index: tuple[int, ...]) -> dict[str, object]:
    active = bool(t["Z1"][index] > 0)
    return {"dA1": [list(index)], "Z1": [list(index)],
            "note": "Z1 > 0: the gradient passes" if active else "Z1 <= 0: ReLU blocks it"}


def _dw1(t: Trace, index: tuple[int, ...]) -> dict[str, object]:
    f, a, b = index
    m = t["Z1"].shape[-1]
    z_cells = [[f, i, j] for i in range(m) for j in range(m)]
    x_cells = [[i + a, j + b] for i in range(m) for j in range(m)]
    factors = [[float(t["X"][r, c]), float(t["dZ1"][g, i, j])]
               for (r, c), (g, i, j) in zip(x_cells, z_cells)]
    return {"X": x_cells, "dZ1": z_cells, **_products(factors),
            "note": "each X value this weight touched times the dZ1 of that position"}


def _db1(t: Trace, index: tuple[int, ...]) -> dict[str, object]:
    m = t["Z1"].shape[-1]
    cells = [[index[0], i, j] for i in range(m) for j in range(m)]
    return {"dZ1": cells, "terms": [float(t["dZ1"][tuple(c)]) for c in cells],
            "note": "the sum of dZ1 over every position"}


def _dx(t: Trace, index: tuple[int, ...]) -> dict[str, object]:
    r, c = index
    K, k = t["W1"].shape[0], t["W1"].shape[-1]
    m = t["Z1"].shape[-1]
    z_cells, w_cells, factors = [], [], []
    for f in range(K):
        for a in range(k):
            for b in range(k):
                i, j = r - a, c - b
                if 0 <= i < m and 0 <= j < m:
                    z_cells.append([f, i, j])
                    w_cells.append([f, a, b])
                    factors.append([float(t["W1"][f, a, b]), float(t["dZ1"][f, i, j])])
    return {"dZ1": z_cells, "W1": w_cells, **_products(factors),
            "note": "every position whose window covers this pixel: W1 times dZ1"}


SOURCES = {"Z1": _z1, "A1": _a1, "P1": _p1, "F": _f, "dW2": _dw2, "db2": _db2, "dF": _df,
           "dP1": _dp1, "dA1": _da1, "dZ1": _dz1, "dW1": _dw1, "db1": _db1, "dX": _dx}
# The keys of a provenance result that are not source tensors.
DETAILS = ("value", "terms", "factors", "bias", "note", "window")
