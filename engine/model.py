"""The model: parameters, the traced forward and backward pass, the update, training and the
gradient check.

Parameters are a plain dict keyed as in the math, ``{"W1", "b1", "W2", "b2"}``; no function
here changes the arrays it is given.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from . import fast, layers
from .config import PARAM_NAMES, Config

LR_MAX = 100.0  # learning rates above this only make the numbers explode
TRAIN_LIMITS = {"epochs": (1, 10_000), "batch_size": (1, 65_536)}
# With a should_stop, training asks it after every slice of about this many examples (whole
# mini-batches, at least one): often enough to stop within a fraction of a second.
STOP_CHECK_EXAMPLES = 64
ShouldStop = Callable[[], bool]


class StoppedError(Exception):
    """The caller's ``should_stop`` said so and the work was abandoned (nothing returned)."""


# ---------------------------------------------------------------------------- validation
def _as_tensor(name: str, value: object, shape: tuple[int, ...]) -> np.ndarray:
    """``value`` as a float64 array of ``shape``, or a ValueError naming the tensor."""
    try:
        array = np.array(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{name} must be an array of numbers with shape {shape}: {exc}") from None
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite, got NaN or infinity")
    return array


def check_x(x: object, config: Config) -> np.ndarray:
    n = config.input_size
    return _as_tensor("X", x, (n, n))


def check_y(y: object) -> float:
    if isinstance(y, int | float | np.integer | np.floating) and not isinstance(y, bool):
        if float(y) in (0.0, 1.0):
            return float(y)
    if isinstance(y, np.ndarray) and y.shape == () and y.dtype.kind in "iuf":
        return check_y(y.item())
    raise ValueError(f"Y must be 0 or 1, got {y!r}")


def check_params(params: Mapping[str, object], config: Config) -> dict[str, np.ndarray]:
    """The four parameters as float64 arrays of the configuration's shapes."""
    shapes = config.shapes()
    missing = [name for name in PARAM_NAMES if name not in params]
    if missing:
        raise ValueError(f"params is missing {', '.join(missing)} (expected {PARAM_NAMES})")
    return {name: _as_tensor(name, params[name], shapes[name]) for name in PARAM_NAMES}


def check_lr(lr: object) -> float:
    if isinstance(lr, bool) or not isinstance(lr, int | float) or not math.isfinite(lr):
        raise ValueError(f"lr must be a finite number, got {lr!r}")
    if not 0 < lr <= LR_MAX:
        raise ValueError(f"lr must be > 0 and <= {LR_MAX}, got {lr}")
    return float(lr)


# -------------------------------------------------------------------------------- model
class Trace(dict):
    """What :func:`trace` returns: a dict from name to array that also knows its config."""

    def __init__(self, tensors: Mapping[str, np.ndarray], config: Config) -> None:
        super().__init__(tensors)
        self.config = config


def init_params(config: Config = Config(), seed: int = 0) -> dict[str, np.ndarray]:
    """Small random parameters, deterministic for a seed.

    W1 ~ U(-1/k, 1/k) (that is ±1/sqrt(fan-in), fan-in k*k), b1 = 0.1 (so that a bright
    input starts in ReLU's active region), W2 ~ U(-1/sqrt(D), 1/sqrt(D)), b2 = 0. Drawn in
    that order from ``numpy.random.default_rng(seed)``. Returns new arrays every call.
    """
    return {name: value.copy() for name, value in _drawn_params(config, seed).items()}


@functools.lru_cache(maxsize=512)
def _drawn_params(config: Config, seed: int) -> dict[str, np.ndarray]:
    """The draw itself, kept: building a generator costs more than the copies."""
    rng = np.random.default_rng(seed)
    k, K, D = config.kernel_size, config.filters, config.features
    return {
        "W1": rng.uniform(-1 / k, 1 / k, size=(K, k, k)),
        "b1": np.full(K, 0.1),
        "W2": rng.uniform(-1 / math.sqrt(D), 1 / math.sqrt(D), size=(1, D)),
        "b2": np.zeros(1),
    }


def trace(x: object, y: object, params: Mapping[str, object],
          config: Config = Config()) -> Trace:
    """Run the forward and backward pass of one example and return every tensor by name.

    Keys: X Y W1 b1 Z1 A1 P1 F W2 b2 Z2 A2 L (values) and dA2 dZ2 dW2 db2 dF dP1 dA1 dZ1
    dW1 db1 dX (gradients of L), with the shapes of :mod:`engine.config`. dX, the gradient
    with respect to the input, is a saliency map. Inputs are validated (ValueError).
    """
    X, Y, p = check_x(x, config), check_y(y), check_params(params, config)
    W1, b1, W2, b2 = p["W1"], p["b1"], p["W2"], p["b2"]

    Z1, conv_cache = layers.conv_forward(X, W1, b1)
    A1, relu_cache = layers.relu_forward(Z1)
    P1, pool_cache = layers.maxpool_forward(A1, pool_size=config.pool_size)
    F, flat_cache = layers.flatten_forward(P1)
    Z2, dense_cache = layers.dense_forward(F, W2, b2)
    (A2, L), loss_cache = layers.sigmoid_bce_forward(Z2, Y)

    dA2, dZ2 = layers.sigmoid_bce_backward(loss_cache)
    dF, dW2, db2 = layers.dense_backward(dZ2, dense_cache)
    dP1 = layers.flatten_backward(dF, flat_cache)
    dA1 = layers.maxpool_backward(dP1, pool_cache)
    dZ1 = layers.relu_backward(dA1, relu_cache)
    dX, dW1, db1 = layers.conv_backward(dZ1, conv_cache)

    return Trace({
        "X": X, "Y": np.asarray(Y), "W1": W1, "b1": b1, "Z1": Z1, "A1": A1, "P1": P1, "F": F,
        "W2": W2, "b2": b2, "Z2": Z2, "A2": A2, "L": L,
        "dA2": dA2, "dZ2": dZ2, "dW2": dW2, "db2": db2, "dF": dF, "dP1": dP1, "dA1": dA1,
        "dZ1": dZ1, "dW1": dW1, "db1": db1, "dX": dX,
    }, config)


def loss(x: object, y: object, params: Mapping[str, object], config: Config = Config()) -> float:
    """L for one example: the forward pass only."""
    X, Y, p = check_x(x, config), check_y(y), check_params(params, config)
    Z1, _ = layers.conv_forward(X, p["W1"], p["b1"])
    P1, _ = layers.maxpool_forward(np.maximum(Z1, 0.0), pool_size=config.pool_size)
    Z2, _ = layers.dense_forward(P1.reshape(-1), p["W2"], p["b2"])
    (_, L), _ = layers.sigmoid_bce_forward(Z2, Y)
    return float(L)


def sgd_step(params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray],
             lr: float) -> dict[str, np.ndarray]:
    """Gradient descent: P <- P - lr * dP for P in W1, b1, W2, b2.

    ``grads`` holds dW1, db1, dW2, db2 (a trace will do). Returns new arrays.
    """
    lr = check_lr(lr)
    missing = [f"d{name}" for name in PARAM_NAMES if f"d{name}" not in grads]
    if missing:
        raise ValueError(f"grads is missing {', '.join(missing)}")
    for name in PARAM_NAMES:
        if np.shape(grads[f"d{name}"]) != np.shape(params[name]):
            raise ValueError(f"d{name} must have shape {np.shape(params[name])}, "
                             f"got {np.shape(grads[f'd{name}'])}")
    return {name: np.asarray(params[name]) - lr * np.asarray(grads[f"d{name}"])
            for name in PARAM_NAMES}


# ------------------------------------------------------------------------------ training
@dataclass(frozen=True)
class TrainResult:
    """What :func:`train` returns.

    params : the parameters after the last epoch.
    loss : (epochs,) mean over each epoch's mini-batches of the batch's mean loss, measured
        on the parameters the batch met (before its step).
    accuracy : (epochs,) share of the epoch's examples those parameters classified right.
    W1 : (epochs + 1, K, k, k) the kernel before training and after each epoch.
    """

    params: dict[str, np.ndarray]
    loss: np.ndarray
    accuracy: np.ndarray
    W1: np.ndarray


def _check_int(name: str, value: object, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{name} must be an integer between {lo} and {hi}, got {value!r}")
    return value


def train(xs: object, ys: object, params: Mapping[str, object], config: Config = Config(), *,
          lr: float, epochs: int, batch_size: int, seed: int = 0,
          should_stop: ShouldStop | None = None) -> TrainResult:
    """Mini-batch gradient descent on the batched path.

    xs (N, n, n), ys (N,) of 0/1. Each epoch visits the examples in an order drawn from
    ``default_rng(seed)``; the last batch of an epoch may be smaller.

    ``should_stop``, if given, is called between mini-batches (after every
    STOP_CHECK_EXAMPLES examples or one batch, whichever is more); when it returns True,
    training raises :class:`StoppedError`. The parameters are the same with or without it (an
    epoch's mean loss, summed slice by slice, to rounding).
    """
    n = config.input_size
    X = np.asarray(xs, dtype=np.float64)
    if X.ndim != 3 or X.shape[1:] != (n, n) or X.shape[0] == 0:
        raise ValueError(f"xs must have shape (N, {n}, {n}) with N >= 1, got {X.shape}")
    Y = np.asarray(ys, dtype=np.float64)
    if Y.shape != (X.shape[0],):
        raise ValueError(f"ys must have shape ({X.shape[0]},), got {Y.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("xs must be finite, got NaN or infinity")
    if not np.all((Y == 0) | (Y == 1)):
        raise ValueError("ys must hold only 0 and 1")
    lr = check_lr(lr)
    epochs = _check_int("epochs", epochs, *TRAIN_LIMITS["epochs"])
    batch_size = _check_int("batch_size", batch_size, *TRAIN_LIMITS["batch_size"])
    p = check_params(params, config)

    # The parameters live in one flat vector that the steps update in place (engine.fast).
    net = fast.Net(fast.plan_for(config), p)
    rng = np.random.default_rng(seed)
    N = X.shape[0]
    Xa = fast.augment(X.reshape(N, -1))  # each example flattened, then a 1 (meets b1)
    losses, accuracy, kernels = np.empty(epochs), np.empty(epochs), [p["W1"]]
    for epoch in range(epochs):
        order = rng.permutation(N)
        if should_stop is None:
            total, right, batches = net.epoch(Xa, Y, order, batch_size, lr)
        else:
            total, right, batches = _epoch_in_slices(net, Xa, Y, order, batch_size, lr,
                                                     should_stop)
        losses[epoch], accuracy[epoch] = total / batches, right / N
        kernels.append(net.W1.copy())
    return TrainResult(net.params(), losses, accuracy, np.stack(kernels))


def _epoch_in_slices(net: fast.Net, Xa: np.ndarray, Y: np.ndarray, order: np.ndarray,
                     batch_size: int, lr: float,
                     should_stop: ShouldStop) -> tuple[float, int, int]:
    """One epoch as :meth:`fast.Net.epoch` runs it, in slices of whole mini-batches, asking
    ``should_stop`` before each: the same batches in the same order, so the same numbers."""
    size = batch_size * max(1, STOP_CHECK_EXAMPLES // batch_size)
    total, right, batches = 0.0, 0, 0
    for start in range(0, len(order), size):
        if should_stop():
            raise StoppedError("training was stopped")
        rows = order[start:start + size]
        t, r, b = net.epoch(Xa[rows], Y[rows], np.arange(len(rows)), batch_size, lr)
        total, right, batches = total + t, right + r, batches + b
    return total, right, batches


def predict(xs: object, params: Mapping[str, object], config: Config = Config()) -> np.ndarray:
    """A2 for each example of xs (N, n, n)."""
    X = np.asarray(xs, dtype=np.float64)
    p = check_params(params, config)
    return fast.predict(fast.plan_for(config), X.reshape(X.shape[0], -1), p)


# ------------------------------------------------------------------------ gradient check
def numeric_gradient(f: Callable[[np.ndarray], float], at: np.ndarray,
                     h: float = 1e-6, *, should_stop: ShouldStop | None = None) -> np.ndarray:
    """Central differences (f(a + h e_i) - f(a - h e_i)) / 2h for every element of ``at``.

    ``should_stop``, if given, is asked before each element; True raises :class:`StoppedError`.
    """
    grad = np.zeros_like(at, dtype=np.float64)
    for index in np.ndindex(at.shape):
        if should_stop is not None and should_stop():
            raise StoppedError("the gradient check was stopped")
        plus, minus = at.copy(), at.copy()
        plus[index] += h
        minus[index] -= h
        grad[index] = (f(plus) - f(minus)) / (2 * h)
    return grad


def relative_error(a: np.ndarray, b: np.ndarray) -> float:
    """||a - b|| / (||a|| + ||b||), and 0 where both are zero."""
    scale = float(np.linalg.norm(a) + np.linalg.norm(b))
    return float(np.linalg.norm(a - b)) / scale if scale > 0 else 0.0


@dataclass(frozen=True)
class GradCheck:
    """numeric and analytic: {W1, b1, W2, b2} -> array; rel_error: name -> float."""

    numeric: dict[str, np.ndarray]
    analytic: dict[str, np.ndarray]
    rel_error: dict[str, float]

    @property
    def max_rel_error(self) -> float:
        return max(self.rel_error.values())


def gradcheck(x: object, y: object, params: Mapping[str, object], config: Config = Config(), *,
              h: float = 1e-6, should_stop: ShouldStop | None = None) -> GradCheck:
    """Compare every parameter's analytic gradient with central differences of L.

    The relative error of a tensor is ||analytic - numeric|| / (||analytic|| + ||numeric||).
    Near a kink (a Z1 within h of 0, or a tie in a pooling window) the numeric side is not
    the derivative, and the error says so. ``should_stop``: as for :func:`numeric_gradient`
    (asked between every two forward passes).
    """
    X, Y, p = check_x(x, config), check_y(y), check_params(params, config)
    analytic = trace(X, Y, p, config)
    numeric = {}
    for name in PARAM_NAMES:
        def f(value: np.ndarray, name: str = name) -> float:
            return loss(X, Y, {**p, name: value}, config)
        numeric[name] = numeric_gradient(f, p[name], h, should_stop=should_stop)
    grads = {name: analytic[f"d{name}"] for name in PARAM_NAMES}
    errors = {name: relative_error(grads[name], numeric[name]) for name in PARAM_NAMES}
    return GradCheck(numeric, grads, errors)
