"""A pass over a mini-batch: N examples through one network, their gradients averaged, and
the update an optimizer makes of the mean.

For one example (N = 1) a pass is :func:`engine.trace` and the gradient of every parameter
is that example's. For N examples, L = (1/N) Σ_n L⁽ⁿ⁾, so the gradient the update uses is
the mean of the per-example ones::

    mean_dW = ∂L/∂W = (1/N) Σ_n ∂L⁽ⁿ⁾/∂W

Every forward and backward step is shown for one example at a time (each example's trace is
the one-example trace: the same names, the same numbers); one averaging step per parameter
then writes ``mean_d`` + its name. :class:`Pass` is what every step's numbers read: the
selected example's trace, the means, the optimizer's state before the pass and ``t``, the
1-based count of the update this pass ends with.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from .config import Config
from .model import Trace, check_params, check_x, check_y, trace
from .network import Network, as_network

MAX_BATCH = 16  # examples in one walk's pass: each is shown, so each is computed
# A walk keeps every example's trace of its pass: at most this many cells of them all (2 MB
# of float64), about what one example's trace of the largest network a walk may have holds.
BATCH_CELLS = 262_144


def trace_cells(net: Network | Config | None = None) -> int:
    """The cells of one example's trace: every tensor and gradient of ``net``."""
    return sum(int(np.prod(shape, dtype=np.int64)) for shape in as_network(net).shapes().values())


def batch_limit(net: Network | Config | None = None) -> int:
    """The most examples a walk's pass on ``net`` may hold (MAX_BATCH, or fewer for a network
    whose traces would hold more than BATCH_CELLS cells together; at least 1)."""
    return max(1, min(MAX_BATCH, BATCH_CELLS // trace_cells(net)))
MEAN = "mean_d"  # the averaged gradient of W1 is mean_dW1


def mean_name(param: str) -> str:
    return MEAN + param


def grad_name(param: str, batch: int) -> str:
    """The gradient an update of ``param`` uses: dW1 for one example, mean_dW1 for a batch."""
    return "d" + param if batch == 1 else mean_name(param)


def check_batch(xs: object, ys: object,
                net: Network | Config | None = None) -> tuple[np.ndarray, tuple[float, ...]]:
    """N images (N, n, n) and N labels, each checked as one example's is (ValueError naming
    the example); 1 <= N <= MAX_BATCH and as many labels as images."""
    net = as_network(net)
    if not isinstance(xs, (list, tuple, np.ndarray)) or not isinstance(ys, (list, tuple,
                                                                          np.ndarray)):
        raise ValueError("a batch is a list of images and a list of labels")
    if not 1 <= len(xs) <= MAX_BATCH:
        raise ValueError(f"a batch holds 1 to {MAX_BATCH} examples, got {len(xs)}")
    most = batch_limit(net)
    if len(xs) > most:
        raise ValueError(f"a batch on this network holds at most {most} examples (their "
                         f"traces, {trace_cells(net):,} cells each, may hold {BATCH_CELLS:,} "
                         f"together), got {len(xs)}")
    if len(ys) != len(xs):
        raise ValueError(f"{len(xs)} images but {len(ys)} labels")
    images, labels = [], []
    for n, (x, y) in enumerate(zip(xs, ys)):
        try:
            images.append(check_x(x, net))
            labels.append(check_y(y, net))
        except ValueError as exc:
            raise ValueError(f"example {n}: {exc}") from None
    return np.stack(images), tuple(labels)


def traces(xs: np.ndarray, ys: Sequence[float], params: Mapping[str, object],
           net: Network | Config | None = None) -> list[Trace]:
    """Every example's trace, on the same parameters."""
    net = as_network(net)
    p = check_params(params, net)
    return [trace(x, y, p, net) for x, y in zip(xs, ys)]


def means(examples: Sequence[Mapping[str, np.ndarray]],
          net: Network | Config | None = None) -> dict[str, np.ndarray]:
    """mean_dP = (1/N) Σ_n dP⁽ⁿ⁾ for every parameter P, summed in the examples' order."""
    net = as_network(net)
    out = {}
    for p in net.param_names:
        total = np.zeros_like(examples[0]["d" + p])
        for t in examples:
            total = total + t["d" + p]
        out[mean_name(p)] = total / len(examples)
    return out


def batch_loss(examples: Sequence[Mapping[str, np.ndarray]]) -> float:
    """L = (1/N) Σ_n L⁽ⁿ⁾."""
    return float(sum(float(t["L"]) for t in examples) / len(examples))


class Pass(Trace):
    """The tensors of one pass that its steps read: example ``example``'s trace (every name
    :func:`engine.trace` gives), for a batch the mean gradients, the optimizer's state
    before the update (``v_W1`` ...) and ``t`` (a 0-d array); ``examples`` holds every
    example's trace, ``batch`` their count and ``optimizer`` the walk's."""

    def __init__(self, examples: Sequence[Trace], example: int = 0,
                 state: Mapping[str, np.ndarray] | None = None, t: int = 1,
                 optimizer: object = None) -> None:
        if not 0 <= example < len(examples):
            raise ValueError(f"example must be in [0, {len(examples) - 1}], got {example}")
        chosen = examples[example]
        tensors: dict[str, np.ndarray] = dict(chosen)
        if len(examples) > 1:
            tensors.update(means(examples, chosen.network))
        tensors.update(state or {})
        tensors["t"] = np.asarray(float(t))
        super().__init__(tensors, chosen.network)
        self.examples = list(examples)
        self.example = example
        self.batch = len(examples)
        self.optimizer = optimizer
