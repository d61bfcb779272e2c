"""What the server is: health, version, limits and the step sequence."""

from __future__ import annotations

from fastapi import APIRouter
from starlette.responses import Response

import engine

from ... import schemas as s
from ... import serialize, sessions, version
from ...settings import Settings
from ..deps import SettingsDep

router = APIRouter(prefix="/api", tags=["meta"])


@router.get("/health", response_model=s.Health)
async def health() -> Response:
    return _health()


def _health() -> Response:
    return serialize.json_response({"status": "ok", "version": version()})


@router.get("/meta", response_model=s.Meta)
async def meta(settings: SettingsDep) -> Response:
    """Defaults, limits, every tensor's name, title and colour scale, and the ordered steps
    (without numbers, with what each reveals): the page renders from this."""
    return _meta(settings)


def _kinds() -> list[dict[str, object]]:
    out = []
    for name, module in engine.KINDS.items():
        options = {key: {"default": None if callable(default) else default, "min": lo,
                         "max": hi, "type": number.__name__}
                   for key, (default, lo, hi, number) in module.OPTIONS.items()}
        out.append({"type": name, "role": module.ROLE, "title": module.TITLE,
                    "options": options})
    return out


def _meta(settings: Settings) -> Response:
    return serialize.json_response({
        "defaults": serialize.config_out(engine.Config()),
        "default_network": serialize.network_out(engine.SEED),
        "network_limits": engine.NETWORK_LIMITS, "kinds": _kinds(),
        "limits": {k: list(v) for k, v in engine.LIMITS.items()},
        "train_limits": {"epochs": [1, s.TRAIN_MAX_EPOCHS],
                         "batch_size": [1, s.MAX_BATCH_SIZE]},
        "lr_max": engine.LR_MAX, "default_lr": s.DEFAULT_LR, "default_seed": engine.DEFAULT_SEED,
        "train_max_work": settings.train_max_work, "max_body_bytes": settings.max_body_bytes,
        "max_sessions": settings.max_sessions, "session_ttl": settings.session_ttl,
        "session_max_epochs": sessions.SESSION_MAX_EPOCHS, "given": list(engine.GIVEN),
        "params": list(engine.PARAM_NAMES),
        "tensors": serialize.tensors_meta(), "provenance": list(engine.PROVENANCE_SOURCES),
        "steps": serialize.step_outlines(),
        "optimizers": engine.optimizers.limits(), "max_batch": engine.walk.MAX_BATCH,
        "batch_cells": engine.walk.BATCH_CELLS,
        "switches": [{"name": name, **about} for name, about in engine.compare.SWITCHES.items()]})
