"""The demo pages' layout, in real headless Chromium against ``convlens demo``: on every
beat of the default lesson nothing of the slide is cut off — no formula or line of numbers
wider than its box, no tensor cell's text clipped, no heading or label cut at the top, and
on the presenter's page nothing under the live view of the room's answers, which the slide
shrinks to fit beside — on a phone (390×844, the audience page) and on the projector
(1280×720 and 1920×1080, the presenter page); and axe-core finds nothing on either page
during a question and after its reveal (a formula box that still scrolls is a region the
keyboard reaches)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from app.demo.lesson import load_lesson
from tests.demo.conftest import DemoServer
from tests.demo.test_demo_answers_browser import WAIT, ask_beat, tap, walk_to
from tests.demo.test_demo_browser import live, on_beat, presenter_path
from tests.demo.test_demo_trust_browser import join
from tests.support.axe import violations
from tests.support.localserver import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LESSON = load_lesson()
BEATS = len(LESSON.beats)
# the beats where a question is on screen (asked, or answered), when the live view is open
QUESTION_BEATS = {b for q in LESSON.questions for b in (ask_beat(q.id), ask_beat(q.id) + 1)}
SIZES = {"390x844": (390, 844), "1280x720": (1280, 720), "1920x1080": (1920, 1080)}


@pytest.fixture(scope="module")
def demo_server(tmp_path_factory):
    """One ``convlens demo`` for the whole module (it only moves the lesson): its rooms,
    results and state in a folder of its own."""
    folder = tmp_path_factory.mktemp("layout")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("XDG_STATE_HOME", str(folder / "xdg-state"))
        patch.delenv("CONVLENS_DEMO_KEY", raising=False)
        server = DemoServer(port=free_port(), state=folder / "rooms.sqlite3",
                            options=("--results", str(folder / "results.sqlite3")))
        server.start()
    yield server
    server.stop()


# Everything cut off on the slide as drawn now, one line each (empty: nothing). Measured
# after two frames, so a refit the page has queued (a resize observer) has been drawn.
CUT = """async () => {
    await document.fonts.ready;
    await new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done)));
    const out = [];
    const rect = (el) => el.getBoundingClientRect();
    const shown = (el) => el && !el.hidden && getComputedStyle(el).display !== "none"
        && rect(el).width > 0;
    for (const box of document.querySelectorAll("#formulas, #numbers")) {
        if (!shown(box)) continue;
        if (box.scrollWidth > box.clientWidth + 1) {
            out.push(`#${box.id} is ${box.scrollWidth - box.clientWidth} px too wide`);
        }
        const r = rect(box);
        let past = 0;
        for (const m of box.querySelectorAll("math, math *")) {
            const q = rect(m);
            if (!q.width) continue;
            past = Math.max(past, q.right - r.right, r.left - q.left, r.top - q.top,
                            q.bottom - r.bottom);
        }
        if (past > 1) out.push(`#${box.id}'s math reaches ${Math.round(past)} px past its box`);
    }
    for (const cell of document.querySelectorAll("#stage .cell")) {
        if (cell.scrollWidth > cell.clientWidth) {
            out.push(`cell ${cell.title}: its text is ${cell.scrollWidth} px in `
                     + `${cell.clientWidth}`);
            break;
        }
    }
    // the stage clips what leaves it: every label and cell is inside it (or, where a tensor
    // is too wide even at 12 px, the stage scrolls sideways and the keyboard reaches it)
    const stage = document.getElementById("stage");
    if (shown(stage)) {
        const s = rect(stage);
        const sideways = stage.getAttribute("tabindex") === "0"
            && getComputedStyle(stage).overflowX === "auto";
        for (const el of stage.querySelectorAll("figcaption, .cell, .card, .dveil")) {
            const q = rect(el);
            if (!q.width) continue;
            const across = !sideways && (q.left < s.left - 1 || q.right > s.right + 1);
            if (q.top < s.top - 1 || q.bottom > s.bottom + 1 || across) {
                out.push(`${el.localName} "${el.textContent.slice(0, 12)}" is cut by the stage`);
                break;
            }
        }
    }
    const main = rect(document.getElementById("main"));
    for (const h of document.querySelectorAll("#slide-title, #slide-phase")) {
        if (rect(h).top < main.top) out.push(`${h.id} is cut at the top`);
    }
    // nothing of the slide under the presenter's live view, or a side answer sheet
    const panels = ".tally-panel, .answer-panel[data-place='side']";
    for (const panel of document.querySelectorAll(panels)) {
        if (!shown(panel)) continue;
        const p = rect(panel);
        for (const el of document.querySelectorAll(
                "main.slide figcaption, main.slide .cell, .slide-title, #narration, "
                + "#prompt, #formulas, #numbers")) {
            if (!shown(el)) continue;
            const q = rect(el);
            if (q.right > p.left + 1 && q.left < p.right - 1 && q.bottom > p.top + 1
                && q.top < p.bottom - 1) {
                out.push(`${el.id || el.localName} "${el.textContent.slice(0, 12)}" is `
                         + `under the ${panel.className}`);
                break;
            }
        }
    }
    return out;
}"""


def cut(page) -> list[str]:
    return page.evaluate(CUT)


def settle(page, beat: int) -> None:
    on_beat(page, beat)
    if page.locator("body.presenter").count() and beat in QUESTION_BEATS:
        expect(page.locator("#tally-panel")).to_be_visible(timeout=WAIT)
        expect(page.locator("body")).to_have_class(re.compile(r"\bhas-tally\b"), timeout=WAIT)


def test_every_slide_fits_on_a_phone(open_page, demo_server, demo, screenshot):
    demo_server.goto(0)
    presenter, _ = open_page(presenter_path(demo))
    phone, _ = open_page(f"/follow/{demo_server.room}", width=390, height=844)
    live(presenter)
    live(phone)
    problems = {}
    for beat in range(BEATS):
        demo_server.goto(beat)
        on_beat(phone, beat)
        if found := cut(phone):
            problems[beat] = found
        slide = int(phone.locator("main").get_attribute("data-slide"))
        if slide in (0, 11, 16):  # the slides 1, 12 and 17, their formula in view
            phone.evaluate("document.getElementById('formulas').scrollIntoView({block: 'start'})")
            screenshot(phone, f"layout-audience-slide{slide + 1}-beat{beat}-390x844")
    assert problems == {}


@pytest.mark.parametrize("size", ["1280x720", "1920x1080"])
def test_every_slide_fits_on_the_projector_beside_the_live_view(
        open_page, demo_server, demo, screenshot, size):
    demo_server.goto(0)
    width, height = SIZES[size]
    presenter, _ = open_page(presenter_path(demo), width=width, height=height)
    live(presenter)
    problems = {}
    dA1 = ask_beat("dA1")
    for beat in range(BEATS):
        if beat:
            presenter.keyboard.press("ArrowRight")
        settle(presenter, beat)
        if found := cut(presenter):
            problems[beat] = found
        if beat in (dA1, dA1 + 1):
            screenshot(presenter, f"layout-presenter-dA1-beat{beat}-{size}")
    assert problems == {}
    # the dA1 question with the live view: dP1's numbers whole, A1 and dA1 in full
    presenter.keyboard.press("Home")
    walk_to(presenter, dA1)
    settle(presenter, dA1)
    assert cut(presenter) == []
    texts = presenter.locator('#stage [data-tensor="dP1"] .cell').all_inner_texts()
    assert len(texts) == 4 and all(re.fullmatch(r"-?\d*\.\d+|0", t) for t in texts), texts


@pytest.mark.parametrize("size", ["390x844", "1280x720"])
def test_axe_finds_nothing_during_a_question_and_after_its_reveal(
        open_page, demo_server, demo, screenshot, size):
    demo_server.goto(0)
    width, height = SIZES[size]
    presenter, _ = open_page(presenter_path(demo), width=width, height=height)
    phone, _ = open_page(f"/follow/{demo_server.room}", width=width, height=height)
    live(presenter)
    live(phone)
    beat = ask_beat("dA1")  # the widest formula, a tap question
    walk_to(presenter, beat)
    settle(presenter, beat)
    on_beat(phone, beat)
    tally = presenter.locator("#tally-panel")
    if tally.get_attribute("data-state") != "open":  # revealed by the other size's run
        presenter.keyboard.press("o")
        expect(tally).to_have_attribute("data-state", "open", timeout=WAIT)
    expect(phone.locator("#answer-panel")).to_be_visible(timeout=WAIT)
    for page, name in ((phone, "audience"), (presenter, "presenter")):
        cut(page)  # (lets a queued refit be drawn)
        assert violations(page) == [], (name, "question")
    join(phone, f"Ada {size}")
    tap(phone, "A1", [(0, 0, 2)])
    presenter.keyboard.press("c")
    expect(presenter.locator("#tally-panel")).to_have_attribute("data-state", "closed",
                                                                timeout=WAIT)
    presenter.keyboard.press("r")
    expect(presenter.locator("#tally-panel")).to_have_attribute("data-state", "revealed",
                                                                timeout=WAIT)
    expect(phone.locator(".answer-reveal")).to_be_visible(timeout=WAIT)
    for page, name in ((phone, "audience"), (presenter, "presenter")):
        assert cut(page) == [], (name, "revealed")
        screenshot(page, f"layout-{name}-dA1-revealed-{size}")
        assert violations(page) == [], (name, "revealed")
