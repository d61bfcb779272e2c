"""Peer instruction and the concept check in real headless Chromium against ``convlens
demo``: a presenter and four phones vote twice on the dZ1 question (round 1 sealed — no
count of the distribution on any page before the reveal — then round 2 with a countdown,
the two wrong votes turned right), both rounds side by side at the reveal and how many
moved; then the pre-check and the post-check answered on the phones (and the ten SUS
statements), and the presenter's gain table with the ⟨g⟩ the answers make. axe-core
finds nothing on the sealed view, the reveal and the check; screenshots at the three
sizes."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import expect

from app.demo.lesson import load_lesson
from tests.demo.conftest import SHOTS
from tests.demo.test_demo_answers_browser import WAIT, ask_beat, walk_to
from tests.demo.test_demo_browser import live, presenter_path
from tests.demo.test_demo_trust_browser import join
from tests.support import nu
from tests.support.axe import violations

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LESSON = load_lesson()
PEER = next(q for q in LESSON.questions if q.rounds == 2)
RIGHT = PEER.options[PEER.truth]
WRONG = PEER.options[(PEER.truth + 1) % len(PEER.options)]
SIZES = ((1920, 1080), (1280, 720), (390, 844))
# a count of a distribution as the bars write it: "2 (50%)"
COUNT = re.compile(r"\d+ \(\d+%\)")
SURE = {"Sure": "sure", "Not sure": "unsure"}


def settle(page) -> None:
    """Two frames: what a resize observer queued is drawn."""
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => "
                  "requestAnimationFrame(r)))")


def vote(phone, option: str, confidence: str | None = None) -> None:
    """Choose an option on the phone's sheet (and say how sure, after answering: the same
    answer goes again with it)."""
    sheet = phone.locator(".answer-body")
    sheet.locator(".answer-option", has_text=option).click()
    expect(sheet.locator(".answer-status")).to_contain_text("Your answer", timeout=WAIT)
    expect(sheet.locator(".answer-option", has_text=option)).to_have_attribute(
        "aria-pressed", "true", timeout=WAIT)
    if confidence:
        button = sheet.locator(f'.answer-sure[data-value="{SURE[confidence]}"]')
        expect(button).to_have_text(confidence)
        button.click()
        expect(button).to_have_attribute("aria-pressed", "true", timeout=WAIT)
        expect(sheet.locator(".answer-status")).to_contain_text("Your answer is in",
                                                                timeout=WAIT)


def nothing_of_the_distribution(page) -> None:
    """No drawing of the room's answers and no count of one, in the DOM or the
    accessibility tree."""
    assert page.locator(".tally, .tally-bar, .tally-tap, .tally-pair").count() == 0
    assert not COUNT.search(page.locator("body").inner_text())
    assert not COUNT.search(page.locator("body").aria_snapshot())


def shots(page, name: str, sizes=SIZES, show: str = "#tally-panel") -> None:
    """Screenshots at `sizes`, the `show` element scrolled into view (on a phone-sized
    presenter's page the live view is below the slide)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    original = page.viewport_size
    for width, height in sizes:
        page.set_viewport_size({"width": width, "height": height})
        settle(page)
        page.evaluate("(s) => { const el = document.querySelector(s); "
                      "if (el && !el.hidden) el.scrollIntoView({block: 'nearest'}); }", show)
        settle(page)
        page.screenshot(path=str(SHOTS / f"peer-{name}-{width}x{height}.png"))
    page.set_viewport_size(original)
    settle(page)


def clipped(page, selector: str) -> list[str]:
    """What inside `selector` is cut: text wider than its box (not a scroller), or a box
    past the screen's right edge or its panel's sides."""
    return page.evaluate("""(selector) => {
        const out = [];
        const root = document.querySelector(selector);
        if (!root) return out;
        const width = document.documentElement.clientWidth;
        const box = root.getBoundingClientRect();
        const name = (el) => `${el.className || el.localName} "${el.textContent.slice(0, 20)}"`;
        const all = root.querySelectorAll("p, button, label, th, td, legend, span, input");
        for (const el of all) {
            const r = el.getBoundingClientRect();
            if (!r.width || el.closest(".visually-hidden")) continue;
            const style = getComputedStyle(el);
            if (r.right > width + 1) out.push(`${name(el)} past the screen`);
            else if (r.right > box.right + 1 || r.left < box.left - 1) {
                out.push(`${name(el)} past its panel`);
            }
            if (el.scrollWidth > el.clientWidth + 1 && style.overflowX !== "auto"
                && el.localName !== "input" && style.display !== "inline") {
                out.push(`${name(el)} cut (${el.scrollWidth} in ${el.clientWidth})`);
            }
        }
        return out;
    }""", selector)


DOM: dict[str, str] = {}  # the DOM of each state axe saw, for the Nu HTML Checker


def axe_all(found: dict, moment: str, pages: dict) -> None:
    for name, page in pages.items():
        found[f"{name} {moment}"] = violations(page)
        DOM[f"{name}-{moment}"] = page.content()


# ---------------------------------------------------------------- the concept check
def right_cells(q):
    return [tuple(c) for c in q.answer_json()]


def answer_check(phone, q, right: bool) -> None:
    """Answer the check question on the phone's screen, right or wrong."""
    panel = phone.locator(".check-panel")
    expect(panel.locator("#check-prompt")).to_have_text(q.prompt, timeout=WAIT)
    before = panel.locator(".check-progress").inner_text()
    if q.kind == "choice":
        option = q.truth if right else (q.truth + 1) % len(q.options)
        panel.locator(".answer-option").nth(option).click()
    elif q.kind == "cells":
        cells = right_cells(q)
        if not right:  # a cell ReLU passes, not one it stops
            shape = q.public()["shape"]
            cells = [next(c for c in np.ndindex(*shape) if c not in cells)]
        for cell in cells:
            panel.locator(f'.answer-cell[aria-label^="{q.tensor}[{",".join(map(str, cell))}] "]'
                          ).click()
        panel.locator(".answer-send").click()
    else:
        value = float(np.ravel(q.truth)[0]) + (0 if right else 1.0)
        panel.locator(".answer-grid input").first.fill(f"{value:.4f}")
        panel.locator(".answer-grid-form button[type=submit]").click()
    expect(panel.locator(".check-progress")).not_to_have_text(before, timeout=WAIT)


def gain(pre: float, post: float) -> float | None:
    return None if pre >= 1 else (post - pre) / (1 - pre)


def g_text(g) -> str:
    return "—" if g is None else f"{g:.2f}"


# right (1) or wrong (0) per phone, per question of the check, before and after
PRE = [[1, 1, 0], [0, 1, 0], [0, 0, 0], [0, 0, 0]]
POST = [[1, 1, 1], [1, 1, 0], [1, 1, 0], [0, 1, 0]]
SUS = [[3] * 10, [5, 1] * 5]  # phones 0 and 1: scores 50 and 100


def test_two_rounds_sealed_then_revealed_and_the_check_s_gain(open_page, demo_server, demo,
                                                               tmp_path):
    presenter, _ = open_page(presenter_path(demo), width=1920, height=1080)
    phones = [open_page(f"/follow/{demo_server.room}", width=390, height=844)[0]
              for _ in range(4)]
    for page in (presenter, *phones):
        live(page)
    found: dict[str, list[str]] = {}
    cuts: dict[str, list[str]] = {}

    # ---- round 1: a silent vote, two of four wrong, sealed
    walk_to(presenter, ask_beat(PEER.id))
    for i, phone in enumerate(phones):
        join(phone, f"P{i}")
        expect(phone.locator(".answer-who")).to_have_text(f"Answering as P{i}", timeout=WAIT)
        expect(phone.locator(".answer-round")).to_have_text("Round 1 of 2")
    # phone 0 says how sure before answering, phone 2 after (the answer goes again)
    phones[0].locator('.answer-sure[data-value="sure"]').click()
    vote(phones[0], RIGHT)
    vote(phones[1], RIGHT, "Not sure")
    vote(phones[2], WRONG, "Sure")
    vote(phones[3], WRONG)
    tally = presenter.locator("#tally-panel")
    expect(presenter.locator("#tally-round")).to_have_text(
        "Round 1 of 2 — sealed: 4 answered, 50% right", timeout=WAIT)
    quadrants = presenter.locator(".tally-confidence")
    expect(quadrants).to_contain_text("misconception to address")
    cells = quadrants.locator("tbody td")
    expect(cells).to_have_text([re.compile(r"^1$"), re.compile(r"^1$"),
                                re.compile(r"^1 misconception to address$"), re.compile(r"^0$")])
    expect(quadrants.locator("caption")).to_have_text("How sure, round 1 (1 did not say)")
    for page in (presenter, *phones):
        nothing_of_the_distribution(page)
    presenter.locator("#tally-close").click()
    expect(tally).to_have_attribute("data-state", "closed", timeout=WAIT)
    for phone in phones:
        expect(phone.locator(".answer-status")).to_contain_text("Round 1 is closed",
                                                                timeout=WAIT)
        nothing_of_the_distribution(phone)
    nothing_of_the_distribution(presenter)
    # the timer field says the lesson's default
    expect(presenter.locator("#tally-timer-s")).to_have_value(str(PEER.timer))
    axe_all(found, "sealed", {"presenter": presenter, "phone": phones[0]})
    shots(presenter, "presenter-sealed")
    shots(phones[2], "phone-sealed", ((390, 844), (1280, 720)))
    for width, height in SIZES:
        presenter.set_viewport_size({"width": width, "height": height})
        settle(presenter)
        cuts[f"presenter sealed {width}x{height}"] = clipped(presenter, "#tally-panel")
        # the bar, with its Check button and the badge of answers without an ID, fits
        cuts[f"bar {width}x{height}"] = presenter.evaluate(
            "() => { const bar = document.querySelector('.demo-bar'); "
            "return bar.scrollWidth > bar.clientWidth + 1 ? ['the bar overflows'] : []; }")
    presenter.set_viewport_size({"width": 1920, "height": 1080})

    # ---- round 2: a second vote with a countdown, adjusted while it runs
    presenter.locator("#tally-timer-s").fill("33")
    presenter.locator("#tally-round2").click()
    expect(tally).to_have_attribute("data-state", "open", timeout=WAIT)
    expect(tally).to_have_attribute("data-round", "2")
    timer = presenter.locator("#tally-timer")
    expect(timer).to_have_text(re.compile(r"^0:3[0-3] left$"), timeout=WAIT)
    for phone in phones:
        expect(phone.locator(".answer-round")).to_have_text("Round 2 of 2", timeout=WAIT)
        expect(phone.locator(".answer-timer")).to_have_text(re.compile(r"^0:3[0-3] left$"))
        # the countdown is a timer, not a live region: only 30 s and 10 s are said
        assert phone.locator(".answer-timer").get_attribute("role") == "timer"
        expect(phone.locator(".answer-timer-say")).to_have_attribute("aria-live", "polite")
    say = phones[0].locator(".answer-timer-say")
    expect(say).to_have_text("30 seconds left", timeout=6_000)
    first = phones[0].locator(".answer-timer").inner_text()
    expect(phones[0].locator(".answer-timer")).not_to_have_text(first, timeout=3_000)  # ticks
    expect(say).to_have_text("30 seconds left")  # said once, not every second
    presenter.locator("#tally-more").click()  # + 30 s
    expect(timer).to_have_text(re.compile(r"^0:5\d left$"), timeout=WAIT)
    expect(phones[1].locator(".answer-timer")).to_have_text(re.compile(r"^0:5\d left$"),
                                                            timeout=WAIT)
    presenter.locator("#tally-less").click()  # − 30 s
    expect(timer).to_have_text(re.compile(r"^0:[23]\d left$"), timeout=WAIT)
    expect(phones[1].locator(".answer-timer")).to_have_text(re.compile(r"^0:[23]\d left$"),
                                                            timeout=WAIT)
    presenter.locator("#tally-more").click()  # time to vote
    expect(timer).to_have_text(re.compile(r"^0:5\d left$"), timeout=WAIT)
    screens = {"presenter": presenter, "phone": phones[3]}
    for name, page in screens.items():
        shots(page, f"{name}-round2", ((390, 844), (1280, 720), (1920, 1080))
              if name == "presenter" else ((390, 844),))
    # the two wrong turn right, the two right say it again
    vote(phones[2], RIGHT, "Sure")
    vote(phones[3], RIGHT, "Not sure")
    vote(phones[0], RIGHT, "Sure")
    vote(phones[1], RIGHT)
    expect(presenter.locator("#tally-round")).to_have_text(
        "Round 2 of 2 — sealed: 4 answered, 100% right", timeout=WAIT)
    for page in (presenter, *phones):
        nothing_of_the_distribution(page)
    presenter.locator("#tally-close").click()
    expect(tally).to_have_attribute("data-state", "closed", timeout=WAIT)
    expect(presenter.locator("#tally-timer")).to_have_count(0)
    for phone in phones:
        expect(phone.locator(".answer-status")).to_contain_text("Round 2 is closed",
                                                                timeout=WAIT)
        expect(phone.locator(".answer-timer")).to_have_count(0)
        nothing_of_the_distribution(phone)
    nothing_of_the_distribution(presenter)

    # ---- the reveal: both rounds side by side, and who moved
    presenter.locator("#tally-reveal").click()
    expect(tally).to_have_attribute("data-state", "revealed", timeout=WAIT)
    expect(presenter.locator("#tally-moved")).to_have_text(
        "2 of 4 who answered both moved from wrong to right (0 from right to wrong)",
        timeout=WAIT)
    rounds = presenter.locator(".tally-pair > .tally")
    expect(rounds).to_have_count(2)
    expect(rounds.nth(0).locator(".tally-round")).to_have_text("Round 1")
    expect(rounds.nth(1).locator(".tally-round")).to_have_text("Round 2")
    right_bar = f"✓ {RIGHT}"
    expect(rounds.nth(0).locator(".tally-bar", has_text=right_bar)).to_contain_text("2 (50%)")
    expect(rounds.nth(1).locator(".tally-bar", has_text=right_bar)).to_contain_text("4 (100%)")
    for i, phone in enumerate(phones):
        expect(phone.locator(".answer-moved")).to_have_text("2 moved from wrong to right",
                                                            timeout=WAIT)
        expect(phone.locator(".tally-round")).to_have_text(["Round 1", "Round 2"])
        expect(phone.locator(".answer-yours")).to_contain_text(f"Round 2, yours: {RIGHT} — right ✓")
        expect(phone.locator(".answer-first")).to_contain_text(
            f"Round 1, yours: {RIGHT if i < 2 else WRONG} — "
            + ("right ✓" if i < 2 else "not quite ✗"))
    axe_all(found, "revealed", {"presenter": presenter, "phone": phones[2]})
    shots(presenter, "presenter-revealed")
    shots(phones[2], "phone-revealed", ((390, 844), (1280, 720)))
    # right and wrong are told by ✓ and ✗ as well as by colour: seen as a deuteranope sees it
    cdp = phones[2].context.new_cdp_session(phones[2])
    cdp.send("Emulation.setEmulatedVisionDeficiency", {"type": "deuteranopia"})
    shots(phones[2], "phone-revealed-deuteranopia", ((390, 844),))
    cdp.send("Emulation.setEmulatedVisionDeficiency", {"type": "none"})
    for width, height in SIZES:
        presenter.set_viewport_size({"width": width, "height": height})
        settle(presenter)
        cuts[f"presenter revealed {width}x{height}"] = clipped(presenter, "#tally-panel")
    presenter.set_viewport_size({"width": 1920, "height": 1080})
    cuts["phone revealed"] = clipped(phones[2], "#answer-panel")

    # ---- the concept check: the pre-check, then the post-check, on a slide without a question
    presenter.keyboard.press("ArrowRight")  # the answer
    presenter.keyboard.press("ArrowRight")  # dW1: no question
    for phone in phones:
        expect(phone.locator("#answer-panel")).to_be_hidden(timeout=WAIT)
    presenter.keyboard.press("k")
    panel = presenter.locator("#check-panel")
    expect(panel).to_be_visible()
    expect(presenter.locator("#check-close")).to_be_focused()
    expect(presenter.locator("#btn-check")).to_have_attribute("aria-pressed", "true")
    presenter.locator("#check-open-pre").click()
    expect(presenter.locator("#check-summary")).to_contain_text("The pre-check (before the "
                                                                "lesson) is open", timeout=WAIT)
    late, _ = open_page(f"/follow/{demo_server.room}", width=390, height=844)
    live(late)
    for phone in phones:
        expect(phone.locator(".check-panel h2")).to_have_text(
            "Concept check (before the lesson)", timeout=WAIT)
        expect(phone.locator(".check-progress")).to_have_text("Answered 0 of 3")
    # a phone that has not joined is asked to, with the sheet's form
    expect(late.locator(".check-join")).to_contain_text("Join first", timeout=WAIT)
    expect(late.locator("#answer-name")).to_be_visible()
    join(late, "Late")
    expect(late.locator(".check-progress")).to_have_text("Answered 0 of 3", timeout=WAIT)
    expect(late.locator("#answer-name")).to_have_count(0)
    axe_all(found, "check", {"phone": phones[0]})
    shots(phones[0], "phone-check", ((390, 844), (1280, 720)))
    pre = LESSON.check["pre"]
    for phone, marks in zip(phones, PRE):
        for q, right in zip(pre, marks):
            answer_check(phone, q, bool(right))
        expect(phone.locator(".check-progress")).to_have_text("Answered 3 of 3")
        expect(phone.locator(".check-status")).to_have_text("Every question answered. Thank you!")
    # no grade on the phone
    assert "right" not in phones[0].locator(".check-panel").inner_text().lower()
    expect(presenter.locator("#check-summary")).to_contain_text("answered: 4 before, 0 after",
                                                                timeout=WAIT)
    presenter.locator("#check-close-pre").click()
    for phone in phones:
        expect(phone.locator(".check-panel")).to_have_count(0, timeout=WAIT)
    presenter.locator("#check-open-post").click()
    post = LESSON.check["post"]
    for i, (phone, marks) in enumerate(zip(phones, POST)):
        expect(phone.locator(".check-panel h2")).to_have_text(
            "Concept check (after the lesson)", timeout=WAIT)
        for q, right in zip(post, marks):
            answer_check(phone, q, bool(right))
        expect(phone.locator(".check-progress")).to_have_text(
            "Answered 3 of 3 · then ten statements")
        expect(phone.locator(".sus-item")).to_have_count(10)
        if i == 0:
            axe_all(found, "sus", {"phone": phone})
            shots(phone, "phone-sus", ((390, 844),))
            phone.locator("#sus-send").click()  # not every statement has a choice
            expect(phone.locator(".check-status")).to_contain_text("statement 1 has none")
        if i < len(SUS):
            for item, value in enumerate(SUS[i]):
                phone.locator(f'label[for="sus-{item}-{value}"]').click()
            phone.locator("#sus-send").click()
            expect(phone.locator(".check-status")).to_have_text(
                "Thank you: your answers are in.", timeout=WAIT)
            expect(phone.locator(".check-progress")).to_contain_text("statements sent")
    cuts["phone sus"] = clipped(phones[0], "#answer-panel")

    # ---- the gain table
    expect(presenter.locator("#check-summary")).to_contain_text("answered: 4 before, 4 after",
                                                                timeout=WAIT)
    rows = presenter.locator("#gain-rows tr")
    expect(rows).to_have_count(len(pre))
    n = len(phones)
    for j, q in enumerate(pre):
        before = sum(m[j] for m in PRE) / n
        after = sum(m[j] for m in POST) / n
        expect(rows.nth(j).locator("th")).to_have_text(q.prompt)
        expect(rows.nth(j).locator("td")).to_have_text(
            [f"{round(before * 100)}%", f"{round(after * 100)}%", g_text(gain(before, after)),
             str(n)])
    before = sum(sum(m) / len(m) for m in PRE) / n
    after = sum(sum(m) / len(m) for m in POST) / n
    expect(presenter.locator("#gain-overall-row td")).to_have_text(
        [f"{round(before * 100)}%", f"{round(after * 100)}%", g_text(gain(before, after)),
         str(n)])
    sus = sum(2.5 * sum(a - 1 if k % 2 == 0 else 5 - a for k, a in enumerate(s))
              for s in SUS) / len(SUS)
    expect(presenter.locator("#gain-sus")).to_have_text(
        f"System Usability Scale: {sus:g} of 100 (n = {len(SUS)})")
    axe_all(found, "check", {"presenter": presenter})
    shots(presenter, "presenter-gain", show="#check-panel")
    for width, height in SIZES:
        presenter.set_viewport_size({"width": width, "height": height})
        settle(presenter)
        cuts[f"presenter gain {width}x{height}"] = clipped(presenter, "#check-panel")
    presenter.set_viewport_size({"width": 1920, "height": 1080})
    # the check's CSV: one row per student, each answer's point before and after
    with presenter.expect_download() as info:
        presenter.locator("#check-csv").click()
    rows = list(csv.reader(io.StringIO(Path(info.value.path()).read_text(encoding="utf-8-sig"))))
    ids = [q.id for q in pre]
    assert rows[0] == ["name", "student_id", *(f"{p}_{i}" for p in ("pre", "post") for i in ids),
                       "pre_total", "post_total", "sus"]
    assert rows[1][0] == "P0" and rows[1][-3:] == [str(sum(PRE[0])), str(sum(POST[0])), "50"]
    assert [r[0] for r in rows[1:]] == ["P0", "P1", "P2", "P3", "Late"]
    # Escape closes the panel, the focus back on its button
    presenter.locator("#check-open-post").focus()
    presenter.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(presenter.locator("#btn-check")).to_be_focused()
    expect(presenter.locator("#btn-check")).to_have_attribute("aria-pressed", "false")

    assert found == {moment: [] for moment in found}
    assert cuts == {moment: [] for moment in cuts}
    assert nu.errors(DOM, tmp_path / "nu") == []


def test_the_phones_reveal_marks_the_right_cells_and_its_own_taps(open_page, demo_server,
                                                                   demo):
    """A cells question's reveal: the right cells outlined and said ("✓ right cell"), the
    phone's own taps marked, on the presenter's heatmap and the phone's; a grid's reveal:
    the right answer with, in each cell, how many had it right."""
    presenter, _ = open_page(presenter_path(demo), width=1280, height=720)
    phone, _ = open_page(f"/follow/{demo_server.room}", width=390, height=844)
    live(presenter)
    live(phone)
    walk_to(presenter, ask_beat("A1"))
    join(phone, "Ada")
    q = next(q for q in LESSON.questions if q.id == "A1")
    right = right_cells(q)
    mine = [*right[:1], next(c for c in np.ndindex(*q.public()["shape"]) if c not in right)]
    for cell in mine:
        phone.locator(f'.answer-cell[aria-label^="Z1[{",".join(map(str, cell))}] "]').click()
    phone.locator(".answer-send").click()
    expect(phone.locator(".answer-status")).to_contain_text("Your answer", timeout=WAIT)
    presenter.keyboard.press("c")
    expect(presenter.locator("#tally-panel")).to_have_attribute("data-state", "closed",
                                                                timeout=WAIT)
    presenter.keyboard.press("r")
    expect(presenter.locator("#tally-panel")).to_have_attribute("data-state", "revealed",
                                                                timeout=WAIT)
    for page in (presenter, phone):
        marked = page.locator('.tally-tap[data-right="true"]')
        expect(marked).to_have_count(len(right), timeout=WAIT)
        expect(marked.first).to_contain_text("✓ right cell")
        assert page.locator('.tally-tap[data-right="false"]').filter(
            has_text="right cell").count() == 0
    own = phone.locator('.tally-tap[data-mine="true"]')
    expect(own).to_have_count(len(mine))
    expect(own.first).to_contain_text("your tap")
    expect(phone.locator(".tally-key")).to_have_text("● your taps")
    assert presenter.locator('.tally-tap[data-mine="true"]').count() == 0
    phone.locator(".tally-taps").scroll_into_view_if_needed()
    shots(phone, "phone-cells-revealed", ((390, 844),))
    shots(presenter, "presenter-cells-revealed", ((1280, 720),))
    assert violations(phone, "#answer-panel") == []
    assert violations(presenter, "#tally-panel") == []

    # a grid's reveal: the right answer, each cell with how many had it right
    walk_to(presenter, ask_beat("P1"))
    p1 = next(q for q in LESSON.questions if q.id == "P1")
    truth = np.ravel(p1.truth)
    inputs = phone.locator(".answer-grid input")
    expect(inputs).to_have_count(truth.size, timeout=WAIT)
    wrong = truth.copy()
    wrong[0] += 1  # one cell wrong
    for i, v in enumerate(wrong):
        inputs.nth(i).fill(f"{v:.4f}")
    phone.locator(".answer-grid-form button[type=submit]").click()
    expect(phone.locator(".answer-status")).to_contain_text("Your answer", timeout=WAIT)
    presenter.keyboard.press("c")
    expect(presenter.locator("#tally-panel")).to_have_attribute("data-state", "closed",
                                                                timeout=WAIT)
    presenter.keyboard.press("r")
    for page in (presenter, phone):
        cells = page.locator(".tally-right-cell")
        expect(cells).to_have_count(truth.size, timeout=WAIT)
        expect(cells.nth(0)).to_contain_text("0/1 right")
        expect(cells.nth(1)).to_contain_text("1/1 right")
    shots(phone, "phone-grid-revealed", ((390, 844),))
    assert violations(phone, "#answer-panel") == []
    assert violations(presenter, "#tally-panel") == []
