"""The network's configuration and the shapes every tensor takes.

Shapes (documented once, used everywhere; filter axis first for conv-stage tensors)::

    X            (n, n)              input image
    W1           (K, k, k)           conv filters            b1  (K,)
    Z1, A1       (K, m, m)           m = n - k + 1  (valid convolution, stride 1)
    P1           (K, q, q)           q = floor(m / p)  (p x p max-pool, stride p;
                                     a remainder that fills no window is dropped)
    F            (D,)                D = K * q * q, flattened in (filter, row, column) order
    W2           (1, D)              dense weights           b2  (1,)
    Z2, A2, L    ()                  scalars
    Y            ()                  the label, 0 or 1

Every gradient ``dT`` has the shape of ``T``; ``dX`` has the shape of X.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

# Bounds of each configurable size, inclusive. The server and page read them from here.
LIMITS: dict[str, tuple[int, int]] = {
    "input_size": (4, 28),
    "kernel_size": (1, 7),
    "filters": (1, 8),
    "pool_size": (1, 4),
}


@dataclass(frozen=True)
class Config:
    """Sizes of the network. The defaults are the seed's network (15 parameters).

    Parameters
    ----------
    input_size : n, the side of the square input X (4..28).
    kernel_size : k, the side of each square conv filter (1..7, k <= n).
    filters : K, the number of conv filters (1..8).
    pool_size : p, the side and stride of the max-pool window (1..4, p <= n - k + 1).
    """

    input_size: int = 6
    kernel_size: int = 3
    filters: int = 1
    pool_size: int = 2

    def __post_init__(self) -> None:
        for field, (lo, hi) in LIMITS.items():
            value = getattr(self, field)
            if isinstance(value, bool) or not isinstance(value, int):
                raise ValueError(f"{field} must be an integer, got {value!r}")
            if not lo <= value <= hi:
                raise ValueError(f"{field} must be between {lo} and {hi}, got {value}")
        if self.kernel_size > self.input_size:
            raise ValueError(
                f"kernel_size must be <= input_size ({self.input_size}), got {self.kernel_size}"
            )
        if self.pool_size > self.conv_size:
            raise ValueError(
                f"pool_size must be <= the conv output size n - k + 1 = {self.conv_size}, "
                f"got {self.pool_size}"
            )

    @property
    def conv_size(self) -> int:
        """m = n - k + 1, the side of Z1 and A1."""
        return self.input_size - self.kernel_size + 1

    @property
    def pooled_size(self) -> int:
        """q = floor(m / p), the side of P1."""
        return self.conv_size // self.pool_size

    @property
    def features(self) -> int:
        """D = K * q * q, the length of F."""
        return self.filters * self.pooled_size**2

    @property
    def n_params(self) -> int:
        """Trainable parameters: K*k*k + K + D + 1 (15 for the seed's network)."""
        return self.filters * self.kernel_size**2 + self.filters + self.features + 1

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """The shape of every named tensor and gradient for this configuration."""
        return dict(_shapes(self))

    def to_dict(self) -> dict[str, int]:
        return {field: getattr(self, field) for field in LIMITS}


@functools.lru_cache(maxsize=256)
def _shapes(config: Config) -> dict[str, tuple[int, ...]]:
    n, k, K = config.input_size, config.kernel_size, config.filters
    m, q, D = config.conv_size, config.pooled_size, config.features
    values = {
        "X": (n, n), "W1": (K, k, k), "b1": (K,), "Z1": (K, m, m), "A1": (K, m, m),
        "P1": (K, q, q), "F": (D,), "W2": (1, D), "b2": (1,), "Z2": (), "A2": (), "L": (),
    }
    grads = {"d" + name: shape for name, shape in values.items() if name != "L"}
    return {**values, "Y": (), **grads}


PARAM_NAMES: tuple[str, ...] = ("W1", "b1", "W2", "b2")
