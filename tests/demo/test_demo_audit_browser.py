"""The accessibility and markup audit of demo mode, in real Chromium against ``convlens
demo``: axe-core (WCAG 2.1 A and AA) finds nothing on the presenter's page and the audience
page during a question and after its reveal, at a projector's and a phone's size, and the
Nu HTML Checker finds no error in the served pages nor in the DOM of those states."""

from __future__ import annotations

import httpx
import pytest
from playwright.sync_api import expect

from tests.demo.test_demo_answers_browser import WAIT, ask_beat, choose, tap, walk_to
from tests.demo.test_demo_browser import live, presenter_path
from tests.demo.test_demo_trust_browser import join
from tests.support import nu
from tests.support.axe import violations

pytestmark = [pytest.mark.browser, pytest.mark.slow]

def settle(page) -> None:
    """Two frames: the slide refits after its ResizeObserver has seen the new size."""
    page.evaluate("() => new Promise((r) => requestAnimationFrame(() => "
                  "requestAnimationFrame(r)))")


QUESTIONS = ("A1", "dA2", "dA1")  # cells on Z1, a choice, cells on A1 (the tap heatmap)


def test_axe_and_the_nu_checker_find_nothing_in_the_room(open_page, demo_server, demo,
                                                         tmp_path):
    presenter, _ = open_page(presenter_path(demo), width=1280, height=720)
    phone, _ = open_page(f"/follow/{demo_server.room}", width=390, height=844)
    laptop, _ = open_page(f"/follow/{demo_server.room}", width=1280, height=720)
    for page in (presenter, phone, laptop):
        live(page)
    pages = {"presenter-1280x720": presenter, "phone-390x844": phone,
             "laptop-1280x720": laptop}
    found, dom = {}, {}

    def audit(moment: str) -> None:
        for name, page in pages.items():
            found[f"{name} {moment}"] = violations(page)
            dom[f"{name}-{moment}"] = page.content()
        for width, height in ((1920, 1080), (390, 844)):
            presenter.set_viewport_size({"width": width, "height": height})
            settle(presenter)
            found[f"presenter-{width}x{height} {moment}"] = violations(presenter)
        presenter.set_viewport_size({"width": 1280, "height": 720})
        settle(presenter)

    for i, question in enumerate(QUESTIONS):
        walk_to(presenter, ask_beat(question))
        if i == 0:
            join(phone, "Ada", "s-1")
            expect(phone.locator(".answer-who")).to_contain_text("Ada", timeout=WAIT)
        if question == "dA2":
            choose(phone, "negative")
        else:
            tap(phone, "Z1" if question == "A1" else "A1", [(0, 0, 0)])
        expect(presenter.locator("#tally-panel")).to_have_attribute("data-state", "open",
                                                                    timeout=WAIT)
        audit(f"{question}-open")
        presenter.keyboard.press("c")
        presenter.keyboard.press("r")
        expect(presenter.locator("#tally-panel")).to_have_attribute("data-state",
                                                                    "revealed", timeout=WAIT)
        expect(phone.locator(".answer-yours")).to_be_visible(timeout=WAIT)
        audit(f"{question}-revealed")
    assert found == {state: [] for state in found}
    served = {"presenter-served": httpx.get(f"{demo_server.url}{presenter_path(demo)}",
                                            timeout=10).text,
              "follow-served": httpx.get(f"{demo_server.url}/follow/{demo_server.room}",
                                         timeout=10).text}
    assert nu.errors({**dom, **served}, tmp_path / "nu") == []
