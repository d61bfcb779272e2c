"""Training on a built-in data set, and the data sets and example inputs themselves.

The work one /api/train request may ask for is capped, so one request cannot hold the
server:

    epochs × (examples × n² × K × m²  +  steps per epoch × 20,000)  <=  CONVLENS_TRAIN_MAX_WORK

The first term counts the multiply-adds of the batched path's convolution, which dominate
large networks; the second charges each optimizer step (ceil(examples / batch_size) of them
per epoch) its Python and NumPy overhead, which dominates small networks trained one example
at a time. Measured on the 2-core machine this project runs on, about 1e9 of this work takes
a second; the default cap of 2e9 keeps the largest allowed request near 2 s. Training runs in
the compute pool (:mod:`app.compute`), never on the event loop: queued, and stopped between
mini-batches when its client leaves.
"""

from __future__ import annotations

import functools
import math
from typing import Annotated

import numpy as np
from fastapi import APIRouter, Query, Request
from starlette.responses import Response

import engine
from engine.model import ShouldStop

from ... import convert as conv
from ... import schemas as s
from ... import serialize as out
from ...errors import InputError, field
from ...settings import Settings
from ..deps import BUSY, ComputeDep, SettingsDep

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


STEP_WORK = 20_000  # one optimizer step's overhead, in multiply-adds of the same time


def per_example(net: engine.Network | engine.Config) -> int:
    """One example's cost, in multiply-adds of the same time. The seed-shaped network (its
    fast path): n² × K × m². Any other (the layer kinds' batched path, about three times
    slower per multiply-add): 3 × (each conv's K C k² Ho Wo + each dense layer's U D +
    every tensor's cells)."""
    net = engine.as_network(net)
    config = net.config
    if config is not None:
        return config.input_size**2 * config.filters * config.conv_size**2
    total = 0
    for n in net.nodes:
        total += math.prod(n.out_shape) or 1
        for name, shape in n.param_shapes.items():
            if name.startswith("W"):
                total += math.prod(shape) * math.prod(n.out_shape[1:] or (1,))
    return 3 * total


def per_example_text(net: engine.Network) -> tuple[str, str]:
    """What :func:`per_example` counts, in symbols and with the network's numbers."""
    c = net.config
    if c is not None:
        return "n² × K × m²", f"{c.input_size}² × {c.filters} × {c.conv_size}²"
    return "its multiply-adds", str(per_example(net))


def work(net: engine.Network | engine.Config, epochs: int, examples: int,
         batch_size: int) -> int:
    """epochs × (examples × per_example(net) + ceil(examples / batch_size) × STEP_WORK)."""
    steps = -(-examples // batch_size)
    return epochs * (examples * per_example(net) + steps * STEP_WORK)


@router.post("/train", response_model=s.TrainResponse,
             responses={413: {"model": s.Message, "description": "The body is too large."},
                        **BUSY})
async def train(body: s.TrainRequest, settings: SettingsDep, pool: ComputeDep,
                request: Request) -> Response:
    """Mini-batch gradient descent on four fifths of a data set (one example in five is
    held out): loss and accuracy per epoch, W1 after each epoch, the final parameters,
    their accuracy on the training part and on the held-out part, and up to 8 held-out
    examples to step through, the misclassified first."""
    return await pool.run(request, functools.partial(_train, body, settings))


def _train(body: s.TrainRequest, settings: Settings, should_stop: ShouldStop) -> Response:
    net = conv.network_or_config(body)
    with field("body", "dataset"):
        xs, ys = load(body.dataset, net.input_size)
    classes = int(ys.max()) + 1
    if classes > net.classes:
        raise InputError(("body", "dataset"), (
            f"{body.dataset} has {classes} classes: this network's output tells "
            f"{net.classes} apart (use softmax_ce with {classes} units in the last layer)"))
    cost = work(net, body.epochs, len(xs), body.batch_size)
    if cost > settings.train_max_work:
        most = int(settings.train_max_work // work(net, 1, len(xs), body.batch_size))
        symbols, numbers = per_example_text(net)
        raise InputError(("body", "epochs"), (
            f"too much work: epochs × (examples × {symbols} + steps per "
            f"epoch × {STEP_WORK}) = {body.epochs} × ({len(xs)} × {numbers} + "
            f"{-(-len(xs) // body.batch_size)} × "
            f"{STEP_WORK}) = {cost:.3g}, over the limit of {settings.train_max_work:.3g}; "
            + (f"ask for at most {most} epochs, a larger batch_size or a smaller network"
               if most else "choose a smaller network or a larger batch_size")))
    params = conv.params_or_init(body.params, net, body.seed)
    (train_xs, train_ys), (test_xs, test_ys) = engine.split_dataset(xs, ys)
    result = engine.train(train_xs, train_ys, params, net, lr=body.lr, epochs=body.epochs,
                          batch_size=body.batch_size, seed=body.seed, should_stop=should_stop,
                          optimizer=conv.optimizer_of(body.optimizer))
    train_right = predicted(net, engine.predict(train_xs, result.params, net)) == train_ys
    test_out = engine.predict(test_xs, result.params, net)
    test_right = predicted(net, test_out) == test_ys
    # A2 of a sigmoid output; the probability of the predicted class of a softmax one.
    test_a2 = test_out if test_out.ndim == 1 else test_out.max(axis=1)
    # Held-out examples worth stepping through: the misclassified first (most confidently
    # wrong first), then the least confident right ones. The margin: the output's share for
    # the truth.
    margin = (np.where(test_ys > 0.5, test_out, 1.0 - test_out) if test_out.ndim == 1
              else test_out[np.arange(len(test_ys)), test_ys.astype(int)])
    order = np.argsort(margin, kind="stable")[:EXAMPLES]
    return out.json_response({
        **out.described(net), "dataset": body.dataset, "params": result.params,
        "history": [{"epoch": e + 1, "loss": float(loss), "accuracy": float(acc)}
                    for e, (loss, acc) in enumerate(zip(result.loss, result.accuracy))],
        "W1_history": result.W1, "accuracy": float(np.mean(train_right)),
        "test_accuracy": float(np.mean(test_right)), "test_size": int(len(test_xs)),
        "examples": [{"x": test_xs[i], "y": int(test_ys[i]), "a2": float(test_a2[i]),
                      "right": bool(test_right[i])} for i in order]})


def predicted(net: engine.Network, output: np.ndarray) -> np.ndarray:
    """The class each example is given: A2 > 0.5, or the softmax's most likely class."""
    return (output > 0.5).astype(float) if output.ndim == 1 else output.argmax(axis=1)


EXAMPLES = 8  # held-out examples offered to step through


@functools.lru_cache(maxsize=32)
def _datasets(input_size: int) -> bytes:
    found = []
    for name, info in engine.DATASETS.items():
        xs, _ = load(name, input_size)
        samples = engine.sample_images(name, input_size=input_size, count=4)
        found.append({"name": name, "title": info.title, "description": info.description,
                    "classes": list(info.classes), "size": len(xs),
                    "samples": [{"x": x, "y": int(y)} for x, y in samples]})
    return out.dumps(found)


@router.get("/datasets", response_model=list[s.DatasetOut])
def datasets(input_size: InputSize = 6) -> Response:
    """The built-in data sets with four sample images each (alternating classes). Any pair
    of digits also works for /api/train as digits_A_B."""
    return Response(_datasets(input_size), media_type="application/json")


@functools.lru_cache(maxsize=32)
def _presets(input_size: int) -> bytes:
    found = []
    for name, (title, _, _) in engine.PRESETS.items():
        x, y = engine.preset(name, input_size)
        found.append({"name": name, "title": title, "x": x, "y": int(y)})
    return out.dumps(found)


@router.get("/presets", response_model=list[s.PresetOut])
async def presets(input_size: InputSize = 6) -> Response:
    """Named example inputs drawn at the size asked for, with their labels."""
    return Response(_presets(input_size), media_type="application/json")
