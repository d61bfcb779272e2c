"""Practice on a network of one's own in real headless Chromium: /practice?network=… offers
that network's steps, a step is answered wrong (its kind's misconception named) then right,
a conv's (K, C, k, k) weights are typed in as K×C grids, and the explorer's link may carry
the network with its numbers."""

from __future__ import annotations

import json
from urllib.parse import quote

import numpy as np
import pytest

import engine
from engine import practice
from tests.browser.test_practice import cells_of, fill, layout_problems, text

pytestmark = pytest.mark.browser

TWO_CONV = {"input": {"size": 6}, "layers": [
    {"type": "conv", "filters": 2, "kernel": 3, "padding": 1}, {"type": "relu"},
    {"type": "avgpool", "size": 2}, {"type": "conv", "filters": 2, "kernel": 2},
    {"type": "relu"}, {"type": "flatten"}, {"type": "dense", "units": 3}],
    "output": "softmax_ce"}
NET = engine.network(TWO_CONV)


def path(step: str, seed: int) -> str:
    return f"/practice?step={step}&seed={seed}&network={quote(json.dumps(TWO_CONV))}"


def truth(step: str, seed: int) -> engine.Exercise:
    return practice.exercise(step, practice.variant(seed, NET))


def secret_shown(page, ex: engine.Exercise) -> list[str]:
    """Answer values (as the page writes numbers) in the DOM that no given holds."""
    given = {text(v) for g in ex.given.values() for v in np.ravel(g)}
    secret = {text(v) for v in np.ravel(ex.truth)} - given - {"0", "1", "-1"}
    html = page.content()
    return sorted(v for v in secret if f">{v}<" in html or f'"{v}"' in html)


def test_a_two_conv_avgpool_softmax_network_wrong_then_right(page_factory, screenshot):
    ex = truth("dA1", 4)
    page, _ = page_factory(path("dA1", 4), width=1280, height=720)
    options = page.locator("#pick-step option").evaluate_all("els => els.map(e => e.value)")
    # the network's own steps, then its updates by momentum and Adam and its batch means
    more = [f"{param}@{kind}" for kind in ("momentum", "adam") for param in NET.param_names]
    assert options == ["chain", *practice.step_names(NET), *more,
                       *practice.mean_step_names(NET)]
    assert page.locator("#task-title").inner_text() == "Compute dA1"
    assert "softmax_ce" in page.locator("#network-note").inner_text()
    assert page.locator(".given").evaluate_all("els => els.map(e => e.dataset.tensor)") == [
        "dP1"]
    assert page.locator("#answer-grid input").count() == 72  # 2 filters of 6×6
    assert page.locator("#answer-grid caption").all_inner_texts() == ["filter 0", "filter 1"]
    assert secret_shown(page, ex) == []
    # first try: each window's whole gradient to every cell (not divided by 4)
    fill(page, cells_of(np.asarray(ex.truth) * 4))
    page.get_by_role("button", name="Check").click()
    feedback = page.locator("#feedback")
    feedback.locator(".misconception").wait_for()
    assert "Gradient not divided by the window's size" in feedback.inner_text()
    assert secret_shown(page, ex) == []
    assert layout_problems(page) == []
    screenshot(page, "practice-network-dA1-wrong-1280x720")
    fill(page, cells_of(ex.truth))
    page.get_by_role("button", name="Check").click()
    page.locator("#feedback.solved").wait_for()
    assert feedback.inner_text().startswith("Right.")
    assert page.locator("#answer-grid input.right").count() == 72
    screenshot(page, "practice-network-dA1-right-1280x720")


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (390, 844)])
def test_conv_weights_are_typed_as_filter_by_channel_grids(page_factory, screenshot,
                                                             width, height):
    ex = truth("dW2", 3)
    page, _ = page_factory(path("dW2", 3), width=width, height=height)
    assert ex.shape == (2, 2, 2, 2)
    captions = page.locator("#answer-grid caption").all_inner_texts()
    assert captions == [f"filter {f}, channel {c}" for f in range(2) for c in range(2)]
    labels = page.locator("#answer-grid input").evaluate_all(
        "els => els.map(e => e.getAttribute('aria-label'))")
    assert labels[:5] == ["dW2[0,0,0,0]", "dW2[0,0,0,1]", "dW2[0,0,1,0]", "dW2[0,0,1,1]",
                          "dW2[0,1,0,0]"]
    wrong = np.swapaxes(np.asarray(ex.truth), -1, -2)  # rows and columns swapped
    assert not practice.right_cells(wrong, ex.truth).all()
    fill(page, cells_of(wrong))
    page.get_by_role("button", name="Check").click()
    page.locator("#feedback .misconception").wait_for()
    assert "Rows and columns swapped" in page.locator("#feedback").inner_text()
    assert layout_problems(page) == []
    # every typed value shows in full: a long one widens its cell
    overflowing = page.evaluate("""() => [...document.querySelectorAll('#answer-grid input')]
        .filter(i => i.scrollWidth > i.clientWidth).map(i => i.getAttribute('aria-label'))""")
    assert overflowing == []
    page.locator("#answer-grid").scroll_into_view_if_needed()
    screenshot(page, f"practice-network-dW2-wrong-{width}x{height}")
    fill(page, cells_of(ex.truth))
    page.get_by_role("button", name="Check").click()
    page.locator("#feedback.solved").wait_for()
    page.locator("#feedback").scroll_into_view_if_needed()
    screenshot(page, f"practice-network-dW2-right-{width}x{height}")


def test_the_explorers_link_may_carry_a_network_with_its_numbers(page_factory, screenshot):
    v = practice.variant(6, NET)
    example = {"network": TWO_CONV, "x": v.x.tolist(), "y": int(v.y), "lr": 0.1, "pass": 1,
               "params": {k: np.asarray(p).tolist() for k, p in v.params.items()}}
    page, _ = page_factory(f"/practice?step=Z2#example={quote(json.dumps(example))}",
                           width=390, height=844)
    assert page.locator("#example-note").is_visible()
    assert page.locator("#network-note").is_visible()
    # W2 is (2, 2, 2, 2): shown as filter-by-channel planes among the givens
    assert page.locator('.given[data-tensor="W2"] .plot').count() == 4
    ex = practice.exercise("Z2", v)
    fill(page, cells_of(ex.truth))
    page.get_by_role("button", name="Check").click()
    page.locator("#feedback.solved").wait_for()
    assert layout_problems(page) == []
    screenshot(page, "practice-network-from-explorer-390x844")
