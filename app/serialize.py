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
def config_out(config: engine.Config) -> dict[str, object]:
    """The four sizes, the parameter count and every tensor's shape."""
    return {**config.to_dict(), "n_params": config.n_params,
            "shapes": {name: list(shape) for name, shape in config.shapes().items()}}


def pick(tensors: Mapping[str, np.ndarray], names: Iterable[str]) -> dict[str, np.ndarray]:
    return {name: tensors[name] for name in names}


def params_out(tensors: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
    return pick(tensors, engine.PARAM_NAMES)


FORWARD = ("X", "Z1", "A1", "P1", "F", "Z2", "A2")
BACKWARD = ("X", "Y", "W1", "b1", "Z1", "A1", "P1", "F", "W2", "b2", "Z2", "A2", "L",
            "dA2", "dZ2", "dW2", "db2", "dF", "dP1", "dA1", "dZ1", "dW1", "db1", "dX")

# Inputs and activations are >= 0 (X nearly always): a sequential colour scale. Everything
# else is signed: a diverging scale centred on zero.
SEQUENTIAL = frozenset({"X", "A1", "P1", "F"})
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


def _range(name: str, extent: tuple[float, float] | None) -> dict[str, object]:
    if name in SEQUENTIAL:
        lo, hi = (min(0.0, extent[0]), extent[1]) if extent else (0.0, 1.0)
        hi = max(hi, 1.0) if name == "X" else (hi if hi > lo else lo + 1.0)
        return {"min": lo, "max": hi, "scale": "sequential"}
    bound = max(max(-extent[0], extent[1]) if extent else 0.0, RANGE_FLOOR)
    return {"min": -bound, "max": bound, "scale": "diverging"}


def ranges(tensors: Mapping[str, object]) -> dict[str, dict[str, object]]:
    """``{name: {min, max, scale}}`` for colouring each tensor.

    Sequential (X, A1, P1, F): from min(0, smallest) to the largest value, or to 1 when
    everything is 0; X always spans at least [0, 1], the range of a pixel. Diverging
    (everything else): symmetric, ±max|v| over the finite values, at least ±1e-12.
    """
    names = list(tensors)
    return {name: _range(name, extent)
            for name, extent in zip(names, _extents([tensors[n] for n in names]))}


def card_range(name: str, value: float) -> dict[str, object]:
    """A single number's colour yardstick (a page draws it as a card): a probability or a
    label against [0, 1], the loss against [0, max(1, L)], anything else against
    ±max(1, |v|) -- so a card's colour says how large it is, not that it is itself."""
    if name in ("A2", "Y"):
        return {"min": 0.0, "max": 1.0, "scale": "sequential"}
    if name == "L":
        return {"min": 0.0, "max": max(1.0, value) if math.isfinite(value) else 1.0,
                "scale": "sequential"}
    top = max(1.0, abs(value)) if math.isfinite(value) else 1.0
    return {"min": -top, "max": top, "scale": "diverging"}


def view_ranges(tensors: Mapping[str, object]) -> dict[str, dict[str, object]]:
    """:func:`ranges`, with the yardstick of :func:`card_range` for single numbers."""
    out = ranges(tensors)
    for name, value in tensors.items():
        if np.size(value) == 1:
            out[name] = card_range(name, float(np.ravel(np.asarray(value, dtype=float))[0]))
    return out


def winners(trace: engine.Trace) -> list[list[int]]:
    """For every P1 cell in (f, i, j) order, the A1 cell [f, r, c] that won its window."""
    return engine.winners(trace).reshape(-1, 3).tolist()


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


@functools.cache
def step_outlines() -> list[dict[str, Any]]:
    """The steps without numbers: what the page draws its pipeline from."""
    return [{"index": i, "phase": s.phase, "writes": s.writes, "reads": list(s.reads),
             "latex": s.latex, "mathml": static_mathml(s.latex), "text": s.text,
             "reveals": list(s.reveals),
             "also": [{"writes": f.writes, "latex": f.latex, "mathml": static_mathml(f.latex),
                       "latex_numbers": None, "mathml_numbers": None} for f in s.also]}
            for i, s in enumerate(engine.STEPS)]


def tensors_meta() -> list[dict[str, str]]:
    """Every tensor's name, title and colour scale, in the order of the math."""
    return [{"name": name, "title": title,
             "scale": "sequential" if name in SEQUENTIAL else "diverging"}
            for name, title in engine.TITLES.items()]


def provenance_out(trace: engine.Trace, name: str, index: tuple[int, ...]) -> dict[str, Any]:
    """engine.provenance as JSON: the source cells by tensor apart from the details."""
    found = engine.provenance(trace, name, index)
    value = found["value"]
    return {"tensor": name, "index": list(index),
            "value": value if math.isfinite(value) else None,
            "sources": {k: v for k, v in found.items() if k not in engine.PROVENANCE_DETAILS},
            **{k: found.get(k) for k in ("window", "terms", "factors", "bias")},
            "note": found["note"]}


