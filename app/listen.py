"""Can the server listen where it was asked to? Checked before any link is printed."""

from __future__ import annotations

import errno
import socket


def bind_problem(host: str, port: int) -> str:
    """Why the server could not listen on host:port, or "" if it can."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                return f"port {port} is already in use: try --port {port + 1}"
            return f"cannot listen on {host}:{port}: {exc.strerror}"
    return ""
