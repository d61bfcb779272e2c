"""A network as data: an input size, a list of layers and an output, checked and named.

::

    {"input": {"size": 6},
     "layers": [{"type": "conv", "filters": 1, "kernel": 3, "stride": 1, "padding": 0},
                {"type": "relu"},
                {"type": "maxpool", "size": 2, "stride": 2},
                {"type": "flatten"},
                {"type": "dense", "units": 1}],
     "output": "sigmoid_bce"}

is the seed's network. :func:`network` builds a :class:`Network` from such a dict and refuses
one that does not fit with one :class:`Problem` per fault, each naming the field.

**Shape of a network.** Conv blocks, then one flatten, then dense blocks: a conv block is a
conv, optionally its activation, optionally a pool; a dense block is a dense layer,
optionally its activation; the last dense layer has none (the output applies σ or softmax).

**Names** generalise the seed's. Weighted layers (conv and dense) are numbered 1, 2, ... in
order; the i-th writes Z_i with parameters W_i and b_i; an activation after it writes A_i; a
pool after it P_i; the flatten F; the output writes A_last = σ(Z_last) or softmax(Z_last)
and the loss L. Every gradient is ``d`` + the name, and dX is the input's. A first conv on
the single-channel X has W1 of shape (K, k, k); a conv on C channels (K, C, k, k). The last
dense layer of a ``sigmoid_bce`` network writes a scalar Z (its W is (1, D), its b (1,)).

Every layer kind has one home in :mod:`engine.kinds`: its sizes, forward and backward, its
formulas, provenance, marks and misconceptions.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from dataclasses import dataclass, field

from . import kinds
from .config import Config

# Bounds of a network, served by GET /api/meta and enforced by network().
NETWORK_LIMITS: dict[str, int] = {
    "layers": 8,  # layers in the list (flatten and activations count)
    "input_min": 4,
    "input_max": 28,
    "params": 50_000,  # trainable parameters, all layers together
    "tensor": 16_384,  # cells of the largest tensor of one example
}
OUTPUTS = ("sigmoid_bce", "softmax_ce")


@dataclass(frozen=True)
class Problem:
    """One reason a network is refused: the field (``layers[2].kernel``) and why."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


class NetworkError(ValueError):
    """A network that does not fit; ``problems`` lists every fault found in one pass."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("; ".join(map(str, self.problems)))


@dataclass(frozen=True)
class Layer:
    """One layer: its kind and its options (every option the kind has, defaults filled)."""

    type: str
    options: tuple[tuple[str, object], ...] = ()

    def __getitem__(self, key: str) -> object:
        return dict(self.options)[key]

    def get(self, key: str, default: object = None) -> object:
        return dict(self.options).get(key, default)

    def to_dict(self) -> dict[str, object]:
        return {"type": self.type, **dict(self.options)}


@dataclass(frozen=True)
class Node:
    """A layer placed in a network: what it reads and writes, its shapes and parameters.

    number : the weighted layer's number i (conv, dense), else that of the layer it follows.
    reads, writes : tensor names (``X``, ``Z1``, ``P1`` ...); the output node writes A_last.
    params : {"W": "W1", "b": "b1"} for a weighted layer, else empty.
    """

    position: int  # index in the network's layer list; the output is len(layers)
    layer: Layer
    number: int
    reads: str
    writes: str
    in_shape: tuple[int, ...]  # of one example, as the trace holds it
    out_shape: tuple[int, ...]
    params: Mapping[str, str] = field(default_factory=dict)
    param_shapes: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    first: bool = False  # the layer that reads X

    @property
    def kind(self):
        return kinds.KINDS[self.layer.type]


@dataclass(frozen=True)
class Network:
    """A checked network. Build one with :func:`network`, :meth:`from_config` or
    :data:`SEED`; it is hashable, so caches may key on it."""

    input_size: int
    layers: tuple[Layer, ...]
    output: str = "sigmoid_bce"

    def __hash__(self) -> int:
        """Hashed once (the caches keyed on a network look it up on every step)."""
        found = self.__dict__.get("_hash")
        if found is None:
            found = hash((self.input_size, self.layers, self.output))
            object.__setattr__(self, "_hash", found)
        return found

    # ------------------------------------------------------------------ structure
    @property
    def nodes(self) -> tuple[Node, ...]:
        """Every layer in order, then the output node (which writes A_last and L)."""
        return _nodes(self)

    @property
    def weighted(self) -> tuple[Node, ...]:
        return tuple(n for n in self.nodes if n.params)

    @property
    def param_names(self) -> tuple[str, ...]:
        """W1 b1 W2 b2 ... in layer order."""
        return tuple(name for n in self.weighted for name in n.params.values())

    @property
    def classes(self) -> int:
        """2 for sigmoid_bce, else the last dense layer's units."""
        return 2 if self.output == "sigmoid_bce" else int(self.weighted[-1].layer["units"])

    @property
    def last(self) -> str:
        """The output activation's name: A2 in the seed."""
        return self.nodes[-1].writes

    def shapes(self) -> dict[str, tuple[int, ...]]:
        """The shape of every named tensor and gradient of one example."""
        return dict(_shapes(self))

    @property
    def n_params(self) -> int:
        return sum(math.prod(s) for n in self.weighted for s in n.param_shapes.values())

    @property
    def config(self) -> Config | None:
        """The seed-shaped :class:`Config` this network is, or None."""
        return _as_config(self)

    def to_dict(self) -> dict[str, object]:
        return {"input": {"size": self.input_size},
                "layers": [layer.to_dict() for layer in self.layers], "output": self.output}

    @classmethod
    def from_config(cls, config: Config) -> Network:
        """The seed-shaped network a :class:`Config` describes."""
        return _from_config(config)

    def __str__(self) -> str:
        parts = [kinds.KINDS[layer.type].label(layer) for layer in self.layers]
        return f"{self.input_size}×{self.input_size} → " + " → ".join(parts) + f" → {self.output}"


def as_network(net: Network | Config | Mapping | None) -> Network:
    """A Network from a Network, a Config (the seed-shaped shorthand), a spec dict or None
    (the seed's)."""
    if net is None:
        return SEED
    if isinstance(net, Network):
        return net
    if isinstance(net, Config):
        return _from_config(net)
    return network(net)


# ------------------------------------------------------------------------ building
def network(spec: Mapping[str, object]) -> Network:
    """Build and check a network from its JSON form (a dict). NetworkError lists every
    problem found, each naming its field."""
    problems: list[Problem] = []
    if not isinstance(spec, Mapping):
        raise NetworkError([Problem("network", "must be an object with input, layers, output")])
    unknown = sorted(set(spec) - {"input", "layers", "output"})
    for key in unknown:
        problems.append(Problem(f"network.{key}", "is not a field (input, layers, output)"))
    size = _input_size(spec.get("input"), problems)
    output = spec.get("output", "sigmoid_bce")
    if output not in OUTPUTS:
        problems.append(Problem("output", f"must be one of {', '.join(OUTPUTS)}, got {output!r}"))
    raw = spec.get("layers")
    layers: list[Layer] = []
    if not isinstance(raw, list) or not raw:
        problems.append(Problem("layers", "must be a non-empty list of layers"))
    elif len(raw) > NETWORK_LIMITS["layers"]:
        problems.append(Problem("layers", f"at most {NETWORK_LIMITS['layers']} layers, "
                                          f"got {len(raw)}"))
    else:
        for i, item in enumerate(raw):
            layer = _layer(item, f"layers[{i}]", problems)
            if layer is not None:
                layers.append(layer)
        if len(layers) == len(raw):
            _order(layers, output if output in OUTPUTS else "sigmoid_bce", problems)
    if problems:
        raise NetworkError(problems)
    net = Network(size, tuple(layers), output)
    _sizes(net, problems)
    if problems:
        raise NetworkError(problems)
    return net


def _input_size(value: object, problems: list[Problem]) -> int:
    lo, hi = NETWORK_LIMITS["input_min"], NETWORK_LIMITS["input_max"]
    size = value.get("size") if isinstance(value, Mapping) else None
    if value is None:
        return 6
    if not isinstance(value, Mapping) or set(value) - {"size"}:
        problems.append(Problem("input", 'must be {"size": n}'))
        return 6
    if isinstance(size, bool) or not isinstance(size, int) or not lo <= size <= hi:
        problems.append(Problem("input.size", f"must be an integer from {lo} to {hi}, "
                                              f"got {size!r}"))
        return 6
    return size


def _layer(item: object, where: str, problems: list[Problem]) -> Layer | None:
    if not isinstance(item, Mapping):
        problems.append(Problem(where, "must be an object with a type"))
        return None
    kind_name = item.get("type")
    if kind_name not in kinds.LAYER_KINDS:
        problems.append(Problem(f"{where}.type", f"must be one of {', '.join(kinds.LAYER_KINDS)}, "
                                                 f"got {kind_name!r}"))
        return None
    kind = kinds.KINDS[kind_name]
    options: dict[str, object] = {}
    for key in sorted(set(item) - {"type"} - set(kind.OPTIONS)):
        known = ", ".join(kind.OPTIONS) or "none"
        problems.append(Problem(f"{where}.{key}", f"is not an option of {kind_name} "
                                                   f"(options: {known})"))
    for key, (default, lo, hi, number) in kind.OPTIONS.items():
        value = item.get(key, default)
        derived = callable(value)
        if derived:  # a default that depends on other options (pool stride)
            value = value(item)
        if number is float:
            ok = (isinstance(value, int | float) and not isinstance(value, bool)
                  and math.isfinite(value) and lo <= value <= hi)
            value = float(value) if ok else value
        else:
            ok = isinstance(value, int) and not isinstance(value, bool) and lo <= value <= hi
        if not ok and not derived:  # a bad derived default: its source is reported
            what = "an integer" if number is int else "a number"
            problems.append(Problem(f"{where}.{key}", f"must be {what} from {lo} to {hi}, "
                                                       f"got {value!r}"))
        options[key] = value
    return Layer(kind_name, tuple(options.items()))


def _order(layers: list[Layer], output: str, problems: list[Problem]) -> None:
    """The grammar: conv blocks, one flatten, dense blocks; the last layer a dense."""
    flat = [i for i, layer in enumerate(layers) if layer.type == "flatten"]
    if len(flat) > 1:
        problems.append(Problem(f"layers[{flat[1]}]", "a second flatten: the network has "
                                                      "one, between its conv and dense layers"))
    previous = "start"  # the role of the layer before: conv, act, pool, flatten, dense
    for i, layer in enumerate(layers):
        role = kinds.KINDS[layer.type].ROLE
        where = f"layers[{i}]"
        if role == "dense" and not flat:
            problems.append(Problem(where, "dense needs a flatten before it"))
        elif role == "dense" and i < flat[0]:
            problems.append(Problem(where, "dense needs a flatten before it (this one comes "
                                           "before the flatten)"))
        if role == "conv" and flat and i > flat[0]:
            problems.append(Problem(where, "conv after the flatten: a conv needs an image"))
        if role == "act" and previous not in ("conv", "dense"):
            problems.append(Problem(where, f"{layer.type} must follow a conv or dense layer "
                                           f"(it follows {_what(previous)})"))
        after_conv = previous == "conv" or (
            previous == "act" and i >= 2 and kinds.KINDS[layers[i - 2].type].ROLE == "conv")
        if role == "pool" and (not after_conv or (flat and i > flat[0])):
            what = ("a dense layer's activation" if previous == "act" and i >= 2
                    and kinds.KINDS[layers[i - 2].type].ROLE == "dense" else _what(previous))
            problems.append(Problem(where, f"{layer.type} must follow a conv layer or its "
                                           f"activation (it follows {what})"))
        previous = role
    if layers and kinds.KINDS[layers[-1].type].ROLE != "dense":
        problems.append(Problem(f"layers[{len(layers) - 1}]",
                                f"the last layer must be dense (the {output} output reads its "
                                f"Z), got {layers[-1].type}"))
    elif layers:
        units = layers[-1]["units"]
        _, lo, hi, _ = kinds.KINDS["dense"].OPTIONS["units"]
        if not (isinstance(units, int) and lo <= units <= hi):
            return  # already refused as an option
        if output == "sigmoid_bce" and units != 1:
            problems.append(Problem(f"layers[{len(layers) - 1}].units",
                                    f"sigmoid_bce needs a last dense layer of 1 unit, got {units}"))
        if output == "softmax_ce" and not 2 <= units <= 10:
            problems.append(Problem(f"layers[{len(layers) - 1}].units",
                                    f"softmax_ce needs 2 to 10 units (one per class), got {units}"))


def _what(role: str) -> str:
    return {"start": "the input", "conv": "a conv", "act": "an activation", "pool": "a pool",
            "flatten": "the flatten", "dense": "a dense layer"}[role]


def _sizes(net: Network, problems: list[Problem]) -> None:
    """Shapes layer by layer, a problem where a kind's sizes do not fit its input, and the
    caps on parameters and on the largest tensor."""
    try:
        nodes = _build_nodes(net)
    except kinds.SizeError as exc:
        problems.append(Problem(f"layers[{exc.position}]", str(exc)))
        return
    params = sum(math.prod(s) for n in nodes for s in n.param_shapes.values())
    if params > NETWORK_LIMITS["params"]:
        problems.append(Problem("layers", f"{params} parameters: at most "
                                          f"{NETWORK_LIMITS['params']}"))
    for n in nodes:
        sizes = {n.writes: math.prod(n.out_shape)}
        sizes.update({name: math.prod(s) for name, s in n.param_shapes.items()})
        name = max(sizes, key=sizes.__getitem__)  # the largest tensor the layer holds
        if sizes[name] > NETWORK_LIMITS["tensor"]:
            problems.append(Problem(f"layers[{n.position}]", f"{name} would hold {sizes[name]} "
                                    f"cells: at most {NETWORK_LIMITS['tensor']}"))


# -------------------------------------------------------------------------- naming
def _build_nodes(net: Network) -> tuple[Node, ...]:
    nodes: list[Node] = []
    name, shape, number = "X", (net.input_size, net.input_size), 0
    last_dense = max(i for i, layer in enumerate(net.layers) if layer.type == "dense")
    for position, layer in enumerate(net.layers):
        kind = kinds.KINDS[layer.type]
        first = name == "X"
        if kind.ROLE in ("conv", "dense"):
            number += 1
        scalar = position == last_dense and net.output == "sigmoid_bce"
        try:
            out_shape, param_shapes = kind.shapes(layer, shape, first=first, scalar=scalar)
        except ValueError as exc:
            raise kinds.SizeError(position, str(exc)) from None
        writes = {"conv": f"Z{number}", "dense": f"Z{number}", "act": f"A{number}",
                  "pool": f"P{number}", "flatten": "F"}[kind.ROLE]
        params = {role: f"{role}{number}" for role in param_shapes}
        nodes.append(Node(position, layer, number, name, writes, shape, out_shape,
                          params, {params[r]: s for r, s in param_shapes.items()}, first))
        name, shape = writes, out_shape
    out = Layer(net.output)
    nodes.append(Node(len(net.layers), out, number, name, f"A{number}", shape, shape))
    return tuple(nodes)


@functools.lru_cache(maxsize=512)
def _nodes(net: Network) -> tuple[Node, ...]:
    return _build_nodes(net)


@functools.lru_cache(maxsize=512)
def _shapes(net: Network) -> dict[str, tuple[int, ...]]:
    values: dict[str, tuple[int, ...]] = {"X": (net.input_size, net.input_size)}
    for n in net.nodes:
        values.update(n.param_shapes)
        values[n.writes] = n.out_shape
    values["L"] = ()
    grads = {"d" + name: shape for name, shape in values.items() if name != "L"}
    return {**values, "Y": (), **grads}


def _from_config(config: Config) -> Network:
    return _cached_from_config(config.input_size, config.kernel_size, config.filters,
                               config.pool_size)


@functools.lru_cache(maxsize=256)
def _cached_from_config(n: int, k: int, K: int, p: int) -> Network:
    return network({"input": {"size": n}, "layers": [
        {"type": "conv", "filters": K, "kernel": k, "stride": 1, "padding": 0},
        {"type": "relu"}, {"type": "maxpool", "size": p, "stride": p},
        {"type": "flatten"}, {"type": "dense", "units": 1}], "output": "sigmoid_bce"})


@functools.lru_cache(maxsize=512)
def _as_config(net: Network) -> Config | None:
    types = [layer.type for layer in net.layers]
    if types != ["conv", "relu", "maxpool", "flatten", "dense"] or net.output != "sigmoid_bce":
        return None
    conv, pool = net.layers[0], net.layers[2]
    if conv["stride"] != 1 or conv["padding"] != 0 or pool["stride"] != pool["size"]:
        return None
    try:
        return Config(input_size=net.input_size, kernel_size=conv["kernel"],
                      filters=conv["filters"], pool_size=pool["size"])
    except ValueError:
        return None


SEED = _from_config(Config())
