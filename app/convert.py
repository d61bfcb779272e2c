"""Requests to engine inputs: nested lists checked against the config's shapes.

Each check raises :class:`app.errors.InputError` naming the field, which the app turns
into a 422.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

import engine

from .errors import InputError
from .schemas import ForwardRequest, ParamsIn


def tensor(loc: tuple[str | int, ...], name: str, value: object,
           shape: tuple[int, ...]) -> np.ndarray:
    """``value`` as a float64 array of ``shape``, or an InputError at ``loc``."""
    try:
        array = np.array(value, dtype=np.float64)
    except ValueError:
        raise InputError(loc, f"{name} must be a rectangular array of shape {shape}, got "
                              "lists of different lengths") from None
    if array.shape != shape:
        raise InputError(loc, f"{name} must have shape {shape} for this config, "
                              f"got {array.shape}")
    return array


def image(x: object, config: engine.Config, loc: tuple[str | int, ...] = ("body", "x")
          ) -> np.ndarray:
    return tensor(loc, "x", x, (config.input_size,) * 2)


def params_of(given: Mapping[str, object], config: engine.Config,
              loc: tuple[str | int, ...] = ("body", "params")) -> dict[str, np.ndarray]:
    shapes = config.shapes()
    return {name: tensor((*loc, name), name, value, shapes[name])
            for name, value in given.items() if value is not None}


def params_or_init(params: ParamsIn | None, config: engine.Config, seed: int
                   ) -> dict[str, np.ndarray]:
    if params is None:
        return engine.init_params(config, seed)
    return params_of(params.model_dump(), config)


@dataclass(frozen=True)
class Example:
    config: engine.Config
    x: np.ndarray
    y: float | None
    params: dict[str, np.ndarray]


def example_inputs(body: ForwardRequest) -> Example:
    config = body.config.to_engine()
    return Example(config, image(body.x, config), None if body.y is None else float(body.y),
                   params_or_init(body.params, config, body.seed))


