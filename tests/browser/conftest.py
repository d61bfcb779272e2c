"""A real uvicorn server on 127.0.0.1 and Debian's Chromium driven by Playwright.

Every request to anything but the local server is blocked and counted as a failure, and
every console error fails the test. Screenshots go to ``artifacts/screenshots``.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import httpx
import pytest

CHROMIUM = "/usr/bin/chromium"
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / "artifacts" / "screenshots"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="session")
def server_url():
    port = _free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1",
         "--port", str(port), "--log-level", "warning"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            time.sleep(0.1)
    else:
        proc.kill()
        out = proc.stdout.read().decode() if proc.stdout else ""
        pytest.fail(f"the server did not start:\n{out}")
    yield url
    proc.terminate()
    try:
        proc.wait(timeout=10)
    except subprocess.TimeoutExpired:
        proc.kill()


@pytest.fixture(scope="session")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: install Debian's chromium (scripts/test.sh does)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync"])
        yield browser
        browser.close()


class PageProbe:
    """What a page did that it should not have: remote requests and console errors."""

    def __init__(self) -> None:
        self.blocked: list[str] = []
        self.errors: list[str] = []


def open_page(browser, server_url, *, width=1440, height=900):
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
    return context, page, probe


@pytest.fixture
def page_factory(browser, server_url):
    opened = []

    def make(path="/", *, width=1440, height=900, wait=True):
        context, page, probe = open_page(browser, server_url, width=width, height=height)
        opened.append((context, probe))
        page.goto(server_url + path)
        if wait:
            page.wait_for_selector("body.ready", timeout=15_000)
        return page, probe

    yield make
    for context, probe in opened:
        context.close()
        assert probe.blocked == [], f"requests left localhost: {probe.blocked}"
        assert probe.errors == [], f"console errors: {probe.errors}"


def _screenshot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


@pytest.fixture
def screenshot():
    """Save a screenshot as a test artifact: screenshot(page, "name")."""
    return _screenshot
