"""Requests to engine inputs: nested lists checked against the config's shapes.

Each check raises :class:`app.errors.InputError` naming the field, which the app turns
into a 422.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
from pydantic import BaseModel

import engine

from .errors import InputError, ManyInputsError
from .schemas import MAX_ABS, ForwardRequest


def tensor(loc: tuple[str | int, ...], name: str, value: object,
           shape: tuple[int, ...]) -> np.ndarray:
    """``value`` as a float64 array of ``shape``, or an InputError at ``loc``."""
    try:
        array = np.array(value, dtype=np.float64)
    except (ValueError, TypeError):
        raise InputError(loc, f"{name} must be a rectangular array of numbers of shape "
                              f"{shape}") from None
    if array.shape != shape:
        raise InputError(loc, f"{name} must have shape {shape} for this config, "
                              f"got {array.shape}")
    return array


_PART = re.compile(r"([A-Za-z_]+)|\[(\d+)\]")


def problem_loc(field: str) -> tuple[str | int, ...]:
    """A network problem's field as a request location: ``layers[2].kernel`` ->
    ("layers", 2, "kernel")."""
    return tuple(int(index) if index else name for name, index in _PART.findall(field))


def network_of(spec: Mapping[str, object] | None,
               loc: tuple[str | int, ...] = ("body", "network")) -> engine.Network | None:
    """The checked network of a request's ``network`` field (None when it has none), or
    ManyInputsError listing every problem, each at its field's location."""
    if spec is None:
        return None
    try:
        return engine.network(spec)
    except engine.NetworkError as exc:
        raise ManyInputsError([InputError((*loc, *problem_loc(p.field)), p.message)
                           for p in exc.problems]) from None


Net = engine.Network | engine.Config


def image(x: object, net: Net, loc: tuple[str | int, ...] = ("body", "x")) -> np.ndarray:
    n = engine.as_network(net).input_size
    return tensor(loc, "x", x, (n, n))


def images(x: object, net: Net, loc: tuple[str | int, ...] = ("body", "x")) -> np.ndarray:
    """One image (n, n), or a batch of them (N, n, n): each checked at its own index."""
    if isinstance(x, list) and x and isinstance(x[0], list) and x[0] and isinstance(
            x[0][0], list):
        most = engine.walk.batch_limit(net)
        if len(x) > most:
            cells = engine.walk.trace_cells(net)
            raise InputError(loc, (
                f"a batch on this network holds at most {most} examples (each example's "
                f"trace holds {cells:,} cells, a walk at most {engine.walk.BATCH_CELLS:,}), "
                f"got {len(x)}"))
        return np.stack([image(one, net, (*loc, i)) for i, one in enumerate(x)])
    return image(x, net, loc)


def labels(y: object, net: Net, x: np.ndarray,
           loc: tuple[str | int, ...] = ("body", "y")) -> object:
    """The labels of ``x``: one for an image (missing: 1), one per image of a batch (a
    batch needs them all, as many as its images)."""
    if np.ndim(x) == 2:
        if isinstance(y, list):
            raise InputError(loc, "one image takes one label, not a list")
        return 1.0 if y is None else label(y, net, loc)
    if y is None:
        return tuple(1.0 for _ in range(len(x)))
    if not isinstance(y, list):
        raise InputError(loc, f"a batch of {len(x)} images takes a list of {len(x)} labels")
    if len(y) != len(x):
        raise InputError(loc, f"{len(x)} images but {len(y)} labels")
    return tuple(label(v, net, (*loc, i)) for i, v in enumerate(y))


def optimizer_of(spec: object, loc: tuple[str | int, ...] = ("body", "optimizer")) -> object:
    """The engine's optimizer for a request's (None: sgd); its own checks name the field."""
    if spec is None:
        return None
    raw = spec.model_dump() if isinstance(spec, BaseModel) else spec
    try:
        return engine.optimizers.optimizer(raw)
    except engine.optimizers.OptimizerError as exc:
        problem = exc.problems[0]
        raise InputError((*loc, problem.field), problem.message) from None


def state_of(given: Mapping[str, object] | None, optimizer: object, net: Net,
             loc: tuple[str | int, ...] = ("body", "state")) -> dict[str, np.ndarray]:
    """An optimizer's state for ``net``'s parameters: zeros, with each given entry checked
    against its parameter's shape; a name the optimizer does not keep is an error there."""
    net = engine.as_network(net)
    shapes = net.shapes()
    names = {s: p for p in net.param_names for s in optimizer.state_names(p)}
    state = {name: np.zeros(shapes[p]) for name, p in names.items()}
    for name, value in (given or {}).items():
        if name not in names:
            raise InputError((*loc, name), f"{optimizer.type} keeps no {name} for this network "
                                           f"(it keeps {', '.join(names)})")
        state[name] = tensor((*loc, name), name, value, shapes[names[name]])
        problem = optimizer.state_problem(name, state[name])
        if problem is None and np.abs(state[name]).max() > MAX_ABS:
            problem = f"{name}'s cells must lie within ±{MAX_ABS:g}"
        if problem:
            raise InputError((*loc, name), problem)
    return state


def label(y: object, net: Net, loc: tuple[str | int, ...] = ("body", "y")) -> float:
    """Y checked against the network's output: 0 or 1, or a class 0 ... C-1."""
    net = engine.as_network(net)
    try:
        return engine.check_y(y, net)
    except ValueError as exc:
        raise InputError(loc, str(exc)) from None


def params_of(given: Mapping[str, object], net: Net,
              loc: tuple[str | int, ...] = ("body", "params")) -> dict[str, np.ndarray]:
    """The parameters given, each checked against the network's shape; one the network has
    no parameter of that name for is an error at its own field."""
    net = engine.as_network(net)
    shapes = net.shapes()
    out = {}
    for name, value in given.items():
        if value is None:
            continue
        if name not in net.param_names:
            raise InputError((*loc, name), f"this network has no parameter {name} (its "
                                           f"parameters: {', '.join(net.param_names)})")
        out[name] = tensor((*loc, name), name, value, shapes[name])
    return out


def params_or_init(params: BaseModel | None, net: Net, seed: int,
                   loc: tuple[str | int, ...] = ("body", "params")) -> dict[str, np.ndarray]:
    """The parameters given (every one the network has), or init_params(net, seed)."""
    if params is None:
        return engine.init_params(net, seed)
    net = engine.as_network(net)
    given = params_of(params.model_dump(exclude_none=True), net, loc)
    missing = [name for name in net.param_names if name not in given]
    if missing:
        raise ManyInputsError([InputError((*loc, name), (
            f"missing: this network's parameters are {', '.join(net.param_names)}"), "missing")
            for name in missing])
    return given


def network_or_config(body: BaseModel, loc: tuple[str | int, ...] = ("body",)
                      ) -> engine.Network:
    """The request's network: ``network`` if given, else ``config``'s seed-shaped one; both
    given is an error (they could disagree)."""
    spec = getattr(body, "network", None)
    if spec is None:
        return engine.as_network(body.config.to_engine())
    if "config" in body.model_fields_set:
        raise InputError((*loc, "network"), "give config or network, not both")
    net = network_of(spec.spec(), (*loc, "network"))
    assert net is not None
    return net


@dataclass(frozen=True)
class Example:
    net: engine.Network
    x: np.ndarray
    y: float | None
    params: dict[str, np.ndarray]

    @property
    def config(self) -> engine.Config | None:
        return self.net.config


def example_inputs(body: ForwardRequest) -> Example:
    net = network_or_config(body)
    return Example(net, image(body.x, net), None if body.y is None else label(body.y, net),
                   params_or_init(body.params, net, body.seed))


