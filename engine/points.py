"""Teaching points: what a slide sets out to show, and whether an example's numbers show it.

A lesson's slide may name the point it makes (``shows = "relu-blocks"``). The numbers decide
whether the point can be seen: the ReLU mask can only be seen blocking a gradient when some
window's winner had Z1 <= 0. :func:`shown` says, for one example, which points its numbers
show; a lesson checker warns about a slide whose point is not shown.

    holds(name, t, lr) -> bool      the point ``name`` on the trace ``t`` (η = ``lr``)
    shown(t, lr) -> {name: bool}    every point at once
    unmet(name, net) -> str | None  why the point cannot be made on ``net`` (None: it can)

A point is about parts of the seed's network (ReLU after the first conv, the max-pool after
it, a σ output); on a network without those parts it does not apply: :func:`unmet` says
which part is missing, :func:`holds` is then False and :func:`shown` leaves it out.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .kinds import _pool
from .model import Trace, loss, sgd_step
from .network import Network, Node

EPS = 1e-12  # a value this close to 0 counts as 0


@dataclass(frozen=True)
class Point:
    name: str
    text: str  # the point, as a sentence completing "the numbers show that ..."
    holds: Callable[[Trace, float], bool]
    needs: str = ""  # the part of the network it is about: "", relu, maxpool, relu+maxpool,
    # sigmoid


def _node(net: Network, writes: str) -> Node | None:
    return next((n for n in net.nodes[:-1] if n.writes == writes), None)


def _relu(net: Network) -> bool:
    """A ReLU writes A1 from the first conv's Z1."""
    node = _node(net, "A1")
    return node is not None and node.layer.type == "relu" and node.reads == "Z1"


def _pool1(net: Network) -> Node | None:
    """The max-pool that reads A1, the first conv's activation (the seed's P1)."""
    node = _node(net, "P1")
    return node if node is not None and node.layer.type == "maxpool" and (
        node.reads == "A1") else None


def _windows(t: Trace) -> np.ndarray:
    node = _pool1(t.network)
    assert node is not None
    return _pool.windows(np.asarray(t["A1"]), int(node.layer["size"]),
                         int(node.layer["stride"]))


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
    return bool(np.any((_windows(t) > EPS).sum(axis=-1) >= 2))


def _clear_winners(t: Trace, lr: float) -> bool:
    windows = _windows(t)
    if windows.shape[-1] < 2:
        return True
    ordered = np.sort(windows, axis=-1)
    return bool(np.all(ordered[..., -1] - ordered[..., -2] > EPS))


def _zero_window(t: Trace, lr: float) -> bool:
    return bool(np.any(_windows(t).max(axis=-1) <= 0))


def _label_one(t: Trace, lr: float) -> bool:
    return float(t["Y"]) == 1


def _wrong_side(t: Trace, lr: float) -> bool:
    A2, Y = float(t[t.network.last]), float(t["Y"])
    return (A2 < 0.5) if Y == 1 else (A2 > 0.5)


def _features_positive(t: Trace, lr: float) -> bool:
    return bool(np.all(np.asarray(t["F"]) > EPS))


def _loss_falls(t: Trace, lr: float) -> bool:
    """By the pass's own update: gradient descent, or (a :class:`engine.walk.Pass`) its
    optimizer's update from the state it holds."""
    params = {name: np.asarray(t[name]) for name in t.network.param_names}
    optimizer = getattr(t, "optimizer", None)
    if optimizer is None:
        new = sgd_step(params, t, lr)
    else:
        state = {n: t[n] for p in params for n in optimizer.state_names(p)}
        new, _ = optimizer.apply(params, t, state, int(t["t"]), lr)
    after = loss(np.asarray(t["X"]), float(t["Y"]), new, t.network)
    return after < float(t["L"])


POINTS: dict[str, Point] = {p.name: p for p in (
    Point("relu-zeroes", "ReLU zeroes some cells of Z1 and keeps others", _relu_zeroes,
          "relu"),
    Point("positive-losers", "a pooling window has a positive cell that loses to its "
                             "maximum", _positive_losers, "maxpool"),
    Point("clear-winners", "every pooling window has one clear winner (no tie)",
          _clear_winners, "maxpool"),
    Point("zero-window", "a pooling window is all 0 after ReLU", _zero_window,
          "relu+maxpool"),
    Point("label-one", "the label Y is 1 (so dA2 = −1/A2 is negative)", _label_one,
          "sigmoid"),
    Point("wrong-side", "A2 is on the wrong side of one half for the label Y",
          _wrong_side, "sigmoid"),
    Point("features-positive", "every feature F is positive", _features_positive),
    Point("relu-passes", "a gradient max-pooling routed passes the ReLU mask", _relu_passes,
          "relu+maxpool"),
    Point("relu-blocks", "the ReLU mask stops a gradient max-pooling routed (a window's "
                         "winner had Z1 <= 0)", _relu_blocks, "relu+maxpool"),
    Point("loss-falls", "the update lowers the loss on the example", _loss_falls),
)}
NEEDS = {  # what each part is, for a network that lacks it
    "relu": "a ReLU on the first conv's output (A1 = ReLU(Z1))",
    "maxpool": "a max-pool on the first conv's activation (P1 = MaxPool(A1))",
    "sigmoid": "a σ output (sigmoid_bce)",
}


def unmet(name: str, net: Network) -> str | None:
    """Why the point ``name`` cannot be made on ``net`` (the part it is about that the
    network lacks), or None when it can."""
    needs = POINTS[check_point(name)].needs
    missing = [part for part in needs.split("+") if part and not {
        "relu": _relu(net), "maxpool": _pool1(net) is not None,
        "sigmoid": net.output == "sigmoid_bce"}[part]]
    if not missing:
        return None
    return f"it is about {' and '.join(NEEDS[part] for part in missing)}, which this network " \
           f"does not have"


def check_point(name: object) -> str:
    if not isinstance(name, str) or name not in POINTS:
        raise ValueError(f"unknown point {name!r} (known: {', '.join(POINTS)})")
    return name


def holds(name: str, t: Trace, lr: float) -> bool:
    """Whether the example of ``t`` shows the point ``name`` (with η = ``lr``); False for a
    point that does not apply to its network (:func:`unmet`)."""
    if unmet(name, t.network) is not None:
        return False
    return POINTS[name].holds(t, lr)


def shown(t: Trace, lr: float) -> dict[str, bool]:
    """Every point that applies to the network of ``t``, and whether its example shows it."""
    return {name: point.holds(t, lr) for name, point in POINTS.items()
            if unmet(name, t.network) is None}
