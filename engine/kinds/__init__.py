"""Every layer kind, one module each: its options and sizes, forward and backward (batched,
cs231n style: ``forward(x, params, layer) -> (out, cache)`` beside
``backward(dout, cache) -> (dx, grads)``, the batch on the first axis), the formula of each of
its steps in LaTeX and with the live numbers, which cells feed a cell (provenance), the
teaching marks it draws and its misconceptions.

A module's contract (see :mod:`engine.kinds.relu` for the shortest):

``ROLE``       conv, act, pool, flatten, dense or output: where it may stand in a network
``OPTIONS``    {option: (default, lo, hi, int | float)}; a default may be a function of the
               layer's other options
``TITLE``      the heatmap title of what it writes
``label(layer)``                          short text for the pipeline
``shapes(layer, in_shape, first, scalar)``  -> (out_shape, {"W": shape, "b": shape})
``init(rng, layer, node)``                -> {"W": array, "b": array} (weighted kinds)
``forward`` / ``backward``                the pair above
``forward_steps(node, net)`` / ``backward_steps(node, net)``  -> list of Step
``sources(node, net)``                    -> {tensor name: provenance function}
``marks(t, node)``                        -> {tensor name: marks} drawn at its steps
``MISCONCEPTIONS``                        {step role: (Misconception, ...)}

Adding a kind is one module here, its line in KINDS and its tests.
"""

from __future__ import annotations


class SizeError(ValueError):
    """A layer whose sizes do not fit its input; ``position`` is its index in the list."""

    def __init__(self, position: int, message: str) -> None:
        self.position = position
        super().__init__(message)


from . import (  # noqa: E402  (the modules import SizeError's siblings lazily)
    avgpool,
    conv,
    dense,
    flatten,
    leaky_relu,
    maxpool,
    relu,
    sigmoid,
    sigmoid_bce,
    softmax_ce,
    tanh,
)

KINDS = {
    "conv": conv, "relu": relu, "leaky_relu": leaky_relu, "tanh": tanh, "sigmoid": sigmoid,
    "maxpool": maxpool, "avgpool": avgpool, "flatten": flatten, "dense": dense,
    "sigmoid_bce": sigmoid_bce, "softmax_ce": softmax_ce,
}
LAYER_KINDS = tuple(k for k, m in KINDS.items() if m.ROLE != "output")
OUTPUT_KINDS = tuple(k for k, m in KINDS.items() if m.ROLE == "output")
