"""Training on a built-in data set, and the data sets and example inputs themselves.

The work one /api/train request may ask for is capped: ``epochs × examples × n² × K × m²``
— the multiply-adds of the batched path's convolution, which dominate its time — must not
exceed ``CONVLENS_TRAIN_MAX_WORK`` (default 2e9, a second or two on a 2-core machine), so one
request cannot hold the server. Training runs in the thread pool, never on the event loop.
"""

from __future__ import annotations

import functools
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Query
from starlette.responses import Response

import engine

from ... import schemas as s
from ...errors import InputError, field
from ..deps import SettingsDep

router = APIRouter(prefix="/api", tags=["training"])
InputSize = Annotated[int, Query(ge=engine.LIMITS["input_size"][0],
                                 le=engine.LIMITS["input_size"][1],
                                 description="n: the images' side.")]


@functools.lru_cache(maxsize=32)
def load(name: str, input_size: int) -> tuple[np.ndarray, np.ndarray]:
    """A data set at a size, loaded once (read-only: several requests share it)."""
    xs, ys = engine.load_dataset(name, input_size=input_size)
    xs.setflags(write=False)
    ys.setflags(write=False)
    return xs, ys


def work(config: engine.Config, epochs: int, examples: int) -> int:
    """Multiply-adds of training: epochs × examples × n² × K × m²."""
    n, K, m = config.input_size, config.filters, config.conv_size
    return epochs * examples * n * n * K * m * m


@router.post("/train", response_model=s.TrainResponse,
             responses={413: {"model": s.Message, "description": "The body is too large."}})
def train(body: s.TrainRequest, settings: SettingsDep) -> Response:
    """Mini-batch gradient descent on a data set: loss and accuracy per epoch, W1 after
    each epoch, the final parameters and their accuracy on the whole set."""
    config = body.config.to_engine()
    with field("body", "dataset"):
        xs, ys = load(body.dataset, config.input_size)
    cost = work(config, body.epochs, len(xs))
    if cost > settings.train_max_work:
        raise InputError(("body", "epochs"), (
            f"too much work: epochs × examples × n² × K × m² = {body.epochs} × {len(xs)} × "
            f"{config.input_size}² × {config.filters} × {config.conv_size}² = {cost:.3g}, over "
            f"the limit of {settings.train_max_work:.3g}; ask for fewer epochs (at most "
            f"{max(1, int(settings.train_max_work // work(config, 1, len(xs))))} here) "
            "or a smaller network"))
    params = s.params_or_init(body.params, config, body.seed)
    result = engine.train(xs, ys, params, config, lr=body.lr, epochs=body.epochs,
                          batch_size=body.batch_size, seed=body.seed)
    right = (engine.predict(xs, result.params, config) > 0.5) == (ys > 0.5)
    return s.json_response({
        "config": s.config_out(config), "dataset": body.dataset, "params": result.params,
        "history": [{"epoch": e + 1, "loss": float(loss), "accuracy": float(acc)}
                    for e, (loss, acc) in enumerate(zip(result.loss, result.accuracy))],
        "W1_history": result.W1, "accuracy": float(np.mean(right))})


@functools.lru_cache(maxsize=32)
def _datasets(input_size: int) -> bytes:
    out = []
    for name, info in engine.DATASETS.items():
        xs, _ = load(name, input_size)
        samples = engine.sample_images(name, input_size=input_size, count=4)
        out.append({"name": name, "title": info.title, "description": info.description,
                    "classes": list(info.classes), "size": len(xs),
                    "samples": [{"x": x, "y": int(y)} for x, y in samples]})
    return s.dumps(out)


@router.get("/datasets", response_model=list[s.DatasetOut])
def datasets(input_size: InputSize = 6) -> Response:
    """The built-in data sets with four sample images each (alternating classes). Any pair
    of digits also works for /api/train as digits_A_B."""
    return Response(_datasets(input_size), media_type="application/json")


@functools.lru_cache(maxsize=32)
def _presets(input_size: int) -> bytes:
    out = []
    for name, (title, _, _) in engine.PRESETS.items():
        x, y = engine.preset(name, input_size)
        out.append({"name": name, "title": title, "x": x, "y": int(y)})
    return s.dumps(out)


@router.get("/presets", response_model=list[s.PresetOut])
async def presets(input_size: InputSize = 6) -> Response:
    """Named example inputs drawn at the size asked for, with their labels."""
    return Response(_presets(input_size), media_type="application/json")
