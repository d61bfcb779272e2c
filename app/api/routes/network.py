"""One example through the network: forward, backward, update, gradient check."""

from __future__ import annotations

import functools

import numpy as np
from fastapi import APIRouter, Request
from starlette.responses import Response

import engine
from engine.model import ShouldStop

from ... import convert as conv
from ... import schemas as s
from ... import serialize as out
from ...errors import InputError
from ..deps import BUSY, ComputeDep

router = APIRouter(prefix="/api", tags=["network"])
BODY_ERRORS = {413: {"model": s.Message, "description": "The body is over the size limit."}}


@router.post("/forward", response_model=s.ForwardResponse, responses=BODY_ERRORS)
async def forward(body: s.ForwardRequest) -> Response:
    """The forward pass: X and what every layer writes (the seed's Z1, A1, P1, F, Z2, A2),
    and the loss L when y is given."""
    return _forward(body)


def _forward(body: s.ForwardRequest) -> Response:
    ex = conv.example_inputs(body)
    t = engine.trace(ex.x, 0.0 if ex.y is None else ex.y, ex.params, ex.net)
    forward = out.forward_names(ex.net)
    names = forward if ex.y is None else (*forward, "L")
    return out.json_response({**out.described(ex.net), "params": out.params_out(t),
                              "tensors": out.pick(t, names)})


@router.post("/backward", response_model=s.BackwardResponse, responses=BODY_ERRORS)
async def backward(body: s.BackwardRequest) -> Response:
    """Every tensor and gradient, the ordered steps with their numbers (and MathML), colour
    ranges and the max-pool routing."""
    return _backward(body)


def _backward(body: s.BackwardRequest) -> Response:
    ex = conv.example_inputs(body)
    t = engine.trace(ex.x, ex.y, ex.params, ex.net)
    tensors = out.pick(t, out.backward_names(ex.net))
    return out.json_response({
        **out.described(ex.net), "params": out.params_out(t), "tensors": tensors,
        "steps": out.steps_out(t, body.lr), "ranges": out.ranges(tensors, ex.net),
        "winners": out.winners(t), "marks": out.marks(t, tensors)})


@router.post("/update", response_model=s.UpdateResponse, responses=BODY_ERRORS)
async def update(body: s.UpdateRequest) -> Response:
    """One step of gradient descent on the example, and its loss before and after."""
    return _update(body)


def _update(body: s.UpdateRequest) -> Response:
    ex = conv.example_inputs(body)
    optimizer = conv.optimizer_of(body.optimizer)
    if optimizer is None or optimizer.type == "sgd":
        if body.state is not None:
            raise InputError(("body", "state"), "sgd keeps no state: give an optimizer")
        t = engine.trace(ex.x, ex.y, ex.params, ex.net)
        new = engine.sgd_step(ex.params, t, body.lr)
        kept: dict[str, object] = {}
    else:
        t = engine.trace(ex.x, ex.y, ex.params, ex.net)
        state = conv.state_of(body.state, optimizer, ex.net)
        new, after = optimizer.apply(ex.params, t, state, body.t, body.lr)
        kept = {"optimizer": optimizer.to_dict(), "state": after}
    return out.json_response({
        **out.described(ex.net), "params_before": out.params_out(t), "params": new,
        "grads": {f"d{name}": t[f"d{name}"] for name in ex.net.param_names},
        "loss_before": float(t["L"]), "loss_after": engine.loss(ex.x, ex.y, new, ex.net),
        "lr": body.lr, **kept})


@router.post("/gradcheck", response_model=s.GradcheckResponse,
             responses={**BODY_ERRORS, **BUSY})
async def gradcheck(body: s.ExampleRequest, pool: ComputeDep, request: Request) -> Response:
    """Central differences beside the analytic gradient of every parameter.

    Costs two forward passes per parameter: up to a few seconds for the largest
    configurations, so it runs in the compute pool (queued; stopped if the client leaves)."""
    return await pool.run(request, functools.partial(_gradcheck, body))


def _gradcheck(body: s.ExampleRequest, should_stop: ShouldStop) -> Response:
    ex = conv.example_inputs(body)
    check = engine.gradcheck(ex.x, ex.y, ex.params, ex.net, should_stop=should_stop)
    errors = {k: v if np.isfinite(v) else None for k, v in check.rel_error.items()}
    finite = [v for v in errors.values() if v is not None]
    return out.json_response({
        "numeric": check.numeric, "analytic": check.analytic, "rel_error": errors,
        "max_rel_error": max(finite) if len(finite) == len(errors) else None})
