"""Running the app: every uvicorn setting in one place, and the connection limits uvicorn
lacks. ``convlens serve`` and ``convlens demo`` both start the server with :func:`serve`.

uvicorn's httptools protocol has no limit on the size of a request's headers and no timeout
for a request that never finishes arriving; :class:`GuardedHttpProtocol` adds them, at the
protocol level, before the app or the HTTP parser buffers anything:

- the request line and headers may take at most ``max_header_bytes`` (431 beyond, counted
  as they arrive: a 50 MB header is cut off at the limit, never held);
- they must arrive within ``header_timeout`` seconds of the connection opening or of the
  request's first byte, and its body within ``body_timeout`` seconds of its headers (408,
  then the connection is closed): slowloris connections do not stay;
- at most ``max_connections`` connections are open (WebSockets included), and at most
  ``max_connections_per_client`` HTTP connections from one client address; a connection
  beyond either gets a 503 and is closed at once;
- uvicorn's own 400 for a malformed request, and every refusal here, carry the security
  headers;
- ``X-Forwarded-For`` and ``X-Forwarded-Proto`` are believed only from the proxies named in
  ``forwarded_allow_ips`` (``--forwarded-allow-ips``); without it they are ignored, from
  127.0.0.1 too (uvicorn's default trusts 127.0.0.1, so that any process on this machine
  could wear any address and so slip every per-address cap).

At start-up the soft limit on open files is raised toward the hard limit so that the
connection cap fits (:func:`file_limit`); a cap that cannot fit is refused (or, when it
is the default, lowered with a warning). On SIGTERM or Ctrl+C every computation is stopped
at once (:func:`app.compute.stop_all`) and requests get ``shutdown_timeout`` seconds to
finish, so the process exits within a few seconds even under load.
"""

from __future__ import annotations

import asyncio
import dataclasses
import ipaddress
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass
from types import FrameType
from typing import Any

import uvicorn
from uvicorn.protocols.http.httptools_impl import STATUS_LINE, HttpToolsProtocol
from uvicorn.supervisors.multiprocess import Multiprocess, Process

from . import compute
from .security import SECURITY_HEADERS
from .settings import ENV_PREFIX, Settings

FILES_RESERVE = 128  # descriptors kept for everything but connections (files, pipes, logs)
WILDCARDS = ("0.0.0.0", "::", "")
SWITCH_INTERVAL = 0.001  # seconds; see serve()


@dataclass(frozen=True)
class Limits:
    """The connection limits the protocol keeps (from :class:`Settings`)."""

    max_connections: int
    max_connections_per_client: int
    max_header_bytes: int
    header_timeout: float
    body_timeout: float

    @classmethod
    def of(cls, settings: Settings) -> Limits:
        return cls(**{f.name: getattr(settings, f.name) for f in dataclasses.fields(cls)})


class GuardedConfig(uvicorn.Config):
    """uvicorn's Config, carrying the limits to every connection's protocol."""

    def __init__(self, app: Any, *, limits: Limits, **options: Any) -> None:
        super().__init__(app, **options)
        self.limits = limits


def _response(status: int, message: str, *, close: bool = True) -> bytes:
    body = message.encode()
    lines = [STATUS_LINE[status]]
    for name, value in (*SECURITY_HEADERS, (b"content-type", b"text/plain; charset=utf-8"),
                        (b"content-length", str(len(body)).encode())):
        lines += [name, b": ", value, b"\r\n"]
    if close:
        lines.append(b"connection: close\r\n")
    return b"".join([*lines, b"\r\n", body])


class GuardedHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a header size limit, header and body timeouts,
    connection caps (in all and per client) and security headers on its own answers."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.limits: Limits = getattr(self.config, "limits", None) or Limits.of(Settings())
        if not hasattr(self.server_state, "per_client"):
            self.server_state.per_client = {}  # type: ignore[attr-defined]
        self.per_client: dict[str, int] = self.server_state.per_client  # type: ignore[attr-defined]
        self._counted: str | None = None
        self._in_head = True  # the bytes arriving now are a request line or headers
        self._requests = 0
        self._head_bytes = 0
        self._tail = b""
        self._timer: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------------ connections
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        who = self.client[0] if self.client else ""
        if len(self.connections) > self.limits.max_connections:
            self._refuse(503, "the server has as many connections open as it allows; "
                              "try again shortly")
            return
        if self.per_client.get(who, 0) >= self.limits.max_connections_per_client:
            self._refuse(503, "too many connections open from your address")
            return
        self.per_client[who] = self.per_client.get(who, 0) + 1
        self._counted = who
        self._arm(self.limits.header_timeout, 408, "the request's headers took too long")

    def _uncount(self) -> None:
        if self._counted is not None:
            left = self.per_client.get(self._counted, 1) - 1
            if left > 0:
                self.per_client[self._counted] = left
            else:
                self.per_client.pop(self._counted, None)
            self._counted = None

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        self._uncount()
        super().connection_lost(exc)

    def handle_websocket_upgrade(self) -> None:
        # The WebSocket protocol takes the connection over (and its own caps, the rooms').
        self._disarm()
        self._uncount()
        super().handle_websocket_upgrade()

    def _refuse(self, status: int, message: str) -> None:
        self._disarm()
        if not self.transport.is_closing():
            self.transport.write(_response(status, message))
            self.transport.close()

    def send_400_response(self, msg: str) -> None:
        self._refuse(400, msg)

    # ---------------------------------------------------------------------- timers
    def _arm(self, seconds: float, status: int, message: str) -> None:
        self._disarm()
        self._timer = self.loop.call_later(seconds, self._expired, status, message)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self, status: int, message: str) -> None:
        self._timer = None
        if self.cycle is not None and self.cycle.response_started:
            self.transport.close()  # the app is answering already; nothing more to say
        else:
            self._refuse(status, message)

    # ---------------------------------------------------------------- data arrives
    def data_received(self, data: bytes) -> None:
        if self._in_head:
            seen = self._tail + data
            end = seen.find(b"\r\n\r\n")
            self._head_bytes += len(data) if end < 0 else max(0, end + 4 - len(self._tail))
            self._tail = seen[-3:]
            if self._head_bytes > self.limits.max_header_bytes:
                self._refuse(431, f"the request line and headers are over the limit of "
                                  f"{self.limits.max_header_bytes} bytes")
                return
        super().data_received(data)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._requests:  # the next request on a kept-alive connection
            self._arm(self.limits.header_timeout, 408, "the request's headers took too long")
        self._requests += 1

    def on_headers_complete(self) -> None:
        self._in_head = False
        self._arm(self.limits.body_timeout, 408, "the request's body took too long")
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        self._disarm()
        self._in_head, self._head_bytes, self._tail = True, 0, b""  # what comes next is a head
        super().on_message_complete()


class GuardedServer(uvicorn.Server):
    """Stops every computation the moment a shutdown signal arrives."""

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        compute.stop_all()
        super().handle_exit(sig, frame)


class GuardedProcess(Process):
    """A worker process that runs :class:`GuardedServer` (uvicorn's runs its plain one)."""

    @property
    def server(self) -> uvicorn.Server:
        if self._server is None:
            self._server = GuardedServer(config=self.config)
        return self._server


class GuardedMultiprocess(Multiprocess):
    """uvicorn's supervisor of ``--workers N``, starting guarded workers. (A worker it
    starts later -- after a crash, or on SIGHUP or SIGTTIN -- is uvicorn's plain one: it
    keeps every limit but the immediate stop of computations on SIGTERM; they stop at
    their time limit instead.)"""

    def init_processes(self) -> None:
        for _ in range(self.processes_num):
            process = GuardedProcess(self.config, self.sockets)
            process.start()
            self.processes.append(process)


# ------------------------------------------------------------------------ start-up checks
def file_limit(needed: int, *, explicit: bool,
               getrlimit: Callable[[int], tuple[int, int]] | None = None,
               setrlimit: Callable[[int, tuple[int, int]], None] | None = None) -> tuple[int, str]:
    """Make room for ``needed`` connections: raise the soft RLIMIT_NOFILE toward the hard
    limit. Returns how many connections fit and a warning ("" if none). Raises ValueError
    when an ``explicit`` cap does not fit."""
    import resource

    getrlimit = getrlimit or resource.getrlimit
    setrlimit = setrlimit or resource.setrlimit
    soft, hard = getrlimit(resource.RLIMIT_NOFILE)
    want = needed + FILES_RESERVE
    unlimited = hard == resource.RLIM_INFINITY
    if soft != resource.RLIM_INFINITY and soft < want:
        target = want if unlimited else min(hard, want)
        try:
            setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    room = (needed if soft == resource.RLIM_INFINITY else soft - FILES_RESERVE)
    if room >= needed:
        return needed, ""
    variable = ENV_PREFIX + "MAX_CONNECTIONS"
    if explicit or room < 16:
        raise ValueError(
            f"{variable}={needed} needs {want} open files, but this process may open only "
            f"{soft} (hard limit {hard}): lower {variable} or raise the limit (ulimit -n)")
    return room, (f"open files are limited to {soft} (hard limit {hard}): at most {room} "
                  f"connections instead of {needed}; raise the limit with ulimit -n "
                  f"or set {variable}")


def fit_connections(settings: Settings) -> Settings:
    """``settings`` with a connection cap that the file limit allows (see
    :func:`file_limit`; a lowered default is said on stderr). ValueError if it cannot."""
    explicit = ENV_PREFIX + "MAX_CONNECTIONS" in os.environ
    fits, warning = file_limit(settings.max_connections, explicit=explicit)
    if not warning:
        return settings
    print(f"convlens: warning: {warning}", file=sys.stderr, flush=True)
    return dataclasses.replace(settings, max_connections=fits)


def host_names(host: str) -> tuple[str, ...]:
    """The names, beyond IP addresses and localhost, the server answers to when bound to
    ``host``: the name itself when it is one."""
    try:
        ipaddress.ip_address(host)
        return ()
    except ValueError:
        return () if host in WILDCARDS else (host,)


def proxy_options(settings: Settings) -> dict[str, Any]:
    """uvicorn's options for forwarded headers: believed from ``forwarded_allow_ips``
    only, and without it not at all."""
    trusted = settings.forwarded_allow_ips
    if trusted is None:
        return {"proxy_headers": False}
    return {"proxy_headers": True, "forwarded_allow_ips": list(trusted)}


# ---------------------------------------------------------------------------------- serve
def serve(app: Any, *, host: str, port: int, settings: Settings | None = None,
          reload: bool = False, log_level: str = "info", workers: int = 1,
          **options: Any) -> None:
    """Run ``app`` (an ASGI app, or an import string such as ``"app.main:app"``) with the
    limits of ``settings`` (default: from the environment). ``options`` go to uvicorn
    (``loop``, ``ws_max_size``, …); the limits are not among them.

    ``workers`` > 1 starts that many processes on one socket (``app`` must then be an
    import string; each worker builds the app from the environment). Every limit holds per
    worker: N workers accept up to N × ``max_connections``. Forwarded headers are believed
    as :func:`proxy_options` says, in every worker alike (they share this config)."""
    if "http" in options:
        raise TypeError("serve() chooses the HTTP protocol itself (the guarded httptools one)")
    if {"proxy_headers", "forwarded_allow_ips"} & options.keys():
        raise TypeError("serve() trusts the proxies of settings.forwarded_allow_ips only")
    if workers > 1 and (not isinstance(app, str) or reload):
        raise TypeError("several workers need the app as an import string, and no reload")
    settings = fit_connections(Settings.from_env() if settings is None else settings)
    names = host_names(host)
    if names:
        if isinstance(app, str):  # the app is built from the environment, maybe anew
            known = [h for h in os.environ.get(ENV_PREFIX + "ALLOWED_HOSTS", "").split(",")
                     if h.strip()]
            os.environ[ENV_PREFIX + "ALLOWED_HOSTS"] = ",".join([*known, *names])
        elif hasattr(getattr(app, "state", None), "settings"):
            app.state.settings = app.state.settings.with_host_names(*names)
    config = GuardedConfig(
        app, limits=Limits.of(settings), host=host, port=port, reload=reload,
        http=GuardedHttpProtocol, log_level=log_level,
        timeout_keep_alive=int(max(1, round(settings.keep_alive_timeout))),
        timeout_graceful_shutdown=int(max(1, round(settings.shutdown_timeout))),
        workers=workers, **proxy_options(settings),
        **{"access_log": False, "loop": "asyncio", **options})
    # Compute threads hold the GIL for long stretches of small NumPy calls; the event loop
    # must win it back after every socket call. A 1 ms switch interval (Python's default is
    # 5) keeps pages and sockets answering while computations run.
    sys.setswitchinterval(SWITCH_INTERVAL)
    server = GuardedServer(config)
    if config.should_reload:
        from uvicorn.supervisors import ChangeReload

        ChangeReload(config, target=server.run, sockets=[config.bind_socket()]).run()
    elif workers > 1:
        GuardedMultiprocess(config, sockets=[config.bind_socket()]).run()
    else:
        server.run()
