"""The explorer page in real headless Chromium against a real server."""

from __future__ import annotations

import time

import httpx
import pytest

pytestmark = pytest.mark.browser

SEQUENCE = ["Z1", "A1", "P1", "F", "Z2", "A2", "L",
            "dA2", "dZ2", "dW2", "db2", "dF", "dP1", "dA1", "dZ1", "dW1", "db1",
            "W1", "b1", "W2", "b2"]


def default_trace(server_url):
    presets = httpx.get(f"{server_url}/api/presets?input_size=6").json()
    stroke = next(p for p in presets if p["name"] == "vertical_stroke")
    body = {"x": stroke["x"], "y": stroke["y"], "seed": 0, "lr": 0.1}
    response = httpx.post(f"{server_url}/api/backward", json=body)
    assert response.status_code == 200
    return response.json()


def shown_values(page, name):
    """The numbers the page drew for a tensor: each plot's z, or a card's value."""
    return page.evaluate("""(name) => {
        const panel = document.querySelector(`.panel[data-tensor="${name}"]`);
        const card = panel.querySelector('.card');
        if (card) return {card: Number(card.dataset.value)};
        return {plots: [...panel.querySelectorAll('.plot')].map(p => p.data[0].z)};
    }""", name)


def as_planes(value, name=""):
    """The API's value split the way the page draws it (F and dF as a column)."""
    if not isinstance(value, list):
        return None
    if not isinstance(value[0], list):
        return [[[v] for v in value]] if name in ("F", "dF") else [[value]]
    if not isinstance(value[0][0], list):
        return [value]
    return value


def assert_panel_matches(page, name, value):
    shown = shown_values(page, name)
    if "card" in shown:
        expected = value[0] if isinstance(value, list) else value
        assert shown["card"] == expected, name
    else:
        assert shown["plots"] == as_planes(value, name), name


def test_stepping_shows_every_tensor_as_the_api_computes_it(page_factory, server_url, screenshot):
    trace = default_trace(server_url)
    page, _ = page_factory()
    main = page.locator("main")
    assert main.get_attribute("data-step") == "start"
    # before any step, only the inputs are visible
    assert page.locator('.panel[data-tensor="Z1"]').get_attribute("class").count("pending") == 1
    for name in ("X", "W1", "W2"):
        assert_panel_matches(page, name, trace["tensors"][name])
    next_button = page.get_by_role("button", name="Next")
    for i, name in enumerate(SEQUENCE):
        next_button.click()
        assert main.get_attribute("data-step") == name
        if i < 17:
            panel = page.locator(f'.panel[data-tensor="{name}"]')
            assert "pending" not in panel.get_attribute("class")
            assert "current" in panel.get_attribute("class")
            assert_panel_matches(page, name, trace["tensors"][name])
            # the next step's tensor is still hidden
            if i + 1 < 17:
                following = page.locator(f'.panel[data-tensor="{SEQUENCE[i + 1]}"]')
                assert "pending" in following.get_attribute("class")
        formula = page.locator("#explain-formula math")
        assert formula.count() == 1
        if name == "Z1":
            screenshot(page, "forward-Z1")
        if name == "dA1":
            screenshot(page, "backward-dA1")
    screenshot(page, "update-b2")
    assert "lower" in page.locator(".loss-change").inner_text()
    page.get_by_role("button", name="Previous").click()
    assert main.get_attribute("data-step") == "W2"
    page.get_by_role("button", name="Reset").click()
    assert main.get_attribute("data-step") == "start"


def test_keyboard_steps(page_factory):
    page, _ = page_factory()
    main = page.locator("main")
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    assert main.get_attribute("data-step") == "P1"
    page.keyboard.press("ArrowLeft")
    assert main.get_attribute("data-step") == "A1"
    page.keyboard.press("Home")
    assert main.get_attribute("data-step") == "start"


def test_cells_can_be_inspected_from_the_keyboard(page_factory):
    page, _ = page_factory()
    page.keyboard.press("ArrowRight")  # Z1
    page.locator('.panel[data-tensor="Z1"]').focus()
    page.keyboard.press("ArrowRight")
    wait_text(page, "#explain-detail", "Z1[0,0,0]")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    wait_text(page, "#explain-detail", "Z1[0,1,1]")
    assert page.locator("main").get_attribute("data-step") == "Z1"  # arrows did not step
    page.keyboard.press("Escape")
    page.keyboard.press("ArrowRight")
    assert page.locator("main").get_attribute("data-step") == "A1"


def test_formula_numbers_are_live(page_factory, server_url):
    trace = default_trace(server_url)
    page, _ = page_factory()
    for _ in range(SEQUENCE.index("dZ2") + 1):
        page.keyboard.press("ArrowRight")
    text = page.locator("#explain-numbers").inner_text()
    assert "0.5359" in text.replace("\n", "")  # A2 of the default example
    record = next(s for s in trace["steps"] if s["writes"] == "dZ2")
    served = page.evaluate("""(xml) => new DOMParser().parseFromString(xml, "text/html")
        .body.textContent""", record["mathml_numbers"])
    assert page.locator("#explain-numbers").text_content() == served


def wait_text(page, selector, prefix, timeout=10_000):
    """Wait until the element's text starts with prefix."""
    page.wait_for_function(
        "([sel, prefix]) => document.querySelector(sel).textContent.startsWith(prefix)",
        arg=[selector, prefix], timeout=timeout)


def hover(page, name, row, col):
    x, y = _cell_center(page, name, row, col)
    page.mouse.move(x - 4, y - 4)
    page.mouse.move(x, y, steps=3)


def _cell_center(page, name, row, col, plot_index=0):
    box = page.locator(f'.panel[data-tensor="{name}"] .plot').nth(plot_index).bounding_box()
    shape = page.evaluate("""(name) => {
        const p = document.querySelector(`.panel[data-tensor="${name}"] .plot`);
        return [p.data[0].z.length, p.data[0].z[0].length];
    }""", name)
    rows, cols = shape
    return (box["x"] + (col + 0.5) * box["width"] / cols,
            box["y"] + (row + 0.5) * box["height"] / rows)


def _shapes(page, name):
    return page.evaluate("""(name) => [...document.querySelectorAll(
        `.panel[data-tensor="${name}"] .plot`)].map(p => (p.layout.shapes || []).length)""", name)


def test_hovering_links_cells_to_their_sources(page_factory, server_url):
    trace = default_trace(server_url)
    page, _ = page_factory()
    page.keyboard.press("ArrowRight")  # Z1
    hover(page, "Z1", 1, 2)
    wait_text(page, "#explain-detail", "Z1[0,1,2]")
    assert _shapes(page, "X") == [9]
    assert _shapes(page, "W1") == [9]
    detail = page.locator("#explain-detail").inner_text()
    assert "X window times W1" in detail
    # max-pool: a P1 cell lights its window and its winner in A1
    for _ in range(2):
        page.keyboard.press("ArrowRight")
    hover(page, "P1", 0, 1)
    wait_text(page, "#explain-detail", "P1[0,0,1]")
    winner = trace["winners"][1]
    assert f"A1[{','.join(map(str, winner))}]" in page.locator("#explain-detail").inner_text()
    assert _shapes(page, "A1") == [5]  # the window and its winner
    # backward: a dA1 cell that lost its window gets 0, the winner gets dP1
    for _ in range(SEQUENCE.index("dA1") - SEQUENCE.index("P1")):
        page.keyboard.press("ArrowRight")
    f, r, c = trace["winners"][0]
    hover(page, "dA1", r, c)
    wait_text(page, "#explain-detail", f"dA1[{f},{r},{c}]")
    assert "receives dP1[0,0,0]" in page.locator("#explain-detail").inner_text()
    loser = (0, 1 - r % 2, c) if (r, c) != (1, 1) else (0, 0, 0)
    hover(page, "dA1", loser[1], loser[2])
    wait_text(page, "#explain-detail", f"dA1[0,{loser[1]},{loser[2]}]")
    assert "gets 0" in page.locator("#explain-detail").inner_text()


def test_editing_x_recomputes_z1(page_factory):
    page, _ = page_factory()
    page.keyboard.press("ArrowRight")
    before = shown_values(page, "Z1")["plots"]
    page.get_by_role("button", name="Edit input & network").click()
    cell = page.get_by_label("X[0,0]", exact=True)
    cell.fill("3")
    cell.press("Enter")
    cell.blur()
    page.wait_for_function("""(first) => {
        const p = document.querySelector('.panel[data-tensor="Z1"] .plot');
        return p.data[0].z[0][0] !== first;
    }""", arg=before[0][0][0])
    after = shown_values(page, "Z1")["plots"]
    assert after[0][0][0] != before[0][0][0]  # X[0,0] feeds Z1[0,0] only
    assert after[0][3][3] == before[0][3][3]


def test_changing_the_network_redraws_one_heatmap_per_filter(page_factory):
    page, _ = page_factory()
    page.get_by_role("button", name="Edit input & network").click()
    page.get_by_label("Filters K").fill("3")
    page.get_by_label("Filters K").press("Enter")
    page.wait_for_function(
        "() => document.querySelectorAll('.panel[data-tensor=\"Z1\"] .plot').length === 3")
    # K*k*k + K + K*q*q + 1 = 27 + 3 + 12 + 1
    wait_text(page, "#cfg-params", "43 ")


def test_training_draws_a_falling_curve(page_factory, screenshot):
    page, _ = page_factory()
    page.get_by_role("button", name="Train").first.click()
    page.wait_for_function("() => document.querySelectorAll('#train-dataset option').length > 0")
    page.select_option("#train-dataset", "x_vs_o")
    page.get_by_label("Epochs").fill("20")
    page.locator("#btn-train").click()
    wait_text(page, "#train-status", "Epoch 20 of 20", timeout=30_000)
    losses = page.evaluate("() => document.querySelector('#train-chart').data[0].y")
    assert len(losses) == 20
    assert losses[-1] < 0.7 * losses[0]
    screenshot(page, "training")
    page.locator("#btn-train-use").click()
    page.wait_for_function("() => document.querySelector('#drawer-train').hidden")


def test_the_url_restores_the_exact_view(page_factory, server_url):
    page, _ = page_factory()
    page.get_by_role("button", name="Edit input & network").click()
    page.get_by_label("Learning rate η", exact=True).fill("0.25")
    page.get_by_label("Learning rate η", exact=True).press("Enter")
    cell = page.get_by_label("W1[0,1,1]", exact=True)
    cell.fill("0.75")
    cell.press("Enter")
    page.wait_for_function("() => location.hash.includes('params')")
    page.locator("[data-close='edit']").click()
    for _ in range(SEQUENCE.index("dW1") + 1):
        page.keyboard.press("ArrowRight")
    time.sleep(0.1)
    url = page.url
    values = shown_values(page, "dW1")
    other, _ = page_factory(url.replace(server_url, ""))
    assert other.locator("main").get_attribute("data-step") == "dW1"
    assert shown_values(other, "dW1") == values
    assert shown_values(other, "W1")["plots"][0][1][1] == 0.75
    assert other.get_by_label("Learning rate η", exact=True).input_value() == "0.25"


def test_projector_size_fits(page_factory, screenshot):
    page, _ = page_factory(width=1280, height=720)
    for _ in range(SEQUENCE.index("dZ1") + 1):
        page.keyboard.press("ArrowRight")
    screenshot(page, "projector-1280x720")
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    bottom = page.evaluate("""() => Math.max(...[...document.querySelectorAll('.panel')]
        .map(p => p.getBoundingClientRect().bottom))""")
    assert bottom <= 720
