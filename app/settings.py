"""Server settings, read once from the environment.

=========================  =========  =====================================================
variable                   default    meaning
=========================  =========  =====================================================
CONVLENS_MAX_SESSIONS      1000       sessions kept in memory; the least recently used one
                                      is dropped to make room for a new one
CONVLENS_SESSION_TTL       3600       seconds a session may sit unused before it expires
CONVLENS_MAX_BODY_BYTES    1000000    larger request bodies are refused with 413
CONVLENS_MAX_EXERCISES     1000       practice exercises kept in memory (least recently
                                      used dropped first)
CONVLENS_EXERCISE_TTL      3600       seconds an exercise may sit unused before it expires
CONVLENS_TRAIN_MAX_WORK    2e9        cap on one /api/train request's multiply-adds,
                                      epochs x examples x n^2 x K x m^2 (see app.api.routes.train)
=========================  =========  =====================================================
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass

ENV_PREFIX = "CONVLENS_"


@dataclass(frozen=True)
class Settings:
    max_sessions: int = 1000
    session_ttl: float = 3600.0
    max_body_bytes: int = 1_000_000
    train_max_work: float = 2e9
    max_exercises: int = 1000
    exercise_ttl: float = 3600.0

    def __post_init__(self) -> None:
        for name in ("max_sessions", "max_exercises"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        for name in ("session_ttl", "train_max_work", "exercise_ttl"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value}")
        if self.max_body_bytes < 1024:
            raise ValueError(f"max_body_bytes must be at least 1024, got {self.max_body_bytes}")

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``CONVLENS_*`` variables; a malformed value names its variable."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        kinds = {"max_sessions": int, "session_ttl": float, "max_body_bytes": int,
                 "train_max_work": float, "max_exercises": int, "exercise_ttl": float}
        for field, kind in kinds.items():
            name = ENV_PREFIX + field.upper()
            if name in env:
                try:
                    values[field] = kind(float(env[name])) if kind is int else kind(env[name])
                except ValueError:
                    raise ValueError(f"{name} must be a number, got {env[name]!r}") from None
        try:
            return cls(**values)  # type: ignore[arg-type]
        except ValueError as exc:
            raise ValueError(f"invalid {ENV_PREFIX}* setting: {exc}") from None
