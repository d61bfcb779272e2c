"""Hypothesis strategies that draw networks from the whole space engine.network accepts.

``specs()`` draws a spec dict: 1-2 conv blocks (every activation, both pools, stride 1-3,
padding 0-3, pool strides below, equal to and above the window), one flatten, 1-2 dense
blocks, either output, an input of 4..12. Sizes are drawn so that most specs fit (a kernel
no larger than its padded input, a pool no larger than its input); the layer count is kept
to the limit by dropping a block's optional layers. A caller still skips, with
``hypothesis.assume``, a spec that ``engine.network`` refuses.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from engine.network import NETWORK_LIMITS

ACTIVATIONS = (None, "relu", "leaky_relu", "tanh", "sigmoid")
POOLS = (None, "maxpool", "avgpool")


def _activation(draw, name):
    if name is None:
        return []
    if name == "leaky_relu":
        return [{"type": name, "slope": draw(st.sampled_from([0.01, 0.1, 0.3, 0.5]))}]
    return [{"type": name}]


@st.composite
def specs(draw, *, sizes=(4, 12), convs=(1, 2), denses=(1, 2), max_filters=3,
          outputs=("sigmoid_bce", "softmax_ce")) -> dict:
    """A network spec dict (see the module's docstring)."""
    n = draw(st.integers(*sizes))
    output = draw(st.sampled_from(outputs))
    blocks: list[list[dict]] = []
    side = n
    for _ in range(draw(st.integers(*convs))):
        pad = draw(st.integers(0, 3))
        k = draw(st.integers(pad + 1, max(pad + 1, min(5, side + 2 * pad))))
        s = draw(st.integers(1, 3))
        block = [{"type": "conv", "filters": draw(st.integers(1, max_filters)), "kernel": k,
                  "stride": s, "padding": pad}]
        side = max(1, (side + 2 * pad - k) // s + 1)
        block += _activation(draw, draw(st.sampled_from(ACTIVATIONS)))
        pool = draw(st.sampled_from(POOLS))
        if pool is not None and side >= 1:
            p = draw(st.integers(1, min(3, side)))
            ps = draw(st.integers(1, 3))  # below, equal to or above the window: all three
            block.append({"type": pool, "size": p, "stride": ps})
            side = (side - p) // ps + 1
        blocks.append(block)
    dense_blocks: list[list[dict]] = []
    count = draw(st.integers(*denses))
    for i in range(count):
        last = i == count - 1
        if last:
            units = 1 if output == "sigmoid_bce" else draw(st.integers(2, 5))
            dense_blocks.append([{"type": "dense", "units": units}])
        else:
            block = [{"type": "dense", "units": draw(st.integers(1, 6))}]
            block += _activation(draw, draw(st.sampled_from(ACTIVATIONS)))
            dense_blocks.append(block)
    # Keep within the layer limit: drop optional layers (hidden dense activations first,
    # then pools, then conv activations).
    budget = NETWORK_LIMITS["layers"]

    def count_layers():
        return sum(map(len, blocks)) + 1 + sum(map(len, dense_blocks))

    for group in (dense_blocks, blocks):
        for block in group:
            while count_layers() > budget and len(block) > 1:
                block.pop()
    layers = [layer for block in blocks for layer in block] + [{"type": "flatten"}]
    layers += [layer for block in dense_blocks for layer in block]
    return {"input": {"size": n}, "layers": layers, "output": output}


@st.composite
def seed_specs(draw) -> dict:
    """A seed-shaped spec (Network.config is not None): conv stride 1 without padding, ReLU,
    max-pool with stride = size, flatten, dense 1, sigmoid_bce."""
    n = draw(st.integers(4, 12))
    k = draw(st.integers(1, min(7, n)))
    p = draw(st.integers(1, min(4, n - k + 1)))
    return {"input": {"size": n}, "layers": [
        {"type": "conv", "filters": draw(st.integers(1, 8)), "kernel": k, "stride": 1,
         "padding": 0},
        {"type": "relu"}, {"type": "maxpool", "size": p, "stride": p}, {"type": "flatten"},
        {"type": "dense", "units": 1}], "output": "sigmoid_bce"}


def random_params(net, rng: np.random.Generator, scale: float = 0.7) -> dict[str, np.ndarray]:
    """Every parameter of ``net`` drawn from N(0, scale²): no zero biases, no symmetry."""
    shapes = net.shapes()
    return {name: rng.normal(0.0, scale, size=shapes[name]) for name in net.param_names}


def random_label(net, rng: np.random.Generator) -> float:
    return float(rng.integers(0, net.classes))


def runs(examples: int):
    """Hypothesis settings for a property over drawn networks: ``examples`` draws, no
    deadline (a network's trace may take a while), too-slow draws allowed."""
    from hypothesis import HealthCheck, settings
    return settings(max_examples=examples, deadline=None,
                    suppress_health_check=[HealthCheck.too_slow])


def accepted(spec: dict):
    """``engine.network(spec)``, or the draw skipped (``hypothesis.assume``) when the engine
    refuses the spec."""
    from hypothesis import assume

    from engine.network import NetworkError, network
    try:
        return network(spec)
    except NetworkError:
        assume(False)
        raise  # unreachable: assume(False) raises
