"""Server settings, read once from the environment: every limit the server keeps.

==================================  =========  ==============================================
variable                            default    meaning
==================================  =========  ==============================================
CONVLENS_MAX_SESSIONS               1000       sessions kept (in memory, or in Redis for
                                               all workers); when full, the least recently
                                               used one is dropped for a new one if it has
                                               sat unused for CONVLENS_SESSION_PROTECT s,
                                               else the new one is refused (503 and
                                               Retry-After)
CONVLENS_MAX_SESSIONS_PER_CLIENT    20         sessions one client address may hold; its
                                               own least recently used goes first
CONVLENS_SESSION_TTL                3600       seconds a session may sit unused before it
                                               expires
CONVLENS_SESSION_PROTECT            600        seconds after its last use during which no
                                               other client's new session evicts a session
                                               (0: the least recently used always goes)
CONVLENS_MAX_BODY_BYTES             1000000    larger request bodies are refused with 413
CONVLENS_MAX_EXERCISES              1000       practice exercises kept, as sessions are
                                               (least recently used dropped first, once
                                               unused CONVLENS_EXERCISE_PROTECT s)
CONVLENS_EXERCISE_TTL               3600       seconds an exercise may sit unused before it
                                               expires
CONVLENS_EXERCISE_PROTECT           600        as CONVLENS_SESSION_PROTECT, for exercises
CONVLENS_TRAIN_MAX_WORK             2e9        cap on one /api/train request's multiply-adds
                                               (see app.api.routes.train)
CONVLENS_COMPUTE_WORKERS            cores - 1  trainings and gradient checks that run at once
                                               (at least 1)
CONVLENS_COMPUTE_QUEUE              16         more that may wait; beyond, 503 + Retry-After
CONVLENS_COMPUTE_TIMEOUT            30         seconds one computation may run once started
                                               (its wait in the queue not counted); then it
                                               stops
CONVLENS_COMPUTE_MAX_WAIT           30         seconds a computation may wait in the queue
                                               for a worker; then 503 + Retry-After
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
CONVLENS_FORWARDED_ALLOW_IPS        (none)     comma-separated addresses or networks
                                               (``10.0.0.0/8``; ``*``: any) of the reverse
                                               proxies whose ``X-Forwarded-For`` and
                                               ``X-Forwarded-Proto`` are believed; without
                                               it they are ignored, from 127.0.0.1 too, and
                                               the client is the connection's own address
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
ANY_ADDRESS = "*"
LOOPBACK_NAMES = ("localhost",)  # IP addresses (127.0.0.1, ::1) are always allowed


@dataclass(frozen=True)
class Settings:
    max_sessions: int = 1000
    max_sessions_per_client: int = 20
    session_ttl: float = 3600.0
    session_protect: float = 600.0  # as app.store.walks.PROTECT
    max_body_bytes: int = 1_000_000
    train_max_work: float = 2e9
    max_exercises: int = 1000
    exercise_ttl: float = 3600.0
    exercise_protect: float = 600.0
    compute_workers: int = field(default_factory=_spare_cores)
    compute_queue: int = 16
    compute_timeout: float = 30.0
    compute_max_wait: float = 30.0
    allowed_hosts: tuple[str, ...] | None = None
    max_connections: int = 2200
    max_connections_per_client: int = 100
    max_header_bytes: int = 16384
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    keep_alive_timeout: float = 5.0
    shutdown_timeout: float = 3.0
    redis_url: str | None = None
    forwarded_allow_ips: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        for name in ("max_sessions", "max_exercises", "max_sessions_per_client", "compute_workers",
                     "max_connections", "max_connections_per_client"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name} must be at least 1, got {getattr(self, name)}")
        if self.compute_queue < 0:
            raise ValueError(f"compute_queue must be 0 or more, got {self.compute_queue}")
        for name in ("session_ttl", "exercise_ttl", "train_max_work", "compute_timeout",
                     "compute_max_wait", "header_timeout", "body_timeout", "keep_alive_timeout",
                     "shutdown_timeout"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value}")
        for name in ("session_protect", "exercise_protect"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0):
                raise ValueError(f"{name} must be 0 or a positive number, got {value}")
        if self.max_body_bytes < 1024:
            raise ValueError(f"max_body_bytes must be at least 1024, got {self.max_body_bytes}")
        if self.redis_url is not None and not self.redis_url.startswith(REDIS_SCHEMES):
            raise ValueError(f"redis_url must start with {', '.join(REDIS_SCHEMES)}, got "
                             f"{self.redis_url[:80]!r}")
        if self.max_header_bytes < 1024:
            raise ValueError(
                f"max_header_bytes must be at least 1024, got {self.max_header_bytes}")
        if self.forwarded_allow_ips is not None:
            check_forwarded_allow_ips(self.forwarded_allow_ips)

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
            if f.name == "forwarded_allow_ips":
                values[f.name] = parse_forwarded_allow_ips(env.get(name, ""))
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


def parse_forwarded_allow_ips(text: str) -> tuple[str, ...] | None:
    """``"127.0.0.1, 10.0.0.0/8"`` as a tuple of its items; None (trust no proxy) for ""."""
    items = tuple(item.strip() for item in text.split(",") if item.strip())
    return items or None


def check_forwarded_allow_ips(items: tuple[str, ...]) -> None:
    """ValueError unless every item is an IP address, a network or ``*``."""
    import ipaddress

    if not items:
        raise ValueError("forwarded_allow_ips must name at least one address (or be None)")
    for item in items:
        if item == ANY_ADDRESS:
            continue
        try:
            ipaddress.ip_network(item, strict=False)
        except ValueError:
            raise ValueError(f"forwarded_allow_ips must be IP addresses or networks "
                             f"(10.0.0.0/8) or *, got {item[:80]!r}") from None
