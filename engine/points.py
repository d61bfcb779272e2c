"""Teaching points: what a slide sets out to show, and whether an example's numbers show it.

A lesson's slide may name the point it makes (``shows = "relu-blocks"``). The numbers decide
whether the point can be seen: the ReLU mask can only be seen blocking a gradient when some
window's winner had Z1 <= 0. :func:`shown` says, for one example, which points its numbers
show; a lesson checker warns about a slide whose point is not shown.

    holds(name, t, lr) -> bool      the point ``name`` on the trace ``t`` (η = ``lr``)
    shown(t, lr) -> {name: bool}    every point at once
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .config import PARAM_NAMES
from .layers import pool_windows
from .model import Trace, loss, sgd_step

EPS = 1e-12  # a value this close to 0 counts as 0


@dataclass(frozen=True)
class Point:
    name: str
    text: str  # the point, as a sentence completing "the numbers show that ..."
    holds: Callable[[Trace, float], bool]


def _relu_zeroes(t: Trace, lr: float) -> bool:
    Z1 = np.asarray(t["Z1"])
    return bool(np.any(Z1 <= 0) and np.any(Z1 > 0))


def _routed(t: Trace) -> np.ndarray:
    return np.abs(np.asarray(t["dA1"])) > EPS


def _relu_blocks(t: Trace, lr: float) -> bool:
    return bool(np.any(_routed(t) & (np.asarray(t["Z1"]) <= 0)))


def _relu_passes(t: Trace, lr: float) -> bool:
    return bool(np.any(_routed(t) & (np.asarray(t["Z1"]) > 0)))


def _positive_losers(t: Trace, lr: float) -> bool:
    windows = pool_windows(np.asarray(t["A1"]), t.config.pool_size)
    return bool(np.any((windows > EPS).sum(axis=-1) >= 2))


def _clear_winners(t: Trace, lr: float) -> bool:
    windows = pool_windows(np.asarray(t["A1"]), t.config.pool_size)
    if windows.shape[-1] < 2:
        return True
    ordered = np.sort(windows, axis=-1)
    return bool(np.all(ordered[..., -1] - ordered[..., -2] > EPS))


def _zero_window(t: Trace, lr: float) -> bool:
    windows = pool_windows(np.asarray(t["A1"]), t.config.pool_size)
    return bool(np.any(windows.max(axis=-1) <= 0))


def _label_one(t: Trace, lr: float) -> bool:
    return float(t["Y"]) == 1


def _wrong_side(t: Trace, lr: float) -> bool:
    A2, Y = float(t["A2"]), float(t["Y"])
    return (A2 < 0.5) if Y == 1 else (A2 > 0.5)


def _features_positive(t: Trace, lr: float) -> bool:
    return bool(np.all(np.asarray(t["F"]) > EPS))


def _loss_falls(t: Trace, lr: float) -> bool:
    params = {name: np.asarray(t[name]) for name in PARAM_NAMES}
    after = loss(np.asarray(t["X"]), float(t["Y"]), sgd_step(params, t, lr), t.config)
    return after < float(t["L"])


POINTS: dict[str, Point] = {p.name: p for p in (
    Point("relu-zeroes", "ReLU zeroes some cells of Z1 and keeps others", _relu_zeroes),
    Point("positive-losers", "a pooling window has a positive cell that loses to its "
                             "maximum", _positive_losers),
    Point("clear-winners", "every pooling window has one clear winner (no tie)",
          _clear_winners),
    Point("zero-window", "a pooling window is all 0 after ReLU", _zero_window),
    Point("label-one", "the label Y is 1 (so dA2 = −1/A2 is negative)", _label_one),
    Point("wrong-side", "A2 is on the wrong side of one half for the label Y",
          _wrong_side),
    Point("features-positive", "every feature F is positive", _features_positive),
    Point("relu-passes", "a gradient max-pooling routed passes the ReLU mask", _relu_passes),
    Point("relu-blocks", "the ReLU mask stops a gradient max-pooling routed (a window's "
                         "winner had Z1 <= 0)", _relu_blocks),
    Point("loss-falls", "the update lowers the loss on the example", _loss_falls),
)}


def check_point(name: object) -> str:
    if not isinstance(name, str) or name not in POINTS:
        raise ValueError(f"unknown point {name!r} (known: {', '.join(POINTS)})")
    return name


def holds(name: str, t: Trace, lr: float) -> bool:
    """Whether the example of ``t`` shows the point ``name`` (with η = ``lr``)."""
    return POINTS[check_point(name)].holds(t, lr)


def shown(t: Trace, lr: float) -> dict[str, bool]:
    """Every point, and whether the example of ``t`` shows it."""
    return {name: point.holds(t, lr) for name, point in POINTS.items()}
