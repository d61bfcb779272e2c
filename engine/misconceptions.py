"""The wrong answers students actually write, one function per misconception, each in the
module of its layer kind (:mod:`engine.kinds`: a ``MISCONCEPTIONS`` tuple at the end).

A kind's :class:`Misconception` names a *role* of its steps (``forward``, ``backward``,
``dW``, ``db``, ``dinput``, and for an output ``loss`` and ``dA``) and builds, from exactly
the tensors that step reads (its ``given``) and the layer's node (its sizes), the tensor a
student who holds it would write. Its id, title and message are templates: :func:`bind`
makes them the step's own (``da1-every-cell``, "… only that cell gets the window's
gradient …" with the network's names), for one step of one network. The update's two
misconceptions belong to no layer: they are written here, once per parameter; so is the
mini-batch mean's ("summed instead of averaged"). Momentum's and Adam's updates have theirs
in their modules (:mod:`engine.optimizers`); :func:`for_step` serves them all.

    for_step(step, net=None) -> (Misconception, ...)   a step's, in library order
    library(net) -> (Misconception, ...)              every step's of a network
    MISCONCEPTIONS, BY_ID                             the seed network's library, in the
                                                      order, with the ids and messages,
                                                      stored data and tests know

A bound misconception's ``wrong(given, where, lr)`` takes the step's node as ``where`` or,
for the seed network's steps, :class:`Sizes` (the seed's sizes, from which the node is made
again: the seed's library serves every seed-shaped network). The grader
(:func:`engine.practice.grade`) compares a wrong answer with each of them.

Not in the library: "dW1 from A1 instead of X". The dW1 exercise gives X and dZ1 only, and
Conv(A1, dZ1) has no k×k shape (A1 and dZ1 have the same size), so no answer of the right
shape can be that mistake.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from .config import Config

Given = Mapping[str, np.ndarray]


@dataclass(frozen=True)
class Sizes:
    """The sizes a seed misconception may need beyond its givens' shapes."""

    pool_size: int = 1
    kernel_size: int = 1
    filters: int = 1
    pooled_size: int = 1

    @classmethod
    def of(cls, config: Config) -> Sizes:
        return cls(config.pool_size, config.kernel_size, config.filters, config.pooled_size)


@dataclass(frozen=True)
class Misconception:
    """``step``: a kind's role (unbound) or the practice step's name (bound)."""

    id: str
    step: str
    title: str
    message: str
    wrong: Callable[[Given, Any, float | None], np.ndarray]
    kind: str = ""  # the layer kind it belongs to ("" for the update's)
    # whether it can happen at a node at all (stride ignored: only where the stride is not
    # 1); None: everywhere. A bound misconception is in a network's library only where so.
    applies: Callable[[Any], bool] | None = None


def _a(given: Given, name: str) -> np.ndarray:
    return np.asarray(given[name], dtype=np.float64)


# ------------------------------------------------------------------------------ binding
def names(node, net) -> dict[str, str]:
    """The names a kind's templates use, for one node: {in} {out} {din} {dout} {W} {b}
    {dW} {db}, every layer option ({stride}, {slope} …), and for a dense layer {A} (the
    output's name), {logit}, {logits} and {err} (what its dZ is)."""
    out = {"in": node.reads, "out": node.writes, "din": "d" + node.reads,
           "dout": "d" + node.writes}
    for role, name in node.params.items():
        out[role], out["d" + role] = name, "d" + name
    for key, value in node.layer.options:
        out[key] = f"{value:g}" if isinstance(value, float) else str(value)
    last = net.nodes[-1]
    if node.params and node.layer.type == "dense":
        dz = "d" + node.writes
        if node.writes == last.reads:
            y = "Y" if net.output == "sigmoid_bce" else "onehot(Y)"
            out.update(A=last.writes, logit="the logit", logits="the logit's",
                       err=f"{dz} = {last.writes} − {y}")
        else:
            out.update(A=last.writes, logit=node.writes, logits=f"{node.writes}'s", err=dz)
    return out


def bind(m: Misconception, step: str, node, net) -> Misconception:
    """``m`` of a kind as the misconception of practice step ``step`` (written by ``node``
    of ``net``)."""
    words = names(node, net)
    seed_shaped = net.config is not None

    def wrong(given: Given, where: Any, lr: float | None) -> np.ndarray:
        if isinstance(where, Sizes):
            where = _seed_node(step, given, where) if seed_shaped else node
        return m.wrong(given, node if where is None else where, lr)

    return Misconception(f"{step.lower()}-{m.id}", step, m.title.format(**words),
                         m.message.format(**words), wrong, node.layer.type)


def _update_sign(name: str) -> Callable[[Given, Any, float | None], np.ndarray]:
    def wrong(g: Given, where: Any, lr: float | None) -> np.ndarray:
        return _a(g, name) + float(lr or 0.0) * _a(g, "d" + name)
    return wrong


def _update_no_lr(name: str) -> Callable[[Given, Any, float | None], np.ndarray]:
    def wrong(g: Given, where: Any, lr: float | None) -> np.ndarray:
        return _a(g, name) - _a(g, "d" + name)
    return wrong


def update_misconceptions(name: str) -> tuple[Misconception, ...]:
    """The update step's two, for parameter ``name``."""
    return (
        Misconception(f"{name}-update-sign", name, "Stepped up the gradient",
                      f"Gradient descent steps against the gradient: {name} − η·d{name}, "
                      "not plus.", _update_sign(name)),
        Misconception(f"{name}-update-no-lr", name, "Learning rate forgotten",
                      f"The step is scaled by the learning rate: {name} − η·d{name}, not "
                      f"{name} − d{name}.", _update_no_lr(name)),
    )


def _summed(grad: str) -> Callable[[Given, Any, float | None], np.ndarray]:
    def wrong(g: Given, where: Any, lr: float | None) -> np.ndarray:
        parts = [_a(g, name) for name in g if name.startswith(grad + "(")]
        return np.sum(parts, axis=0)
    return wrong


def mean_misconceptions(name: str) -> tuple[Misconception, ...]:
    """A mini-batch's mean gradient's, for parameter ``name``: practice step mean_d + name,
    whose givens are the per-example gradients d{name}(1) ... d{name}(N)."""
    grad = "d" + name
    return (
        Misconception(f"mean_{grad}-summed", f"mean_{grad}", "Summed instead of averaged",
                      f"The mini-batch's gradient is the mean of the per-example gradients, "
                      f"(1/N)·Σₙ {grad}⁽ⁿ⁾: their sum is N times too large (and the step "
                      "would grow with the batch).", _summed(grad)),
    )


# ------------------------------------------------------------------------------ library
@functools.lru_cache(maxsize=256)
def library(net) -> tuple[Misconception, ...]:
    """Every misconception of every practice step of ``net``, in step order (each kind's
    in the order its module lists them)."""
    from .practice import practice_steps

    out: list[Misconception] = []
    for step in practice_steps(net):
        if step.phase == "update":
            out.extend(update_misconceptions(step.name))
            continue
        for m in getattr(step.node.kind, "MISCONCEPTIONS", ()):
            if m.step == step.role and (m.applies is None or m.applies(step.node)):
                out.append(bind(m, step.name, step.node, net))
    return tuple(out)


# The seed's library in the order it was first written (and stored data and the served
# catalogue know): the steps in this order, each step's misconceptions in its kind's.
_SEED_ORDER = ("Z1", "A2", "P1", "F", "Z2", "L", "dA2", "dZ2", "dW2", "db2", "dF", "dP1",
               "dA1", "dZ1", "dW1", "db1", "W1", "b1", "W2", "b2")


@functools.lru_cache(maxsize=1)
def _seed_library() -> tuple[Misconception, ...]:
    from .network import SEED

    rank = {step: i for i, step in enumerate(_SEED_ORDER)}
    return tuple(sorted(library(SEED), key=lambda m: rank.get(m.step, len(rank))))


def __getattr__(name: str) -> object:  # MISCONCEPTIONS and BY_ID, built on first use
    if name == "MISCONCEPTIONS":
        return _seed_library()
    if name == "BY_ID":
        return {m.id: m for m in _seed_library()}
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def for_step(step: str, net=None) -> tuple[Misconception, ...]:
    """The misconceptions of one step of ``net`` (a Network, a Config or None: the seed's),
    in library order."""
    from .network import as_network
    from .practice import extra_misconceptions

    extra = extra_misconceptions(step)  # an optimizer's update, a mini-batch's mean
    if extra is not None:
        return extra
    network = as_network(net)
    pool = _seed_library() if network.config is not None else library(network)
    return tuple(m for m in pool if m.step == step)


# ------------------------------------------------------------------ the seed's nodes again
def _seed_node(step: str, g: Given, s: Sizes):
    """The seed network's node that writes ``step``, sized by ``s`` and the givens' shapes
    (a seed-shaped network of any Config)."""
    from .network import Layer, Node

    def shape(name: str) -> tuple[int, ...]:
        return tuple(np.shape(g[name]))

    if step in ("Z1", "dW1", "db1"):
        K = shape("W1")[0] if "W1" in g else shape("dZ1")[0]
        k = shape("W1")[-1] if "W1" in g else (s.kernel_size if step == "dW1" else 1)
        n = shape("X")[0] if "X" in g else shape("dZ1")[-1] + k - 1
        m = n - k + 1
        layer = Layer("conv", (("filters", K), ("kernel", k), ("stride", 1), ("padding", 0)))
        return Node(0, layer, 1, "X", "Z1", (n, n), (K, m, m), {"W": "W1", "b": "b1"},
                    {"W1": (K, k, k), "b1": (K,)}, True)
    if step in ("A1", "dZ1"):
        z = shape("Z1")
        return Node(1, Layer("relu"), 1, "Z1", "A1", z, z)
    if step in ("P1", "dA1"):
        a, p = shape("A1"), s.pool_size
        q = a[-1] // p
        layer = Layer("maxpool", (("size", p), ("stride", p)))
        return Node(2, layer, 1, "A1", "P1", a, (a[0], q, q))
    if step in ("F", "dP1"):
        p1 = shape("P1") if "P1" in g else (s.filters, s.pooled_size, s.pooled_size)
        return Node(3, Layer("flatten"), 1, "P1", "F", p1, (int(np.prod(p1)),))
    if step in ("Z2", "dW2", "db2", "dF"):
        D = shape("F")[0] if "F" in g else shape("W2")[-1] if "W2" in g else 1
        return Node(4, Layer("dense", (("units", 1),)), 2, "F", "Z2", (D,), (),
                    {"W": "W2", "b": "b2"}, {"W2": (1, D), "b2": (1,)})
    if step in ("A2", "L", "dA2", "dZ2"):
        return Node(5, Layer("sigmoid_bce"), 2, "Z2", "A2", (), ())
    raise ValueError(f"no seed node writes {step!r}")
