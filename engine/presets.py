"""Named example inputs, drawn at any input size, and the seed's example.

Each preset is an (n, n) image with values in [0, 1] and the label a stroke classifier
would give it (1 for a vertical stroke, 0 for anything else).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from .config import Config
from .model import init_params
from .network import Network, as_network


def _vertical(n: int) -> np.ndarray:
    x = np.zeros((n, n))
    x[1 : n - 1, n // 2 - 1] = 1.0
    x[1 : n - 1, n // 2] = 0.5
    return x


def _horizontal(n: int) -> np.ndarray:
    return _vertical(n).T.copy()


def _diagonal(n: int) -> np.ndarray:
    return np.eye(n)


def _plus(n: int) -> np.ndarray:
    x = np.zeros((n, n))
    x[n // 2, 1 : n - 1] = 1.0
    x[1 : n - 1, n // 2] = 1.0
    return x


def _ring(n: int) -> np.ndarray:
    x = np.zeros((n, n))
    x[1, 1 : n - 1] = x[n - 2, 1 : n - 1] = 1.0
    x[1 : n - 1, 1] = x[1 : n - 1, n - 2] = 1.0
    return x


def _checker(n: int) -> np.ndarray:
    return (np.indices((n, n)).sum(axis=0) % 2).astype(float)


def _ramp(n: int) -> np.ndarray:
    return np.tile(np.linspace(0.0, 1.0, n), (n, 1))


PRESETS: dict[str, tuple[str, Callable[[int], np.ndarray], int]] = {
    "vertical_stroke": ("Vertical stroke", _vertical, 1),
    "horizontal_stroke": ("Horizontal stroke", _horizontal, 0),
    "diagonal": ("Diagonal line", _diagonal, 0),
    "plus": ("Plus sign", _plus, 0),
    "ring": ("Ring (an O)", _ring, 0),
    "checkerboard": ("Checkerboard", _checker, 0),
    "ramp": ("Brightness ramp, dark to light", _ramp, 0),
}


def preset(name: str, input_size: int = 6) -> tuple[np.ndarray, int]:
    """The image and label of a named preset at ``input_size``."""
    if name not in PRESETS:
        raise ValueError(f"unknown preset {name!r}; known: {', '.join(PRESETS)}")
    Config(input_size=input_size)  # validates the size
    _, draw, label = PRESETS[name]
    return draw(input_size), label


# The seed of the parameters every first view starts from. Chosen so that the default
# example (the vertical stroke, Y = 1, on the seed's 6x6/3x3/2x2 network) shows every idea of
# the derivation: windows with positive losers, no tie, and one window whose cells are all
# <= 0, so that the ReLU mask blocks the gradient max-pooling routes to its first cell.
# tests/engine/test_presets.py holds it to that.
DEFAULT_SEED = 7


def seed_example(config: Config | Network = Config(), seed: int = DEFAULT_SEED):
    """The example every first view starts from: a vertical stroke, Y = 1, and the
    parameters ``init_params(config, seed)`` (a network will do for config). Returns
    (X, Y, params)."""
    net = as_network(config)
    x, y = preset("vertical_stroke", net.input_size)
    return x, y, init_params(net, seed)
