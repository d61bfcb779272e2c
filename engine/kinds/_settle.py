"""Kinks decided on the same Z in every path.

A weighted layer's Z is a sum of products. Where the exact sum is 0 (common with numbers of
one decimal: 0.2 × 0.5 − 0.1), float64 leaves a rounding residue of ±1e-17 whose sign
depends on the order of the additions, so two paths that add in different orders (the
readable path's im2col product, the fast path's Toeplitz product) would put the cell on
different sides of ReLU's kink, or of a max-pool's "window all <= 0", and route gradients
differently. :func:`settle` sets every cell that only rounding keeps from 0 to exactly 0:
those with |Z| <= ROUNDING × (max|input| × Σ|W_f| + |b_f|), a bound far above any
summation's rounding (at most terms × 2^-53 of that sum) and far below any value the data
makes. Every path settles its Z this way before any kink is decided, and a max-pool's
winner is the first cell :func:`tied` with its window's maximum.
"""

from __future__ import annotations

import numpy as np

ROUNDING = 2.0 ** -40


def limit(xmax: np.ndarray, W: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, K): the bound for each example (its input's max |value|, xmax (N,)) and each
    filter or unit (W (K, ...), b (K,))."""
    wsum = np.abs(W).reshape(W.shape[0], -1).sum(axis=1)
    return ROUNDING * (xmax[:, None] * wsum[None, :] + np.abs(b)[None, :])


def floor(best: np.ndarray) -> np.ndarray:
    """best - ROUNDING |best|: the least value :func:`tied` with a window's maximum ``best``
    (a new array)."""
    out = np.abs(best)
    out *= ROUNDING
    return np.subtract(best, out, out=out)


def tied(values: np.ndarray, best: np.ndarray) -> np.ndarray:
    """Where ``values`` equal ``best``, a window's maximum, but for rounding: a max-pool's
    first such cell wins, so that a tie of exact arithmetic is broken alike on every path
    whatever residue each leaves. ``values >= floor(best)``."""
    return values >= floor(best)


def settle(Z: np.ndarray, bound: np.ndarray) -> np.ndarray:
    """Z, in place, with every cell within ``bound`` (broadcast to Z) of 0 set to 0.

    The least |Z| is compared with the largest bound first (NaN left out, as the cell by
    cell comparison leaves it): most Z have no cell that small, and then nothing else is
    done."""
    size = np.abs(Z)
    if size.size == 0 or not np.fmin.reduce(size, axis=None) <= np.max(bound):
        return Z
    np.putmask(Z, size <= bound, 0.0)
    return Z
