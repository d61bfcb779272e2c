"""Fixtures shared by every test package."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest

from tests.support.localserver import CHROMIUM, CHROMIUM_ARGS, LocalServer


class FakeClock:
    """A clock the tests move by hand (for session and room expiry)."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture(scope="session")
def server_url():
    """The app served by uvicorn on a free 127.0.0.1 port, for the whole run."""
    try:
        with LocalServer() as server:
            yield server.url
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture(scope="module")
def browser():
    """Debian's headless Chromium, one per test module. Playwright's sync API runs an event
    loop on this thread while it is open, so it is closed again after each module: a later
    test that runs asyncio itself would otherwise find a loop already running."""
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/test.sh does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class PageProbe:
    """What a page did that it should not have: remote requests and console errors."""

    def __init__(self) -> None:
        self.blocked: list[str] = []
        self.errors: list[str] = []


@pytest.fixture
def guarded_pages(browser):
    """open(server_url, width=..., height=...) -> (page, probe): a page in a fresh context
    where every request to anything but that server is blocked. When the test ends, any
    blocked request or console error fails it."""
    opened = []

    def open_page(server_url: str, *, width: int = 1440, height: int = 900):
        context = browser.new_context(viewport={"width": width, "height": height})
        probe = PageProbe()
        local = urlparse(server_url).netloc

        def guard(route):
            if urlparse(route.request.url).netloc == local:
                route.continue_()
            else:
                probe.blocked.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and probe.errors.append(m.text))
        page.on("pageerror", lambda e: probe.errors.append(str(e)))
        opened.append((context, probe))
        return page, probe

    yield open_page
    for context, probe in opened:
        context.close()
        assert probe.blocked == [], f"requests left localhost: {probe.blocked}"
        assert probe.errors == [], f"console errors: {probe.errors}"


@pytest.fixture(scope="session")
def redis_server():
    """A real redis-server for the whole run (tests that restart it use their own)."""
    from tests.support.redisserver import RedisServer

    try:
        with RedisServer() as server:
            yield server
    except RuntimeError as exc:
        pytest.fail(str(exc))


@pytest.fixture
def redis_url(redis_server) -> str:
    """The shared test Redis, emptied for this test."""
    redis_server.flush()
    return redis_server.url
