"""The practice page in real headless Chromium against a real server."""

from __future__ import annotations

import re

import numpy as np
import pytest

import engine
from engine.misconceptions import BY_ID

pytestmark = pytest.mark.browser

SIZES = [(1920, 1080), (1280, 720), (390, 844)]


def text(value: float) -> str:
    """A value as a student would type it: four significant digits."""
    return f"{float(value):.4g}"


def cells_of(value) -> list[float]:
    return [float(v) for v in np.ravel(value)]


def fill(page, values) -> None:
    inputs = page.locator("#answer-grid input")
    assert inputs.count() == len(values)
    for i, v in enumerate(values):
        inputs.nth(i).fill(text(v))


def truth(step: str, seed: int) -> engine.Exercise:
    return engine.exercise(step, engine.variant(seed))


def layout_problems(page) -> list[str]:
    """Text under 12 px, controls outside the page's width, horizontal overflow."""
    return page.evaluate("""() => {
        const problems = [];
        const width = document.documentElement.clientWidth;
        if (document.scrollingElement.scrollWidth > width + 1)
            problems.push(`page scrolls sideways: ${document.scrollingElement.scrollWidth}`);
        for (const el of document.querySelectorAll('body *')) {
            const style = getComputedStyle(el);
            if (style.display === 'none' || style.visibility === 'hidden') continue;
            const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
            if (own && el.getClientRects().length && parseFloat(style.fontSize) < 12)
                problems.push(`${el.tagName}.${el.className} ${style.fontSize}: `
                              + el.textContent.trim().slice(0, 30));
        }
        for (const el of document.querySelectorAll('.values')) {
            if (el.scrollWidth > el.clientWidth + 1)
                problems.push(`values clipped: ${el.parentElement.dataset.tensor}`);
        }
        for (const el of document.querySelectorAll('button, input, select, a')) {
            const r = el.getBoundingClientRect();
            if (el.offsetParent === null) continue;
            if (r.left < -1 || r.right > width + 1)
                problems.push(`${el.tagName} ${el.textContent.trim()} outside: `
                              + `${r.left}-${r.right}`);
        }
        return problems;
    }""")


def test_solving_dA1_after_routing_to_every_cell(page_factory, screenshot):
    ex = truth("dA1", 3)
    config = engine.Config()
    every = BY_ID["da1-every-cell"].wrong(ex.given, engine.Sizes.of(config), None)
    page, _ = page_factory("/practice?step=dA1&seed=3", width=1280, height=720)
    assert page.locator("#task-title").inner_text() == "Compute dA1"
    assert "top-left" in page.locator("#task-prompt").inner_text()
    # the givens are exactly A1 and dP1, with their values written out
    assert sorted(page.locator(".given").evaluate_all(
        "els => els.map(e => e.dataset.tensor)")) == ["A1", "dP1"]
    shown = page.locator('.given[data-tensor="dP1"] .value').all_inner_texts()
    assert shown == [f"{v:.4g}" for v in cells_of(ex.given["dP1"])]
    # first try: the gradient sent to every cell of each window
    fill(page, cells_of(every))
    page.get_by_role("button", name="Check").click()
    feedback = page.locator("#feedback")
    feedback.locator(".misconception").wait_for()
    assert "Gradient sent to every cell of the window" in feedback.inner_text()
    wrong = ~engine.practice.right_cells(every, ex.truth)
    assert page.locator("#answer-grid input.wrong").count() == int(wrong.sum())
    assert page.locator("#answer-grid input.right").count() == int((~wrong).sum())
    assert f"{int((~wrong).sum())} of 16" in feedback.inner_text()
    hint = page.locator("#hints li")
    assert hint.count() == 1 and "is computed from A1" in hint.inner_text()
    assert page.locator(".value.feeds").count() == 5  # a window of A1 and its dP1 cell
    screenshot(page, "practice-dA1-wrong-1280x720")
    # second try, by keyboard: type each cell, arrow keys between them, Enter checks
    first = page.locator("#answer-grid input").first
    first.focus()
    values = cells_of(ex.truth)
    for i, v in enumerate(values):
        page.keyboard.press("Control+A")
        page.keyboard.type(text(v))
        if i % 4 < 3:
            page.keyboard.press("ArrowRight")
        elif i < len(values) - 1:
            page.keyboard.press("ArrowDown")
            for _ in range(3):
                page.keyboard.press("ArrowLeft")
    page.keyboard.press("Enter")
    page.locator("#feedback.solved").wait_for()
    assert feedback.inner_text().startswith("Right.")
    assert page.locator("#answer-grid input.right").count() == 16
    assert page.get_by_role("button", name="Check").is_disabled()
    assert page.locator(".value.feeds, #answer-grid input.hinted").count() == 0
    # the hint about the first try's wrong cell no longer holds: it goes
    assert page.locator("#hints li").count() == 0
    screenshot(page, "practice-dA1-right-1280x720")


def mark_problems(page) -> list[str]:
    """Each ✓/✗ mark: at least 14 px tall as rendered, inside its input's box, and left of
    where the input's text can go (its left padding), so it never covers the typed value."""
    return page.evaluate("""() => {
        const problems = [];
        const marks = document.querySelectorAll('#answer-grid .mark');
        if (!marks.length) problems.push('no marks');
        for (const mark of marks) {
            const input = mark.parentElement.querySelector('input');
            const m = mark.getBoundingClientRect(), r = input.getBoundingClientRect();
            const style = getComputedStyle(input);
            const textStart = r.left + parseFloat(style.borderLeftWidth)
                              + parseFloat(style.paddingLeft);
            const name = input.getAttribute('aria-label');
            if (m.height < 14) problems.push(`${name} mark ${m.height}px tall`);
            if (m.right > textStart + 0.5) problems.push(`${name} mark over the text`);
            if (m.left < r.left || m.top < r.top || m.bottom > r.bottom)
                problems.push(`${name} mark outside its input`);
            const expected = input.classList.contains('right') ? '✓' : '✗';
            if (mark.textContent !== expected) problems.push(`${name} mark ${mark.textContent}`);
        }
        return problems;
    }""")


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (390, 844)])
def test_right_and_wrong_marks_are_readable_and_beside_the_value(
        page_factory, screenshot, width, height):
    ex = truth("dA1", 3)
    page, _ = page_factory("/practice?step=dA1&seed=3", width=width, height=height)
    values = cells_of(ex.truth)
    values[1] = values[1] + 5  # one cell wrong, the longest values kept as typed
    fill(page, values)
    page.get_by_role("button", name="Check").click()
    page.locator("#feedback.wrong").wait_for()
    assert page.locator("#answer-grid .mark.wrong").count() == 1
    assert page.locator("#answer-grid .mark.right").count() == 15
    assert mark_problems(page) == []
    # every typed value still shows in full: the text fits beside the mark
    overflowing = page.evaluate("""() => [...document.querySelectorAll('#answer-grid input')]
        .filter(i => i.scrollWidth > i.clientWidth).map(i => i.getAttribute('aria-label'))""")
    assert overflowing == []
    # typing in a marked cell takes its mark away
    page.locator("#answer-grid input").nth(1).fill(text(ex.truth.ravel()[1]))
    assert page.locator("#answer-grid .mark").count() == 15
    page.locator("#answer-grid").scroll_into_view_if_needed()
    screenshot(page, f"practice-marks-{width}x{height}")


def test_after_show_answer_the_whole_pass_says_to_go_on(page_factory, screenshot):
    seed = 5
    v = engine.variant(seed)
    page, _ = page_factory(f"/practice?chain=1&seed={seed}", width=1280, height=720)
    next_button = page.get_by_role("button", name="Next step ▶")
    fill(page, [0.0] * 16)
    page.get_by_role("button", name="Check").click()
    page.locator("#feedback.wrong").wait_for()
    assert page.locator("#hints li").count() == 1
    assert not next_button.is_visible()
    page.get_by_role("button", name="Show answer").click()
    page.locator("#feedback.revealed").wait_for()
    feedback = page.locator("#feedback").inner_text()
    assert "Next step" in feedback and "try new numbers" not in feedback.lower()
    assert next_button.is_visible()
    page.wait_for_function("() => document.activeElement.id === 'btn-next'")
    # the hint is kept, marked as about the earlier try
    assert page.locator("#hints.past li").count() == 1
    screenshot(page, "practice-chain-revealed-1280x720")
    page.keyboard.press("Enter")
    page.wait_for_function("() => document.getElementById('main').dataset.step === 'A1'")
    assert page.locator("#hints li").count() == 0
    assert page.locator("#hints.past").count() == 0
    fill(page, cells_of(engine.exercise("A1", v).truth))
    page.get_by_role("button", name="Check").click()
    page.locator("#feedback.solved").wait_for()


def test_a_whole_pass_chain(page_factory):
    seed = 5
    v = engine.variant(seed)
    page, _ = page_factory(f"/practice?chain=1&seed={seed}", width=1280, height=720)
    next_button = page.get_by_role("button", name="Next step ▶")
    for i, step in enumerate(engine.STEP_NAMES):
        assert page.locator("#task-title").inner_text() == f"Compute {step}"
        assert f"step {i + 1} of 21" in page.locator("#chain-progress").inner_text()
        assert not next_button.is_visible()
        fill(page, cells_of(engine.exercise(step, v).truth))
        if i == 0:  # by keyboard: Enter in the grid checks, Enter again moves on
            page.locator("#answer-grid input").last.press("Enter")
        else:
            page.get_by_role("button", name="Check").click()
        page.locator("#feedback.solved").wait_for()
        if i == 0:
            next_button.wait_for()
            page.wait_for_function("() => document.activeElement.id === 'btn-next'")
            page.keyboard.press("Enter")
            page.wait_for_function("() => document.getElementById('main').dataset.step === 'A1'")
        elif i < len(engine.STEP_NAMES) - 1:
            next_button.click()
            page.wait_for_function(
                "s => document.getElementById('main').dataset.step === s",
                arg=engine.STEP_NAMES[i + 1])
    assert not next_button.is_visible()
    assert page.locator("#task-title").inner_text() == "Compute b2"


def test_every_other_control(page_factory, server_url):
    ex = truth("dZ1", 8)
    page, _ = page_factory("/practice?step=dZ1&seed=8", width=1280, height=720)
    inputs = page.locator("#answer-grid input")
    # a click on a given value enters it into the cell last focused
    inputs.nth(5).focus()
    dA1 = cells_of(ex.given["dA1"])
    page.get_by_role("button", name=re.compile(r", dA1\[0,1,1\]$")).click()  # "0.12, dA1[0,1,1]"
    assert float(inputs.nth(5).input_value()) == dA1[5]
    # ... and so does a click on its heatmap cell (row 2, column 3 of the 4x4 dA1 map)
    inputs.nth(6).focus()
    page.locator('.given[data-tensor="dA1"] .plot .cell[data-r="2"][data-c="3"]').click()
    page.wait_for_function("() => document.querySelectorAll('#answer-grid input')[6].value")
    assert float(inputs.nth(6).input_value()) == dA1[11]
    # a pasted row fills the row from the cell it lands in
    inputs.nth(0).focus()
    page.evaluate("""() => {
        const input = document.querySelector('#answer-grid input');
        const data = new DataTransfer();
        data.setData('text/plain', '1\\t2, 3 4\\n5 6');
        input.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data, bubbles: true,
                                                         cancelable: true}));
    }""")
    assert [inputs.nth(i).input_value() for i in (0, 1, 2, 3, 4, 5)] == [
        "1", "2", "3", "4", "5", "6"]
    # empty cells -> 0
    page.get_by_role("button", name="Empty cells → 0").click()
    assert [inputs.nth(i).input_value() for i in range(6, 16)] == ["0"] * 10
    # checking an empty cell is caught on the page
    inputs.nth(15).fill("")
    page.get_by_role("button", name="Check").click()
    assert "dZ1[0,3,3] is empty" in page.locator("#feedback").inner_text()
    # show the answer
    page.get_by_role("button", name="Show answer").click()
    page.locator("#feedback.revealed").wait_for()
    assert "New numbers" in page.locator("#feedback").inner_text()
    assert [float(inputs.nth(i).input_value()) for i in range(16)] == pytest.approx(
        cells_of(ex.truth), rel=1e-3, abs=1e-12)
    assert inputs.first.get_attribute("readonly") is not None
    assert page.get_by_role("button", name="Show answer").is_disabled()
    # new numbers: the same step, another seed
    x_before = page.locator('.given[data-tensor="Z1"] .value').all_inner_texts()
    page.get_by_role("button", name="New numbers").click()
    page.wait_for_function("() => !location.search.includes('seed=')")
    page.wait_for_function(
        "() => !document.querySelector('#answer-grid input').readOnly")
    assert "step=dZ1" in page.url
    assert page.locator('.given[data-tensor="Z1"] .value').all_inner_texts() != x_before
    # the step picker
    page.get_by_label("Step to practise").select_option("W2")
    page.wait_for_function("() => location.search.includes('step=W2')")
    page.locator('.given[data-tensor="η"]').wait_for()
    assert page.locator("#task-title").inner_text() == "Compute W2"
    page.get_by_label("Step to practise").select_option("chain")
    page.wait_for_function("() => location.search.includes('chain=1')")
    assert page.locator("#task-title").inner_text() == "Compute Z1"
    # back to the explorer
    page.get_by_role("link", name="← Explorer").click()
    page.wait_for_url(server_url + "/")


def test_the_answer_is_nowhere_on_the_page_before_it_is_revealed(page_factory):
    ex = truth("Z2", 6)
    page, _ = page_factory("/practice?step=Z2&seed=6", width=1280, height=720)
    secret = float(ex.truth)
    html = page.content()
    tree = page.locator("body").aria_snapshot()
    assert "Compute Z2" in tree
    for form in {f"{secret:.4g}", repr(secret)}:
        assert form not in html and form not in tree, form


def test_an_unknown_step_in_the_url_says_so(page_factory):
    page, _ = page_factory("/practice?step=dA3", width=1280, height=720)
    assert "no step “dA3”" in page.locator("#feedback").inner_text()
    assert page.locator("#task-title").inner_text() == "Compute dA1"


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_page_fits_every_screen(page_factory, screenshot, width, height):
    page, _ = page_factory("/practice?step=dW1&seed=2", width=width, height=height)
    page.get_by_role("button", name="Empty cells → 0").click()
    page.get_by_role("button", name="Check").click()
    page.locator("#hints li").first.wait_for()
    assert layout_problems(page) == []
    screenshot(page, f"practice-dW1-{width}x{height}")
    page.get_by_role("button", name="Show answer").click()
    page.locator("#feedback.revealed").wait_for()
    page.locator("#feedback").scroll_into_view_if_needed()
    screenshot(page, f"practice-dW1-revealed-{width}x{height}")
