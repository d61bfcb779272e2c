"""The explorer from the keyboard: a skip link first, the pipeline one tab stop with arrow
keys, and Escape that closes what is open and gives the focus back to its button."""

from __future__ import annotations

import pytest

from tests.browser.test_explorer import SEQUENCE, step_to, wait_step

pytestmark = pytest.mark.browser

FOCUSED = """() => { const e = document.activeElement;
    return e ? (e.id || e.dataset.drawer || e.dataset.tensor || e.dataset.index
                || e.className || e.localName) : null; }"""


def test_escape_in_the_gradient_check_returns_to_its_button(page_factory):
    page, _ = page_factory()
    step_to(page, SEQUENCE.index("dW2"))
    button = page.get_by_role("button", name="Gradient check")
    for close in ("Escape", "✕"):
        button.focus()
        page.keyboard.press("Enter")
        page.wait_for_selector("#gradcheck:not([hidden])")
        if close == "Escape":
            page.keyboard.press("Escape")
        else:
            page.locator("#gradcheck .close").click()
        assert page.locator("#gradcheck").is_hidden()
        assert page.evaluate(FOCUSED) == "btn-gradcheck", close


def test_escape_closes_the_edit_drawer_after_painting_an_x_cell(page_factory):
    page, _ = page_factory()
    page.get_by_role("button", name="Edit input & network").click()
    page.wait_for_selector("#drawer-edit:not([hidden])")
    before = page.evaluate("() => document.querySelector('#main').dataset.step")
    cell = page.locator('.panel[data-tensor="X"] .cell').first
    cell.click()  # paints X[0,0] with the brush (1)
    page.wait_for_function("""() => document.querySelector(
        '.panel[data-tensor="X"] .cell').textContent === '1'""")
    page.keyboard.press("Escape")
    assert page.locator("#drawer-edit").is_hidden()
    assert page.evaluate(FOCUSED) == "edit"
    assert page.locator('[data-drawer="edit"]').get_attribute("aria-expanded") == "false"
    assert page.evaluate("() => document.querySelector('#main').dataset.step") == before
    # the ✕ gives the focus back as well
    page.keyboard.press("Enter")
    page.wait_for_selector("#drawer-edit:not([hidden])")
    page.locator("#drawer-edit .close").click()
    assert page.evaluate(FOCUSED) == "edit"


def test_a_skip_link_comes_first_and_the_first_tensor_is_near(page_factory):
    page, _ = page_factory(width=1280, height=720)
    page.keyboard.press("Tab")
    link = page.get_by_role("link", name="Skip to the step")
    assert page.evaluate(FOCUSED) == "skip-link"
    box = link.bounding_box()  # visible when focused
    assert box and box["y"] >= 0 and box["x"] >= 0 and box["width"] > 40
    page.keyboard.press("Enter")  # to the step: at the start, the input X
    assert page.evaluate(FOCUSED) == "X"
    # without the link: the toolbar's controls, one stop for the whole pipeline, then X
    page.reload()
    page.wait_for_selector("body.ready")
    stops = 0
    while stops < 40:
        page.keyboard.press("Tab")
        stops += 1
        if page.evaluate("() => document.activeElement.classList.contains('panel')"):
            break
    assert stops <= 15, stops  # 32 before (22 of them pipeline chips)
    # at a step, the link goes to the step's result
    page.get_by_role("button", name="Next").click()
    wait_step(page, "Z1")
    link.focus()
    page.keyboard.press("Enter")
    assert page.evaluate(FOCUSED) == "Z1"


def test_the_pipeline_is_one_tab_stop_walked_with_arrows(page_factory):
    page, _ = page_factory(width=1280, height=720)
    chips = page.locator("#pipeline .chip")
    assert chips.count() == 1 + len(SEQUENCE)
    stops = page.evaluate("""() => [...document.querySelectorAll('#pipeline .chip')]
        .filter(c => c.tabIndex === 0).map(c => c.dataset.index)""")
    assert stops == ["-1"]  # the current step's chip: at the start, X
    page.locator("#link-compare").focus()  # the header's last control
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED) == "-1"
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    assert page.evaluate(FOCUSED) == "1"  # A1's chip, and the walk did not move
    assert page.locator("main").get_attribute("data-step") == "start"
    page.keyboard.press("ArrowLeft")
    assert page.evaluate(FOCUSED) == "0"
    page.keyboard.press("End")
    assert page.evaluate(FOCUSED) == str(len(SEQUENCE) - 1)
    page.keyboard.press("Home")
    assert page.evaluate(FOCUSED) == "-1"
    page.keyboard.press("ArrowDown")
    page.keyboard.press("ArrowUp")
    page.keyboard.press("ArrowDown")
    assert page.evaluate(FOCUSED) == "0"
    page.keyboard.press("Enter")  # goes to Z1
    wait_step(page, "Z1")
    for _ in range(SEQUENCE.index("dA1")):
        page.keyboard.press("ArrowRight")
    page.keyboard.press(" ")  # Space presses it too
    wait_step(page, "dA1")
    assert page.locator("#btn-play").get_attribute("aria-label") == "Play"
    # Tab leaves the pipeline in one press, Shift+Tab comes back to the chip last used
    page.keyboard.press("Tab")
    assert not page.evaluate("() => document.activeElement.classList.contains('chip')")
    page.keyboard.press("Shift+Tab")
    assert page.evaluate(FOCUSED) == str(SEQUENCE.index("dA1"))
    # stepping elsewhere moves the tab stop to the walk's step
    page.get_by_role("button", name="Next").click()
    wait_step(page, "dZ1")
    stops = page.evaluate("""() => [...document.querySelectorAll('#pipeline .chip')]
        .filter(c => c.tabIndex === 0).map(c => c.dataset.index)""")
    assert stops == [str(SEQUENCE.index("dZ1"))]
