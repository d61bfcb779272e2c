"""The wrong answers students actually write, one function per misconception.

Each :class:`Misconception` belongs to one step (named by the tensor the step writes) and
builds, from exactly the tensors that step reads (its ``given``), the tensor a student who
holds that misconception would write, with a message that explains the right idea. The
grader (:func:`engine.practice.grade`) compares a wrong answer with each of them.

Not in the library: "dW1 from A1 instead of X". The dW1 exercise gives X and dZ1 only, and
Conv(A1, dZ1) has no k×k shape (A1 and dZ1 have the same size), so no answer of the right
shape can be that mistake.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from .config import Config
from .layers import conv_forward, pool_windows

Given = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class Sizes:
    """The sizes a misconception may need beyond its givens' shapes."""

    pool_size: int = 1
    kernel_size: int = 1
    filters: int = 1
    pooled_size: int = 1

    @classmethod
    def of(cls, config: Config) -> Sizes:
        return cls(config.pool_size, config.kernel_size, config.filters, config.pooled_size)


@dataclass(frozen=True)
class Misconception:
    id: str
    step: str
    title: str
    message: str
    wrong: Callable[[Given, Sizes, float | None], np.ndarray]


def _a(given: Given, name: str) -> np.ndarray:
    return np.asarray(given[name], dtype=np.float64)


# ------------------------------------------------------------------------------- forward
def _z1_no_bias(g: Given, c: Sizes, lr: float | None) -> np.ndarray:
    X, W1 = _a(g, "X"), _a(g, "W1")
    k = W1.shape[-1]
    windows = np.lib.stride_tricks.sliding_window_view(X, (k, k))
    return np.einsum("fab,ijab->fij", W1, windows)


def _z1_flipped(g: Given, c: Sizes, lr: float | None) -> np.ndarray:
    X, W1, b1 = _a(g, "X"), _a(g, "W1"), _a(g, "b1")
    k = W1.shape[-1]
    windows = np.lib.stride_tricks.sliding_window_view(X, (k, k))
    return np.einsum("fab,ijab->fij", W1[:, ::-1, ::-1], windows) + b1[:, None, None]


def _z1_transposed(g: Given, c: Sizes, lr: float | None) -> np.ndarray:
    return conv_forward(_a(g, "X"), _a(g, "W1").transpose(0, 2, 1), _a(g, "b1"))[0]


def _a2_no_sigmoid(g: Given, c: Sizes, lr: float | None) -> np.ndarray:
    return _a(g, "Z2").copy()


def _p1_average(g: Given, c: Sizes, lr: float | None) -> np.ndarray:
    return pool_windows(_a(g, "A1"), c.pool_size).mean(axis=-1)


def _f_column_order(g: Given, c: Sizes, lr: float | None) -> np.ndarray:
    return _a(g, "P1").transpose(0, 2, 1).reshape(-1)


def _z2_no_bias(g: Given, c: Sizes, lr: float | None) -> np.ndarray:
    return np.asarray(_a(g, "W2")[0] @ _a(g, "F"))


def _l_no_minus(g: Given, c: Sizes, lr: float | None) -> np.ndarray:
    y, a = float(_a(g, "Y")), float(_a(g, "A2"))
    return np.asarray(y * np.log(a) + (1 - y) * np.log(1 - a))


# ------------------------------------------------------------------------------ backward
def _da2_no_denominator(g: Given, c: Sizes, lr: float | None) -> np.ndarray:
    return np.asarray(float(_a(g, "A2")) - float(_a(g, "Y")))


def _da2_sign(g: Given, c: Sizes, lr: float | None) -> np.ndarray:
    a, y = float(_a(g, "A2")), float(_a(g, "Y"))
    return np.asarray((y - a) / (a * (1 - a)))


def _dz2_divided(g: Given, c: Sizes, lr: float | None) -> np.ndarray:
    a, y = float(_a(g, "A2")), float(_a(g, "Y"))
    return np.asarray((a - y) / (a * (1 - a)))


def _db2_sign(g: Given, c: Sizes, lr: float | None) -> np.ndarray:
    return -_a(g, "dZ2").reshape(1)


def _dz2_sign(g: Given, c: Sizes, lr: float | None) -> np.ndarray:
    return np.asarray(float(_a(g, "Y")) - float(_a(g, "A2")))


def _dz2_times_derivative(g: Given, c: Sizes, lr: float | None) -> np.ndarray:
    a, y = float(_a(g, "A2")), float(_a(g, "Y"))
    return np.asarray((a - y) * a * (1 - a))


def _dw2_no_upstream(g: Given, c: Sizes, lr: float | None) -> np.ndarray:
    return _a(g, "F")[None, :]


def _df_no_upstream(g: Given, c: Sizes, lr: float | None) -> np.ndarray:
    return _a(g, "W2")[0].copy()


def _dp1_column_order(g: Given, c: Sizes, lr: float | None) -> np.ndarray:
    K, q = c.filters, c.pooled_size
    return _a(g, "dF").reshape(K, q, q).transpose(0, 2, 1)


def _spread(dP1: np.ndarray, A1: np.ndarray, p: int, fill: np.ndarray) -> np.ndarray:
    """dA1 with each window's cells set to fill (K, q, q, p*p)."""
    K, q, _ = dP1.shape
    out = np.zeros(A1.shape)
    out[:, : q * p, : q * p] = fill.reshape(K, q, q, p, p).transpose(0, 1, 3, 2, 4).reshape(
        K, q * p, q * p)
    return out


def _da1_every_cell(g: Given, c: Sizes, lr: float | None) -> np.ndarray:
    dP1, A1, p = _a(g, "dP1"), _a(g, "A1"), c.pool_size
    return _spread(dP1, A1, p, np.repeat(dP1[..., None], p * p, axis=-1))


def _da1_average(g: Given, c: Sizes, lr: float | None) -> np.ndarray:
    dP1, A1, p = _a(g, "dP1"), _a(g, "A1"), c.pool_size
    return _spread(dP1, A1, p, np.repeat(dP1[..., None], p * p, axis=-1) / (p * p))


def _da1_top_left(g: Given, c: Sizes, lr: float | None) -> np.ndarray:
    dP1, A1, p = _a(g, "dP1"), _a(g, "A1"), c.pool_size
    fill = np.zeros((*dP1.shape, p * p))
    fill[..., 0] = dP1
    return _spread(dP1, A1, p, fill)


def _da1_last_max(g: Given, c: Sizes, lr: float | None) -> np.ndarray:
    dP1, A1, p = _a(g, "dP1"), _a(g, "A1"), c.pool_size
    windows = pool_windows(A1, p)
    last = p * p - 1 - windows[..., ::-1].argmax(axis=-1)
    fill = (np.arange(p * p) == last[..., None]) * dP1[..., None]
    return _spread(dP1, A1, p, fill)


def _dz1_no_mask(g: Given, c: Sizes, lr: float | None) -> np.ndarray:
    return _a(g, "dA1").copy()


def _dz1_inverted(g: Given, c: Sizes, lr: float | None) -> np.ndarray:
    return _a(g, "dA1") * (_a(g, "Z1") <= 0)


def _dz1_mask_of_gradient(g: Given, c: Sizes, lr: float | None) -> np.ndarray:
    dA1 = _a(g, "dA1")
    return dA1 * (dA1 > 0)


def _dw1(X: np.ndarray, dZ1: np.ndarray, k: int) -> np.ndarray:
    windows = np.lib.stride_tricks.sliding_window_view(X, (k, k))  # (m, m, k, k)
    return np.einsum("fij,ijab->fab", dZ1, windows)


def _dw1_one_position(g: Given, c: Sizes, lr: float | None) -> np.ndarray:
    X, dZ1, k = _a(g, "X"), _a(g, "dZ1"), c.kernel_size
    out = np.zeros((dZ1.shape[0], k, k))
    for f in range(dZ1.shape[0]):
        used = np.flatnonzero(dZ1[f])
        if used.size:
            i, j = divmod(int(used[0]), dZ1.shape[-1])
            out[f] = X[i : i + k, j : j + k] * dZ1[f, i, j]
    return out


def _dw1_averaged(g: Given, c: Sizes, lr: float | None) -> np.ndarray:
    dZ1 = _a(g, "dZ1")
    return _dw1(_a(g, "X"), dZ1, c.kernel_size) / (dZ1.shape[-1] ** 2)


def _dw1_flipped(g: Given, c: Sizes, lr: float | None) -> np.ndarray:
    return _dw1(_a(g, "X"), _a(g, "dZ1")[:, ::-1, ::-1], c.kernel_size)


def _dw1_transposed(g: Given, c: Sizes, lr: float | None) -> np.ndarray:
    return _dw1(_a(g, "X"), _a(g, "dZ1"), c.kernel_size).transpose(0, 2, 1)


def _db1_averaged(g: Given, c: Sizes, lr: float | None) -> np.ndarray:
    return _a(g, "dZ1").mean(axis=(1, 2))


# -------------------------------------------------------------------------------- update
def _update_sign(name: str) -> Callable[[Given, Sizes, float | None], np.ndarray]:
    def wrong(g: Given, c: Sizes, lr: float | None) -> np.ndarray:
        return _a(g, name) + float(lr or 0.0) * _a(g, "d" + name)
    return wrong


def _update_no_lr(name: str) -> Callable[[Given, Sizes, float | None], np.ndarray]:
    def wrong(g: Given, c: Sizes, lr: float | None) -> np.ndarray:
        return _a(g, name) - _a(g, "d" + name)
    return wrong


M = Misconception
MISCONCEPTIONS: tuple[Misconception, ...] = (
    M("z1-no-bias", "Z1", "Bias left out",
      "Every cell of Z1 is the window's sum of products plus the bias b1: add b1 to each "
      "cell.", _z1_no_bias),
    M("z1-flipped-kernel", "Z1", "Kernel flipped (true convolution)",
      "A CNN's Conv is a cross-correlation: W1[0,0] multiplies the window's top-left X "
      "value, without flipping the kernel.", _z1_flipped),
    M("z1-transposed-kernel", "Z1", "Kernel transposed",
      "W1[a,b] multiplies the window's X value at row a and column b: W1[0,1] is the top "
      "row's second weight, not the left column's second.", _z1_transposed),
    M("a2-no-sigmoid", "A2", "Sigmoid left out",
      "A2 is the probability σ(Z2) = 1 / (1 + e^(−Z2)), between 0 and 1; Z2 itself is the "
      "logit before the sigmoid.", _a2_no_sigmoid),
    M("p1-average", "P1", "Average pooling instead of max",
      "Max-pooling keeps the largest value of each window; it does not average them.",
      _p1_average),
    M("f-column-order", "F", "Flattened column by column",
      "Flatten reads P1 row by row (all of row 0, then row 1, …), filter by filter.",
      _f_column_order),
    M("z2-no-bias", "Z2", "Bias left out",
      "Z2 = Σ F·W2 + b2: the dense bias is added after the sum.", _z2_no_bias),
    M("l-no-minus", "L", "Minus sign dropped",
      "The log of a probability is negative; cross-entropy puts a minus in front so the "
      "loss is positive: L = −Y log A2 − (1 − Y) log(1 − A2).", _l_no_minus),
    M("da2-no-denominator", "dA2", "Denominator left out",
      "dL/dA2 = (A2 − Y) / (A2 (1 − A2)). A2 − Y alone is dL/dZ2, after the sigmoid's "
      "derivative has cancelled the denominator.", _da2_no_denominator),
    M("da2-sign", "dA2", "Sign flipped",
      "dL/dA2 = (A2 − Y) / (A2 (1 − A2)): with Y = 1 and A2 below 1 it is negative, since "
      "raising A2 towards the label lowers the loss.", _da2_sign),
    M("dz2-divided", "dZ2", "Divided by A2(1 − A2)",
      "dL/dZ2 = dL/dA2 × A2(1 − A2): the sigmoid's derivative multiplies, and cancels the "
      "denominator of dL/dA2, leaving A2 − Y. Dividing again gives dL/dA2 back.",
      _dz2_divided),
    M("dz2-sign", "dZ2", "Sign flipped (Y − A2)",
      "dL/dZ2 = A2 − Y: when the prediction is above the label the gradient is positive, "
      "so gradient descent pushes Z2 down.", _dz2_sign),
    M("dz2-times-derivative", "dZ2", "Multiplied by A2(1 − A2) again",
      "A2(1 − A2) is the sigmoid's derivative, and it already cancelled the denominator of "
      "dL/dA2: dL/dZ2 = A2 − Y with nothing more.", _dz2_times_derivative),
    M("dw2-no-upstream", "dW2", "Upstream gradient left out",
      "dL/dW2 = dL/dZ2 × F: each feature is multiplied by the error at the logit, "
      "dZ2 = A2 − Y.", _dw2_no_upstream),
    M("db2-sign", "db2", "Sign flipped",
      "db2 = dZ2 = A2 − Y: the bias is added to the logit with weight 1, so its gradient "
      "is the logit's own, sign and all.", _db2_sign),
    M("df-no-upstream", "dF", "Upstream gradient left out",
      "dL/dF = dL/dZ2 × W2: each weight is multiplied by the error at the logit, "
      "dZ2 = A2 − Y.", _df_no_upstream),
    M("dp1-column-order", "dP1", "Reshaped column by column",
      "dP1 puts dF back exactly where Flatten took P1 from: row by row, filter by filter.",
      _dp1_column_order),
    M("da1-every-cell", "dA1", "Gradient sent to every cell of the window",
      "Only the window's maximum reached P1, so only that cell gets the window's gradient; "
      "every other cell of A1 gets 0.", _da1_every_cell),
    M("da1-average", "dA1", "Gradient split evenly (average pooling)",
      "Splitting dP1 evenly over the window is the backward pass of average pooling. "
      "Max-pooling gives the whole gradient to the window's maximum and 0 to the rest.",
      _da1_average),
    M("da1-top-left", "dA1", "Gradient sent to the window's top-left cell",
      "The gradient goes to the cell that won the window (its largest A1 value), wherever "
      "in the window it is, not to a fixed position.", _da1_top_left),
    M("da1-last-max", "dA1", "Gradient sent to the wrong cell of a tie",
      "Where a window's cells tie (an all-zero window), the first maximum reading row by "
      "row, the top-left one, wins: that is the cell max-pooling took.", _da1_last_max),
    M("dz1-no-mask", "dZ1", "ReLU mask left out",
      "ReLU passes the gradient only where Z1 > 0: multiply dA1 by the mask [Z1 > 0], so a "
      "cell where Z1 was negative gets 0.", _dz1_no_mask),
    M("dz1-inverted-mask", "dZ1", "ReLU mask inverted",
      "The gradient passes where Z1 > 0 (ReLU's slope is 1 there) and is blocked where "
      "Z1 ≤ 0, not the other way round.", _dz1_inverted),
    M("dz1-mask-of-gradient", "dZ1", "Mask taken from dA1 instead of Z1",
      "The mask comes from the forward pass: [Z1 > 0]. A negative gradient passes where Z1 "
      "was positive; the sign of dA1 does not matter.", _dz1_mask_of_gradient),
    M("dw1-one-position", "dW1", "Only one position used",
      "Each weight touched an X value at every position of the sliding window: dW1 sums "
      "X-window × dZ1 over all positions, not only one.", _dw1_one_position),
    M("dw1-averaged", "dW1", "Averaged instead of summed",
      "The weight was used at every position and each use adds its own gradient: sum the "
      "products over positions, do not divide by their number.", _dw1_averaged),
    M("dw1-flipped", "dW1", "dZ1 flipped (true convolution)",
      "dW1[a,b] = Σ X[i+a, j+b]·dZ1[i,j]: slide dZ1 over X as it is, as in the forward "
      "cross-correlation, without flipping it.", _dw1_flipped),
    M("dw1-transposed", "dW1", "Rows and columns swapped",
      "dW1[a,b] = Σ X[i+a, j+b]·dZ1[i,j]: a is the row of the weight, b its column, as in "
      "W1; the result is not transposed.", _dw1_transposed),
    M("db1-averaged", "db1", "Averaged instead of summed",
      "b1 is added at every position of Z1, so its gradient is the sum of dZ1, not the "
      "mean.", _db1_averaged),
)
for _name in ("W1", "b1", "W2", "b2"):
    MISCONCEPTIONS += (
        M(f"{_name}-update-sign", _name, "Stepped up the gradient",
          f"Gradient descent steps against the gradient: {_name} − η·d{_name}, not plus.",
          _update_sign(_name)),
        M(f"{_name}-update-no-lr", _name, "Learning rate forgotten",
          f"The step is scaled by the learning rate: {_name} − η·d{_name}, not "
          f"{_name} − d{_name}.", _update_no_lr(_name)),
    )
del _name

BY_ID: dict[str, Misconception] = {m.id: m for m in MISCONCEPTIONS}


def for_step(step: str) -> tuple[Misconception, ...]:
    """The misconceptions of one step, in library order."""
    return tuple(m for m in MISCONCEPTIONS if m.step == step)
