"""/docs renders every operation in real Chromium with every non-local request blocked."""

from __future__ import annotations

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
pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def server_url():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "app.main:app", "--host",
                             "127.0.0.1", "--port", str(port), "--log-level", "warning"],
                            cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail("the server did not start")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_docs_render_offline_under_the_csp(server_url):
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing")
    from playwright.sync_api import sync_playwright

    blocked, errors = [], []
    local = urlparse(server_url).netloc
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True,
                                    args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context()

        def guard(route):
            if urlparse(route.request.url).netloc == local:
                route.continue_()
            else:
                blocked.append(route.request.url)
                route.abort()

        context.route("**/*", guard)
        page = context.new_page()
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(f"{server_url}/docs")
        page.wait_for_selector(".opblock", timeout=15_000)
        summaries = page.locator(".opblock-summary-path").all_inner_texts()
        title = page.locator(".info .title").inner_text()
        browser.close()
    assert blocked == []
    assert errors == []
    assert "convlens API" in title
    for path in ("/api/forward", "/api/backward", "/api/update", "/api/gradcheck",
                 "/api/train", "/api/datasets", "/api/presets", "/api/health", "/api/meta",
                 "/api/sessions", "/api/sessions/{session_id}/next"):
        assert any(s.replace("\u200b", "") == path for s in summaries), path
