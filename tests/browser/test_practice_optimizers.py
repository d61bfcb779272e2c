"""Practice's exercises of issue 21 in real Chromium: an Adam update answered with ε inside
the square root (named), then right; a batch's mean answered with the sum (named)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.support.axe import violations

pytestmark = pytest.mark.browser


def text(value: float) -> str:
    return f"{float(value):.4g}"


def number(shown: str) -> float:
    """A value as the page writes it (4 significant digits, 1e-4, a minus sign)."""
    return float(shown.replace("−", "-"))


def fill(page, values) -> None:
    inputs = page.locator("#answer-grid input")
    values = [float(v) for v in np.ravel(values)]
    assert inputs.count() == len(values)
    for i, v in enumerate(values):
        inputs.nth(i).fill(text(v))


def pick(page, step: str) -> dict:
    """Choose ``step`` in the list of steps: the exercise the API sent for it."""
    with page.expect_response(lambda r: r.url.endswith("/api/exercises")
                              and r.request.method == "POST") as sent:
        page.select_option("#pick-step", step)
    view = sent.value.json()
    page.wait_for_function(f"() => document.getElementById('main').dataset.step === {step!r}")
    return view


def check(page) -> str:
    page.get_by_role("button", name="Check").click()
    feedback = page.locator("#feedback")
    page.wait_for_function("() => document.getElementById('feedback').textContent.length")
    return feedback.inner_text()


def given(view) -> dict[str, np.ndarray]:
    return {name: np.asarray(value, dtype=np.float64) for name, value in view["given"].items()}


def adam(g: dict[str, np.ndarray], lr: float, *, eps_inside: bool) -> np.ndarray:
    b1, b2, eps, t = (float(g[k]) for k in ("beta1", "beta2", "eps", "t"))
    m = (b1 * g["m_W1"] + (1 - b1) * g["dW1"]) / (1 - b1**t)
    s = (b2 * g["s_W1"] + (1 - b2) * g["dW1"] ** 2) / (1 - b2**t)
    return g["W1"] - lr * m / (np.sqrt(s + eps) if eps_inside else np.sqrt(s) + eps)


@pytest.mark.parametrize("size", [(1920, 1080), (1280, 720), (390, 844)],
                         ids=["1920x1080", "1280x720", "390x844"])
def test_an_adam_update_and_a_batch_mean(page_factory, screenshot, size):
    width, height = size
    page, _ = page_factory("/practice?step=dA1&seed=3", width=width, height=height)
    groups = page.locator("#pick-step optgroup").evaluate_all("els => els.map(e => e.label)")
    assert groups[-2:] == ["Updates with momentum / Adam", "Averaging a batch"]
    assert page.locator('#pick-step option[value="b2@momentum"]').count() == 1

    view = pick(page, "W1@adam")
    assert page.locator("#task-title").inner_text() == "Compute the new W1 (Adam)"
    assert page.locator("#task-phase").text_content() == "Updates with momentum / Adam"
    shown = page.locator(".given").evaluate_all("els => els.map(e => e.dataset.tensor)")
    assert shown == [*view["given"], "η"]
    assert "first moment" in page.locator('.given[data-tensor="m_W1"] .role').inner_text()
    assert "ε" in page.locator('.given[data-tensor="eps"] .role').inner_text()
    values = page.locator('.given[data-tensor="s_W1"] .value').all_inner_texts()
    np.testing.assert_allclose([number(v) for v in values], np.ravel(view["given"]["s_W1"]),
                               rtol=1e-3)
    card = page.locator('.given[data-tensor="t"]').inner_text()
    assert text(view["given"]["t"]) in card, card
    assert violations(page) == []
    g = given(view)
    fill(page, adam(g, view["lr"], eps_inside=True))
    said = check(page)
    page.locator("#feedback .misconception").wait_for()
    assert "ε inside the square root" in said, said
    name = f"practice-adam-wrong-{width}x{height}"
    screenshot(page, name)
    fill(page, adam(g, view["lr"], eps_inside=False))
    page.get_by_role("button", name="Check").click()
    page.locator("#feedback.solved").wait_for()
    assert page.locator("#feedback").inner_text().startswith("Right.")

    view = pick(page, "mean_dW1")
    assert page.locator("#task-phase").text_content() == "Averaging a batch"
    names = [f"dW1({n})" for n in range(1, len(view["given"]) + 1)]
    assert list(view["given"]) == names and len(names) >= 2
    assert "example 2" in page.locator('.given[data-tensor="dW1(2)"] .role').inner_text()
    fill(page, sum(given(view).values()))
    said = check(page)
    page.locator("#feedback .misconception").wait_for()
    assert "Summed instead of averaged" in page.locator("#feedback").inner_text()
    assert violations(page) == []
    screenshot(page, f"practice-mean-summed-{width}x{height}")
