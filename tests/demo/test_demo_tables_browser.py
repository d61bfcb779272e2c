"""The demo's heatmaps read without colour and without sight, in real headless Chromium
against ``convlens demo``: on the presenter's slides and the audience's, every tensor has a
table of its values by index that says what its cells show, a tensor not revealed yet has
none, and axe finds no text below 4.5:1 contrast, during a question and after its reveal."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.browser.test_heatmap_access import accessibility_problems, check_tables, tables_of
from tests.demo.test_demo_answers_browser import (
    LESSON,
    WAIT,
    Q,
    ask_beat,
    reveal_with,
    tap,
)
from tests.demo.test_demo_browser import live, on_beat, presenter_path
from tests.demo.test_demo_trust_browser import join

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def check_slide(page, beat: int) -> int:
    """Every drawn tensor's tables match its cells; a pending one holds nothing."""
    checked = 0
    tensors = tables_of(page, ".dpanel[data-tensor]")
    for tensor in tensors:
        if tensor["pending"]:
            assert tensor["tables"] == [] and tensor["text"] == "", (beat, tensor["name"])
        elif tensor["plots"]:
            checked += check_tables(tensor, captions=False)
    # no table anywhere on the slide but those of the tensors drawn
    drawn = sum(len(t["plots"]) for t in tensors)
    assert page.locator("#stage table.tensor-values, main table.tensor-values").count() == drawn
    return checked


def question(presenter, audience, screenshot) -> None:
    """A question whose answer is a tap on A1's cells: the slide, the phone and the live
    tally read by axe during the question and after its reveal."""
    join(audience, "Ada")
    expect(audience.locator(".answer-who")).to_have_text("Answering as Ada", timeout=WAIT)
    tap(audience, "A1", [tuple(Q["dA1"].answer_json()[0])])
    presenter.locator("#tally-count").filter(has_text="1 of").wait_for(timeout=WAIT)
    for page, where in ((presenter, "presenter"), (audience, "audience")):
        assert accessibility_problems(page) == [], where
    screenshot(presenter, "tables-presenter-dA1-question-1920x1080")
    screenshot(audience, "tables-audience-dA1-question-390x844")
    reveal_with(presenter, "keys")
    audience.locator(".answer-yours").wait_for(timeout=WAIT)
    for page, where in ((presenter, "presenter"), (audience, "audience")):
        assert accessibility_problems(page) == [], where
    for width, height in ((1920, 1080), (1280, 720), (390, 844)):
        presenter.set_viewport_size({"width": width, "height": height})
        audience.set_viewport_size({"width": width, "height": height})
        presenter.wait_for_timeout(300)
        screenshot(presenter, f"tables-presenter-dA1-revealed-{width}x{height}")
        screenshot(audience, f"tables-audience-dA1-revealed-{width}x{height}")
    presenter.set_viewport_size({"width": 1920, "height": 1080})


def test_every_slide_tensor_has_its_table_and_the_text_contrasts(
        open_page, demo_server, demo, screenshot):
    presenter, _ = open_page(presenter_path(demo), width=1920, height=1080)
    audience, _ = open_page(f"/follow/{demo_server.room}", width=390, height=844)
    for page in (presenter, audience):
        live(page)
    checked = 0
    pending_seen = 0
    for beat in range(len(LESSON.beats)):
        if beat:
            presenter.keyboard.press("ArrowRight")
        for page in (presenter, audience):
            on_beat(page, beat)
            checked += check_slide(page, beat)
        pending = audience.locator(".dpanel.pending")
        pending_seen += pending.count()
        # a tensor the room has not reached: not in the accessibility tree at all
        for name in pending.evaluate_all("els => els.map(e => e.dataset.tensor)"):
            tree = audience.locator("main").aria_snapshot()
            assert f'table "{name}' not in tree, (beat, name)
        if beat == ask_beat("dA1"):
            question(presenter, audience, screenshot)
            for page in (presenter, audience):
                check_slide(page, beat)
    assert checked > 500 and pending_seen > 0
