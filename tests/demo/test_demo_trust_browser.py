"""Trust in the room, in real headless Chromium against ``convlens demo``: a phone's sheet
closes the moment the presenter moves to the answer, an answer after a reopened reveal is
said to count for nothing, a student ID taken by another phone is refused and shows on
the presenter's list of students, where look-alike names are marked and students are
removed (their phone is asked to join again)."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.demo.test_demo_answers_browser import WAIT, ask_beat, choose, walk_to
from tests.demo.test_demo_browser import live, presenter_path
from tests.support.axe import violations

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def join(phone, name: str, sid: str = "") -> None:
    expect(phone.locator("#answer-name")).to_be_visible(timeout=WAIT)
    phone.locator("#answer-name").fill(name)
    phone.locator("#answer-sid").fill(sid)
    phone.locator("#answer-join").click()


def test_the_room_is_closed_at_the_answer_and_the_presenter_sees_every_student(
        open_page, demo_server, demo, screenshot):
    presenter, _ = open_page(presenter_path(demo), width=1920, height=1080)
    # the refused claim (409) and the removed student's answer (403) are said on the page
    phones = [open_page(f"/follow/{demo_server.room}", width=390, height=844,
                        expected_errors=("409 (Conflict)", "403 (Forbidden)"))[0]
              for _ in range(3)]
    for page in (presenter, *phones):
        live(page)
    walk_to(presenter, ask_beat("dA2"))
    join(phones[0], "Ada", "s-100")
    expect(phones[0].locator(".answer-who")).to_have_text("Answering as Ada", timeout=WAIT)
    join(phones[1], "Mallory", "s-100")  # somebody else's ID
    expect(phones[1].locator(".answer-status")).to_contain_text("already claimed",
                                                                timeout=WAIT)
    screenshot(phones[1], "trust-phone-id-claimed-390x844")
    assert violations(phones[1], "#answer-panel") == []
    join(phones[2], "\u0410da")  # a Cyrillic А
    expect(phones[2].locator(".answer-who")).to_contain_text("Answering as", timeout=WAIT)

    # the list of students, opened with its button
    presenter.locator("#btn-students").click()
    panel = presenter.locator("#students-panel")
    expect(panel).to_be_visible()
    expect(presenter.locator("#btn-students")).to_have_attribute("aria-pressed", "true")
    expect(presenter.locator("#students-summary")).to_contain_text("2 joined · 2 of 1000 "
                                                                   "places held · 1 disputed ID")
    rows = presenter.locator("#students-rows tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("ID also claimed by “Mallory”")
    expect(rows.nth(0)).to_contain_text("looks like")
    expect(rows.nth(1)).to_contain_text("mixes Cyrillic and Latin letters")
    assert violations(presenter, "#students-panel") == []
    assert violations(presenter, ".demo-bar") == []
    for size, name in (((1920, 1080), "1920x1080"), ((1280, 720), "1280x720"),
                       ((390, 844), "390x844")):
        presenter.set_viewport_size({"width": size[0], "height": size[1]})
        screenshot(presenter, f"trust-presenter-students-{name}")
        overflow = presenter.evaluate("""() => {
            const p = document.getElementById('students-panel');
            return [p.scrollWidth - p.clientWidth,
                    document.querySelector('.demo-bar').getBoundingClientRect().bottom
                      - p.getBoundingClientRect().top];
        }""")
        assert overflow[0] <= 1 and overflow[1] <= 1, (name, overflow)  # nothing cut off
    presenter.set_viewport_size({"width": 1920, "height": 1080})
    rows.nth(0).locator(".students-dismiss").click()  # Ada keeps her ID
    expect(presenter.locator("#students-status")).to_contain_text("Claim dismissed")
    expect(presenter.locator("#students-summary")).not_to_contain_text("disputed")
    # the look-alike is removed; its phone is asked to join again at its next answer
    presenter.locator('button[aria-label="Remove \u0410da"]').click()
    expect(rows).to_have_count(1)
    choose(phones[0], "negative")
    phones[2].locator(".answer-option", has_text="positive").click()
    expect(phones[2].locator("#answer-name")).to_be_visible(timeout=WAIT)
    # S closes the list (Escape too), and the keys drive the lesson again
    presenter.keyboard.press("s")
    expect(panel).to_be_hidden()
    presenter.keyboard.press("s")
    expect(panel).to_be_visible()
    presenter.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    expect(presenter.locator("#btn-students")).to_be_focused()

    # the answer beat closes the phone's sheet at once; reopened, an answer is late
    walk_to(presenter, ask_beat("dA2") + 1)
    expect(phones[0].locator(".answer-option").first).to_be_disabled(timeout=WAIT)
    expect(phones[0].locator(".answer-status")).to_contain_text("The question is closed")
    expect(presenter.locator("#tally-panel")).to_have_attribute("data-state", "closed",
                                                                timeout=WAIT)
    presenter.keyboard.press("o")
    expect(presenter.locator("#tally-panel")).to_have_attribute("data-state", "open",
                                                                timeout=WAIT)
    phones[0].locator(".answer-option", has_text="positive").click()
    expect(phones[0].locator(".answer-status")).to_contain_text("counts for no points",
                                                                timeout=WAIT)
    screenshot(phones[0], "trust-phone-after-reveal-390x844")
    assert violations(phones[0], "#answer-panel") == []
    # the prune button: nobody left who never answered, so it is off; a new one turns it on
    join(phones[1], "Grace")
    expect(phones[1].locator(".answer-who")).to_contain_text("Grace", timeout=WAIT)
    presenter.keyboard.press("s")
    expect(presenter.locator("#students-rows tr")).to_have_count(2, timeout=WAIT)
    presenter.locator("#students-prune").click()
    expect(presenter.locator("#students-rows tr")).to_have_count(1, timeout=WAIT)
    expect(presenter.locator("#students-rows")).to_contain_text("Ada")
    expect(presenter.locator("#students-rows")).to_contain_text("+1 after a reveal")
    expect(presenter.locator("#students-prune")).to_be_disabled()
    presenter.locator("#students-close").click()
    expect(panel).to_be_hidden()
    # the live view counts the answer after the reveal apart, and still reads once the
    # phones have gone
    count = presenter.locator("#tally-count")
    expect(count).to_have_text("1 of 3 following answered (+1 after the reveal) · open",
                               timeout=WAIT)
    for phone in phones:
        phone.close()
    expect(count).to_have_text("1 answered (+1 after the reveal) · 0 following now · open",
                               timeout=WAIT)
