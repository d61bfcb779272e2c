"""The explorer's layout while stepping, at a projector's, a laptop's and a phone's size:
every formula fits its box at a readable size, nothing shifts, the toolbar keeps its height,
a large screen is filled, dX has its formula at the dW1 step and the PNG button covers
nothing."""

from __future__ import annotations

import pytest

import engine
from tests.browser.test_explorer import SEQUENCE, default_trace, step_to, wait_step
from tests.support.axe import violations

pytestmark = pytest.mark.browser

SIZES = [(1920, 1080), (1280, 720), (390, 844)]
FLOOR = 14  # px on screen: the smallest formula type a room can read

# Every formula box of the explanation: its type on screen (CSS px times the zoom) and
# whether its content is wider than the box (a box that scrolls sideways counts as wider).
FORMULAS = """() => [...document.querySelectorAll('.explain .formula')]
    .filter(e => e.offsetParent && e.textContent.trim())
    .map(e => ({id: e.id || e.parentElement.dataset.tensor,
                size: parseFloat(getComputedStyle(e).fontSize) * (e.currentCSSZoom || 1),
                over: e.scrollWidth - e.clientWidth,
                scrolls: e.classList.contains('scrolls')}))"""

CLS = """window.__shift = 0;
new PerformanceObserver((list) => {
  for (const entry of list.getEntries()) window.__shift += entry.value;
}).observe({type: 'layout-shift', buffered: true});"""


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_every_formula_of_the_walk_fits_its_box_at_a_readable_size(page_factory, screenshot,
                                                                   width, height):
    page, _ = page_factory(width=width, height=height)
    for name in SEQUENCE:
        page.get_by_role("button", name="Next").click()
        wait_step(page, name)
        boxes = page.evaluate(FORMULAS)
        assert boxes, name
        for box in boxes:
            assert box["over"] <= 1 and not box["scrolls"], (name, box)
            assert box["size"] >= FLOOR, (name, box)
        if name in ("dA1", "dW1"):
            page.locator("#explain-formula").scroll_into_view_if_needed()
            screenshot(page, f"layout-formula-{name}-{width}x{height}")


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_stepping_shifts_nothing_and_the_toolbar_keeps_its_height(page_factory, width, height):
    """Every layout shift Chromium reports while Next is pressed through a pass, counted
    whether or not it followed the press (CLS leaves those out: this is stricter)."""
    page, _ = page_factory(wait=False, width=width, height=height)
    page.add_init_script(CLS)
    page.reload()
    page.wait_for_selector("body.ready", timeout=15_000)
    page.wait_for_timeout(300)
    page.evaluate("() => { window.__shift = 0; }")
    toolbar = "() => document.querySelector('.topbar').getBoundingClientRect().height"
    heights = {page.evaluate(toolbar)}
    for name in SEQUENCE:
        page.get_by_role("button", name="Next").click()
        wait_step(page, name)
        heights.add(page.evaluate(toolbar))
    page.wait_for_timeout(200)
    assert len(heights) == 1, heights
    assert page.evaluate("() => window.__shift") <= 0.1


def test_a_projector_is_filled_with_readable_cells_and_labels(page_factory, screenshot):
    page, _ = page_factory(width=1920, height=1080)
    step_to(page, SEQUENCE.index("dW1"))
    screenshot(page, "layout-projector-dW1-1920x1080")
    seen = page.evaluate("""() => {
        const px = (e) => parseFloat(getComputedStyle(e).fontSize) * (e.currentCSSZoom || 1);
        const texts = [...document.querySelectorAll('.panel .cell')].filter(e => e.textContent);
        return {
            roles: Math.min(...[...document.querySelectorAll('.panel .role')].map(px)),
            names: Math.min(...[...document.querySelectorAll('.panel .name')].map(px)),
            cells: Math.min(...texts.map(px)),
            cell: document.querySelector('.panel[data-tensor="X"] .cell')
                .getBoundingClientRect().width,
            bottom: Math.max(...[...document.querySelectorAll('.panel')]
                .map(p => p.getBoundingClientRect().bottom)),
            right: Math.max(...[...document.querySelectorAll('.panel, .explain')]
                .map(p => p.getBoundingClientRect().right)),
            overflow: document.documentElement.scrollWidth
                - innerWidth,
        };
    }""")
    assert seen["roles"] >= 14, seen  # "conv", "∂L/∂W1": 11 px before
    assert seen["names"] >= 18, seen
    assert seen["cells"] >= 16, seen  # the numbers in the cells: 12 to 14 px before
    assert seen["cell"] >= 34, seen  # 40 before, but with 14 px numbers
    assert seen["bottom"] >= 0.75 * 1080, seen  # the panels ended at 69% of the height
    assert seen["bottom"] <= 1080 and seen["right"] <= 1920, seen
    assert seen["overflow"] <= 1, seen


def test_the_png_button_covers_nothing_and_the_keyboard_reaches_it(page_factory, screenshot):
    page, _ = page_factory(width=1280, height=720)
    step_to(page, SEQUENCE.index("dA1"))
    panel = page.locator('.panel[data-tensor="dA1"]')
    panel.hover()
    screenshot(page, "layout-png-button-dA1-1280x720")
    boxes = page.evaluate("""() => {
        const r = (e) => { const b = e.getBoundingClientRect();
                           return {l: b.left, t: b.top, r: b.right, b: b.bottom}; };
        const panel = document.querySelector('.panel[data-tensor="dA1"]');
        return {png: r(panel.querySelector('.png')), panel: r(panel),
                others: [...panel.querySelectorAll('.name, .role, .body, .plot')].map(r)};
    }""")
    png = boxes["png"]
    cut = lambda a, b: a["l"] < b["r"] - 0.5 and b["l"] < a["r"] - 0.5 and \
        a["t"] < b["b"] - 0.5 and b["t"] < a["b"] - 0.5  # noqa: E731
    assert not [o for o in boxes["others"] if cut(png, o)], boxes
    p = boxes["panel"]
    assert p["l"] <= png["l"] and png["r"] <= p["r"] and p["t"] <= png["t"] and png["b"] <= p["b"]
    # from the keyboard: Tab from the panel reaches its button, which shows and works
    page.mouse.move(5, 700)
    panel.focus()
    page.keyboard.press("Tab")
    button = page.get_by_role("button", name="Download dA1 as PNG")
    assert page.evaluate("() => document.activeElement.classList.contains('png')")
    assert button.evaluate("(b) => getComputedStyle(b).opacity") == "1"
    with page.expect_download() as download:
        page.keyboard.press("Enter")
    assert download.value.suggested_filename == "dA1.png"


def test_dx_has_its_own_formula_at_the_dw1_step_and_not_before(page_factory, server_url):
    trace = default_trace(server_url)
    page, _ = page_factory(width=1280, height=720)
    step_to(page, SEQUENCE.index("dZ1"))
    assert page.locator(".also-item").count() == 0
    assert "FullConv" not in page.locator(".explain").inner_text()
    page.keyboard.press("ArrowRight")
    wait_step(page, "dW1")
    item = page.locator('.also-item[data-tensor="dX"]')
    assert item.locator("h3").inner_text() == "The same backward pass gives dX"
    formula = item.locator(".formula").first.text_content()
    assert "FullConv" in formula and "flip" in formula
    record = next(s for s in trace["steps"] if s["writes"] == "dW1")
    (dx,) = record["also"]
    served = page.evaluate("""(xml) => new DOMParser().parseFromString(xml, "text/html")
        .body.textContent""", dx["mathml_numbers"])
    assert item.locator(".formula.numbers").text_content() == served
    peak = max((abs(v), v) for row in trace["tensors"]["dX"] for v in row)[1]
    assert served.replace("−", "-").endswith(engine.steps.num_text(peak))
    page.keyboard.press("ArrowRight")  # db1 computes nothing beside it
    wait_step(page, "db1")
    assert page.locator(".also-item").count() == 0


AT = {"start": -1, "forward": SEQUENCE.index("P1"), "backward": SEQUENCE.index("dA1"),
      "update": SEQUENCE.index("W1")}


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (390, 844)])
def test_axe_finds_nothing_at_start_forward_backward_and_update(page_factory, width, height):
    page, _ = page_factory(width=width, height=height)
    found = {}
    at = -1
    for state, cursor in AT.items():
        for _ in range(cursor - at):
            page.keyboard.press("ArrowRight")
        at = cursor
        wait_step(page, SEQUENCE[cursor] if cursor >= 0 else "start")
        page.wait_for_timeout(150)
        found[state] = violations(page)
    assert found == {state: [] for state in AT}


def mean_colour(page, png: bytes) -> list[float]:
    """The mean RGB of a screenshot, decoded by the browser itself (on a blank page)."""
    import base64

    return page.evaluate("""async (data) => {
        const img = new Image();
        img.src = `data:image/png;base64,${data}`;
        await img.decode();
        const canvas = document.createElement('canvas');
        canvas.width = img.width; canvas.height = img.height;
        const ctx = canvas.getContext('2d');
        ctx.drawImage(img, 0, 0);
        const px = ctx.getImageData(0, 0, img.width, img.height).data;
        const sum = [0, 0, 0];
        for (let i = 0; i < px.length; i += 4) for (let k = 0; k < 3; k++) sum[k] += px[i + k];
        return sum.map((v) => v / (px.length / 4));
    }""", base64.b64encode(png).decode())


def test_colours_under_deuteranopia_at_a_projector(page_factory, screenshot, browser):
    """Under Chromium's deuteranopia emulation a negative weight, a positive one and an
    activation still look apart: the diverging scale's halves and the grey scale."""
    page, _ = page_factory(width=1920, height=1080)
    step_to(page, SEQUENCE.index("dW1"))
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setEmulatedVisionDeficiency", {"type": "deuteranopia"})
    page.wait_for_timeout(100)
    screenshot(page, "layout-deuteranopia-dW1-1920x1080")

    def cell(name, pick):
        z = page.evaluate("""(name) => document.querySelector(
            `.panel[data-tensor="${name}"] .plot`).data[0].z""", name)
        flat = [(v, r, c) for r, row in enumerate(z) for c, v in enumerate(row)]
        _, r, c = pick(flat)
        return page.locator(f'.panel[data-tensor="{name}"] .plot .cell[data-r="{r}"]'
                            f'[data-c="{c}"]').screenshot()

    shots = {"negative": cell("W1", min), "positive": cell("W1", max),
             "activation": cell("A1", max)}
    cdp.send("Emulation.setEmulatedVisionDeficiency", {"type": "none"})
    blank = browser.new_page()
    try:
        colours = {name: mean_colour(blank, png) for name, png in shots.items()}
    finally:
        blank.close()
    names = list(colours)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            distance = sum((x - y) ** 2 for x, y in zip(colours[a], colours[b])) ** 0.5
            assert distance > 40, (a, b, colours)
