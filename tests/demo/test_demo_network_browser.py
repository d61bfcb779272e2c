"""A lesson on a two-conv, average-pool, softmax network in real headless Chromium against
``convlens demo --script``: the presenter walks every slide with a phone following, and on
neither page does a tensor (its panel, or any of its numbers in the DOM and the accessibility
tables) appear before its step; its slides fit at 1920×1080, 1280×720 and 390×844."""

from __future__ import annotations

import re

import pytest

from app.demo.lesson import parse_lesson
from tests.demo.conftest import DemoServer
from tests.demo.test_demo_browser import live, on_beat, presenter_path
from tests.demo.test_demo_layout_browser import cut
from tests.support.localserver import free_port

from .network_lesson import NET, allowed_panel, cursor_of, lesson_text, unshown_values

pytestmark = pytest.mark.browser

TEXT = lesson_text()
LESSON = parse_lesson(TEXT)
NUMBER = re.compile(r"[-−]?\d+(?:\.\d+)?(?:e[-+]?\d+)?")

# every panel's state and every number the page holds: text, titles and labels
SHOWN = """() => {
    const panels = [...document.querySelectorAll("#stage .dpanel")].map((f) => ({
        key: f.dataset.tensor, pending: f.classList.contains("pending"),
        values: f.querySelectorAll(".cell, .card, .value, td").length}));
    const text = [document.querySelector("main").innerText];
    for (const el of document.querySelectorAll("main [title], main [aria-label]")) {
        text.push(el.getAttribute("title") || "", el.getAttribute("aria-label") || "");
    }
    return {panels, text: text.join(" ")};
}"""


@pytest.fixture
def demo_server(tmp_path):
    script = tmp_path / "two.toml"
    script.write_text(TEXT, encoding="utf-8")
    server = DemoServer(port=free_port(), state=tmp_path / "rooms.sqlite3", script=script)
    server.start()
    yield server
    server.stop()


def check_page(page, beat: int) -> None:
    cursor = cursor_of(LESSON, beat)
    shown = page.evaluate(SHOWN)
    assert shown["panels"], f"beat {beat}: no panel drawn"
    for panel in shown["panels"]:
        if panel["pending"]:
            assert panel["values"] == 0, f"beat {beat}: {panel['key']} pending with values"
        else:
            assert allowed_panel(panel["key"], cursor), f"beat {beat}: {panel['key']} early"
    # every number on the page with at least 6 significant digits (titles hold full values)
    found = {round(float(m.replace("−", "-")), 9) for m in NUMBER.findall(shown["text"])
             if len(m.strip("-−0.").replace(".", "")) >= 6}
    early = found & unshown_values(cursor)
    assert not early, f"beat {beat}: later values {early} on the page"


def test_a_presenter_walks_the_network_lesson_with_a_phone_following(
        open_page, demo_server, demo, screenshot):
    presenter, _ = open_page(presenter_path(demo), width=1920, height=1080)
    phone, _ = open_page(f"/follow/{demo_server.room}", width=390, height=844)
    live(presenter)
    live(phone)
    beats = len(LESSON.beats)
    layout = {}
    for beat in range(beats):
        if beat:
            presenter.keyboard.press("ArrowRight")
        on_beat(presenter, beat)
        on_beat(phone, beat)
        for page in (presenter, phone):
            check_page(page, beat)
            # the slide refits when its frame changes size: judge the layout it settles on
            if cut(page):
                page.evaluate("() => new Promise((done) => requestAnimationFrame("
                              "() => requestAnimationFrame(() => setTimeout(done, 250))))")
            if found := cut(page):
                layout[(beat, page is phone)] = found
    assert layout == {}
    assert phone.locator("main").get_attribute("data-step") == "loss-after"
    assert phone.locator("#summary").inner_text().count(f"{NET.last}[2]") == 1


@pytest.mark.parametrize("size", ["1920x1080", "1280x720", "390x844"])
def test_a_slide_of_the_network_fits_at_every_size(open_page, demo_server, demo, screenshot,
                                                   size):
    width, height = map(int, size.split("x"))
    path = f"/follow/{demo_server.room}" if width < 600 else presenter_path(demo)
    page, _ = open_page(path, width=width, height=height)
    live(page)
    # Z2: the second conv, its (2, 2, 2, 2) weights read from P1's two channels
    beat = next(b for b, (i, revealed) in enumerate(LESSON.beats)
                if LESSON.slides[i].name == "Z2" and revealed)
    demo_server.goto(beat)
    on_beat(page, beat)
    assert page.locator('.dpanel[data-tensor="W2"] .plot').count() == 4  # filter × channel
    assert cut(page) == []
    screenshot(page, f"demo-network-Z2-{size}")
    beat = next(b for b, (i, revealed) in enumerate(LESSON.beats)
                if LESSON.slides[i].name == "dW2" and revealed)
    demo_server.goto(beat)
    on_beat(page, beat)
    assert cut(page) == []
    screenshot(page, f"demo-network-dW2-{size}")
