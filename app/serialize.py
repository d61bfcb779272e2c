"""Engine results to JSON: direct orjson encoding, colour ranges, winners, step records.

Responses are built as plain dicts of NumPy arrays and serialized directly with orjson
(:func:`json_response`): tensors become nested lists of float64 numbers, 0-d arrays plain
numbers, and a non-finite value (only dA2 can be one: +-inf once |Z2| > ~709) becomes null.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import orjson
from starlette.responses import Response

import engine

from .mathml import static_mathml, to_mathml


def _default(value: object) -> object:
    if isinstance(value, np.ndarray | np.generic):  # 0-d, not C-contiguous, unusual dtype
        return value.tolist()
    raise TypeError(f"cannot serialize {type(value).__name__}")


def dumps(content: object) -> bytes:
    """JSON bytes; NumPy arrays as nested lists, NaN and ±inf as null."""
    return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY, default=_default)


def json_response(content: object, status_code: int = 200) -> Response:
    return Response(dumps(content), status_code=status_code, media_type="application/json")


@functools.lru_cache(maxsize=1024)
def config_out(config: engine.Config | engine.Network | None) -> dict[str, object] | None:
    """The four sizes, the parameter count and every tensor's shape; None for a network
    that is not seed-shaped."""
    if isinstance(config, engine.Network):
        config = config.config
    if config is None:
        return None
    return {**config.to_dict(), "n_params": config.n_params,
            "shapes": {name: list(shape) for name, shape in config.shapes().items()}}


@functools.lru_cache(maxsize=1024)
def network_out(net: engine.Network | engine.Config) -> dict[str, object]:
    """The network as a list of layers, with its nodes, parameters and every shape."""
    net = engine.as_network(net)
    return {**net.to_dict(), "text": str(net), "n_params": net.n_params,
            "nodes": [{"position": n.position, "type": n.layer.type,
                       "label": n.kind.label(n.layer), "reads": n.reads, "writes": n.writes,
                       "params": list(n.params.values()), "in_shape": list(n.in_shape),
                       "out_shape": list(n.out_shape)} for n in net.nodes],
            "params": list(net.param_names),
            "shapes": {name: list(shape) for name, shape in net.shapes().items()}}


def described(net: engine.Network | engine.Config) -> dict[str, object]:
    """A response's ``config`` (null for a network that is not seed-shaped) and
    ``network``."""
    return {"config": config_out(net), "network": network_out(net)}


def pick(tensors: Mapping[str, np.ndarray], names: Iterable[str]) -> dict[str, np.ndarray]:
    return {name: tensors[name] for name in names}


def params_out(tensors: engine.Trace) -> dict[str, np.ndarray]:
    return pick(tensors, tensors.network.param_names)


def forward_names(net: engine.Network) -> tuple[str, ...]:
    """X and what every layer writes, the output's activation last (no L)."""
    return ("X", *(n.writes for n in net.nodes))


FORWARD = forward_names(engine.SEED)
def backward_names(net: engine.Network) -> tuple[str, ...]:
    """Every tensor and gradient of a trace, in the order of the math."""
    return engine.model.names(net)


BACKWARD = backward_names(engine.SEED)


def sequential(net: engine.Network) -> frozenset[str]:
    """The tensors that are >= 0 (X nearly always): a sequential colour scale. Everything
    else is signed: a diverging scale centred on zero."""
    names = {"X"}
    nonneg = {"relu", "sigmoid", "maxpool", "avgpool"}  # a pool keeps its input's sign
    for n in net.nodes[:-1]:
        kind = n.layer.type
        if kind in ("relu", "sigmoid") or (kind in nonneg and n.reads in names) or (
                kind == "flatten" and n.reads in names):
            names.add(n.writes)
    return frozenset(names)


SEQUENTIAL = sequential(engine.SEED)
RANGE_FLOOR = 1e-12  # half-width of an all-zero tensor's diverging range


def _extents(values: list[object]) -> list[tuple[float, float] | None]:
    """(smallest, largest) finite value of each array, None for one with no finite value;
    all of them in one pass over their concatenation (they are small and many)."""
    arrays = [np.asarray(v, dtype=np.float64).ravel() for v in values]
    flat = np.concatenate(arrays) if arrays else np.zeros(0)
    if not np.isfinite(flat).all():
        flat = np.where(np.isfinite(flat), flat, np.nan)  # fmin and fmax skip NaN
    starts = np.cumsum([0] + [a.size for a in arrays[:-1]])
    lows = np.fmin.reduceat(flat, starts).tolist() if flat.size else []
    highs = np.fmax.reduceat(flat, starts).tolist() if flat.size else []
    return [None if a.size == 0 or math.isnan(lo) else (lo, hi)
            for a, lo, hi in zip(arrays, lows, highs)]


def _range(name: str, extent: tuple[float, float] | None,
           seq: frozenset[str] = SEQUENTIAL) -> dict[str, object]:
    if name in seq:
        lo, hi = (min(0.0, extent[0]), extent[1]) if extent else (0.0, 1.0)
        hi = max(hi, 1.0) if name == "X" else (hi if hi > lo else lo + 1.0)
        return {"min": lo, "max": hi, "scale": "sequential"}
    bound = max(max(-extent[0], extent[1]) if extent else 0.0, RANGE_FLOOR)
    return {"min": -bound, "max": bound, "scale": "diverging"}


def ranges(tensors: Mapping[str, object],
           net: engine.Network | None = None) -> dict[str, dict[str, object]]:
    """``{name: {min, max, scale}}`` for colouring each tensor of ``net`` (the seed's).

    Sequential (X and what is >= 0: the seed's A1, P1, F; :func:`sequential`): from
    min(0, smallest) to the largest value, or to 1 when everything is 0; X always spans at
    least [0, 1], the range of a pixel. Diverging (everything else): symmetric, ±max|v|
    over the finite values, at least ±1e-12.
    """
    names = list(tensors)
    seq = SEQUENTIAL if net is None else sequential(net)
    return {name: _range(name, extent, seq)
            for name, extent in zip(names, _extents([tensors[n] for n in names]))}


def card_range(name: str, value: float, net: engine.Network | None = None
               ) -> dict[str, object]:
    """A single number's colour yardstick (a page draws it as a card): a probability or a
    label against [0, 1], the loss against [0, max(1, L)], anything else against
    ±max(1, |v|) -- so a card's colour says how large it is, not that it is itself."""
    if name in ("A2" if net is None else net.last, "Y"):
        return {"min": 0.0, "max": 1.0, "scale": "sequential"}
    if name == "L":
        return {"min": 0.0, "max": max(1.0, value) if math.isfinite(value) else 1.0,
                "scale": "sequential"}
    top = max(1.0, abs(value)) if math.isfinite(value) else 1.0
    return {"min": -top, "max": top, "scale": "diverging"}


def view_ranges(tensors: Mapping[str, object],
                net: engine.Network | None = None) -> dict[str, dict[str, object]]:
    """:func:`ranges`, with the yardstick of :func:`card_range` for single numbers."""
    out = ranges(tensors, net)
    for name, value in tensors.items():
        if np.size(value) == 1:
            out[name] = card_range(name, float(np.ravel(np.asarray(value, dtype=float))[0]),
                                   net)
    return out


def winners(trace: engine.Trace) -> list[list[int]] | None:
    """For every P1 cell in (f, i, j) order, the A1 cell [f, r, c] that won its window;
    None where P1 is not a max-pool's."""
    node = next((n for n in trace.network.nodes if n.writes == "P1"), None)
    if node is None or node.layer.type != "maxpool":
        return None
    return engine.winners(trace).reshape(-1, 3).tolist()


def marks(trace: engine.Trace, known: Iterable[str]) -> dict[str, dict[str, Any]]:
    """What each layer kind draws over the tensors in ``known``, from what is known only:
    a kind's marks are sent once the tensor they are drawn from (the layer's input, or for
    an activation's mask its Z) is known."""
    shown = set(known)
    out: dict[str, dict[str, Any]] = {}
    for node in trace.network.nodes[:-1]:
        if node.reads not in shown or (node.writes not in shown and node.kind.ROLE == "pool"):
            continue
        for name, drawn in node.kind.marks(trace, node).items():
            if name in shown:
                out.setdefault(name, {}).update(drawn)
    return out


def step_record(record: Mapping[str, Any]) -> dict[str, Any]:
    """An engine step record with its formulas (and those of what it computes beside what
    it writes) as MathML."""
    def formulas(r: Mapping[str, Any]) -> dict[str, Any]:
        numbers = r["latex_numbers"]
        return {"mathml": static_mathml(r["latex"]),
                "mathml_numbers": None if numbers is None else to_mathml(numbers)}
    return {**record, **formulas(record),
            "also": [{**a, **formulas(a)} for a in record.get("also", [])]}


def steps_out(trace: engine.Trace, lr: float | None) -> list[dict[str, Any]]:
    return [step_record(r) for r in engine.step_records(trace, lr)]


def step_out(trace: engine.Trace, index: int, lr: float | None) -> dict[str, Any]:
    """One step of :func:`steps_out`, alone."""
    return step_record(engine.steps.step_record(trace, index, lr))


@functools.lru_cache(maxsize=256)
def step_outlines(net: engine.Network = engine.SEED, batch: int = 1,
                  optimizer: Any = None) -> list[dict[str, Any]]:
    """The steps without numbers: what the page draws its pipeline from."""
    return [{"index": i, "phase": s.phase, "writes": s.writes, "reads": list(s.reads),
             "latex": s.latex, "mathml": static_mathml(s.latex), "text": s.text,
             "reveals": list(s.reveals),
             "also": [{"writes": f.writes, "latex": f.latex, "mathml": static_mathml(f.latex),
                       "latex_numbers": None, "mathml_numbers": None} for f in s.also]}
            for i, s in enumerate(engine.steps_for(net, batch, optimizer))]


def tensors_meta(net: engine.Network = engine.SEED) -> list[dict[str, str]]:
    """Every tensor's name, title and colour scale, in the order of the math."""
    seq = sequential(net)
    return [{"name": name, "title": title,
             "scale": "sequential" if name in seq else "diverging"}
            for name, title in engine.titles(net).items()]


def provenance_out(trace: engine.Trace, name: str, index: tuple[int, ...]) -> dict[str, Any]:
    """engine.provenance as JSON: the source cells by tensor apart from the details."""
    found = engine.provenance(trace, name, index)
    value = found["value"]
    return {"tensor": name, "index": list(index),
            "value": value if math.isfinite(value) else None,
            "sources": {k: v for k, v in found.items() if k not in engine.PROVENANCE_DETAILS},
            **{k: found.get(k) for k in ("window", "terms", "factors", "bias")},
            "note": found["note"]}


