"""The shipped pooling lesson's contrast slide in real headless Chromium against ``convlens
demo --script``: the presenter steps to it with a phone following; both sides are drawn
(side by side on the projector, stacked on the phone) with the cells where they differ
outlined and said in words; the labels are "Left" and "Right" until the next press reveals
them and the engine's sentence; nothing of the slide, its labels or the other network's
numbers is in the DOM or the accessibility tree before its beat; axe finds nothing; and it
fits at 1920×1080, 1280×720 and 390×844 (screenshots in artifacts/screenshots)."""

from __future__ import annotations

import re

import numpy as np
import pytest
from playwright.sync_api import expect

from app.demo.lesson import load_lesson
from tests.demo.conftest import DemoServer
from tests.demo.test_demo_browser import live, on_beat, presenter_path
from tests.demo.test_demo_layout_browser import cut
from tests.support.axe import violations
from tests.support.localserver import free_port

from .test_demo_contrast_lesson import POOLING, comparison_at, contrast_beats

pytestmark = pytest.mark.browser

LESSON = load_lesson(POOLING)
ASKED, ANSWERED = contrast_beats(LESSON)
_, VIEW = comparison_at(LESSON)
NUMBER = re.compile(r"[-−]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")
LABELS = ("max-pool", "avg-pool")

# what the page holds: its text, every title and label, and the accessibility tree's names
HELD = """() => {
    const text = [document.querySelector("main").innerText];
    for (const el of document.querySelectorAll("main [title], main [aria-label], main *")) {
        text.push(el.getAttribute("title") || "", el.getAttribute("aria-label") || "");
    }
    text.push(document.querySelector("main").textContent);
    return text.join(" ");
}"""


def values(tensors) -> set[float]:
    return {round(float(v), 9) for name in tensors for v in np.ravel(tensors[name])}


# numbers only the average-pooling walk computes (at least 6 significant digits as drawn)
ONLY_B = {v for v in values(VIEW["b"]["tensors"]) - values(VIEW["a"]["tensors"])
          if len(repr(abs(v)).strip("0.").replace(".", "")) >= 6}


@pytest.fixture
def demo_server(tmp_path):
    server = DemoServer(port=free_port(), state=tmp_path / "rooms.sqlite3", script=POOLING)
    server.start()
    yield server
    server.stop()


def held(page) -> str:
    return page.evaluate(HELD)


def numbers(text: str) -> set[float]:
    return {round(float(m.replace("−", "-")), 9) for m in NUMBER.findall(text)}


def settle(page) -> None:
    if cut(page):  # the slide refits when its frame changes size: judge where it settles
        page.evaluate("() => new Promise((done) => requestAnimationFrame("
                      "() => requestAnimationFrame(() => setTimeout(done, 250))))")


def sides(page) -> list[dict]:
    return page.evaluate("""() => [...document.querySelectorAll("#stage .dside")].map((s) => {
        const r = s.getBoundingClientRect();
        return {side: s.dataset.side, title: s.querySelector(".dside-title").textContent,
                top: r.top, bottom: r.bottom, left: r.left, right: r.right,
                marked: s.querySelectorAll(".plot .cell.source").length,
                tabled: s.querySelectorAll("td.source").length,
                words: [...s.querySelectorAll(".ddiffer")].map((d) => d.textContent),
                panels: s.querySelectorAll(".dpanel").length};
    })""")


def test_the_presenter_steps_to_the_contrast_with_a_phone_following(
        open_page, demo_server, demo, screenshot):
    presenter, _ = open_page(presenter_path(demo), width=1920, height=1080)
    phone, _ = open_page(f"/follow/{demo_server.room}", width=390, height=844)
    live(presenter)
    live(phone)
    for beat in range(ANSWERED + 1):
        if beat:
            presenter.keyboard.press("ArrowRight")
        for page in (presenter, phone):
            on_beat(page, beat)
            text = held(page)
            if beat < ASKED:  # nothing of the contrast before its beat
                assert page.locator(".dside").count() == 0, beat
                assert not numbers(text) & ONLY_B, beat
            if beat <= ASKED:  # (the lesson's own slides are max-pool's: they say so)
                words = LABELS if beat == ASKED else ("avg-pool",)
                assert not [w for w in words if w in text], (beat, "a label shows early")
                assert VIEW["explain"][:40] not in text
    # the asked beat: both sides, "Left" and "Right", the differing cells outlined
    presenter.keyboard.press("ArrowLeft")
    for page in (presenter, phone):
        on_beat(page, ASKED)
        settle(page)
        assert cut(page) == [], page.viewport_size
        found = sides(page)
        assert [s["title"] for s in found] == ["Left", "Right"]
        assert all(s["panels"] >= 2 and s["marked"] > 0 and s["tabled"] == s["marked"]
                   for s in found), found
        assert "16 cells differ" in found[1]["words"]  # dA1: every cell
        assert page.locator("#contrast-explain").is_hidden()
        assert violations(page) == [], page.viewport_size
    left, right = sides(presenter)
    assert right["left"] >= left["right"] and abs(right["top"] - left["top"]) < 2  # beside
    left, right = sides(phone)
    assert right["top"] >= left["bottom"]  # stacked
    screenshot(presenter, "demo-contrast-following-asked-1920x1080")
    phone.evaluate("document.getElementById('stage').scrollIntoView({block: 'start'})")
    screenshot(phone, "demo-contrast-following-asked-390x844")
    # the next press reveals the labels and the engine's sentence
    presenter.keyboard.press("ArrowRight")
    for page in (presenter, phone):
        on_beat(page, ANSWERED)
        settle(page)
        assert [s["title"] for s in sides(page)] == ["Left: max-pool 2×2",
                                                    "Right: avg-pool 2×2"]
        expect(page.locator("#contrast-explain")).to_have_text(VIEW["explain"])
        assert cut(page) == [], page.viewport_size
        assert violations(page) == [], page.viewport_size
    screenshot(presenter, "demo-contrast-following-revealed-1920x1080")
    phone.evaluate("document.getElementById('contrast-explain').scrollIntoView({block: 'end'})")
    screenshot(phone, "demo-contrast-following-revealed-390x844")


@pytest.mark.parametrize("size", ["1920x1080", "1280x720", "390x844"])
def test_the_contrast_slide_fits_at_every_size(open_page, demo_server, demo, screenshot, size):
    width, height = map(int, size.split("x"))
    path = f"/follow/{demo_server.room}" if width < 600 else presenter_path(demo)
    page, _ = open_page(path, width=width, height=height)
    live(page)
    for beat, name in ((ASKED, "asked"), (ANSWERED, "revealed")):
        demo_server.goto(beat)
        on_beat(page, beat)
        settle(page)
        assert cut(page) == []
        assert page.locator("#stage .dside").count() == 2
        screenshot(page, f"demo-contrast-{name}-{size}")
