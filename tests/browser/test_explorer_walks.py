"""The explorer's mini-batch and optimizer walks, in real headless Chromium against a real
server: a batch of four set in Edit, stepped with the example selector through the step that
averages (each example's gradient beside their mean, the mean the API's), and an Adam walk
over two passes (its state before and after at the update steps, t = 1 then 2)."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.support.axe import violations

pytestmark = pytest.mark.browser

SIZES = [(1280, 720), (1920, 1080), (390, 844)]


def wait_progress(page, pattern, timeout=10_000):
    page.wait_for_function(
        "(p) => new RegExp(p).test(document.querySelector('#progress').textContent)",
        arg=pattern,
        timeout=timeout,
    )


def open_edit(page):
    page.locator('button[data-drawer="edit"]').click()
    page.wait_for_selector("#drawer-edit:not([hidden])")


def close_edit(page):
    page.keyboard.press("Escape")
    page.wait_for_selector("#drawer-edit", state="hidden")


def fill(page, label, value):
    field = page.get_by_label(label, exact=True)
    field.fill(str(value))
    field.press("Tab")  # a change event, as a user leaving the field gives


def patches(page):
    """Every PATCH the page sends, as (session id, body)."""
    sent = []

    def seen(request):
        if request.method == "PATCH":
            sent.append((request.url.rsplit("/", 1)[1], request.post_data_json))

    page.on("request", seen)
    return sent


def grid_values(page, selector):
    """The values drawn in one heatmap (its planes), or its card's number."""
    return page.evaluate(
        """(selector) => {
        const box = document.querySelector(selector);
        const card = box.querySelector('.card');
        if (card) return Number(card.dataset.value);
        return [...box.querySelectorAll('.plot')].map((p) => p.data[0].z);
    }""",
        selector,
    )


def as_drawn(value):
    """The API's value as the page draws it: one-element vectors as a card, else planes."""
    if isinstance(value, list) and len(value) == 1 and not isinstance(value[0], list):
        return value[0]
    if not isinstance(value[0], list):
        return [[value]]
    if not isinstance(value[0][0], list):
        return [value]
    return value


def served(server_url, session, example=0):
    with httpx.Client(base_url=server_url, timeout=10) as client:
        response = client.get(f"/api/sessions/{session}", params={"example": example})
    assert response.status_code == 200, response.text
    return response.json()


def no_clipping(page):
    """Nothing wider than the window, and nothing of the explanation cut off at its side."""
    return page.evaluate("""() => {
        const out = [];
        const root = document.documentElement;
        if (root.scrollWidth > root.clientWidth + 1) {
            out.push(`page ${root.scrollWidth} > ${root.clientWidth}`);
        }
        const aside = document.querySelector('.explain').getBoundingClientRect();
        const parts = '.average-part, .state-view .update-part, .batch-bar > *';
        for (const el of document.querySelectorAll(parts)) {
            const r = el.getBoundingClientRect();
            if (r.right > Math.max(aside.right, root.clientWidth) + 1) {
                out.push(`${el.className} past the page`);
            }
        }
        for (const el of document.querySelectorAll('.average-part, .state-view .update-part')) {
            const r = el.getBoundingClientRect();
            if (r.right > aside.right + 1) out.push(`${el.className} past the explanation`);
        }
        return out;
    }""")


def look_at_step(page, screenshot, step, part, name):
    """Go to ``step`` ("18: backward mean_dW1") by its chip, bring ``part`` into view, take
    the screenshot ``name`` and find nothing clipped."""
    page.get_by_role("button", name=f"Go to step {step}").click()
    wait_progress(page, rf"^Step {step.split(':')[0]} of ")
    page.locator(part).scroll_into_view_if_needed()
    page.wait_for_timeout(150)
    screenshot(page, name)
    assert no_clipping(page) == []


def set_batch(page, n):
    sent = patches(page)
    open_edit(page)
    fill(page, "Examples in the batch N", n)
    wait_progress(page, f"example 1 of {n}")
    return sent


# ------------------------------------------------------------------ the mini-batch
def test_a_batch_of_four_through_the_mean_step(page_factory, server_url):
    page, _ = page_factory(width=1440, height=900)
    sent = set_batch(page, 4)
    session, body = sent[-1]
    assert len(body["x"]) == 4 and len(body["y"]) == 4
    items = page.locator("#batch-list li").all_inner_texts()
    assert len(items) == 4 and items[0].endswith("Y = 1 (the current image)"), items
    assert all(re.search(r"Y = \d", item) for item in items)
    close_edit(page)
    bar = page.get_by_role("group", name="Example of the mini-batch")
    assert bar.is_visible()
    assert page.get_by_label("Showing").input_value() == "0"
    assert page.get_by_role("button", name="Previous example").is_disabled()

    # forward one step, then the selector: the same step, another example's numbers
    page.keyboard.press("ArrowRight")
    wait_progress(page, r"^Step 1 of 25 .*example 1 of 4")
    page.get_by_role("button", name="Next example").click()
    wait_progress(page, r"^Step 1 of 25 .*example 2 of 4")
    assert (
        grid_values(page, '.panel[data-tensor="Z1"] .body')
        == served(server_url, session, 1)["tensors"]["Z1"]
    )
    assert grid_values(page, '.panel[data-tensor="X"] .body') == [body["x"][1]]
    page.get_by_label("Showing").select_option("2")
    wait_progress(page, r"^Step 1 of 25 .*example 3 of 4")
    assert (
        grid_values(page, '.panel[data-tensor="Z1"] .body')
        == served(server_url, session, 2)["tensors"]["Z1"]
    )
    # from the keyboard: Tab reaches the selector's buttons, Enter presses
    page.get_by_role("button", name="Previous example").focus()
    page.keyboard.press("Enter")
    wait_progress(page, r"^Step 1 of 25 .*example 2 of 4")
    page.keyboard.press("Tab")  # to the select
    page.keyboard.press("Tab")  # to the next button
    assert (
        page.evaluate("() => document.activeElement.getAttribute('aria-label')") == "Next example"
    )
    page.keyboard.press("Enter")
    wait_progress(page, r"^Step 1 of 25 .*example 3 of 4")

    # the last backward step: nothing of the mean yet
    page.get_by_role("button", name="Go to step 17: backward db1").click()
    wait_progress(page, r"^Step 17 of 25 .*example 3 of 4")
    assert page.locator("#average-view").is_hidden()
    assert page.locator("#average-plots > *").count() == 0
    mean_view = served(server_url, session, 2)
    assert mean_view["average"] is None and "mean_dW1" not in mean_view["tensors"]

    # the step that averages: each example's dW1, then their mean, the API's numbers
    page.get_by_role("button", name="Go to step 18: backward mean_dW1").click()
    wait_progress(page, r"^Step 18 of 25 .*mean_dW1.*example 3 of 4")
    view = served(server_url, session, 2)
    average = view["average"]
    assert average["name"] == "dW1" and len(average["per_example"]) == 4
    captions = page.locator("#average-plots figcaption").all_inner_texts()
    assert captions == ["∂L⁽¹⁾/∂W1", "∂L⁽²⁾/∂W1", "∂L⁽³⁾/∂W1", "∂L⁽⁴⁾/∂W1", "mean"]
    assert grid_values(page, "#average-plots .average-part.mean .body") == as_drawn(average["mean"])
    assert grid_values(page, "#average-plots .average-part.mean .body") == as_drawn(
        view["tensors"]["mean_dW1"]
    )
    for n, value in enumerate(average["per_example"]):
        assert grid_values(
            page, f'#average-plots .average-part[data-example="{n}"] .body'
        ) == as_drawn(value)
    assert page.locator("#average-plots .average-part.shown").get_attribute("data-example") == "2"
    assert (
        page.locator("#explain-numbers").inner_text().strip() != ""
    )  # the formula with the numbers
    # the table alternative: on screen when asked, and its numbers the same
    page.get_by_role("button", name="Show as tables").click()
    tables = page.locator("#btn-average-tables")
    assert tables.get_attribute("aria-pressed") == "true"
    mean_table = page.locator("#average-plots .average-part.mean table.tensor-values")
    assert mean_table.is_visible()
    titles = mean_table.locator(".value").evaluate_all("(els) => els.map((e) => e.title)")
    assert len(titles) == 9 and titles[0].startswith("mean[0,0,0] = ")
    assert violations(page) == []
    page.get_by_role("button", name="Hide the tables").click()
    assert tables.get_attribute("aria-pressed") == "false"
    # visually hidden again: its box is clipped to a pixel (a screen reader still reads it)
    hidden_box = page.locator("#average-plots .average-part.mean .tensor-table")
    assert hidden_box.evaluate("(t) => t.getBoundingClientRect().width") <= 1
    # another example at the mean step: the outline moves, the mean stays
    page.get_by_label("Showing").select_option("0")
    wait_progress(page, r"^Step 18 of 25 .*example 1 of 4")
    assert page.locator("#average-plots .average-part.shown").get_attribute("data-example") == "0"
    assert grid_values(page, "#average-plots .average-part.mean .body") == as_drawn(average["mean"])
    # a scalar gradient's mean is a card: db2's
    page.get_by_role("button", name="Go to step 21: backward mean_db2").click()
    wait_progress(page, r"^Step 21 of 25 .*mean_db2")
    assert (
        grid_values(page, "#average-plots .average-part.mean .body")
        == (served(server_url, session)["average"]["mean"][0])
    )
    assert violations(page) == []


def test_the_batch_link_reopens_the_same_walk(page_factory, server_url):
    page, _ = page_factory()
    set_batch(page, 3)
    close_edit(page)
    page.get_by_label("Showing").select_option("1")
    page.locator("#btn-next").click()
    wait_progress(page, r"^Step 1 of 25 .*example 2 of 3")
    page.wait_for_function(
        "() => location.hash.includes('xs=') && location.hash.includes('example=2')"
        " && location.hash.endsWith('step=0')"
    )
    href = page.evaluate("() => location.href")
    again, _ = page_factory(href[len(server_url) :])
    wait_progress(again, r"^Step 1 of 25 .*example 2 of 3")
    assert grid_values(again, '.panel[data-tensor="Z1"] .body') == grid_values(
        page, '.panel[data-tensor="Z1"] .body'
    )
    open_edit(again)
    assert again.get_by_label("Examples in the batch N").input_value() == "3"
    assert again.locator("#batch-list li").count() == 3
    # an edit of the shown example keeps the batch (and the example)
    sent = patches(again)
    again.get_by_label("Label Y").select_option("0")
    wait_progress(again, r"^Start .*example 2 of 3")
    assert sent[-1][1]["y"][1] == 0 and len(sent[-1][1]["x"]) == 3
    fill(again, "Examples in the batch N", 1)
    wait_progress(again, r"^Start · 21 steps$")
    assert again.get_by_role("group", name="Example of the mini-batch").is_hidden()


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_mean_step_fits(page_factory, screenshot, width, height):
    page, _ = page_factory(width=width, height=height)
    set_batch(page, 4)
    close_edit(page)
    look_at_step(page, screenshot, "18: backward mean_dW1", "#average-view",
                 f"walks-batch4-mean_dW1-{width}x{height}")
    page.evaluate("() => window.scrollTo(0, 0)")
    screenshot(page, f"walks-batch4-selector-{width}x{height}")
    assert violations(page) == []


# ------------------------------------------------------------------ the optimizers
def wait_optimizer(page, optimizer):
    """Until the walk (its link) has the optimizer: the drawer's fields are drawn again then."""
    page.wait_for_function(
        """(want) => {
        const h = new URLSearchParams(location.hash.slice(1));
        if (want === null) return !h.has('optimizer');
        if (!h.has('optimizer')) return false;
        const have = JSON.parse(h.get('optimizer'));
        return Object.keys(want).length === Object.keys(have).length
            && Object.entries(want).every(([k, v]) => have[k] === v);
    }""",
        arg=optimizer,
    )


def test_the_optimizer_controls_send_what_they_show(page_factory):
    page, _ = page_factory()
    sent = patches(page)
    open_edit(page)
    select = page.get_by_label("Optimizer")
    assert select.locator("option").all_inner_texts() == ["Gradient descent", "Momentum", "Adam"]
    select.select_option("momentum")
    wait_optimizer(page, {"type": "momentum", "beta": 0.9})
    beta = page.get_by_label("β: how much of the last velocity is kept", exact=True)
    assert beta.input_value() == "0.9"
    fill(page, "β: how much of the last velocity is kept", 1)
    assert page.locator("#edit-error").inner_text() == "beta must be at least 0 and below 1."
    assert beta.get_attribute("aria-invalid") == "true"
    fill(page, "β: how much of the last velocity is kept", 0.5)
    wait_optimizer(page, {"type": "momentum", "beta": 0.5})
    select.select_option("adam")
    wait_optimizer(page, {"type": "adam", "beta1": 0.9, "beta2": 0.999, "eps": 1e-8})
    fill(page, "β₁: decay of the first moment m", 0.8)
    wait_optimizer(page, {"type": "adam", "beta1": 0.8, "beta2": 0.999, "eps": 1e-8})
    fill(page, "β₂: decay of the second moment s", 0.99)
    wait_optimizer(page, {"type": "adam", "beta1": 0.8, "beta2": 0.99, "eps": 1e-8})
    fill(page, "ε: added to √ŝ so the step never divides by 0", "1e-6")
    wait_optimizer(page, {"type": "adam", "beta1": 0.8, "beta2": 0.99, "eps": 1e-6})
    bodies = [body for _, body in sent]
    assert bodies[0] == {"optimizer": {"type": "momentum", "beta": 0.9}}
    assert {"optimizer": {"type": "momentum", "beta": 1}} not in bodies  # refused on the page
    assert bodies[-1] == {"optimizer": {"type": "adam", "beta1": 0.8, "beta2": 0.99, "eps": 1e-6}}
    assert page.get_by_label("β₁: decay of the first moment m", exact=True).input_value() == "0.8"
    assert (
        page.locator("#optimizer-about")
        .inner_text()
        .startswith("Each parameter steps by a running mean")
    )
    assert violations(page, "#drawer-edit") == []
    select.select_option("sgd")
    wait_optimizer(page, None)
    assert page.locator("#optimizer-options input").count() == 0


def state_part(page, label):
    return f'#update-view .state-view .update-part[data-state="{label}"] .body'


def test_an_adam_walk_over_two_passes(page_factory, server_url, screenshot):
    page, _ = page_factory(width=1440, height=900)
    sent = patches(page)
    open_edit(page)
    page.get_by_label("Optimizer").select_option("adam")
    wait_optimizer(page, {"type": "adam", "beta1": 0.9, "beta2": 0.999, "eps": 1e-8})
    session = sent[-1][0]
    close_edit(page)
    # the step before the first update: no state drawn, no update view
    page.get_by_role("button", name="Go to step 17: backward db1").click()
    wait_progress(page, r"^Step 17 of 21")
    assert page.locator("#update-view").is_hidden()
    assert page.locator(".state-view").count() == 0
    seen = {}
    for epoch, t in ((0, 1), (1, 2)):
        page.get_by_role("button", name="Go to step 18: update W1").click()
        wait_progress(page, r"^Step 18 of 21 · update · W1" + (" · pass 2" if epoch else "$"))
        view = served(server_url, session)
        update = view["update"]
        assert view["epoch"] == epoch and update["t"] == t
        assert (
            page.locator(".state-view h3").inner_text() == f"The optimizer's state for W1 · t = {t}"
        )
        labels = page.locator(".state-view .update-part .label").all_inner_texts()
        assert labels == ["m_W1", "m_W1′", "s_W1", "s_W1′", "m̂_W1", "ŝ_W1"]
        state = update["state"]
        for label, key in (
            ("m_W1", "m_W1"),
            ("m_W1′", "m_W1_after"),
            ("s_W1", "s_W1"),
            ("s_W1′", "s_W1_after"),
            ("m̂_W1", "m_hat_W1"),
            ("ŝ_W1", "s_hat_W1"),
        ):
            assert grid_values(page, state_part(page, label)) == state[key], label
        # beside them the parameter before and after
        assert page.locator("#update-view .update-row").first.locator(
            ".label"
        ).all_inner_texts() == ["W1", "ΔW1", "new W1"]
        also = page.locator("#explain-also h3").all_inner_texts()
        assert also == [
            f"The optimizer's state: {n}" for n in ("m_W1", "s_W1", "m_hat_W1", "s_hat_W1")
        ]
        assert f"1 - 0.9^{{{t}}}" in view["steps"][17]["also"][2]["latex_numbers"]
        seen[t] = state
        if epoch == 0:
            assert violations(page) == []
            page.locator("#update-view").scroll_into_view_if_needed()
            screenshot(page, "walks-adam-update-W1-t1-1440x900")
            page.get_by_role("button", name="Go to step 21: update b2").click()
            wait_progress(page, r"^Step 21 of 21")
            assert (
                page.locator(".state-view h3").inner_text()
                == "The optimizer's state for b2 · t = 1"
            )
            assert page.locator(".loss-change").is_visible()
            page.get_by_role("button", name="Next").click()  # into pass 2
            wait_progress(page, r"^Step 1 of 21 .* · pass 2")
            assert page.locator("#update-view").is_hidden()
    # the state grows over the passes: pass 2 starts from pass 1's after-values
    assert seen[2]["m_W1"] == seen[1]["m_W1_after"]
    assert seen[2]["s_W1"] == seen[1]["s_W1_after"]
    assert violations(page) == []


def test_a_momentum_walk_shows_the_velocity(page_factory, server_url):
    page, _ = page_factory()
    sent = patches(page)
    open_edit(page)
    page.get_by_label("Optimizer").select_option("momentum")
    wait_optimizer(page, {"type": "momentum", "beta": 0.9})
    close_edit(page)
    page.get_by_role("button", name="Go to step 20: update W2").click()
    wait_progress(page, r"^Step 20 of 21")
    update = served(server_url, sent[-1][0])["update"]
    assert page.locator(".state-view .update-part .label").all_inner_texts() == ["v_W2", "v_W2′"]
    assert grid_values(page, state_part(page, "v_W2′")) == as_drawn(update["state"]["v_W2_after"])
    assert violations(page) == []


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_the_adam_update_fits(page_factory, screenshot, width, height):
    page, _ = page_factory(width=width, height=height)
    open_edit(page)
    page.get_by_label("Optimizer").select_option("adam")
    wait_optimizer(page, {"type": "adam", "beta1": 0.9, "beta2": 0.999, "eps": 1e-8})
    fill(page, "Examples in the batch N", 2)
    wait_progress(page, "example 1 of 2")
    screenshot(page, f"walks-edit-batch-optimizer-{width}x{height}")
    page.get_by_label("Examples in the batch N").scroll_into_view_if_needed()
    screenshot(page, f"walks-edit-batch-optimizer-fields-{width}x{height}")
    assert page.evaluate(
        "() => { const d = document.getElementById('drawer-edit');"
        " return d.scrollWidth <= d.clientWidth + 1; }"
    )
    close_edit(page)
    look_at_step(page, screenshot, "22: update W1", ".state-view",
                 f"walks-adam-batch2-update-W1-{width}x{height}")
    assert violations(page) == []
