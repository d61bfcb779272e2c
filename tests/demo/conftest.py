"""Fixtures for demo mode: lesson texts, a fake clock, a TestClient in demo mode, and — for
the browser tests — ``convlens demo`` run for real on 127.0.0.1 with headless Chromium.

Browser pages block every request and socket whose host is not the server and fail the
test on it, and fail it on any console error. Screenshots go to ``artifacts/screenshots``.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from urllib.parse import urlparse

import httpx
import pytest
from fastapi.testclient import TestClient

from app.demo.lesson import DEFAULT_LESSON
from app.demo.mode import DemoSettings
from app.main import create_app
from app.settings import Settings
from tests.support.localserver import LocalServer, free_port

ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"
CHROMIUM = "/usr/bin/chromium"
KEY = "test-presenter-key-0123"
ROOM = "testroom"



@pytest.fixture(scope="session")
def default_text() -> str:
    return DEFAULT_LESSON.read_text(encoding="utf-8")


def demo_client(**demo) -> TestClient:
    settings = DemoSettings(**{"key": KEY, "room": ROOM, **demo})
    return TestClient(create_app(Settings(), demo_settings=settings))


@pytest.fixture(scope="session")
def demo() -> SimpleNamespace:
    """The test server's key and room, the socket path, the key header, and a factory of
    TestClients in demo mode (``demo.client(**DemoSettings fields)``)."""
    return SimpleNamespace(key=KEY, room=ROOM, socket=f"/ws/follow/{ROOM}",
                           keyed={"X-Demo-Key": KEY}, client=demo_client)


@pytest.fixture
def client():
    """A TestClient over an app in demo mode (key KEY, room ROOM), its own each test."""
    with demo_client() as c:
        yield c


# ------------------------------------------------------------------------- the server
@pytest.fixture(autouse=True)
def _own_state(tmp_path, monkeypatch):
    """No test reads a key from the environment or keeps rooms in the user's state dir."""
    monkeypatch.delenv("CONVLENS_DEMO_KEY", raising=False)
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg-state"))


@dataclass
class DemoServer:
    """``convlens demo`` as a subprocess, started by tests/support's LocalServer, the key in
    a file and the rooms in ``state``; ``start``, ``stop`` and ``kill`` keep its port."""

    port: int
    state: Path
    script: Path | None = None
    room: str = ROOM
    options: tuple[str, ...] = ()  # more `convlens demo` options
    server: LocalServer | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        key_file = self.state.parent / "presenter.key"
        key_file.write_text(KEY + "\n", encoding="utf-8")
        key_file.chmod(0o600)
        args = ["app.cli", "demo", "--port", "{port}", "--key-file", str(key_file),
                "--state", str(self.state), "--room", self.room]
        if self.script:
            args += ["--script", str(self.script)]
        self.server = LocalServer([*args, *self.options], port=self.port)
        try:
            self.server.start()
        except RuntimeError as exc:
            pytest.fail(str(exc))

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None

    def kill(self) -> None:
        """kill -9: no shutdown, no last word."""
        assert self.server is not None and self.server.proc is not None
        self.server.proc.kill()
        self.server.proc.wait(timeout=10)
        self.server = None

    def goto(self, beat: int) -> dict:
        response = httpx.post(f"{self.url}/api/demo/{self.room}/goto", json={"beat": beat},
                              headers={"X-Demo-Key": KEY}, timeout=5)
        assert response.status_code == 200, response.text
        return response.json()


@pytest.fixture
def demo_server(tmp_path):
    server = DemoServer(port=free_port(), state=tmp_path / "rooms.sqlite3")
    server.start()
    yield server
    server.stop()


# ------------------------------------------------------------------------ the browser
# Playwright's sync API marks the thread it runs in as running an asyncio loop, so a second
# one cannot start in the same thread while another test directory's browser is still open
# (a session fixture). These tests therefore drive Chromium from a thread of their own: the
# browser starts and stops there, and the body of every test marked `browser` runs there.
_worker: list[ThreadPoolExecutor] = []


def in_browser_thread(fn, *args, **kwargs):
    if not _worker:
        _worker.append(ThreadPoolExecutor(max_workers=1, thread_name_prefix="playwright"))
    return _worker[0].submit(fn, *args, **kwargs).result()


@pytest.hookimpl(tryfirst=True)
def pytest_pyfunc_call(pyfuncitem):
    if pyfuncitem.get_closest_marker("browser") is None:
        return None
    names = pyfuncitem._fixtureinfo.argnames
    in_browser_thread(pyfuncitem.obj, **{name: pyfuncitem.funcargs[name] for name in names})
    return True


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/test.sh does)")
    from playwright.sync_api import sync_playwright

    def start():
        playwright = sync_playwright().start()
        return playwright, playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                  "--disable-quic", "--no-first-run", "--disable-component-update",
                  "--disable-sync"])

    playwright, browser = in_browser_thread(start)
    yield browser

    def stop():
        browser.close()
        playwright.stop()

    in_browser_thread(stop)
    _worker.pop().shutdown()


@dataclass
class Probe:
    blocked: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


@pytest.fixture
def open_page(browser, demo_server):
    """open_page(path, width=, height=) -> (page, context): a page of its own context,
    watched for remote requests and console errors (checked when the test ends)."""
    opened: list[tuple[object, Probe]] = []
    local = f"127.0.0.1:{demo_server.port}"

    def make(path: str, *, width: int = 1280, height: int = 720, ready: bool = True,
             expected_errors: tuple[str, ...] = ()):
        context = browser.new_context(viewport={"width": width, "height": height})
        probe = Probe()

        def guard(route):
            if urlparse(route.request.url).netloc == local:
                route.continue_()
            else:
                probe.blocked.append(route.request.url)
                route.abort()

        def console(message):
            if message.type == "error" and not any(e in message.text for e in expected_errors):
                probe.errors.append(message.text)

        def refuse_socket(ws):
            probe.blocked.append(ws.url)
            ws.close()

        context.route("**/*", guard)
        context.route_web_socket(lambda url: urlparse(url).netloc != local, refuse_socket)
        page = context.new_page()
        page.on("console", console)
        page.on("pageerror", lambda e: probe.errors.append(str(e)))
        opened.append((context, probe))
        page.goto(demo_server.url + path)
        if ready:
            page.wait_for_selector("body.ready", timeout=15_000)
        return page, context

    yield make
    in_browser_thread(lambda: [context.close() for context, _ in opened])
    for _, probe in opened:
        assert probe.blocked == [], f"requests left the server: {probe.blocked}"
        assert probe.errors == [], f"console errors: {probe.errors}"


@pytest.fixture
def screenshot():
    def save(page, name: str) -> Path:
        SHOTS.mkdir(parents=True, exist_ok=True)
        path = SHOTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=False)
        return path

    return save
