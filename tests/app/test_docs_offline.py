"""/docs renders every operation in real Chromium with every non-local request blocked."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser


def test_docs_render_offline_under_the_csp(server_url, guarded_pages):
    page, _ = guarded_pages(server_url)  # blocked requests and console errors fail it
    page.goto(f"{server_url}/docs")
    page.wait_for_selector(".opblock", timeout=15_000)
    summaries = page.locator(".opblock-summary-path").all_inner_texts()
    title = page.locator(".info .title").inner_text()
    assert "convlens API" in title
    for path in ("/api/forward", "/api/backward", "/api/update", "/api/gradcheck",
                 "/api/train", "/api/datasets", "/api/presets", "/api/health", "/api/meta",
                 "/api/sessions", "/api/sessions/{session_id}/next"):
        assert any(s.replace("\u200b", "") == path for s in summaries), path
