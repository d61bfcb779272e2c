"""The accessibility and markup audit of the explorer and Practice, in real Chromium: axe-core
(WCAG 2.1 A and AA) finds nothing on any page state, at a projector's and a phone's size,
and the Nu HTML Checker finds no error in the served pages nor in the DOM of each state."""

from __future__ import annotations

import httpx
import pytest

import engine
from tests.browser.conftest import SHOTS
from tests.support import nu
from tests.support.axe import violations

pytestmark = pytest.mark.browser

INDEX = {name: i for i, name in enumerate(engine.STEP_NAMES)}
EXPLORER_STATES = {"start": -1, "mid-forward": INDEX["P1"], "mid-backward": INDEX["dA1"],
                   "update": INDEX["W1"]}
SIZES = {"1280x720": (1280, 720), "390x844": (390, 844)}


def explorer_states(page):
    """(name, page) at each state of a walk, and with each tool open."""
    at = -1
    for name, cursor in EXPLORER_STATES.items():
        for _ in range(cursor - at):
            page.keyboard.press("ArrowRight")
        step_to_done(page, cursor)
        at = cursor
        yield name
    page.locator('button[data-drawer="edit"]').click()
    page.locator(".drawer:not([hidden])").first.wait_for()
    yield "edit-open"
    page.keyboard.press("Escape")
    page.locator('button[data-drawer="train"]').click()
    page.locator(".drawer:not([hidden])").first.wait_for()
    yield "train-open"
    page.keyboard.press("Escape")
    page.locator("#btn-gradcheck").click()
    page.locator(".modal:not([hidden])").first.wait_for()
    yield "gradcheck-open"
    page.keyboard.press("Escape")


def step_to_done(page, cursor):
    name = engine.STEP_NAMES[cursor] if cursor >= 0 else "start"
    page.wait_for_function("(name) => document.querySelector('main').dataset.step === name",
                           arg=name)


@pytest.mark.parametrize("size", SIZES)
def test_axe_finds_nothing_on_any_explorer_state(page_factory, size, tmp_path):
    width, height = SIZES[size]
    page, _ = page_factory("/", width=width, height=height)
    found, dom = {}, {}
    for state in explorer_states(page):
        found[state] = violations(page)
        dom[f"explorer-{state}-{size}"] = page.content()
    assert found == {state: [] for state in found}
    if size == "1280x720":
        assert nu.errors(dom, tmp_path / "nu") == []


@pytest.mark.parametrize("size", SIZES)
def test_axe_finds_nothing_on_practice(page_factory, size, tmp_path):
    width, height = SIZES[size]
    page, _ = page_factory("/practice?step=dA1&seed=4", width=width, height=height)
    found, dom = {"open": violations(page)}, {f"practice-open-{size}": page.content()}
    page.get_by_role("button", name="Empty cells → 0").click()
    page.get_by_role("button", name="Check").click()
    page.locator("#feedback.wrong").wait_for()
    found["checked-wrong"] = violations(page)
    dom[f"practice-wrong-{size}"] = page.content()
    page.get_by_role("button", name="Show answer").click()
    page.locator("#feedback.revealed").wait_for()
    found["revealed"] = violations(page)
    dom[f"practice-revealed-{size}"] = page.content()
    assert found == {state: [] for state in found}
    if size == "1280x720":
        assert nu.errors(dom, tmp_path / "nu") == []


def test_the_served_pages_are_valid_html(server_url, tmp_path):
    pages = {"explorer": "/", "practice": "/practice", "docs": "/docs"}
    served = {name: httpx.get(server_url + path, timeout=10).text
              for name, path in pages.items()}
    assert nu.errors(served, SHOTS.parent / "nu" / "served") == []


@pytest.mark.parametrize("size", SIZES)
def test_axe_finds_nothing_on_a_custom_network_and_its_edit_drawer(page_factory, size):
    """A two-conv softmax network mid-backward, and the Edit drawer's layer list with a
    draft that does not fit (its problems listed)."""
    from tests.browser.test_explorer_network import LINK

    width, height = SIZES[size]
    page, _ = page_factory(LINK, width=width, height=height)
    page.get_by_role("button", name="Go to step 19: backward dW2").click()
    page.wait_for_function("() => document.querySelector('main').dataset.step === 'dW2'")
    found = {"mid-backward": violations(page)}
    page.locator('button[data-drawer="edit"]').click()
    page.locator("#drawer-edit:not([hidden])").wait_for()
    found["edit-open"] = violations(page)
    page.get_by_role("button", name="Move layer 7 down").click()  # dense before the flatten
    page.locator("#net-problems li").first.wait_for()
    found["edit-refused"] = violations(page)
    assert found == {state: [] for state in found}
