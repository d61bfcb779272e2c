"""Compare mode's page in real headless Chromium against a real server: max- against
average pooling stepped from the start to dZ1 with the differing cells marked exactly where
the API says, a switch where one walk waits, the link's round trip, the PNG of the pair,
every control, axe, and screenshots at a projector's, a laptop's and a phone's size."""

from __future__ import annotations

import json
import struct
import urllib.parse
from pathlib import Path

import httpx
import numpy as np
import pytest

from tests.support.axe import violations

pytestmark = pytest.mark.browser

SIZES = [(1280, 720), (1920, 1080), (390, 844)]
POOL_LINK = "/compare?switch=pool&base=%7B%7D"

# The cells a view draws as differing: a card's mark, or per plot the marked (row, col).
MARKED = """(selector) => {
    const box = document.querySelector(selector);
    if (!box) return null;
    const card = box.querySelector('.card');
    if (card) return {card: card.classList.contains('marked')};
    return {cells: [...box.querySelectorAll('.plot')].flatMap((plot, p) =>
        [...plot.querySelectorAll('.cell.source')].map(el => [p, +el.dataset.r, +el.dataset.c]))};
}"""


def served(server_url, body):
    """The comparison apart from the page: its view at the start, then at every position
    the whole view (GET after next), so each position's differs are complete."""
    with httpx.Client(base_url=server_url, timeout=10) as client:
        response = client.post("/api/compare", json=body)
        assert response.status_code == 201, response.text
        start = response.json()
        views = []
        for _ in start["positions"]:
            assert client.post(f"/api/compare/{start['id']}/next").status_code == 200
            views.append(client.get(f"/api/compare/{start['id']}").json())
    return start, views


def as_index(plot, r, c, value, name):
    """A drawn cell's index in the tensor's own shape (heatmap.js's planes)."""
    shape = np.shape(value)
    if len(shape) == 4:
        f, ch = divmod(plot, shape[1])
        return [f, ch, r, c]
    if len(shape) == 3:
        return [plot, r, c]
    if len(shape) == 2:
        return [r, c]
    return [r] if name in ("F", "dF") else [c]


def marked_cells(page, selector, value, name):
    """The page's marked cells as tensor indices, or for a card whether it is marked."""
    shown = page.evaluate(MARKED, selector)
    assert shown is not None, selector
    if "card" in shown:
        return shown
    return sorted(as_index(*cell, value, name) for cell in shown["cells"])


def expected(cells, value):
    if np.size(value) == 1:
        return {"card": bool(cells)}
    return sorted(cells)


def wait_position(page, position, epoch=0):
    text = f"Position {position + 1} of" if position >= 0 else "Start"
    page.wait_for_function("(t) => document.getElementById('progress').textContent.startsWith(t)",
                           arg=text, timeout=10_000)
    page.wait_for_timeout(50)


def start_pool(page):
    page.select_option("#switch", "pool")
    page.get_by_role("button", name="Start").click()
    page.wait_for_selector("#main:not([hidden])")
    wait_position(page, -1)


def position_of(views, side, name):
    return next(p for p, v in enumerate(views)
                if v[side]["step"] and v[side]["step"]["writes"] == name)


def test_pool_from_start_to_dz1_marks_exactly_the_cells_that_differ(page_factory, server_url,
                                                                      screenshot):
    start, views = served(server_url, {"base": {}, "switch": "pool"})
    last = position_of(views, "a", "dZ1")
    page, _ = page_factory("/compare", width=1280, height=720)
    start_pool(page)
    assert page.locator("#explain").text_content() == start["explain"]
    assert page.locator("#side-a .side-label").text_content() == "max-pool 2×2"
    assert page.locator("#side-b .side-label").text_content() == "avg-pool 2×2"
    for position in range(last + 1):
        page.get_by_role("button", name="Next").click()
        wait_position(page, position)
        view = views[position]
        assert page.locator("#explain").text_content() == view["explain"], position
        for side in ("a", "b"):
            walk = view[side]
            # nothing before its step: a panel the walk has not reached holds no cell
            for name in page.evaluate("""(side) => [...document.querySelectorAll(
                    `#walk-${side} .panel`)].map(p => p.dataset.tensor)""", side):
                selector = f'#walk-{side} .panel[data-tensor="{name}"]'
                if name not in walk["tensors"]:
                    assert page.locator(f"{selector} .cell, {selector} .card").count() == 0, name
                    continue
                cells = view["differs"].get(name, [])
                if cells == "shape":
                    continue
                got = marked_cells(page, selector, walk["tensors"][name], name)
                assert got == expected(cells, walk["tensors"][name]), (position, side, name)
                # the table alternative says it in words, once per differing cell
                said = page.locator(f"{selector} .differs-said").count()
                assert said == (len(cells) if np.size(walk["tensors"][name]) > 1 else 0), name
            # the step's pair: the tensor the step wrote, drawn large, marked the same
            name = walk["step"]["writes"]
            got = marked_cells(page, f"#side-{side} .focus-body", walk["tensors"][name], name)
            assert got == expected(view["differs"].get(name, []), walk["tensors"][name])
            assert page.locator(f"#side-{side} .focus-name").text_content() == name
        if view["a"]["step"]["writes"] == "dA1":
            sentence = page.locator("#explain").text_content()
            assert "/ 4" in sentence and "window" in sentence and "3 cells" in sentence, sentence
            assert page.locator("#explain").get_attribute("aria-live") == "polite"
            # max-pooling sends dP1 to one cell a window; average pooling to all 4: all differ
            assert len(view["differs"]["dA1"]) == 16
            assert page.locator("#side-a .focus-differs").text_content() == "≠ 16 cells differ"
            screenshot(page, "compare-pool-dA1-1280x720")
    assert page.locator("#side-a .focus-name").text_content() == "dZ1"


def test_two_conv_the_one_conv_walk_waits(page_factory, server_url, screenshot):
    start, views = served(server_url, {"base": {}, "switch": "two_conv"})
    waiting = next(p for p, (i, j) in enumerate(start["positions"]) if i is None)
    page, _ = page_factory(f"/compare?switch=two_conv&base=%7B%7D&position={waiting - 1}",
                           width=1280, height=720)
    wait_position(page, waiting - 1)
    assert page.locator(".side.waiting").count() == 0
    page.keyboard.press("ArrowRight")
    wait_position(page, waiting)
    assert page.locator("#side-a").get_attribute("class").split() == ["side", "waiting"]
    assert "waits" in page.locator("#side-a .focus-body").text_content()
    assert page.locator("#side-a .side-step").text_content().startswith("Waits: network a")
    assert page.locator("#side-a .focus-body .cell").count() == 0  # nothing drawn for it
    assert "waiting" not in page.locator("#side-b").get_attribute("class")
    b = views[waiting]["b"]
    assert page.locator("#side-b .focus-name").text_content() == b["step"]["writes"]
    assert page.locator("#explain").text_content() == views[waiting]["explain"]
    assert page.locator("#side-b .side-label").text_content().startswith("conv 3×3 ×1, pad 1")
    assert page.locator("#side-a .side-label").text_content().startswith("without conv")
    # a tensor the two have in different shapes says so beside its name
    assert "≠ shape" in page.locator("#walk-b").text_content()
    assert violations(page) == []
    screenshot(page, "compare-two-conv-waits-1280x720")
    page.keyboard.press("ArrowLeft")
    wait_position(page, waiting - 1)
    assert page.locator(".side.waiting").count() == 0


def test_the_link_reopens_both_walks_at_the_step(page_factory, server_url):
    page, _ = page_factory("/compare", width=1280, height=720)
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.select_option("#switch", "pool")
    page.locator("#by-switch summary").click()
    base = {"seed": 3, "y": 0}
    page.fill("#base", json.dumps(base))
    page.get_by_role("button", name="Start").click()
    wait_position(page, -1)
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    wait_position(page, 4)
    page.get_by_role("button", name="Link").click()
    page.wait_for_function(
        "() => document.getElementById('toast').textContent.startsWith('Link copied')")
    copied = page.evaluate("() => navigator.clipboard.readText()")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(copied).query)
    assert query["switch"] == ["pool"] and json.loads(query["base"][0]) == base
    assert query["position"] == ["4"]
    titles = ("() => [...document.querySelectorAll("
              "'#side-a .focus-body .cell, #side-b .focus-body .cell, .card')].map(c => c.title)")
    shown = page.evaluate(titles)
    sentence = page.locator("#explain").text_content()
    parts = urllib.parse.urlsplit(copied)
    again, _ = page_factory(f"{parts.path}?{parts.query}", width=1280, height=720)
    wait_position(again, 4)
    assert again.locator("#switch").input_value() == "pool"
    assert json.loads(again.locator("#base").input_value()) == base
    assert again.locator("#explain").text_content() == sentence
    assert again.evaluate(titles) == shown

    # two networks by hand travel as a and b
    a = {"network": {"input": {"size": 6}, "layers": [
        {"type": "conv", "filters": 1, "kernel": 3}, {"type": "relu"},
        {"type": "maxpool", "size": 2}, {"type": "flatten"}, {"type": "dense", "units": 1}],
        "output": "sigmoid_bce"}}
    b = json.loads(json.dumps(a))
    b["network"]["layers"][1] = {"type": "tanh"}
    again.select_option("#switch", "")
    again.fill("#hand-a", json.dumps(a))
    again.fill("#hand-b", json.dumps(b))
    again.get_by_role("button", name="Start").click()
    wait_position(again, -1)
    assert again.locator("#side-a .side-label").text_content() == "ReLU"
    assert again.locator("#side-b .side-label").text_content() == "tanh"
    again.keyboard.press("ArrowRight")
    wait_position(again, 0)
    again.wait_for_function("() => new URLSearchParams(location.search).get('position') === '0'")
    link = again.evaluate("() => location.search")
    query = urllib.parse.parse_qs(link[1:])
    assert json.loads(query["a"][0]) == a and json.loads(query["b"][0]) == b
    third, _ = page_factory("/compare" + link, width=1280, height=720)
    wait_position(third, 0)
    assert third.locator("#switch").input_value() == ""
    assert third.locator("#by-hand").is_visible()
    assert json.loads(third.locator("#hand-b").input_value()) == b


def png_size(path):
    data = Path(path).read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def test_png_exports_both_panels_with_their_titles(page_factory):
    page, _ = page_factory(POOL_LINK + "&position=13", width=1280, height=720)
    wait_position(page, 13)
    with page.expect_download() as download:
        page.get_by_role("button", name="PNG", exact=True).click()
    assert download.value.suggested_filename == "compare-pool-dA1.png"
    width, height = png_size(download.value.path())
    assert width > 2 * 2 * 4 * 56 and height > 2 * 4 * 56  # two 4×4 grids, twice the resolution
    Path("artifacts/screenshots").mkdir(parents=True, exist_ok=True)
    download.value.save_as("artifacts/screenshots/compare-export-pair-dA1.png")
    # one panel's own PNG, as in the explorer (shown on hover or focus)
    panel = page.locator('#walk-b .panel[data-tensor="dA1"]')
    panel.hover()
    with page.expect_download() as download:
        panel.get_by_role("button", name="Download dA1 as PNG").click()
    assert download.value.suggested_filename == "b-dA1.png"
    png_size(download.value.path())


def test_every_control(page_factory, server_url):
    page, _ = page_factory("/compare", width=1280, height=720)
    for button in ("Reset", "Previous", "Next"):
        assert page.get_by_role("button", name=button).is_disabled()
    for button in ("PNG", "Link"):
        assert page.get_by_role("button", name=button, exact=True).is_disabled()
    # a refused base walk says why, and nothing starts
    page.locator("#by-switch summary").click()
    page.fill("#base", "{not json")
    page.get_by_role("button", name="Start").click()
    assert "not JSON" in page.locator("#setup-error").text_content()
    assert page.locator("#main").is_hidden()
    page.fill("#base", "[1, 2]")
    page.get_by_role("button", name="Start").click()
    assert "must be a JSON object" in page.locator("#setup-error").text_content()
    page.fill("#base", "")
    # the switch's description follows the choice
    page.select_option("#switch", "batch")
    description = page.locator("#switch-description").text_content()
    assert description.startswith("The update uses one example")
    page.get_by_role("button", name="Start").click()
    wait_position(page, -1)
    assert page.locator("#side-a .side-example").is_hidden()
    select = page.locator("#side-b .side-example select")
    assert select.locator("option").count() == 4
    # Next and Previous, by button and by key
    page.get_by_role("button", name="Next").click()
    wait_position(page, 0)
    page.keyboard.press("ArrowRight")
    wait_position(page, 1)
    page.get_by_role("button", name="Previous").click()
    wait_position(page, 0)
    page.keyboard.press("ArrowLeft")
    wait_position(page, -1)
    assert page.get_by_role("button", name="Previous").is_disabled()
    # the batch walk's example selector shows that example's X (the API's)
    assert page.evaluate("() => new URLSearchParams(location.search).get('switch')") == "batch"
    select.select_option("2")
    page.wait_for_function("() => new URLSearchParams(location.search).get('example') === '2'")
    with httpx.Client(base_url=server_url, timeout=10) as client:
        view = client.post("/api/compare", json={"base": {}, "switch": "batch"}).json()
        x2 = client.get(f"/api/compare/{view['id']}?example=2").json()["b"]["tensors"]["X"]
    shown = page.evaluate("""() => [...document.querySelectorAll('#side-b .focus-body .plot')]
        .map(p => p.data[0].z)""")
    assert shown == [x2]
    page.keyboard.press("ArrowRight")
    wait_position(page, 0)
    assert select.input_value() == "2"
    # Reset
    page.keyboard.press("ArrowRight")
    wait_position(page, 1)
    page.get_by_role("button", name="Reset").click()
    wait_position(page, -1)
    # Table: every tensor's values on screen, marked cells said in words
    page.get_by_role("button", name="Table").click()
    assert page.get_by_role("button", name="Table").get_attribute("aria-pressed") == "true"
    wide = "() => document.querySelector('#walk-a .tensor-table').getBoundingClientRect().width"
    assert page.evaluate(wide) > 50
    page.get_by_role("button", name="Table").click()
    assert page.get_by_role("button", name="Table").get_attribute("aria-pressed") == "false"
    assert page.evaluate(wide) <= 1  # visually hidden again (still read)
    # a panel inspected by keyboard names both walks' values of the cell
    page.keyboard.press("ArrowRight")
    wait_position(page, 0)
    page.locator('#walk-a .panel[data-tensor="Z1"]').focus()
    page.keyboard.press("ArrowRight")
    text = page.locator("#inspect").text_content()
    # (b shows its example 3 of 4, a its only one: their Z1 differ)
    assert text.startswith("Z1[0,0,0]: a = ") and ", b = " in text and "(they differ)" in text
    page.keyboard.press("Escape")
    wait_position(page, 0)  # the arrow inspected, it did not step
    # the explorer's header leads here
    page.goto(server_url + "/")
    page.wait_for_selector("body.ready")
    page.get_by_role("link", name="Compare").click()
    page.wait_for_selector("body.ready")
    assert page.url.endswith("/compare")


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_axe_finds_nothing_and_the_pair_fits(page_factory, screenshot, width, height):
    page, _ = page_factory("/compare", width=width, height=height)
    assert violations(page) == []
    screenshot(page, f"compare-setup-{width}x{height}")
    start_pool(page)
    found = {"start": violations(page)}
    for _ in range(14):
        page.keyboard.press("ArrowRight")
    wait_position(page, 13)
    found["dA1"] = violations(page)
    page.get_by_role("button", name="Table").click()
    found["tables"] = violations(page)
    page.get_by_role("button", name="Table").click()
    assert found == {"start": [], "dA1": [], "tables": []}
    # nothing sideways: the page never scrolls horizontally, each side fits its half
    assert page.evaluate("() => document.documentElement.scrollWidth") <= width
    a = page.locator("#side-a").bounding_box()
    b = page.locator("#side-b").bounding_box()
    if width > 700:
        assert a["x"] + a["width"] <= b["x"] and abs(a["y"] - b["y"]) < 1  # side by side
    else:
        assert a["y"] + a["height"] <= b["y"]  # stacked
    for side in ("a", "b"):
        body = page.locator(f"#side-{side} .focus-body")
        assert body.evaluate("(e) => e.scrollWidth <= e.clientWidth + 1")
    screenshot(page, f"compare-pool-dA1-{width}x{height}")
    page.locator("#walk-a").scroll_into_view_if_needed()
    screenshot(page, f"compare-walks-dA1-{width}x{height}")


def test_the_markup_has_no_error(page_factory, server_url, tmp_path):
    """The Nu HTML Checker on the served page and on the DOM at dA1 and where a walk waits."""
    from tests.support import nu

    documents = {"compare-served": httpx.get(server_url + "/compare", timeout=10).text}
    page, _ = page_factory(POOL_LINK + "&position=13", width=1280, height=720)
    wait_position(page, 13)
    page.get_by_role("button", name="Table").click()
    documents["compare-dA1"] = page.content()
    page.goto(server_url + "/compare?switch=two_conv&base=%7B%7D&position=3")
    page.wait_for_selector("body.ready")
    wait_position(page, 3)
    documents["compare-waits"] = page.content()
    assert nu.errors(documents, tmp_path / "nu") == []
