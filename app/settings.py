"""Server settings, read once from the environment: every limit the server keeps.

==================================  =========  ==============================================
variable                            default    meaning
==================================  =========  ==============================================
CONVLENS_MAX_SESSIONS               1000       sessions kept (in memory, or in Redis for
                                               all workers); the least recently used one is
                                               dropped to make room for a new one
CONVLENS_MAX_SESSIONS_PER_CLIENT    20         sessions one client address may hold; its
                                               own least recently used goes first
CONVLENS_SESSION_TTL                3600       seconds a session may sit unused before it
                                               expires
CONVLENS_MAX_BODY_BYTES             1000000    larger request bodies are refused with 413
CONVLENS_MAX_EXERCISES              1000       practice exercises kept, as sessions are
                                               (least recently used dropped first)
CONVLENS_EXERCISE_TTL               3600       seconds an exercise may sit unused before it
                                               expires
CONVLENS_TRAIN_MAX_WORK             2e9        cap on one /api/train request's multiply-adds
                                               (see app.api.routes.train)
CONVLENS_COMPUTE_WORKERS            cores - 1  trainings and gradient checks that run at once
                                               (at least 1)
CONVLENS_COMPUTE_QUEUE              16         more that may wait; beyond, 503 + Retry-After
CONVLENS_COMPUTE_TIMEOUT            30         seconds one computation may run; then it stops
CONVLENS_ALLOWED_HOSTS              (names)    comma-separated names the Host header may
                                               carry besides IP addresses, localhost and
                                               the ``--host`` name; ``*`` allows any
CONVLENS_MAX_CONNECTIONS            2200       open connections (sockets included: a demo's
                                               rooms take up to 2,000); more are closed at once
CONVLENS_MAX_CONNECTIONS_PER_CLIENT 100        open connections from one client address
CONVLENS_MAX_HEADER_BYTES           16384      request line and headers; more gets 431
CONVLENS_HEADER_TIMEOUT             10         seconds to send the request line and headers
CONVLENS_BODY_TIMEOUT               30         seconds to send the body, once the headers are in
CONVLENS_KEEP_ALIVE_TIMEOUT         5          seconds an idle keep-alive connection stays open
CONVLENS_SHUTDOWN_TIMEOUT           3          seconds requests may finish after SIGTERM
CONVLENS_REDIS_URL                  (none)     ``redis://host:port/db`` (or ``rediss://``,
                                               ``unix:///path.sock``): keep walks,
                                               exercises and rooms in that Redis, so that
                                               several workers and hosts share them; without
                                               it they live in this process's memory
==================================  =========  ==============================================

The connection settings are applied by :mod:`app.serving` (``convlens serve`` and ``convlens
demo``); the rest by the app itself. ``Settings()`` as constructed, with no Host list,
checks no Host header; :meth:`Settings.from_env`, what the server runs with, always has one.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace

ENV_PREFIX = "CONVLENS_"


def _spare_cores() -> int:
    """Every core but one (at least one): the last is left to pages, files and sockets."""
    return max(1, (os.cpu_count() or 2) - 1)


REDIS_SCHEMES = ("redis://", "rediss://", "unix://")
LOOPBACK_NAMES = ("localhost",)  # IP addresses (127.0.0.1, ::1) are always allowed


@dataclass(frozen=True)
class Settings:
    max_sessions: int = 1000
    max_sessions_per_client: int = 20
    session_ttl: float = 3600.0
    max_body_bytes: int = 1_000_000
    train_max_work: float = 2e9
    max_exercises: int = 1000
    exercise_ttl: float = 3600.0
    compute_workers: int = field(default_factory=_spare_cores)
    compute_queue: int = 16
    compute_timeout: float = 30.0
    allowed_hosts: tuple[str, ...] | None = None
    max_connections: int = 2200
    max_connections_per_client: int = 100
    max_header_bytes: int = 16384
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keep_alive_timeout: float = 5.0
    shutdown_timeout: float = 3.0
    redis_url: str | None = None

    def __post_init__(self) -> None:
        for name in ("max_sessions", "max_exercises", "max_sessions_per_client", "compute_workers",
                     "max_connections", "max_connections_per_client"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.compute_queue < 0:
            raise ValueError(f"compute_queue must be 0 or more, got {self.compute_queue}")
        for name in ("session_ttl", "exercise_ttl", "train_max_work", "compute_timeout",
                     "header_timeout", "body_timeout", "keep_alive_timeout", "shutdown_timeout"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value}")
        if self.max_body_bytes < 1024:
            raise ValueError(f"max_body_bytes must be at least 1024, got {self.max_body_bytes}")
        if self.redis_url is not None and not self.redis_url.startswith(REDIS_SCHEMES):
            raise ValueError(f"redis_url must start with {', '.join(REDIS_SCHEMES)}, got "
                             f"{self.redis_url[:80]!r}")
        if self.max_header_bytes < 1024:
            raise ValueError(
                f"max_header_bytes must be at least 1024, got {self.max_header_bytes}")

    def with_host_names(self, *names: str) -> Settings:
        """These settings with ``names`` allowed in the Host header too."""
        known = self.allowed_hosts if self.allowed_hosts is not None else LOOPBACK_NAMES
        extra = tuple(n for n in names if n and n not in known)
        return replace(self, allowed_hosts=(*known, *extra))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from ``CONVLENS_*`` variables; a malformed value names its variable."""
        env = os.environ if environ is None else environ
        values: dict[str, object] = {}
        for f in fields(cls):
            name = ENV_PREFIX + f.name.upper()
            if f.name == "allowed_hosts":
                raw = env.get(name, "")
                given = tuple(h.strip() for h in raw.split(",") if h.strip())
                values[f.name] = (*LOOPBACK_NAMES, *given)
                continue
            if f.name == "redis_url":
                values[f.name] = env.get(name) or None
                continue
            if name in env:
                kind = int if f.type in ("int", int) else float
                try:
                    values[f.name] = kind(float(env[name])) if kind is int else kind(env[name])
                except ValueError:
                    raise ValueError(f"{name} must be a number, got {env[name]!r}") from None
        try:
            return cls(**values)  # type: ignore[arg-type]
        except ValueError as exc:
            raise ValueError(f"invalid {ENV_PREFIX}* setting: {exc}") from None
