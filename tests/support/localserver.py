"""Run convlens on 127.0.0.1 in a child process and wait until it answers.

For the tests and benchmarks that need a real server (a real socket, a real browser): they
all start it the same way, on a free port of the loopback interface, and never anywhere
else. Also the Chromium the browser tests drive: Debian's, never a downloaded one.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = "/usr/bin/chromium"
# Headless, and quiet: without the background-networking flags Chromium tries to reach
# Google's hosts at start, which this project's tests count as a failure.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def stop_process(proc: subprocess.Popen) -> None:
    """SIGTERM, and SIGKILL if it is not gone within 10 s."""
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


class LocalServer:
    """``python -m <module> <args>`` serving on 127.0.0.1:<port>, as a context manager.

    ``args`` may use ``{port}``; the default runs ``app.main:app`` under uvicorn. The
    server counts as started once ``ready_path`` answers 200.
    """

    def __init__(self, args: list[str] | None = None, *, port: int | None = None,
                 env: dict[str, str] | None = None, ready_path: str = "/api/health",
                 quiet: bool = True, timeout: float = 30.0, python: str = sys.executable,
                 cwd: Path = ROOT) -> None:
        self.port = port or free_port()
        self.args = args or ["uvicorn", "app.main:app", "--host", "127.0.0.1",
                             "--port", "{port}", "--log-level", "warning"]
        self.env = {**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})}
        self.ready_path = ready_path
        self.quiet = quiet
        self.timeout = timeout
        self.python, self.cwd = python, cwd
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> LocalServer:
        command = [self.python, "-m", *(a.format(port=self.port) for a in self.args)]
        output = subprocess.PIPE if self.quiet else None
        self.proc = subprocess.Popen(command, cwd=self.cwd, env=self.env, stdout=output,
                                     stderr=subprocess.STDOUT if self.quiet else None)
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                if httpx.get(self.url + self.ready_path, timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline or self.proc.poll() is not None:
                self.proc.kill()
                out = self.proc.stdout.read().decode() if self.proc.stdout else ""
                raise RuntimeError(f"the server did not start: {' '.join(command)}\n{out}")
            time.sleep(0.1)

    def stop(self) -> None:
        if self.proc is None:
            return
        stop_process(self.proc)
        if self.proc.stdout:
            self.proc.stdout.close()
        self.proc = None

    def __enter__(self) -> LocalServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
