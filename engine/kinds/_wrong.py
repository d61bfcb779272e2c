"""What the kinds' misconceptions share: reading a given tensor, and spreading a pool's
window gradients back onto its input (added up where windows overlap, or, for the
misconception that forgets to, each cell keeping only the last window's).

A misconception's ``wrong(given, node, lr)`` builds the tensor a student who holds it would
write, from exactly the step's givens and the node's sizes (:class:`engine.network.Node`).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

EPS = 1e-9  # values this close count as equal (drawn numbers are exact decimals)


def a(given: Mapping[str, object], name: str) -> np.ndarray:
    return np.asarray(given[name], dtype=np.float64)


def pool_sizes(node) -> tuple[int, int]:
    return int(node.layer["size"]), int(node.layer["stride"])


def spread(fill: np.ndarray, in_shape: tuple[int, ...], p: int, s: int, *,
           add: bool = True) -> np.ndarray:
    """An input-shaped gradient from ``fill`` (C, Ho, Wo, p*p): window (i, j)'s cell (a, b)
    at [s i + a, s j + b]. ``add``: overlapping windows add up (the chain rule); else each
    cell keeps the last window's value, reading row by row."""
    out = np.zeros(in_shape)
    C, Ho, Wo, _ = fill.shape
    for i in range(Ho):
        for j in range(Wo):
            block = fill[:, i, j].reshape(C, p, p)
            cut = (slice(None), slice(s * i, s * i + p), slice(s * j, s * j + p))
            if add:
                out[cut] += block
            else:
                out[cut] = block
    return out


def overlaps(node) -> bool:
    p, s = pool_sizes(node)
    return s < p
