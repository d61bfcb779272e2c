"""The network's operations for one example, each ``*_forward`` right above its ``*_backward``.

This is the readable path: the one the step-by-step view shows. Every ``*_forward`` returns
``(out, cache)`` and every ``*_backward(dout, cache)`` returns the gradients of its inputs.
Nothing mutates its arguments. Shapes follow :mod:`engine.config` (K filters, k kernel,
m = n - k + 1, p pool, q = m // p, D = K*q*q). The batched twin of this file is
:mod:`engine.fast`; the tests hold the two to 1e-12 of each other.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view


def conv_forward(X: np.ndarray, W1: np.ndarray, b1: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Z1 = Conv(X, W1) + b1: valid cross-correlation, stride 1.

    X (n, n), W1 (K, k, k), b1 (K,) -> Z1 (K, m, m) with
    Z1[f, i, j] = sum_{a,b} X[i+a, j+b] * W1[f, a, b] + b1[f].
    """
    k = W1.shape[-1]
    windows = sliding_window_view(X, (k, k))  # (m, m, k, k): windows[i, j] = X[i:i+k, j:j+k]
    Z1 = np.einsum("fab,ijab->fij", W1, windows) + b1[:, None, None]
    return Z1, (X, W1, windows)


def conv_backward(dZ1: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dZ1 (K, m, m) -> dX (n, n), dW1 (K, k, k), db1 (K,).

    dW1[f, a, b] = sum_{i,j} X[i+a, j+b] * dZ1[f, i, j]   (the X window times dZ1)
    db1[f]       = sum_{i,j} dZ1[f, i, j]
    dX[r, c]     = sum_{f,a,b} W1[f, a, b] * dZ1[f, r-a, c-b]   (a "full" convolution)
    """
    X, W1, windows = cache
    k = W1.shape[-1]
    dW1 = np.einsum("fij,ijab->fab", dZ1, windows)
    db1 = dZ1.sum(axis=(1, 2))
    # Each Z1 cell spreads its gradient back over the X window it came from, weighted by
    # W1: spread[i, j] = sum_f dZ1[f, i, j] * W1[f], added onto X[i:i+k, j:j+k].
    spread = np.einsum("fij,fab->abij", dZ1, W1)  # (k, k, m, m)
    m = dZ1.shape[-1]
    dX = np.zeros_like(X)
    for a in range(k):
        for b in range(k):
            dX[a : a + m, b : b + m] += spread[a, b]
    return dX, dW1, db1


def relu_forward(Z1: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A1 = ReLU(Z1) = max(Z1, 0), elementwise."""
    return np.maximum(Z1, 0.0), Z1


def relu_backward(dA1: np.ndarray, cache: np.ndarray) -> np.ndarray:
    """dZ1 = dA1 * [Z1 > 0]: the derivative is 1 where Z1 > 0 and 0 elsewhere (0 at Z1 = 0)."""
    Z1 = cache
    return dA1 * (Z1 > 0)


def pool_windows(A1: np.ndarray, pool_size: int) -> np.ndarray:
    """View A1 (K, m, m) as its pooling windows (K, q, q, p*p), each window flattened row-major.

    Rows and columns past q*p (a remainder that fills no window) are dropped.
    """
    p = pool_size
    K, m, _ = A1.shape
    q = m // p
    blocks = A1[:, : q * p, : q * p].reshape(K, q, p, q, p)
    return blocks.transpose(0, 1, 3, 2, 4).reshape(K, q, q, p * p)


def maxpool_forward(A1: np.ndarray, *, pool_size: int) -> tuple[np.ndarray, tuple]:
    """P1 = MaxPool(A1): the maximum of each p x p window, stride p.

    A1 (K, m, m) -> P1 (K, q, q). The cache keeps, for every window, the position of its
    winner: the first maximum in row-major order, so that ties are broken one way only.
    """
    windows = pool_windows(A1, pool_size)
    winner = windows.argmax(axis=-1)  # argmax returns the first maximum
    P1 = windows.max(axis=-1)
    return P1, (A1.shape, pool_size, winner)


def maxpool_backward(dP1: np.ndarray, cache: tuple) -> np.ndarray:
    """dA1: each window's gradient dP1 goes to its winner (first maximum); every other cell,
    and every cell of a dropped remainder, gets 0.

    dP1 (K, q, q) -> dA1 (K, m, m).
    """
    shape, p, winner = cache
    K, q, _ = dP1.shape
    # one-hot of each window's winner, times that window's gradient
    routed = (np.arange(p * p) == winner[..., None]) * dP1[..., None]  # (K, q, q, p*p)
    dA1 = np.zeros(shape)
    dA1[:, : q * p, : q * p] = (
        routed.reshape(K, q, q, p, p).transpose(0, 1, 3, 2, 4).reshape(K, q * p, q * p)
    )
    return dA1


def flatten_forward(P1: np.ndarray) -> tuple[np.ndarray, tuple[int, ...]]:
    """F = Flatten(P1): (K, q, q) -> (D,), in (filter, row, column) order."""
    return P1.reshape(-1), P1.shape


def flatten_backward(dF: np.ndarray, cache: tuple[int, ...]) -> np.ndarray:
    """dP1 = reshape(dF, P1.shape)."""
    return dF.reshape(cache)


def dense_forward(F: np.ndarray, W2: np.ndarray, b2: np.ndarray) -> tuple[np.ndarray, tuple]:
    """Z2 = F W2^T + b2: F (D,), W2 (1, D), b2 (1,) -> Z2 scalar (a 0-d array)."""
    Z2 = W2[0] @ F + b2[0]
    return np.asarray(Z2), (F, W2)


def dense_backward(dZ2: np.ndarray, cache: tuple) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """dZ2 scalar -> dF = dZ2 * W2 (D,), dW2 = dZ2 * F^T (1, D), db2 = dZ2 (1,)."""
    F, W2 = cache
    return dZ2 * W2[0], dZ2 * F[None, :], np.reshape(dZ2, (1,))


def sigmoid(z: float) -> float:
    """sigma(z) = 1 / (1 + e^-z), written so that neither branch overflows."""
    if z >= 0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)
    return e / (1.0 + e)


def sigmoid_bce_forward(Z2: np.ndarray, Y: float) -> tuple[tuple[np.ndarray, np.ndarray], tuple]:
    """A2 = sigma(Z2) and L = -Y log A2 - (1 - Y) log(1 - A2).

    L is computed from the logit as softplus(Z2) - Y * Z2, the same value, which stays finite
    when A2 rounds to exactly 0 or 1.
    """
    z = float(Z2)
    A2 = sigmoid(z)
    L = np.logaddexp(0.0, z) - Y * z
    return (np.asarray(A2), np.asarray(L)), (z, A2, Y)


def sigmoid_bce_backward(cache: tuple) -> tuple[np.ndarray, np.ndarray]:
    """Return (dA2, dZ2).

    dZ2 = dL/dA2 * dA2/dZ2 = (A2 - Y) / (A2 (1 - A2)) * A2 (1 - A2) = A2 - Y, never divided.
    dA2 = (A2 - Y) / (A2 (1 - A2)) = -Y / A2 + (1 - Y) / (1 - A2) is reported for display,
    computed from the logit (1/A2 = 1 + e^-z, 1/(1-A2) = 1 + e^z) so it is exact; it is
    infinite only where the true value overflows float64 (|Z2| > ~709).
    """
    z, A2, Y = cache
    with np.errstate(over="ignore"):
        dA2 = 0.0
        if Y != 0:
            dA2 -= Y * (1.0 + np.exp(-z))
        if Y != 1:
            dA2 += (1.0 - Y) * (1.0 + np.exp(z))
    return np.asarray(dA2), np.asarray(A2 - Y)
