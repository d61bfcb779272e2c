"""What both pooling kinds share: the windows (size p, stride s; a remainder that fills no
window is dropped, as in PyTorch), their shapes and the windows covering a cell."""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from ..notation import tex

OPTIONS = {"size": (2, 1, 4, int), "stride": (lambda layer: layer.get("size", 2), 1, 4, int)}


def shapes(layer, in_shape, *, first: bool, scalar: bool):
    p, s = layer["size"], layer["stride"]
    if len(in_shape) != 3:
        raise ValueError("a pool needs an image")
    C, H, _ = in_shape
    if p > H:
        raise ValueError(f"pool size {p} is larger than its input ({H}×{H})")
    out = (H - p) // s + 1
    return (C, out, out), {}


def label(name: str, layer) -> str:
    p, s = layer["size"], layer["stride"]
    return f"{name} {p}×{p}" + (f", stride {s}" if s != p else "")


def windows(x: np.ndarray, p: int, s: int) -> np.ndarray:
    """x (..., H, W) as its windows (..., Ho, Wo, p*p), each flattened row-major (a copy)."""
    view = sliding_window_view(x, (p, p), axis=(-2, -1))[..., ::s, ::s, :, :]
    return view.reshape(*view.shape[:-2], p * p)


def covering(r: int, c: int, p: int, s: int, out: int) -> list[tuple[int, int]]:
    """The windows (i, j) whose cells include (r, c)."""
    rows = [i for i in range(out) if i * s <= r < i * s + p]
    cols = [j for j in range(out) if j * s <= c < j * s + p]
    return [(i, j) for i in rows for j in cols]


def window_cells(f: int, i: int, j: int, p: int, s: int) -> list[list[int]]:
    return [[f, i * s + a, j * s + b] for a in range(p) for b in range(p)]


def overlap_text(layer) -> str:
    p, s = layer["size"], layer["stride"]
    if s < p:
        return (f" The windows overlap (stride {s} < size {p}): a cell in several windows "
                "collects the sum of what each sends it.")
    if s > p:
        return f" With stride {s} > size {p}, some cells fall in no window and get 0."
    return ""


def in_tex(node) -> str:
    return tex(node.reads)
