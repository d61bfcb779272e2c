"""Compare mode: two walks in lockstep that differ in one switch.

A walk is given as the body ``POST /api/sessions`` takes (a plain dict)::

    {"network": {...} | "config": {...} (absent: the seed's), "x": image | [N images],
     "y": label | [N labels], "params": {...}, "seed": int, "lr": float,
     "optimizer": {"type": "momentum", ...} (absent: SGD)}

:func:`switch` turns walk a's body into walk b's by one of :data:`SWITCHES` (each a toggle:
applied twice it gives a's network back); :func:`shared_params` gives b a's weights wherever
the two networks have a parameter of the same name and shape; :func:`align` pairs the two
walks' steps; :func:`differs` finds the cells where two traces differ; :func:`explain` says in
one sentence what the switch changed at a pair of steps, and why.

What a kind does, said beside the kind a switch trades it for, sits with the kind
(``CONTRAST`` in :mod:`engine.kinds`); what each switch changes sits here.
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from .config import Config
from .kinds import KINDS
from .model import check_params, check_x, check_y, init_params
from .network import Network, NetworkError, Node, as_network, network
from .notation import Step
from .presets import DEFAULT_SEED, PRESETS, preset

BATCH = 4  # examples in the walk the "batch" switch makes of one
TOL = 1e-12  # differs(): cells closer than this (relative and absolute) are the same

SWITCHES: dict[str, dict[str, str]] = {
    "pool": {"title": "Max ↔ average pooling",
             "description": "The first pool keeps each window's largest cell, or its mean."},
    "leaky_relu": {"title": "ReLU ↔ leaky ReLU",
                   "description": "Every ReLU becomes a leaky ReLU (or back): negative cells "
                                  "keep a small slope instead of 0."},
    "tanh": {"title": "ReLU ↔ tanh",
             "description": "Every ReLU becomes a tanh (or back): a smooth squashing "
                            "instead of a cut at 0."},
    "softmax": {"title": "Sigmoid + BCE ↔ softmax + CE",
                "description": "One output probability from one logit, or two (one per class) "
                               "from a 2-unit last layer."},
    "stride": {"title": "Conv stride 1 ↔ 2",
               "description": "The first conv's filter moves one cell at a time, or two."},
    "padding": {"title": "Padding 0 ↔ 1",
                "description": "The first conv stays inside its input, or adds a border of "
                               "zeros around it."},
    "overlap": {"title": "Pool stride = size ↔ overlapping",
                "description": "The first pool's windows sit side by side, or overlap (stride "
                               "one less than the size)."},
    "two_conv": {"title": "One conv layer ↔ two",
                 "description": "A second conv block (3×3, padding 1, the same activation) "
                                "after the first, or without it."},
    "batch": {"title": f"One example ↔ a batch of {BATCH}",
              "description": f"The update uses one example's gradient, or the mean over "
                             f"{BATCH} examples (the first one this walk's)."},
    "momentum": {"title": "SGD ↔ momentum",
                 "description": "Plain gradient descent, or descent along a velocity that "
                                "keeps past gradients."},
    "adam": {"title": "SGD ↔ Adam",
             "description": "Plain gradient descent, or Adam's steps scaled by running "
                            "moments of the gradient."},
}


class SwitchError(ValueError):
    """A switch that does not apply to a walk (no pool to switch, a network that would
    not fit, an unknown switch ...)."""


# ============================================================================ switch
def switch(base: Mapping[str, object], name: str) -> dict[str, object]:
    """Walk b's body: ``base`` with switch ``name`` applied.

    The result always has ``"network"`` (a network spec dict; ``"config"`` is dropped) and
    ``"params"`` (b's parameters as nested lists: :func:`shared_params` of a's, given or
    ``init_params(a, seed)``); every other field of ``base`` is kept unless the switch
    changes it ("batch": ``x``, ``y``; "momentum", "adam": ``optimizer``)."""
    if name not in SWITCHES:
        raise SwitchError(f"unknown switch {name!r}; known: {', '.join(SWITCHES)}")
    if not isinstance(base, Mapping):
        raise SwitchError("a walk must be an object (network or config, x, y, params, ...)")
    net_a = walk_network(base)
    seed = base.get("seed", DEFAULT_SEED)
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise SwitchError(f"seed must be an integer, got {seed!r}")
    body = {key: copy.deepcopy(value) for key, value in base.items() if key != "config"}
    if name in _NETWORK_RULES:
        spec = _NETWORK_RULES[name](net_a.to_dict())
        try:
            net_b = network(spec)
        except NetworkError as exc:
            raise SwitchError(f"{name}: the switched network does not fit: {exc}") from None
    else:
        net_b = net_a
        body.update(_WALK_RULES[name](base, net_a))
    body = {key: value for key, value in body.items() if value is not None}
    if net_b.output != net_a.output:
        _check_labels(body, net_b, name)
    body["network"] = net_b.to_dict()
    try:
        params_a = (init_params(net_a, seed) if base.get("params") is None
                    else check_params(base["params"], net_a))
    except ValueError as exc:
        raise SwitchError(f"params: {exc}") from None
    body["params"] = {key: value.tolist() for key, value in
                      shared_params(params_a, net_a, net_b, seed).items()}
    return body


def walk_network(body: Mapping[str, object]) -> Network:
    """The network of a walk's body: its ``network`` spec, else its ``config`` sizes, else
    the seed's. SwitchError names what does not fit."""
    spec, config = body.get("network"), body.get("config")
    if spec is not None and config is not None:
        raise SwitchError("give config or network, not both")
    if config is not None and not isinstance(config, Mapping):
        raise SwitchError("config must be an object of sizes")
    try:
        if spec is not None:
            return network(spec)
        if config is not None:
            return Network.from_config(Config(**config))
    except NetworkError as exc:
        raise SwitchError(f"network: {exc}") from None
    except (TypeError, ValueError) as exc:
        raise SwitchError(f"config: {exc}") from None
    return as_network(None)


def shared_params(params_a: Mapping[str, object], net_a: Network | Mapping | Config | None,
                  net_b: Network | Mapping | Config | None, seed: int
                  ) -> dict[str, np.ndarray]:
    """Walk b's parameters: a's wherever ``net_a`` has a parameter of the same name and
    shape as ``net_b``'s, else b's own ``init_params(net_b, seed)`` (new arrays)."""
    net_a, net_b = as_network(net_a), as_network(net_b)
    own = init_params(net_b, seed)
    shapes_b = net_b.shapes()
    out = {}
    for name in net_b.param_names:
        if name in net_a.param_names and name in params_a:
            value = np.array(params_a[name], dtype=np.float64)
            if value.shape == shapes_b[name]:
                out[name] = value
                continue
        out[name] = own[name]
    return out


# ----------------------------------------------------------------- network switches
def _layers(spec: dict, role: str) -> list[int]:
    return [i for i, layer in enumerate(spec["layers"]) if role == KINDS[layer["type"]].ROLE]


def _first(spec: dict, role: str, name: str, what: str) -> dict:
    found = _layers(spec, role)
    if not found:
        raise SwitchError(f"{name}: the network has no {what} to switch")
    return spec["layers"][found[0]]


def _pool(spec: dict) -> dict:
    layer = _first(spec, "pool", "pool", "pool layer")
    layer["type"] = "avgpool" if layer["type"] == "maxpool" else "maxpool"
    return spec


def _activations(to: str) -> Callable[[dict], dict]:
    """relu <-> ``to`` on every activation: relu ones if there are any, else ``to`` ones."""
    def rule(spec: dict) -> dict:
        types = [spec["layers"][i]["type"] for i in _layers(spec, "act")]
        if "relu" in types:
            old, new = "relu", to
        elif to in types:
            old, new = to, "relu"
        else:
            has = ", ".join(types) or "none"
            raise SwitchError(f"{to}: the network has no ReLU or {to} to switch "
                              f"(its activations: {has})")
        spec["layers"] = [{"type": new} if layer["type"] == old else layer
                          for layer in spec["layers"]]
        return spec
    return rule


def _softmax(spec: dict) -> dict:
    last = spec["layers"][_layers(spec, "dense")[-1]]
    if spec["output"] == "sigmoid_bce":
        spec["output"], last["units"] = "softmax_ce", 2
    elif last["units"] == 2:
        spec["output"], last["units"] = "sigmoid_bce", 1
    else:
        raise SwitchError(f"softmax: sigmoid + BCE has 2 classes; this softmax has "
                          f"{last['units']}")
    return spec


def _stride(spec: dict) -> dict:
    conv = _first(spec, "conv", "stride", "conv layer")
    conv["stride"] = 2 if conv["stride"] == 1 else 1
    return spec


def _padding(spec: dict) -> dict:
    conv = _first(spec, "conv", "padding", "conv layer")
    conv["padding"] = 1 if conv["padding"] == 0 else 0
    return spec


def _overlap(spec: dict) -> dict:
    pool = _first(spec, "pool", "overlap", "pool layer")
    if pool["stride"] != pool["size"]:
        pool["stride"] = pool["size"]
    elif pool["size"] == 1:
        raise SwitchError("overlap: a 1×1 pool's windows cannot overlap (stride 0)")
    else:
        pool["stride"] = pool["size"] - 1
    return spec


def _blocks(spec: dict) -> list[tuple[int, int]]:
    """[start, end) of each conv block: a conv and the activation and pool after it."""
    layers, out = spec["layers"], []
    for start in _layers(spec, "conv"):
        end = start + 1
        while end < len(layers) and KINDS[layers[end]["type"]].ROLE in ("act", "pool"):
            end += 1
        out.append((start, end))
    return out


def _two_conv(spec: dict) -> dict:
    blocks = _blocks(spec)
    layers = spec["layers"]
    if not blocks:
        raise SwitchError("two_conv: the network has no conv layer to add a second to")
    if len(blocks) >= 2:
        start, end = blocks[1]
        spec["layers"] = layers[:start] + layers[end:]
        return spec
    start, end = blocks[0]
    added = [{"type": "conv", "filters": layers[start]["filters"], "kernel": 3, "stride": 1,
              "padding": 1}]
    added += [copy.deepcopy(layer) for layer in layers[start:end]
              if KINDS[layer["type"]].ROLE == "act"]
    spec["layers"] = layers[:end] + added + layers[end:]
    return spec


_NETWORK_RULES: dict[str, Callable[[dict], dict]] = {
    "pool": _pool, "leaky_relu": _activations("leaky_relu"), "tanh": _activations("tanh"),
    "softmax": _softmax, "stride": _stride, "padding": _padding, "overlap": _overlap,
    "two_conv": _two_conv,
}


# -------------------------------------------------------------------- walk switches
def _batch(base: Mapping, net: Network) -> dict[str, object]:
    """One example -> BATCH (it first, then presets unlike it); a batch -> its first."""
    x, y = base.get("x"), base.get("y")
    try:
        dims = None if x is None else np.asarray(x, dtype=np.float64).ndim
    except (TypeError, ValueError):
        raise SwitchError("x must be an image or a list of images") from None
    if dims == 3 or isinstance(y, list | tuple):
        if x is None or y is None or not isinstance(y, list | tuple) or not len(x) or not y:
            raise SwitchError("batch: a batch needs x, a list of images, and y, a list of "
                              "labels")
        return {"x": copy.deepcopy(x[0]), "y": y[0]}
    try:
        x0 = (preset("vertical_stroke", net.input_size)[0] if x is None
              else check_x(x, net))
        y0 = 1 if y is None else y
        check_y(y0, net)
    except ValueError as exc:
        raise SwitchError(f"batch: {exc}") from None
    xs, ys = [x0.tolist()], [y0]
    for name in PRESETS:
        image, label = preset(name, net.input_size)
        if len(xs) < BATCH and not np.array_equal(image, x0):
            xs.append(image.tolist())
            ys.append(label)
    return {"x": xs, "y": ys}


def _optimizer(kind: str) -> Callable[[Mapping, Network], dict[str, object]]:
    """SGD or another optimizer -> ``kind`` (its defaults: the optimizer fills them in);
    ``kind`` -> SGD (no ``optimizer`` field)."""
    def rule(base: Mapping, net: Network) -> dict[str, object]:
        return {"optimizer": None if optimizer_type(base) == kind else {"type": kind}}
    return rule


def optimizer_type(body: Mapping[str, object]) -> str:
    """The type of a walk's optimizer: "sgd" when it has none."""
    spec = body.get("optimizer")
    if spec is None:
        return "sgd"
    if not isinstance(spec, Mapping) or not isinstance(spec.get("type", "sgd"), str):
        raise SwitchError('optimizer must be an object like {"type": "adam"}')
    return spec.get("type", "sgd")


_WALK_RULES: dict[str, Callable[[Mapping, Network], dict[str, object]]] = {
    "batch": _batch, "momentum": _optimizer("momentum"), "adam": _optimizer("adam"),
}


def _check_labels(body: dict, net: Network, name: str) -> None:
    """A sigmoid label 0/1 is the class 0/1 of a 2-class softmax and back: the same
    number; a label that is neither does not fit the other network."""
    y = body.get("y")
    for label in (y if isinstance(y, list | tuple) else [y]):
        if label is None:
            continue
        try:
            check_y(label, net)
        except ValueError as exc:
            raise SwitchError(f"{name}: {exc}") from None


# ============================================================================= align
@dataclass(frozen=True)
class Owner:
    """The node a step belongs to (the one whose kind writes the step: a pool's backward
    step writes dA1) and which part of it: "" its value, "loss", a parameter role "W" or
    "b", or "mean W" for a batch's averaging step. node is None for the input (dX) or a
    step of no node."""

    node: Node | None
    part: str


def owner(step: Step, net: Network) -> Owner:
    """The node a step belongs to, found from what it writes."""
    name = step.writes
    nodes = net.nodes
    by_param = {p: (n, role) for n in nodes for role, p in n.params.items()}
    if name.startswith("mean_d") and name[6:] in by_param:
        n, role = by_param[name[6:]]
        return Owner(n, "mean " + role)
    if step.phase == "update" and name in by_param:
        n, role = by_param[name]
        return Owner(n, role)
    if name == "L":
        return Owner(nodes[-1], "loss")
    if step.phase == "backward" and name.startswith("d"):
        tensor = name[1:]
        if tensor in by_param:
            n, role = by_param[tensor]
            return Owner(n, role)
        if tensor == net.last:
            return Owner(nodes[-1], "")
        reader = next((n for n in nodes if n.reads == tensor), None)
        return Owner(reader, "" if reader else name)
    writer = next((n for n in nodes if n.writes == name), None)
    return Owner(writer, "" if writer else name)


def _block(node: Node, net: Network) -> tuple[str, int] | None:
    """Which block of its stage a node is in: conv blocks counted from the input, dense
    layers from the output (so the last dense pairs with the last dense)."""
    role = node.kind.ROLE
    if role in ("flatten", "output"):
        return None
    flatten = next((n.position for n in net.nodes if n.kind.ROLE == "flatten"), -1)
    if node.position < flatten:
        return ("conv", node.number)
    return ("dense", len(net.weighted) - node.number)


def step_key(step: Step, net: Network) -> tuple:
    """What a step is, for pairing: (phase, role of its node, part, block)."""
    who = owner(step, net)
    if who.node is None:
        return (step.phase, "input" if who.part == "dX" else "other", who.part, None)
    phase = "mean" if who.part.startswith("mean") else step.phase
    return (phase, who.node.kind.ROLE, who.part, _block(who.node, net))


def align(steps_a: Sequence[Step], steps_b: Sequence[Step], net_a: Network | Mapping | None,
          net_b: Network | Mapping | None) -> list[tuple[int | None, int | None]]:
    """The two walks' steps in lockstep: (i, j) pairs a step of each, (i, None) and
    (None, j) a step of one walk only. Every step of each walk appears once, in order.

    A longest common subsequence of the step keys (:func:`step_key`), the earliest match
    first: one conv block vs two pairs the first block with the first; max vs average
    pooling pair their pool steps; a batch's averaging steps stand alone."""
    net_a, net_b = as_network(net_a), as_network(net_b)
    a = [step_key(s, net_a) for s in steps_a]
    b = [step_key(s, net_b) for s in steps_b]
    n, m = len(a), len(b)
    tail = [[0] * (m + 1) for _ in range(n + 1)]  # tail[i][j]: LCS of a[i:], b[j:]
    for i in range(n - 1, -1, -1):
        for j in range(m - 1, -1, -1):
            tail[i][j] = (tail[i + 1][j + 1] + 1 if a[i] == b[j]
                          else max(tail[i + 1][j], tail[i][j + 1]))
    out: list[tuple[int | None, int | None]] = []
    i = j = 0
    while i < n or j < m:
        if i < n and j < m and a[i] == b[j]:
            out.append((i, j))
            i, j = i + 1, j + 1
        elif j == m or (i < n and tail[i + 1][j] >= tail[i][j + 1]):
            out.append((i, None))
            i += 1
        else:
            out.append((None, j))
            j += 1
    return out


# =========================================================================== differs
def differs(a: Mapping[str, object], b: Mapping[str, object], names: Sequence[str]
            ) -> dict[str, list[list[int]] | str]:
    """For each name either trace holds: the cells (full indices) where the two differ by
    more than TOL relative and absolute ([] where they agree); ``"shape"`` when the tensor
    is in one trace only or has another shape in each."""
    out: dict[str, list[list[int]] | str] = {}
    for name in names:
        if name not in a and name not in b:
            continue
        if name not in a or name not in b:
            out[name] = "shape"
            continue
        x = np.asarray(a[name], dtype=np.float64)
        y = np.asarray(b[name], dtype=np.float64)
        if x.shape != y.shape:
            out[name] = "shape"
            continue
        with np.errstate(invalid="ignore", over="ignore"):
            near = np.abs(x - y) <= TOL * (1.0 + np.maximum(np.abs(x), np.abs(y)))
        same = near | (x == y) | (np.isnan(x) & np.isnan(y))
        out[name] = np.argwhere(~same).tolist()
    return out


# =========================================================================== explain
@dataclass(frozen=True)
class _Pair:
    """Two aligned steps (one may be None), their networks and their owners."""

    name: str
    a: Step | None
    b: Step | None
    net_a: Network
    net_b: Network

    @property
    def step(self) -> Step:
        return self.a if self.a is not None else self.b

    @property
    def phase(self) -> str:
        return self.step.phase

    def owners(self) -> tuple[Owner | None, Owner | None]:
        return (None if self.a is None else owner(self.a, self.net_a),
                None if self.b is None else owner(self.b, self.net_b))

    @property
    def writes(self) -> str:
        """What the step writes, or both names when they differ (dP1 / dA2)."""
        if self.a is None or self.b is None or self.a.writes == self.b.writes:
            return self.step.writes
        return f"{self.a.writes} / {self.b.writes}"


def explain(name: str, step_a: Step | None, step_b: Step | None,
            net_a: Network | Mapping | None, net_b: Network | Mapping | None) -> str:
    """One sentence: what switch ``name`` changed at this pair of aligned steps, and why
    (a step of one walk only: which walk has it and which has none)."""
    if name not in SWITCHES:
        raise SwitchError(f"unknown switch {name!r}; known: {', '.join(SWITCHES)}")
    if step_a is None and step_b is None:
        raise ValueError("explain needs at least one step")
    pair = _Pair(name, step_a, step_b, as_network(net_a), as_network(net_b))
    if name == "batch":
        return _explain_batch(pair)
    if name in ("momentum", "adam"):
        return _explain_optimizer(pair)
    return _explain_network(pair)


def _cap(text: str) -> str:
    return text[:1].upper() + text[1:]


def _shape(shape: tuple[int, ...]) -> str:
    return "a scalar" if not shape else "×".join(map(str, shape))


def _s(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


# ------------------------------------------------------------- network switches
_THING = {"pool": "the pool", "leaky_relu": "the activation", "tanh": "the activation",
          "softmax": "the last layer", "stride": "the conv", "padding": "the conv",
          "overlap": "the pool", "two_conv": "the second conv block"}


def _first_node(net: Network, role: str) -> Node | None:
    return next((n for n in net.nodes if role == n.kind.ROLE), None)


def _label(name: str, net: Network) -> str:
    """A network as the switch tells it apart: "the {label} network"."""
    if name in ("pool", "overlap"):
        pool = _first_node(net, "pool")
        if pool is None:
            return "pool-less"
        if name == "pool":
            return pool.kind.CONTRAST["name"]
        return f"pool-stride-{pool.layer['stride']}"
    if name in ("leaky_relu", "tanh"):
        act = _first_node(net, "act")
        return getattr(act.kind, "CONTRAST", {}).get("name", act.kind.TITLE) if act else "linear"
    if name == "softmax":
        return net.nodes[-1].kind.CONTRAST["name"]
    if name in ("stride", "padding"):
        conv = _first_node(net, "conv")
        return f"{name}-{conv.layer[name]}" if conv else "conv-less"
    convs = sum(1 for n in net.nodes if n.kind.ROLE == "conv")
    return {1: "one-conv", 2: "two-conv"}.get(convs, f"{convs}-conv")


def _anchor(net: Network, other: Network) -> int:
    """The position of the first layer where ``net`` differs from ``other`` (the output
    counts as position len(layers))."""
    for i, (x, y) in enumerate(zip(net.layers, other.layers)):
        if x != y:
            return i
    if len(net.layers) != len(other.layers):
        return min(len(net.layers), len(other.layers))
    return len(net.layers) if net.output != other.output else len(net.layers) + 1


def _explain_network(p: _Pair) -> str:
    la, lb = _label(p.name, p.net_a), _label(p.name, p.net_b)
    thing = _THING[p.name]
    oa, ob = p.owners()
    if oa is None or ob is None:
        here, there = (lb, la) if oa is None else (la, lb)
        who = ob if oa is None else oa
        if p.name == "two_conv" and who.node is not None:
            return (f"Only the {here} network has this step: {p.step.writes} belongs to its "
                    f"{'second conv block' if who.node.number == 2 else 'extra layers'} "
                    f"({who.node.kind.TITLE}); the {there} network has no such step.")
        return (f"Only the {here} network has this step ({p.step.writes}); the {there} "
                f"network has no such step.")
    if oa.node is None or ob.node is None:
        return f"Both networks compute {p.writes} this way; {thing} changes how much."
    if oa.node.layer != ob.node.layer:
        return _at(p, oa, ob, la, lb)
    before = (oa.node.position < _anchor(p.net_a, p.net_b)
              and ob.node.position < _anchor(p.net_b, p.net_a))
    shapes_a, shapes_b = p.net_a.shapes(), p.net_b.shapes()
    target = p.step.writes
    if p.phase == "update":
        sa, sb = shapes_a.get(p.a.writes, ()), shapes_b.get(p.b.writes, ())
        if sa != sb:
            return (f"{p.writes} is {_shape(sa)} in the {la} network and {_shape(sb)} in the "
                    f"{lb} one, so each starts from its own and gets its own update.")
        return (f"Both networks update {p.writes} by the same rule; it moves differently "
                f"only where its gradient differs, which {thing} changed.")
    if p.phase == "forward":
        if before:
            return f"Before {thing} both networks compute the same {target}."
        sa, sb = shapes_a.get(p.a.writes), shapes_b.get(p.b.writes)
        if sa != sb and sa is not None and sb is not None:
            return (f"Past {thing}, {p.writes} is {_shape(sa)} in the {la} network and "
                    f"{_shape(sb)} in the {lb} one: {thing} changed the size of what follows "
                    f"it.")
        return (f"Past {thing} both networks compute {p.writes} the same way, but from "
                f"values {thing} changed, so it can differ.")
    grads = [r for r in p.step.reads if r.startswith("d")]
    if before:
        got = " and ".join(grads) or "the gradient it reads"
        return (f"Both networks compute {p.writes} by the same rule from the same forward "
                f"values; it differs only where {got} does, which came back through "
                f"{thing}.")
    return (f"{p.writes} is computed the same way in both, but from forward values that "
            f"{thing} already changed, so it can differ.")


def _fields(node: Node, net: Network) -> dict[str, object]:
    """What a kind's CONTRAST templates name, for this node."""
    fields: dict[str, object] = {"in": node.reads, "out": node.writes,
                                 "dout": "d" + node.writes, "din": "d" + node.reads}
    if node.kind.ROLE == "pool":
        size = node.layer["size"]
        fields.update(p=size, cells=size * size, losers=_s(size * size - 1, "cell"))
    if node.layer.type == "leaky_relu":
        fields["slope"] = f"{node.layer['slope']:g}"
    if node.kind.ROLE == "output":
        others = "class" if net.classes == 2 else f"{net.classes - 1} classes"
        fields.update(classes=net.classes, others=others)
    return fields


def _contrast(node: Node, net: Network, key: str) -> str:
    return node.kind.CONTRAST[key].format(**_fields(node, net))


def _at(p: _Pair, oa: Owner, ob: Owner, la: str, lb: str) -> str:
    """A pair of steps at the switched layer itself."""
    na, nb = oa.node, ob.node
    role = na.kind.ROLE
    if role in ("pool", "act", "output") and hasattr(na.kind, "CONTRAST") \
            and hasattr(nb.kind, "CONTRAST") and na.layer.type != nb.layer.type:
        key = p.phase if role != "output" else _output_part(p.a, na, p.net_a)
        if p.phase == "update":
            return f"{_cap(_THING[p.name])} has no parameter to update."
        # the switched-to side first: what changed, then what it was
        return f"{_cap(_contrast(nb, p.net_b, key))}; {_contrast(na, p.net_a, key)}."
    if role == "pool":  # the same kind, another stride: overlap
        return _pool_stride(p, na, nb)
    if role == "conv":
        return _conv_change(p, oa, na, nb, la, lb)
    if role == "dense":
        return _dense_change(p, oa, na, nb, la, lb)
    return (f"{p.writes} is computed differently in the {la} and the {lb} network: "
            f"{_THING[p.name]} changed here.")


def _output_part(step: Step, node: Node, net: Network) -> str:
    if step.writes == "L":
        return "loss"
    if step.phase == "forward":
        return "forward"
    return "backward" if step.writes == "d" + node.writes else "error"


def _most(p: int, s: int) -> int:
    """The most windows (size p, stride s) one cell can sit in."""
    return math.ceil(p / s) ** 2


def _pool_stride(p: _Pair, na: Node, nb: Node) -> str:
    size = na.layer["size"]
    sides = []
    for node in (na, nb):
        s = node.layer["stride"]
        out = node.out_shape[-1]
        kind = "overlap" if s < size else "sit side by side" if s == size else "leave gaps"
        if p.phase == "forward":
            sides.append(f"with stride {s} the {size}×{size} windows {kind} and {node.writes} "
                         f"is {out}×{out}")
        else:
            most = _most(size, s)
            sides.append(f"with stride {s} a cell of {node.reads} sits in up to "
                         f"{_s(most, 'window')} and collects what each sends it" if most > 1
                         else f"with stride {s} a cell of {node.reads} gets d{node.writes} "
                              f"from one window at most")
    return f"{_cap(sides[0])}; {sides[1]}."


def _conv_change(p: _Pair, who: Owner, na: Node, nb: Node, la: str, lb: str) -> str:
    """The first conv with another stride or padding: its positions change."""
    sides = []
    for node in (na, nb):
        s, pad = node.layer["stride"], node.layer["padding"]
        out = node.out_shape[-1]
        how = (f"with stride {s}" if p.name == "stride" else
               f"with padding {pad}" if p.name == "padding" else f"in the {la}")
        where = (f" over {node.reads} and a border of zeros" if pad else
                 f" inside {node.reads}")
        if p.phase == "forward":
            sides.append(f"{how} the filter visits {out * out} positions{where}, one cell of "
                         f"{node.writes} each, so {node.writes} is {out}×{out}")
        elif p.phase == "update":
            grad = "d" + node.params[who.part]
            sides.append(f"{how} {grad} sums over {out * out} positions" if not sides else
                         f"{how} over {out * out}")
        elif who.part == "b":
            sides.append(f"{how} d{node.params['b']} adds up the {out * out} cells of "
                         f"d{node.writes}")
        else:
            sides.append(f"{how} d{node.params['W']} sums {node.reads} × d{node.writes} over "
                         f"the filter's {out * out} positions")
    tail = {"forward": "", "backward": " (the padded zeros add nothing to it)" if
            p.name == "padding" and who.part == "W" else "",
            "update": ""}[p.phase]
    if p.phase == "update":
        return f"Both update {p.writes} by the same rule, but {sides[0]} and {sides[1]}."
    return f"{_cap(sides[0])}; {sides[1]}{tail}."


def _dense_change(p: _Pair, who: Owner, na: Node, nb: Node, la: str, lb: str) -> str:
    """The last dense layer with another number of units (softmax)."""
    ua, ub = na.layer["units"], nb.layer["units"]
    Wa, Wb = na.params["W"], nb.params["W"]
    sa, sb = na.param_shapes[Wa], nb.param_shapes[Wb]
    if p.phase == "forward":
        return (f"The last dense layer has {_s(ua, 'unit')} in the {la} network and {ub} in the "
                f"{lb} one: {na.writes} holds {_s(ua, 'logit')} vs {ub}, and {Wa} is "
                f"{_shape(sa)} vs {_shape(sb)}.")
    if p.phase == "update":
        qa, qb = na.param_shapes[p.a.writes], nb.param_shapes[p.b.writes]
        return (f"{p.writes} is {_shape(qa)} in the {la} network and {_shape(qb)} in the {lb} "
                f"one, so each starts from its own and gets its own update.")
    if who.part == "W":
        return (f"d{Wa} has one row per logit, that logit's error times {na.reads}: "
                f"{_shape(sa)} in the {la} network, {_shape(sb)} in the {lb} one.")
    if who.part == "b":
        return (f"d{na.params['b']} is the error of each logit: {_s(ua, 'number')} in the {la} "
                f"network, {ub} in the {lb} one.")
    return (f"d{na.reads} = d{na.writes} {Wa} adds up the errors of {_s(ua, 'logit')} in "
            f"the {la} network and of {ub} in the {lb} one.")


# ------------------------------------------------------------------ walk switches
def _explain_batch(p: _Pair) -> str:
    if p.a is None or p.b is None:
        mine = p.step
        if mine.writes.startswith("mean_d"):
            grad = mine.writes[5:]
            return (f"Only the batch walk has this step: it averages its examples' {grad} "
                    f"into {mine.writes}; the one-example walk has no such step and updates "
                    f"with {grad} itself.")
        here, there = ("batch", "one-example") if p.a is None else ("one-example", "batch")
        return (f"Only the {here} walk has this step ({mine.writes}); the {there} walk has "
                f"no such step.")
    if p.phase == "update":
        ga, gb = _grad(p.a), _grad(p.b)
        if ga == gb:
            return f"Both walks update {p.writes} with {ga}."
        one, mean = (ga, gb) if gb.startswith("mean_") else (gb, ga)
        return (f"The one-example walk moves {p.writes} by its example's {one}; the batch "
                f"walk by {mean}, the mean over its examples, so no single example pulls it "
                f"alone.")
    return (f"The batch walk's first example is this walk's example, so both compute the "
            f"same {p.writes} for it; the batch walk also computes it for each other "
            f"example.")


def _grad(step: Step) -> str:
    return step.reads[1] if len(step.reads) > 1 else "d" + step.writes


_RULES = {  # each optimizer's update, in words ({P} the parameter, {g} its gradient)
    "sgd": "SGD moves {P} by −η {g}",
    "momentum": "momentum adds {g} into the velocity v_{P} ← β v_{P} + {g} and moves {P} by "
                "−η v_{P} (v starts at 0, so the first update matches SGD's)",
    "adam": "Adam moves {P} by −η m̂ / (√ŝ + ε), the bias-corrected mean of {g} over the root "
            "of its mean square, so on the first update each cell moves about η whatever the "
            "size of {g}",
}


def _optimizer_of(step: Step) -> str:
    """The optimizer an update step belongs to, from the state it reads."""
    state = {r.split("_", 1)[0] for r in step.reads[2:] if "_" in r}
    return "adam" if {"m", "s"} <= state else "momentum" if "v" in state else "sgd"


def _explain_optimizer(p: _Pair) -> str:
    if p.a is None or p.b is None:
        here, there = ("second", "first") if p.a is None else ("first", "second")
        return (f"Only the {here} walk has this step ({p.step.writes}); the {there} walk has "
                f"no such step.")
    if p.phase != "update":
        return (f"The optimizer acts only in the update: both walks compute {p.writes} the "
                f"same way from the same parameters.")
    oa, ob = _optimizer_of(p.a), _optimizer_of(p.b)
    fields_a = {"P": p.a.writes, "g": _grad(p.a)}
    fields_b = {"P": p.b.writes, "g": _grad(p.b)}
    if oa == ob:
        return f"Both walks update {p.writes} the same way: {_RULES[oa].format(**fields_a)}."
    return (f"{_cap(_RULES[ob].format(**fields_b))}; {_RULES[oa].format(**fields_a)}.")
