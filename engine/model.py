"""The model: parameters, the traced forward and backward pass, the update, training and the
gradient check.

Parameters are a plain dict keyed as in the math, ``{"W1", "b1", "W2", "b2"}``; no function
here changes the arrays it is given.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from . import fast
from .config import Config
from .network import Network, as_network

LR_MAX = 100.0  # learning rates above this only make the numbers explode
TRAIN_LIMITS = {"epochs": (1, 10_000), "batch_size": (1, 65_536)}
# With a should_stop, training asks it after every slice of about this many examples (whole
# mini-batches, at least one): often enough to stop within a fraction of a second.
STOP_CHECK_EXAMPLES = 64
ShouldStop = Callable[[], bool]


_PARAM = re.compile(r"^[Wb][1-9][0-9]*$")  # the names parameters have: W1, b1, W2, ...


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


def check_x(x: object, net: Network | Config | None = None) -> np.ndarray:
    n = as_network(net).input_size
    return _as_tensor("X", x, (n, n))


def check_y(y: object, net: Network | Config | None = None) -> float:
    net = as_network(net)
    return net.nodes[-1].kind.check_y(y, net.classes)


def check_params(params: Mapping[str, object],
                 net: Network | Config | None = None) -> dict[str, np.ndarray]:
    """The network's parameters (W1 b1 W2 b2 ...) as float64 arrays of their shapes."""
    net = as_network(net)
    shapes = net.shapes()
    names = net.param_names
    missing = [name for name in names if name not in params]
    if missing:
        raise ValueError(f"params is missing {', '.join(missing)} (expected {names})")
    return {name: _as_tensor(name, params[name], shapes[name]) for name in names}


def check_lr(lr: object) -> float:
    if isinstance(lr, bool) or not isinstance(lr, int | float) or not math.isfinite(lr):
        raise ValueError(f"lr must be a finite number, got {lr!r}")
    if not 0 < lr <= LR_MAX:
        raise ValueError(f"lr must be > 0 and <= {LR_MAX}, got {lr}")
    return float(lr)


# -------------------------------------------------------------------------------- model
class Trace(dict):
    """What :func:`trace` returns: a dict from name to array that also knows its network
    (``network``) and, for a seed-shaped network, its ``config`` (else None)."""

    def __init__(self, tensors: Mapping[str, np.ndarray],
                 net: Network | Config | None = None) -> None:
        super().__init__(tensors)
        self.network = as_network(net)
        self.config = self.network.config


def init_params(net: Network | Config | Mapping | None = None,
                seed: int = 0) -> dict[str, np.ndarray]:
    """Small random parameters, deterministic for a seed.

    Layer by layer, from ``numpy.random.default_rng(seed)``: a conv's W ~ U(-1/sqrt(fan-in),
    1/sqrt(fan-in)) with fan-in C*k*k (±1/k on X) and b = 0.1 (so that a bright input starts
    in ReLU's active region); a dense layer's W ~ U(-1/sqrt(D), 1/sqrt(D)) and b = 0. For the
    seed's network that is W1, b1, W2, b2 drawn as they always were. New arrays every call.
    """
    return {name: value.copy() for name, value in _drawn_params(as_network(net), seed).items()}


@functools.lru_cache(maxsize=512)
def _drawn_params(net: Network, seed: int) -> dict[str, np.ndarray]:
    """The draw itself, kept: building a generator costs more than the copies."""
    rng = np.random.default_rng(seed)
    params: dict[str, np.ndarray] = {}
    for node in net.weighted:
        drawn = node.kind.init(rng, node.layer, node)
        params.update({node.params[role]: value for role, value in drawn.items()})
    return params


def forward_batch(net: Network, X: np.ndarray, Y: np.ndarray,
                  params: Mapping[str, np.ndarray]) -> tuple[list[np.ndarray], list, tuple]:
    """The forward pass of a batch, layer by layer: X (N, n, n) -> the output of every layer
    (batch axis first), their caches, and the output's (A, L, cache)."""
    outs, caches = [], []
    h = X
    for node in net.nodes[:-1]:
        p = {role: params[name] for role, name in node.params.items()}
        h, cache = node.kind.forward(h, p, node.layer)
        outs.append(h)
        caches.append(cache)
    (A, L), out_cache = net.nodes[-1].kind.forward(h, Y)
    return outs, caches, (A, L, out_cache)


def backward_batch(net: Network, caches: list, out_cache: tuple, *, input_grad: bool = True
                   ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """The backward pass of the batch's mean loss: (gradients of every layer's output and of
    X, batch axis first; gradients of the parameters). ``input_grad=False`` (training)
    leaves dX out, and a first conv does not form it."""
    nodes = net.nodes
    dA, dh = nodes[-1].kind.backward(out_cache)
    grads = {"d" + nodes[-1].writes: dA}
    params: dict[str, np.ndarray] = {}
    for node, cache in zip(reversed(nodes[:-1]), reversed(caches)):
        grads["d" + node.writes] = dh
        if node.first and not input_grad and node.kind.ROLE == "conv":
            dh, dp = node.kind.backward(dh, cache, input_grad=False)
        else:
            dh, dp = node.kind.backward(dh, cache)
        params.update({"d" + node.params[role]: g for role, g in dp.items()})
    if input_grad:
        grads["d" + nodes[0].reads] = dh
    return grads, params


def trace(x: object, y: object, params: Mapping[str, object],
          net: Network | Config | Mapping | None = None) -> Trace:
    """Run the forward and backward pass of one example and return every tensor by name.

    For the seed's network the keys are X Y W1 b1 Z1 A1 P1 F W2 b2 Z2 A2 L (values) and dA2
    dZ2 dW2 db2 dF dP1 dA1 dZ1 dW1 db1 dX (gradients of L), with the shapes of
    :mod:`engine.config`; any network names its tensors as :mod:`engine.network` says. dX,
    the gradient with respect to the input, is a saliency map. Inputs are validated
    (ValueError).
    """
    net = as_network(net)
    X, Y, p = check_x(x, net), check_y(y, net), check_params(params, net)
    outs, caches, (A, L, out_cache) = forward_batch(net, X[None], np.array([Y]), p)
    grads, dparams = backward_batch(net, caches, out_cache)
    shapes = net.shapes()
    tensors: dict[str, np.ndarray] = {"X": X, "Y": np.asarray(Y), **p}
    for node, out in zip(net.nodes[:-1], outs):
        tensors[node.writes] = out[0].reshape(shapes[node.writes])
    tensors[net.last] = A[0].reshape(shapes[net.last])
    tensors["L"] = np.asarray(L[0])
    for name, g in {**grads, **dparams}.items():
        tensors[name] = (g[0] if name in grads else g).reshape(shapes[name])
    return Trace({name: tensors[name] for name in _order(net)}, net)


def names(net: Network | Config | None = None) -> tuple[str, ...]:
    """Every tensor and gradient :func:`trace` returns for ``net``, in its order."""
    return _order(as_network(net))


@functools.lru_cache(maxsize=512)
def _order(net: Network) -> tuple[str, ...]:
    """Names in the order of the math: X, Y, the forward pass (each layer's parameters
    before what it writes), L, then the gradients in the backward pass's order."""
    values = ["X", "Y"]
    for node in net.nodes:
        values += [*node.params.values(), node.writes]
    grads = ["d" + net.last]
    for node in reversed(net.nodes):
        grads += ["d" + name for name in node.params.values()] + ["d" + node.reads]
    return (*values, "L", *grads)


def loss(x: object, y: object, params: Mapping[str, object],
         net: Network | Config | Mapping | None = None) -> float:
    """L for one example: the forward pass only."""
    net = as_network(net)
    X, Y, p = check_x(x, net), check_y(y, net), check_params(params, net)
    _, _, (_, L, _) = forward_batch(net, X[None], np.array([Y]), p)
    return float(L[0])


def sgd_step(params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray],
             lr: float) -> dict[str, np.ndarray]:
    """Gradient descent: P <- P - lr * dP for every parameter P of ``params`` (W1, b1, W2,
    b2 for the seed's network).

    ``params`` may hold other tensors (a trace will do: its W1 b1 ... are taken);
    ``grads`` holds dW1, db1, ... (a trace will do). Returns new arrays.
    """
    lr = check_lr(lr)
    names = tuple(name for name in params if _PARAM.match(name))
    missing = [f"d{name}" for name in names if f"d{name}" not in grads]
    if missing:
        raise ValueError(f"grads is missing {', '.join(missing)}")
    for name in names:
        if np.shape(grads[f"d{name}"]) != np.shape(params[name]):
            raise ValueError(f"d{name} must have shape {np.shape(params[name])}, "
                             f"got {np.shape(grads[f'd{name}'])}")
    return {name: np.asarray(params[name]) - lr * np.asarray(grads[f"d{name}"])
            for name in names}


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


def train(xs: object, ys: object, params: Mapping[str, object],
          net: Network | Config | Mapping | None = None, *,
          lr: float, epochs: int, batch_size: int, seed: int = 0,
          should_stop: ShouldStop | None = None, optimizer: object = None) -> TrainResult:
    """Mini-batch gradient descent (or ``optimizer``'s update: engine.optimizers) on the
    batched path.

    xs (N, n, n), ys (N,) of labels (0/1, or classes for softmax_ce). Each epoch visits the
    examples in an order drawn from ``default_rng(seed)``; the last batch of an epoch may be
    smaller. A seed-shaped network trains on :mod:`engine.fast`; any other on the layer
    kinds' own batched forward and backward.

    ``should_stop``, if given, is called between mini-batches (after every
    STOP_CHECK_EXAMPLES examples or one batch, whichever is more); when it returns True,
    training raises :class:`StoppedError`. The parameters are the same with or without it (an
    epoch's mean loss, summed slice by slice, to rounding).
    """
    net = as_network(net)
    n = net.input_size
    X = np.asarray(xs, dtype=np.float64)
    if X.ndim != 3 or X.shape[1:] != (n, n) or X.shape[0] == 0:
        raise ValueError(f"xs must have shape (N, {n}, {n}) with N >= 1, got {X.shape}")
    Y = np.asarray(ys, dtype=np.float64)
    if Y.shape != (X.shape[0],):
        raise ValueError(f"ys must have shape ({X.shape[0]},), got {Y.shape}")
    if not np.all(np.isfinite(X)):
        raise ValueError("xs must be finite, got NaN or infinity")
    if net.output == "sigmoid_bce" and not np.all((Y == 0) | (Y == 1)):
        raise ValueError("ys must hold only 0 and 1")
    if net.output != "sigmoid_bce" and not np.all((np.round(Y) == Y) & (Y >= 0)
                                                   & (net.classes > Y)):
        raise ValueError(f"ys must hold classes from 0 to {net.classes - 1}")
    lr = check_lr(lr)
    epochs = _check_int("epochs", epochs, *TRAIN_LIMITS["epochs"])
    batch_size = _check_int("batch_size", batch_size, *TRAIN_LIMITS["batch_size"])
    p = check_params(params, net)
    first = net.param_names[0]

    plain = optimizer is None or getattr(optimizer, "type", "sgd") == "sgd"
    if net.config is not None and plain:  # the parameters live in one flat vector (fast)
        model = fast.Net(fast.plan_for(net.config), p)
        N = X.shape[0]
        data = fast.augment(X.reshape(N, -1))  # each example flattened, then a 1 (meets b1)
    else:
        model = _Batched(net, p, None if plain else optimizer)
        data = X
    rng = np.random.default_rng(seed)
    N = X.shape[0]
    losses, accuracy, kernels = np.empty(epochs), np.empty(epochs), [p[first]]
    for epoch in range(epochs):
        order = rng.permutation(N)
        if should_stop is None:
            total, right, batches = model.epoch(data, Y, order, batch_size, lr)
        else:
            total, right, batches = _epoch_in_slices(model, data, Y, order, batch_size, lr,
                                                     should_stop)
        losses[epoch], accuracy[epoch] = total / batches, right / N
        kernels.append(model.params()[first].copy())
    return TrainResult(model.params(), losses, accuracy, np.stack(kernels))


class _Batched:
    """Training on the layer kinds' batched forward and backward, for any network."""

    def __init__(self, net: Network, params: dict[str, np.ndarray],
                 optimizer: object = None) -> None:
        self.net = net
        self.p = {name: value.copy() for name, value in params.items()}
        self.optimizer = optimizer  # None: gradient descent
        self.state = {} if optimizer is None else optimizer.init_state(self.p)
        self.t = 0  # updates made

    def params(self) -> dict[str, np.ndarray]:
        return {name: value.copy() for name, value in self.p.items()}

    def step(self, X: np.ndarray, Y: np.ndarray, lr: float) -> tuple[float, int]:
        """One SGD step on a batch: its mean loss and how many it classified right (both
        before the step)."""
        _outs, caches, (A, L, cache) = forward_batch(self.net, X, Y, self.p)
        _, grads = backward_batch(self.net, caches, cache, input_grad=False)
        right = int(np.count_nonzero(self.net.nodes[-1].kind.predicted(A) == Y))
        if self.optimizer is None:
            for name in self.p:
                self.p[name] -= lr * grads["d" + name]
        else:
            self.t += 1
            self.p, self.state = self.optimizer.apply(self.p, grads, self.state, self.t, lr)
        return float(L.mean()), right

    def epoch(self, X: np.ndarray, Y: np.ndarray, order: np.ndarray, batch_size: int,
              lr: float) -> tuple[float, int, int]:
        total, right, batches = 0.0, 0, 0
        for start in range(0, len(order), batch_size):
            rows = order[start:start + batch_size]
            loss_, r = self.step(X[rows], Y[rows], lr)
            total, right, batches = total + loss_, right + r, batches + 1
        return total, right, batches


def _epoch_in_slices(net, Xa: np.ndarray, Y: np.ndarray, order: np.ndarray,
                     batch_size: int, lr: float,
                     should_stop: ShouldStop) -> tuple[float, int, int]:
    """One epoch as the model's ``epoch`` runs it, in slices of whole mini-batches, asking
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


def predict(xs: object, params: Mapping[str, object],
            net: Network | Config | Mapping | None = None) -> np.ndarray:
    """The output A for each example of xs (N, n, n): (N,) for sigmoid_bce, (N, C) for
    softmax_ce."""
    net = as_network(net)
    X = np.asarray(xs, dtype=np.float64)
    p = check_params(params, net)
    if net.config is not None:
        return fast.predict(fast.plan_for(net.config), X.reshape(X.shape[0], -1), p)
    _, _, (A, _, _) = forward_batch(net, X, np.zeros(X.shape[0]), p)
    return A[:, 0] if net.output == "sigmoid_bce" else A


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


def gradcheck(x: object, y: object, params: Mapping[str, object],
              net: Network | Config | Mapping | None = None, *,
              h: float = 1e-6, should_stop: ShouldStop | None = None) -> GradCheck:
    """Compare every parameter's analytic gradient with central differences of L.

    The relative error of a tensor is ||analytic - numeric|| / (||analytic|| + ||numeric||).
    Near a kink (a Z1 within h of 0, or a tie in a pooling window) the numeric side is not
    the derivative, and the error says so. ``should_stop``: as for :func:`numeric_gradient`
    (asked between every two forward passes).
    """
    net = as_network(net)
    X, Y, p = check_x(x, net), check_y(y, net), check_params(params, net)
    analytic = trace(X, Y, p, net)
    numeric = {}
    for name in net.param_names:
        def f(value: np.ndarray, name: str = name) -> float:
            return loss(X, Y, {**p, name: value}, net)
        numeric[name] = numeric_gradient(f, p[name], h, should_stop=should_stop)
    grads = {name: analytic[f"d{name}"] for name in net.param_names}
    errors = {name: relative_error(grads[name], numeric[name]) for name in net.param_names}
    return GradCheck(numeric, grads, errors)
