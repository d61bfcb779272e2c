"""A real uvicorn server on 127.0.0.1 and Debian's Chromium driven by Playwright.

Every request to anything but the local server is blocked and counted as a failure, and
every console error fails the test. Screenshots go to ``artifacts/screenshots``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.localserver import ROOT

SHOTS = ROOT / "artifacts" / "screenshots"


@pytest.fixture
def page_factory(guarded_pages, server_url):
    """make(path, width=, height=) -> (page, probe): the app's page, once it is ready."""

    def make(path="/", *, width=1440, height=900, wait=True):
        page, probe = guarded_pages(server_url, width=width, height=height)
        page.goto(server_url + path)
        if wait:
            page.wait_for_selector("body.ready", timeout=15_000)
        return page, probe

    return make


def _screenshot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


@pytest.fixture
def screenshot():
    """Save a screenshot as a test artifact: screenshot(page, "name")."""
    return _screenshot
