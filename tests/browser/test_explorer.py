"""The explorer page in real headless Chromium against a real server: the page walks the
server's session and shows every number as the engine computes it, nothing before its
step."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import numpy as np
import pytest

import engine

pytestmark = pytest.mark.browser

SEQUENCE = [s.writes for s in engine.STEPS]
LAST = len(SEQUENCE) - 1


def default_trace(server_url, seed=engine.DEFAULT_SEED):
    """The default walk's pass, computed apart from the page (not through it)."""
    presets = httpx.get(f"{server_url}/api/presets?input_size=6").json()
    stroke = next(p for p in presets if p["name"] == "vertical_stroke")
    body = {"x": stroke["x"], "y": stroke["y"], "seed": seed, "lr": 0.1}
    response = httpx.post(f"{server_url}/api/backward", json=body)
    assert response.status_code == 200
    return response.json()


def shown_values(page, name):
    """The numbers the page drew for a tensor: each plot's values, or a card's value."""
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


def step_to(page, index):
    """Press → until the walk is at step ``index`` (0-based) of the first pass."""
    for _ in range(index + 1):
        page.keyboard.press("ArrowRight")
    wait_step(page, SEQUENCE[index] if index >= 0 else "start")


def wait_step(page, name, timeout=10_000):
    page.wait_for_function("(name) => document.querySelector('main').dataset.step === name",
                           arg=name, timeout=timeout)


def wait_text(page, selector, prefix, timeout=10_000):
    """Wait until the element's text starts with prefix."""
    page.wait_for_function(
        "([sel, prefix]) => document.querySelector(sel).textContent.startsWith(prefix)",
        arg=[selector, prefix], timeout=timeout)


# ------------------------------------------------------------------ nothing before its step
def distinctive(trace, cursor):
    """Full-precision numbers (as both JSON and JavaScript write them) of the tensors the
    walk has not shown at ``cursor``, leaving out any that a shown tensor also holds."""
    tensors = trace["tensors"]

    def texts(name):
        return {repr(float(v)) for v in np.ravel(np.array(tensors[name], dtype=float))
                if np.isfinite(v)}

    shown = set(engine.known(cursor))
    seen = set().union(*(texts(n) for n in shown))
    later = {}
    for step in engine.STEPS:
        for name in step.reveals:
            if name not in shown:
                later[name] = {v for v in texts(name) - seen if len(v) >= 9}
    return later


def leaks(text, later):
    return {name: sorted(v for v in values if v in text)[:3]
            for name, values in later.items() if any(v in text for v in values)}


def test_a_walk_never_holds_a_later_value(page_factory, server_url, screenshot):
    trace = default_trace(server_url)
    page, _ = page_factory(wait=False)
    responses = []
    page.on("response", lambda r: responses.append(r))
    page.reload()
    page.wait_for_selector("body.ready", timeout=15_000)
    bodies = []

    def received():
        while len(bodies) < len(responses):
            r = responses[len(bodies)]
            try:
                bodies.append(r.text())
            except Exception:  # a body the browser did not keep (a redirect): no values
                bodies.append("")
        return "\n".join(bodies)

    for cursor in range(-1, LAST + 1):
        if cursor >= 0:
            page.keyboard.press("ArrowRight")
            wait_step(page, SEQUENCE[cursor])
        later = distinctive(trace, cursor)
        html = page.content()
        aria = page.locator("body").aria_snapshot()
        where = f"at step {cursor + 1} ({SEQUENCE[cursor] if cursor >= 0 else 'start'})"
        assert leaks(html, later) == {}, f"the DOM {where}"
        assert leaks(aria, later) == {}, f"the accessibility tree {where}"
        assert leaks(received(), later) == {}, f"a response {where}"
        # the panels not reached hold no cells, take no focus and are inert
        pending = page.evaluate("""() => [...document.querySelectorAll('.panel.pending')]
            .map(p => ({name: p.dataset.tensor, cells: p.querySelectorAll('.cell, .card').length,
                        inert: p.inert, tab: p.hasAttribute('tabindex')}))""")
        assert {p["name"] for p in pending} == (
            {n for s in engine.STEPS for n in s.reveals} - set(engine.known(cursor)))
        assert all(p["cells"] == 0 and p["inert"] and not p["tab"] for p in pending), where
        if 0 <= cursor <= SEQUENCE.index("db1"):
            # a positive control: what the step revealed is there, at full precision
            name = SEQUENCE[cursor]
            value = np.ravel(np.array(trace["tensors"][name], dtype=float))
            biggest = repr(float(value[np.argmax(np.abs(value))]))
            assert biggest in html and biggest in received(), name
        if cursor == SEQUENCE.index("dA1"):
            screenshot(page, "walk-dA1-1440")
    # into the next pass: the updated parameters, and Z1 computed with them
    page.keyboard.press("ArrowRight")
    wait_text(page, "#progress", "Step 1 of 21 · forward · Z1 · pass 2")
    new_w1 = np.array(trace["tensors"]["W1"]) - 0.1 * np.array(trace["tensors"]["dW1"])
    assert np.allclose(shown_values(page, "W1")["plots"], new_w1, rtol=0, atol=1e-15)
    assert "pending" in page.locator('.panel[data-tensor="A1"]').get_attribute("class")


def test_stepping_shows_every_tensor_as_the_api_computes_it(page_factory, server_url,
                                                           screenshot):
    trace = default_trace(server_url)
    page, _ = page_factory()
    main = page.locator("main")
    assert main.get_attribute("data-step") == "start"
    for name in ("X", "W1", "W2"):
        assert_panel_matches(page, name, trace["tensors"][name])
    next_button = page.get_by_role("button", name="Next")
    for i, name in enumerate(SEQUENCE):
        next_button.click()
        wait_step(page, name)
        if i < 17:
            panel = page.locator(f'.panel[data-tensor="{name}"]')
            assert "current" in panel.get_attribute("class")
            assert_panel_matches(page, name, trace["tensors"][name])
        assert page.locator("#explain-formula math").count() == 1
        # practise the step: a link to the practice page for this step
        # the link carries the walk's own example (tests/browser/test_practice_from_explorer)
        href = page.locator("#practise").get_attribute("href")
        assert href.startswith(f"/practice?step={name}#example=")
        if name == "Z1":
            screenshot(page, "forward-Z1")
    screenshot(page, "update-b2")
    assert "lower" in page.locator(".loss-change").inner_text()
    # only the current update is shown
    assert page.locator(".update-row").count() == 1
    page.get_by_role("button", name="Previous").click()
    wait_step(page, "W2")
    assert page.locator(".loss-change").count() == 0  # the loss after needs all four
    page.get_by_role("button", name="Pass start", exact=True).click()  # as it reads
    wait_step(page, "start")
    assert page.get_by_role("button", name="Previous").is_disabled()


def test_keyboard_steps(page_factory):
    page, _ = page_factory()
    for _ in range(3):
        page.keyboard.press("ArrowRight")
    wait_step(page, "P1")
    page.keyboard.press("ArrowLeft")
    wait_step(page, "A1")
    page.keyboard.press("Home")
    wait_step(page, "start")
    page.keyboard.press("ArrowLeft")  # nothing before the start: no request, no error
    page.keyboard.press("ArrowRight")
    wait_step(page, "Z1")
    # space on a focused Next presses it; it does not start playing
    page.get_by_role("button", name="Next").focus()
    page.keyboard.press("Space")
    wait_step(page, "A1")
    assert page.get_by_role("button", name="Play").count() == 1


def test_play_pause_and_speed(page_factory):
    page, _ = page_factory()
    page.locator("#speed").fill("200")
    page.get_by_role("button", name="Play").click()
    wait_step(page, "A1")
    page.get_by_role("button", name="Pause").click()
    at = page.locator("main").get_attribute("data-step")
    page.wait_for_timeout(600)
    assert page.locator("main").get_attribute("data-step") == at


def test_pipeline_chips_go_to_their_step(page_factory):
    page, _ = page_factory()
    page.get_by_role("button", name="Go to step 14: backward dA1").click()
    wait_step(page, "dA1")
    assert "pending" not in page.locator('.panel[data-tensor="dA1"]').get_attribute("class")
    assert "pending" in page.locator('.panel[data-tensor="dZ1"]').get_attribute("class")
    page.get_by_role("button", name="Go to the start of this pass: the input X").click()
    wait_step(page, "start")


def test_cells_can_be_inspected_from_the_keyboard(page_factory):
    page, _ = page_factory()
    step_to(page, 0)  # Z1
    page.locator('.panel[data-tensor="Z1"]').focus()
    page.keyboard.press("ArrowRight")
    wait_text(page, "#explain-detail", "Z1[0,0,0]")
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowDown")
    wait_text(page, "#explain-detail", "Z1[0,1,1]")
    page.keyboard.press("Enter")  # pins it
    assert page.locator("main").get_attribute("data-step") == "Z1"  # keys did not step
    page.keyboard.press("Escape")
    page.keyboard.press("ArrowRight")
    wait_step(page, "A1")


def test_formula_numbers_are_live(page_factory, server_url):
    trace = default_trace(server_url)
    page, _ = page_factory()
    step_to(page, SEQUENCE.index("dZ2"))
    text = page.locator("#explain-numbers").inner_text()
    assert f"{trace['tensors']['A2']:.4g}" in text.replace("\n", "")  # this example's A2
    record = next(s for s in trace["steps"] if s["writes"] == "dZ2")
    served = page.evaluate("""(xml) => new DOMParser().parseFromString(xml, "text/html")
        .body.textContent""", record["mathml_numbers"])
    assert page.locator("#explain-numbers").text_content() == served


def cell(page, name, index):
    """The cell element of tensor ``name`` at ``index`` (filter axis first)."""
    if len(index) == 3:
        f, r, c = index
        plot = page.locator(f'.panel[data-tensor="{name}"] .plot').nth(f)
    else:
        r, c = index
        plot = page.locator(f'.panel[data-tensor="{name}"] .plot').first
    return plot.locator(f'.cell[data-r="{r}"][data-c="{c}"]')


def lit(page, name):
    return page.evaluate("""(name) => [...document.querySelectorAll(
        `.panel[data-tensor="${name}"] .cell.source, .panel[data-tensor="${name}"] .cell.focus`)]
        .length""", name)


def test_hovering_links_cells_to_their_sources(page_factory, server_url):
    trace = default_trace(server_url)
    page, _ = page_factory()
    step_to(page, 0)  # Z1
    cell(page, "Z1", (0, 1, 2)).hover()
    wait_text(page, "#explain-detail", "Z1[0,1,2]")
    assert lit(page, "X") == 9 and lit(page, "W1") == 9
    assert "X window times W1" in page.locator("#explain-detail").inner_text()
    # max-pool: a P1 cell lights its window and its winner in A1
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    wait_step(page, "P1")
    cell(page, "P1", (0, 0, 1)).hover()
    wait_text(page, "#explain-detail", "P1[0,0,1]")
    winner = trace["winners"][1]
    assert f"A1[{','.join(map(str, winner))}]" in page.locator("#explain-detail").inner_text()
    assert lit(page, "A1") == 4  # the window, its winner among them
    # backward: the winner of a window receives dP1, the others get 0
    for _ in range(SEQUENCE.index("dA1") - SEQUENCE.index("P1")):
        page.keyboard.press("ArrowRight")
    wait_step(page, "dA1")
    f, r, c = trace["winners"][0]
    cell(page, "dA1", (f, r, c)).hover()
    wait_text(page, "#explain-detail", f"dA1[{f},{r},{c}]")
    assert "dP1[0,0,0]" in page.locator("#explain-detail").inner_text()
    loser = (0, 1 - r % 2, c) if (r, c) != (1, 1) else (0, 0, 0)
    cell(page, "dA1", loser).hover()
    wait_text(page, "#explain-detail", f"dA1[0,{loser[1]},{loser[2]}]")
    assert "gets 0" in page.locator("#explain-detail").inner_text()


def test_clicking_a_cell_pins_it_and_never_steps(page_factory):
    page, _ = page_factory()
    step_to(page, SEQUENCE.index("dZ1"))
    cell(page, "Z1", (0, 0, 1)).click()
    wait_text(page, "#explain-detail", "Z1[0,0,1]")
    assert page.locator("main").get_attribute("data-step") == "dZ1"
    cell(page, "dZ1", (0, 2, 2)).hover()  # pinned: hovering elsewhere changes nothing
    page.wait_for_timeout(200)
    assert page.locator("#explain-detail").inner_text().startswith("Z1[0,0,1]")
    cell(page, "Z1", (0, 0, 1)).click()  # unpinned
    cell(page, "dZ1", (0, 2, 2)).hover()
    wait_text(page, "#explain-detail", "dZ1[0,2,2]")


def test_reset_returns_to_the_starting_parameters_and_pass_one(page_factory, server_url):
    trace = default_trace(server_url)
    page, _ = page_factory()
    for _ in range(LAST + 3):
        page.keyboard.press("ArrowRight")
    wait_text(page, "#progress", "Step 2 of 21 · forward · A1 · pass 2")
    assert shown_values(page, "W1")["plots"] != as_planes(trace["tensors"]["W1"])
    page.wait_for_function("() => location.hash.includes('pass=2')")
    assert "params" not in page.url  # the walk's start is the seed's parameters
    page.get_by_role("button", name="Reset").click()
    wait_text(page, "#progress", "Start · 21 steps")
    assert_panel_matches(page, "W1", trace["tensors"]["W1"])
    page.wait_for_function("() => !location.hash.includes('pass=')")


def test_gradient_check_shows_only_the_gradients_reached_in_their_shapes(page_factory):
    page, _ = page_factory()
    assert page.get_by_role("button", name="Gradient check").is_disabled()
    step_to(page, SEQUENCE.index("dW1"))
    page.get_by_role("button", name="Gradient check").click()
    page.wait_for_selector("#gradcheck:not([hidden]) .gradcheck-row")
    rows = page.evaluate("""() => [...document.querySelectorAll('.gradcheck-row')]
        .map(r => r.dataset.param)""")
    assert rows == ["W1", "W2", "b2"]  # db1 comes a step later
    grid = page.locator('.gradcheck-row[data-param="W1"] .a .plot')
    assert grid.evaluate("p => [p.data[0].z.length, p.data[0].z[0].length]") == [3, 3]
    assert "agrees" in page.locator("#gradcheck-body .summary").inner_text()
    assert "db1" in page.locator("#gradcheck-body").inner_text()  # named as not yet computed
    page.keyboard.press("Escape")
    assert page.locator("#gradcheck").is_hidden()
    page.get_by_role("button", name="Gradient check").click()
    page.wait_for_selector("#gradcheck:not([hidden])")
    page.locator("[data-close='gradcheck']").click()
    assert page.locator("#gradcheck").is_hidden()


def test_editing_x_recomputes_z1(page_factory):
    page, _ = page_factory()
    step_to(page, 0)
    before = shown_values(page, "Z1")["plots"]
    page.get_by_role("button", name="Edit input & network").click()
    field = page.get_by_label("X[0,0]", exact=True)
    assert page.evaluate("() => document.activeElement.closest('#drawer-edit') !== null")
    field.fill("3")
    field.press("Enter")
    wait_step(page, "start")  # an edit starts the walk again with the new example
    page.keyboard.press("Escape")
    assert page.locator("#drawer-edit").is_hidden()
    page.keyboard.press("ArrowRight")
    wait_step(page, "Z1")
    after = shown_values(page, "Z1")["plots"]
    assert after[0][0][0] != before[0][0][0]  # X[0,0] feeds Z1[0,0] only
    assert after[0][3][3] == before[0][3][3]


def test_every_edit_control_changes_the_walk(page_factory):
    page, _ = page_factory()
    page.get_by_role("button", name="Edit input & network").click()
    page.wait_for_function("() => document.querySelectorAll('#preset option').length > 2")
    page.select_option("#preset", "plus")
    page.wait_for_function("() => location.hash.includes('preset=plus')")
    page.select_option("#label-y", "0")
    page.wait_for_function("() => location.hash.includes('y=0')")
    assert shown_values(page, "Y") == {"card": 0}
    page.get_by_label("Seed").fill("5")
    page.get_by_label("Seed").press("Enter")
    page.wait_for_function("() => location.hash.includes('seed=5')")
    w1 = engine.init_params(engine.Config(), 5)["W1"].tolist()
    page.wait_for_function("""(w) => JSON.stringify(document.querySelector(
        '.panel[data-tensor="W1"] .plot').data[0].z) === JSON.stringify(w)""", arg=w1[0])
    # painting: a click on an X cell while the drawer is open sets it to the brush value
    page.get_by_label("Brush").fill("0.5")
    cell(page, "X", (0, 0)).click()
    page.wait_for_function("""() => document.querySelector('.panel[data-tensor="X"] .plot')
        .data[0].z[0][0] === 0.5""")
    page.locator("[data-close='edit']").click()
    assert page.locator("#drawer-edit").is_hidden()


def test_changing_the_network_redraws_one_heatmap_per_filter(page_factory):
    page, _ = page_factory()
    page.get_by_role("button", name="Edit input & network").click()
    page.get_by_label("Filters K").fill("3")
    page.get_by_label("Filters K").press("Enter")
    page.wait_for_function(
        "() => document.querySelectorAll('.panel[data-tensor=\"W1\"] .plot').length === 3")
    # K*k*k + K + K*q*q + 1 = 27 + 3 + 12 + 1
    wait_text(page, "#cfg-params", "43 ")
    page.get_by_label("Input size n").fill("8")
    page.get_by_label("Input size n").press("Enter")
    page.wait_for_function("() => location.hash.includes('cfg=8%2C3%2C3%2C2')")
    assert len(shown_values(page, "X")["plots"][0]) == 8
    page.get_by_label("Kernel size k").fill("5")
    page.get_by_label("Kernel size k").press("Enter")
    page.wait_for_function("() => location.hash.includes('cfg=8%2C5%2C3%2C2')")
    page.get_by_label("Pool size p").fill("4")
    page.get_by_label("Pool size p").press("Enter")
    page.wait_for_function("() => location.hash.includes('cfg=8%2C5%2C3%2C4')")
    assert len(shown_values(page, "W1")["plots"][0]) == 5
    # a configuration the network cannot have is named, and nothing is sent
    page.get_by_label("Pool size p").fill("9")
    page.get_by_label("Pool size p").press("Enter")
    wait_text(page, "#edit-error", "Pool size p must be a whole number from 1 to 4")


@pytest.mark.slow
def test_training_draws_a_falling_curve(page_factory, screenshot):
    page, _ = page_factory()
    page.get_by_role("button", name="Train").first.click()
    page.wait_for_function("() => document.querySelectorAll('#train-dataset option').length > 0")
    page.select_option("#train-dataset", "x_vs_o")
    page.get_by_label("Epochs").fill("20")
    page.get_by_label("Batch size").fill("16")
    page.get_by_label("Training η").fill("0.5")
    page.locator("#btn-train").click()
    wait_text(page, "#train-status", "Epoch 20 of 20", timeout=30_000)
    losses = page.evaluate("() => document.querySelector('#train-chart').data[0].y")
    assert len(losses) == 20
    assert losses[-1] < 0.7 * losses[0]
    page.locator("#train-epoch").fill("0")
    assert page.locator("#train-kernel-caption").inner_text() == "W1 before training"
    screenshot(page, "training")
    # a run can be stopped
    page.get_by_label("Epochs").fill("1000")
    page.locator("#btn-train").click()
    page.locator("#btn-train-stop").click()
    page.wait_for_function("() => !document.querySelector('#btn-train').disabled")
    page.locator("[data-close='train']").click()
    assert page.locator("#drawer-train").is_hidden()
    page.get_by_role("button", name="Train").first.click()
    page.locator("#btn-train-use").click()
    page.wait_for_function("() => document.querySelector('#drawer-train').hidden")
    wait_step(page, "start")
    page.wait_for_function("() => location.hash.includes('params=')")  # the walk's start


def test_a_decimal_comma_is_read_as_a_point_in_edit(page_factory):
    page, _ = page_factory()
    page.get_by_role("button", name="Edit input & network").click()
    field = page.get_by_label("W1[0,1,1]", exact=True)
    field.fill("−0,75")  # as a phone or a German keyboard types it
    field.press("Enter")
    page.wait_for_function("() => location.hash.includes('params')")
    assert "-0.75" in page.evaluate("() => decodeURIComponent(location.hash)")
    field.fill("0,7,5")  # not a number: said, nothing sent
    field.press("Enter")
    assert page.evaluate("() => document.activeElement.validationMessage") != ""


def test_the_url_restores_the_exact_view(page_factory, server_url):
    page, _ = page_factory()
    page.get_by_role("button", name="Edit input & network").click()
    page.get_by_label("Learning rate η", exact=True).fill("0.25")
    page.get_by_label("Learning rate η", exact=True).press("Enter")
    page.wait_for_function("() => location.hash.includes('lr=0.25')")
    field = page.get_by_label("W1[0,1,1]", exact=True)
    field.fill("0.75")
    field.press("Enter")
    page.wait_for_function("() => location.hash.includes('params')")
    page.locator("[data-close='edit']").click()
    step_to(page, SEQUENCE.index("dW1"))
    page.wait_for_function("() => location.hash.includes('step=15')")
    url = page.url
    values = shown_values(page, "dW1")
    other, _ = page_factory(url.replace(server_url, ""))
    assert other.locator("main").get_attribute("data-step") == "dW1"
    assert shown_values(other, "dW1") == values
    assert shown_values(other, "W1")["plots"][0][1][1] == 0.75
    assert other.get_by_label("Learning rate η", exact=True).input_value() == "0.25"


def test_export_png_and_link(page_factory):
    page, _ = page_factory()
    step_to(page, 0)
    with page.expect_download() as download:
        page.get_by_role("button", name="Export JSON").click()
    saved = json.loads(Path(download.value.path()).read_text())
    assert set(saved["tensors"]) == set(engine.known(0))  # only what the walk has shown
    page.locator('.panel[data-tensor="Z1"]').hover()
    with page.expect_download() as download:
        page.get_by_role("button", name="Download Z1 as PNG").click()
    assert Path(download.value.path()).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page.get_by_role("button", name="Link").click()
    page.wait_for_function("() => document.querySelector('#toast').textContent.length > 0")


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (1280, 720), (390, 844)])
def test_sizes_fit(page_factory, screenshot, width, height):
    page, _ = page_factory(width=width, height=height)
    step_to(page, SEQUENCE.index("dZ1"))
    screenshot(page, f"walk-dZ1-{width}x{height}")
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0
    if width >= 1280:
        bottom = page.evaluate("""() => Math.max(...[...document.querySelectorAll('.panel')]
            .map(p => p.getBoundingClientRect().bottom))""")
        assert bottom <= height
    small = page.evaluate("""() => [...document.querySelectorAll('.cell, .panel .name, button')]
        .filter(e => e.textContent.trim() && e.offsetParent)
        .map(e => parseFloat(getComputedStyle(e).fontSize)).filter(s => s < 12).length""")
    assert small == 0


FORMULA_FITS = """() => [...document.querySelectorAll('#explain-formula, #explain-numbers')]
    .filter(e => e.offsetParent && e.textContent.trim())
    .map(e => ({id: e.id, size: parseFloat(getComputedStyle(e).fontSize),
                fits: e.scrollWidth <= e.clientWidth + 1,
                scrolls: e.classList.contains('scrolls')
                         && getComputedStyle(e).overflowX === 'scroll'
                         && getComputedStyle(e).boxShadow !== 'none'}))"""


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (1280, 720), (820, 1180), (390, 844)])
def test_no_formula_is_cut_off_at_any_step(page_factory, screenshot, width, height):
    page, _ = page_factory(width=width, height=height)
    for name in SEQUENCE:
        page.keyboard.press("ArrowRight")
        wait_step(page, name)
        boxes = page.evaluate(FORMULA_FITS)
        assert boxes, name
        for box in boxes:
            assert box["size"] >= 12, (name, box)
            assert box["fits"] or box["scrolls"], (name, box)
        if name in ("Z2", "dW1", "dP1") and width >= 1280:
            screenshot(page, f"formula-{name}-{width}x{height}")


def test_every_panel_is_reachable_on_a_phone(page_factory, screenshot):
    page, _ = page_factory(width=390, height=844)
    far = ["F", "W2", "Z2", "A2", "L", "dF", "dW2", "dZ2", "dA2", "db2"]
    for name in far:  # within the screen's width: reached by scrolling down, not sideways
        box = page.locator(f'.panel[data-tensor="{name}"]').bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= 390, (name, box)
    for name in SEQUENCE[:SEQUENCE.index("db1") + 1]:
        page.get_by_role("button", name="Next").click()
        wait_step(page, name)
        if name in far:  # the step's result is brought into view as it is computed
            page.wait_for_function("""(name) => {
                const panel = document.querySelector(`.panel[data-tensor="${name}"]`);
                const r = panel.getBoundingClientRect();
                return r.top >= 0 && r.bottom <= innerHeight; }""", arg=name)
        if name in ("L", "dF"):
            screenshot(page, f"phone-{name}-390x844")
    overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0


NUMBERS = [0.731, -0.269, 1.5e-7, 0.0, 2.576e-4, -0.0069813, 0.00099999, 12345.6, 123456.0,
           1.0, 3.0004, -0.5, 0.001234, 99999.9, -1.3412, 0.1 + 0.2]


def test_one_number_rule_for_the_engine_and_the_page(page_factory):
    page, _ = page_factory()
    shown = page.evaluate("""async (values) => {
        const href = document.querySelector(
            'link[rel=modulepreload][href*="common/format.js"]').href;
        const format = await import(href);
        return values.map(v => [1, 2, 3, 4].map(d => format.numText(v, d)));
    }""", NUMBERS)
    expected = [[engine.steps.num_text(v, d) for d in (1, 2, 3, 4)] for v in NUMBERS]
    assert shown == expected


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (820, 1180)])
def test_cells_are_never_clipped_and_round_as_the_rule_does(page_factory, screenshot,
                                                            width, height):
    page, _ = page_factory(width=width, height=height)
    step_to(page, SEQUENCE.index("dW1"))  # dX holds values of a few thousandths
    screenshot(page, f"cells-dW1-{width}x{height}")
    cells = page.evaluate("""() => [...document.querySelectorAll('.plot')].flatMap(plot => {
        const z = plot.data[0].z;
        return [...plot.querySelectorAll('.cell')].map(el => ({
            text: el.textContent, value: z[+el.dataset.r][+el.dataset.c],
            clipped: el.scrollWidth > el.clientWidth}));
    })""")
    assert len(cells) > 100
    assert not [c for c in cells if c["clipped"]]
    blank = [c for c in cells if not c["text"]]
    assert len(blank) <= 12, blank  # a tablet's cells have room for a number too
    for c in cells:
        if not c["text"]:
            continue
        if c["text"] in ("0", "-0") and abs(c["value"]) < 1:
            continue  # a first digit too wide for its cell: the value rounds to zero there
        forms = {engine.steps.num_text(c["value"], d).replace("0.", ".", 1)
                 if abs(c["value"]) < 1 else engine.steps.num_text(c["value"], d)
                 for d in (1, 2, 3, 4)}
        assert c["text"] in forms, c


def y_everywhere(page):
    """Y as the card, the Label field, the note and the chosen preset's title show it."""
    return page.evaluate("""() => ({
        card: Number(document.querySelector('.panel[data-tensor="Y"] .card').dataset.value),
        field: Number(document.querySelector('#label-y').value),
        note: document.querySelector('#label-note').textContent,
        preset: document.querySelector('#preset').selectedOptions[0].textContent})""")


def test_y_is_shown_with_the_input_and_agrees_everywhere(page_factory):
    page, _ = page_factory()
    assert page.locator('.panel[data-tensor="Y"]').is_visible()  # beside X, from the start
    page.get_by_role("button", name="Edit input & network").click()
    page.wait_for_function("() => document.querySelectorAll('#preset option').length > 2")
    page.select_option("#preset", "plus")  # a plus is labelled 0: said, not silent
    wait_text(page, "#label-note", "Y = 0 is the label of")
    y = y_everywhere(page)
    assert (y["card"], y["field"]) == (0, 0) and y["preset"].endswith("(Y = 0)")
    page.select_option("#label-y", "1")  # a label of one's own: the example is now edited
    wait_text(page, "#label-note", "Y = 1, set by hand")
    y = y_everywhere(page)
    assert (y["card"], y["field"], y["preset"]) == (1, 1, "(edited by hand)")
    page.get_by_label("Input size n").fill("8")  # a new size: a preset again, with its label
    page.get_by_label("Input size n").press("Enter")
    wait_text(page, "#label-note", "Y = 1 is the label of")
    y = y_everywhere(page)
    assert y["card"] == y["field"] == 1 and y["preset"].endswith("(Y = 1)")


def test_training_checks_its_settings_holds_out_a_test_set_and_offers_examples(page_factory):
    page, _ = page_factory()
    page.get_by_role("button", name="Train").first.click()
    page.wait_for_function("() => document.querySelectorAll('#train-dataset option').length > 0")
    page.select_option("#train-dataset", "x_vs_o")
    captions = page.locator("#train-samples figcaption").all_inner_texts()
    assert len(captions) == 4 and all(c.startswith("Y = ") for c in captions)
    requests = []
    page.on("request", lambda r: requests.append(r.url) if "/api/train" in r.url else None)
    for epochs in ("0", "5000", "2.5"):  # refused in the page, by the limits /api/meta gives
        page.get_by_label("Epochs").fill(epochs)
        page.locator("#btn-train").click()
        wait_text(page, "#train-error", "Epochs must be a whole number from 1 to 1000")
    assert requests == [] and page.locator("#train-status").inner_text() == ""
    page.get_by_label("Epochs").fill("4")
    page.locator("#btn-train").click()
    wait_text(page, "#train-status", "Epoch 4 of 4", timeout=30_000)
    wait_text(page, "#train-test", "Test accuracy: ")
    assert "held-out" in page.locator("#train-status").inner_text()
    page.wait_for_function("() => !document.querySelector('#train-example').disabled")
    options = page.locator("#train-example option").all_inner_texts()
    assert len(options) == 8
    wrong = [o for o in options if o.endswith("misclassified")]
    assert options[:len(wrong)] == wrong  # the misclassified come first
    page.select_option("#train-example", "2")
    chosen = page.locator("#train-example option:checked").inner_text()
    y = int(chosen.split("Y = ")[1][0])
    page.get_by_role("button", name="Step through this example").click()
    page.wait_for_function("() => document.querySelector('#drawer-train').hidden")
    page.wait_for_function("""(y) => Number(document.querySelector(
        '.panel[data-tensor="Y"] .card').dataset.value) === y""", arg=y)


PIXEL = """async ([png, points]) => {
    const img = new Image();
    img.src = 'data:image/png;base64,' + png;
    await img.decode();
    const canvas = document.createElement('canvas');
    canvas.width = img.width; canvas.height = img.height;
    const ctx = canvas.getContext('2d');
    ctx.drawImage(img, 0, 0);
    return points.map(([x, y]) => [...ctx.getImageData(x, y, 1, 1).data.slice(0, 3)]);
}"""


def delta_e(a, b):
    """CIE76 colour difference of two sRGB colours (about 2.3: just noticeable)."""
    def lab(rgb):
        def linear(c):
            c /= 255
            return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
        r, g, b = map(linear, rgb)
        x = (0.4124 * r + 0.3576 * g + 0.1805 * b) / 0.95047
        y = 0.2126 * r + 0.7152 * g + 0.0722 * b
        z = (0.0193 * r + 0.1192 * g + 0.9505 * b) / 1.08883

        def f(t):
            return t ** (1 / 3) if t > 216 / 24389 else (24389 / 27 * t + 16) / 116
        return 116 * f(y) - 16, 500 * (f(x) - f(y)), 200 * (f(y) - f(z))
    return sum((p - q) ** 2 for p, q in zip(lab(a), lab(b))) ** 0.5


def extreme_cell(page, name, pick):
    """The centre of the cell of a tensor holding its largest (pick=max) or smallest value."""
    return page.evaluate("""([name, pick]) => {
        const plot = document.querySelector(`.panel[data-tensor="${name}"] .plot`);
        const z = plot.data[0].z.flat();
        const best = Math[pick](...z);
        const el = plot.querySelectorAll('.cell')[z.indexOf(best)];
        const r = el.getBoundingClientRect();
        return [Math.round(r.left + 3), Math.round(r.top + 3)];
    }""", [name, pick])


@pytest.mark.parametrize("deficiency", ["protanopia", "deuteranopia"])
def test_the_two_colour_scales_stay_apart_under_colour_blindness(page_factory, screenshot,
                                                                 deficiency):
    import base64
    page, _ = page_factory(width=1280, height=720)
    step_to(page, SEQUENCE.index("A1"))
    # The darkest activation (sequential scale) beside the most negative weight (diverging)
    points = [extreme_cell(page, "A1", "max"), extreme_cell(page, "W1", "min")]
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setEmulatedVisionDeficiency", {"type": deficiency})
    page.wait_for_timeout(100)
    png = base64.b64encode(page.screenshot()).decode()
    screenshot(page, f"colours-{deficiency}-1280x720")
    cdp.send("Emulation.setEmulatedVisionDeficiency", {"type": "none"})
    plain = base64.b64encode(page.screenshot()).decode()
    seen = page.evaluate(PIXEL, [png, points])
    normal = page.evaluate(PIXEL, [plain, points])
    assert seen != normal  # the emulation did change what was drawn
    assert delta_e(*seen) > 40, seen  # the purple scale's navy against blue: 24 to 30


def test_keyboard_reaches_drawers_and_space_presses_the_focused_button(page_factory):
    page, _ = page_factory()
    focused = ("() => document.activeElement"
               " && (document.activeElement.id || document.activeElement.dataset.drawer)")
    for name, first in (("edit", "cfg-input_size"), ("train", "train-dataset")):
        opener = page.locator(f'[data-drawer="{name}"]')
        opener.focus()
        page.keyboard.press("Enter")  # opened from the keyboard: focus moves into it
        page.wait_for_selector(f"#drawer-{name}:not([hidden])")
        assert page.evaluate(focused) == first
        assert opener.get_attribute("aria-expanded") == "true"
        page.keyboard.press("Tab")  # and stays there
        assert page.evaluate(
            "(id) => document.getElementById(id).contains(document.activeElement)",
            f"drawer-{name}")
        page.keyboard.press("Escape")  # closes, and gives focus back to its button
        assert page.locator(f"#drawer-{name}").is_hidden()
        assert page.evaluate(focused) == name
        assert opener.get_attribute("aria-expanded") == "false"
    page.locator("#btn-next").focus()
    page.keyboard.press(" ")  # presses Next once; does not start playing
    wait_step(page, "Z1")
    page.wait_for_timeout(300)
    assert page.locator("#btn-play").get_attribute("aria-label") == "Play"
    assert page.locator("main").get_attribute("data-step") == "Z1"
    page.locator("#btn-prev").focus()
    page.keyboard.press(" ")
    wait_step(page, "start")


def marked(page, name, cls):
    return page.evaluate("""([name, cls]) => [...document.querySelectorAll(
        `.panel[data-tensor="${name}"] .plot`)].flatMap((plot, f) =>
        [...plot.querySelectorAll('.cell')].flatMap(el => el.classList.contains(cls)
            ? [[f, +el.dataset.r, +el.dataset.c]] : []))""", [name, cls])


def test_pooling_windows_winners_and_the_relu_mask_are_drawn(page_factory, server_url,
                                                             screenshot):
    t = default_trace(server_url)["tensors"]
    A1, Z1, dA1 = (np.array(t[n]) for n in ("A1", "Z1", "dA1"))
    winners = sorted([0, 2 * i + k // 2, 2 * j + k % 2]
                     for i in range(2) for j in range(2)
                     for k in [int(np.argmax(A1[0, 2 * i:2 * i + 2, 2 * j:2 * j + 2]))])
    page, _ = page_factory()
    step_to(page, SEQUENCE.index("P1"))
    assert sorted(marked(page, "A1", "winner")) == winners
    assert marked(page, "A1", "wr") and marked(page, "A1", "wb")  # the windows' edges
    page.keyboard.press("ArrowRight")
    wait_step(page, "F")
    assert marked(page, "A1", "winner") == []  # only at the steps that use them
    for _ in range(SEQUENCE.index("dA1") - SEQUENCE.index("F")):
        page.keyboard.press("ArrowRight")
    wait_step(page, "dA1")
    routed = sorted([0, int(r), int(c)] for r, c in zip(*np.nonzero(dA1[0])))
    assert sorted(marked(page, "dA1", "winner")) == routed == winners
    screenshot(page, "pool-windows-dA1-1440x900")
    page.keyboard.press("ArrowRight")
    wait_step(page, "dZ1")
    assert sorted(marked(page, "dZ1", "masked")) == sorted(
        [0, int(r), int(c)] for r, c in zip(*np.nonzero(Z1[0] <= 0)))
    assert relu_sentence(dA1, Z1) in page.locator("#explain-text").inner_text()
    assert "Here ReLU blocks" in relu_sentence(dA1, Z1)  # the default example shows it
    # seed 0's parameters: every routed gradient passes, and the explanation says so
    t0 = default_trace(server_url, seed=0)["tensors"]
    other, _ = page_factory("/#seed=0&step=" + str(SEQUENCE.index("dZ1")))
    wait_step(other, "dZ1")
    sentence = relu_sentence(np.array(t0["dA1"]), np.array(t0["Z1"]))
    assert "every one of the" in sentence
    assert sentence in other.locator("#explain-text").inner_text()
    screenshot(other, "relu-mask-dZ1-1440x900")


def relu_sentence(dA1, Z1):
    """What the dZ1 explanation must say of these numbers, computed apart from the page."""
    routed = int(np.count_nonzero(dA1))
    blocked = int(np.count_nonzero((dA1 != 0) & (Z1 <= 0)))
    if blocked:
        return f"Here ReLU blocks {blocked} of the {routed} gradients max-pooling routed"
    return f"Here every one of the {routed} routed gradients passes"


def png_size(path):
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")


def test_png_export_has_a_title_and_legend_and_latex_can_be_copied(page_factory, server_url):
    page, _ = page_factory()
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    assert page.locator("#btn-copy-latex").is_hidden()  # no formula before the first step
    step_to(page, SEQUENCE.index("Z2"))
    sizes = {}
    for name in ("Z1", "Z2", "W2"):  # a grid, a single-number card, a vector
        page.locator(f'.panel[data-tensor="{name}"]').hover()
        with page.expect_download() as download:
            page.get_by_role("button", name=f"Download {name} as PNG").click()
        assert download.value.suggested_filename == f"{name}.png"
        sizes[name] = png_size(download.value.path())
        download.value.save_as(str(Path("artifacts/screenshots") / f"export-{name}.png"))
    # drawn at twice the resolution, with room for the title above and the legend below
    assert sizes["Z1"][1] >= 2 * (4 * 56 + 100)
    assert sizes["Z2"][0] >= 2 * 260 and sizes["Z2"][1] >= 2 * (56 + 100)
    page.get_by_role("button", name="Copy LaTeX").click()
    wait_text(page, "#toast", "LaTeX copied")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    trace = default_trace(server_url)
    assert copied == trace["steps"][SEQUENCE.index("Z2")]["latex_numbers"]
    assert copied.startswith("Z_2 = ") and engine.steps.num(trace["tensors"]["Z2"]) in copied


def test_hovering_a_tied_loser_says_it_lost_the_tie_break(page_factory):
    # A blank input: every Z1 cell is b1, so each pooling window is a four-way tie.
    blank = ",".join(["0"] * 36)
    page, _ = page_factory(f"/#cfg=6,3,1,2&x={blank}&y=1&step={SEQUENCE.index('dA1')}")
    wait_step(page, "dA1")
    cell(page, "dA1", (0, 0, 1)).hover()
    wait_text(page, "#explain-detail", "dA1[0,0,1]")
    text = page.locator("#explain-detail").inner_text()
    assert "lost the tie-break" in text and "not the maximum" not in text
    cell(page, "dA1", (0, 0, 0)).hover()  # the first maximum: the winner
    wait_text(page, "#explain-detail", "dA1[0,0,0]")
    assert "tie-break" not in page.locator("#explain-detail").inner_text()


def test_the_last_update_and_its_loss_change_fit_at_1280x720(page_factory, screenshot):
    page, _ = page_factory(width=1280, height=720)
    step_to(page, LAST)
    screenshot(page, "update-b2-1280x720")
    assert page.locator(".update-row").count() == 1
    box = page.locator(".loss-change").bounding_box()
    assert box["y"] >= 0 and box["y"] + box["height"] <= 720


def test_back_from_practice_keeps_every_field_as_the_walk_and_the_page_set_it(page_factory):
    """Chrome's form memory restores fields by position, and the explorer builds some of its
    fields itself: after Back it once wrote X's zeros into Epochs, Batch size and η."""
    page, _ = page_factory()
    fields = ("#train-epochs", "#train-batch", "#train-lr", "#lr", "#seed")
    before = [page.input_value(f) for f in fields]
    page.keyboard.press("ArrowRight")
    page.wait_for_selector("#practise[href]")
    page.locator("#practise").click()
    page.wait_for_url("**/practice?**")
    page.go_back()
    page.wait_for_selector("body.ready")
    assert [page.input_value(f) for f in fields] == before
    assert before[:3] == ["30", "16", "0.5"]
