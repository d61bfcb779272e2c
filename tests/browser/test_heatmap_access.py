"""Every heatmap, read without colour and without sight, in real headless Chromium: the text
of a cell contrasts at least 4.5:1 with its colour on both scales, each tensor has a table
of its values by index that says what the cells show (and nothing before its step), a cell
with a value is never blank, a given value's button is named by the text it shows, and a
marked answer cell shows a long value in full."""

from __future__ import annotations

import pytest

import engine
from tests.browser.test_explorer import SEQUENCE, step_to, wait_step
from tests.browser.test_practice import mark_problems
from tests.support.axe import violations

pytestmark = pytest.mark.browser

SIZES = [(1920, 1080), (1280, 720), (390, 844)]
RULES = ("color-contrast", "label-content-name-mismatch")


def luminance(rgb: tuple[int, int, int]) -> float:
    """WCAG 2.1's relative luminance, written apart from the page's colors.js."""
    def channel(v: int) -> float:
        c = v / 255
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(v) for v in rgb)
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def ratio(a, b) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def rgb(text: str) -> tuple[int, int, int]:
    if text.startswith("#"):
        v = int(text[1:], 16)
        return (v >> 16) & 255, (v >> 8) & 255, v & 255
    r, g, b = (int(x) for x in text[text.index("(") + 1:text.index(")")].split(",")[:3])
    return r, g, b


def import_module(page, module: str) -> str:
    """The module's address as the explorer preloads it (versioned by the server)."""
    return page.evaluate(f"""() => document.querySelector(
        'link[rel=modulepreload][href*="common/{module}"]').href""")


def accessibility_problems(page) -> list[str]:
    return [v for v in violations(page) if v.startswith(RULES)]


def tables_of(page, scope: str) -> list[dict]:
    """Each drawn tensor in ``scope``: its name, its planes' values and cells' texts, its
    tables' captions, headers and values."""
    return page.evaluate("""(scope) => [...document.querySelectorAll(scope)].map(panel => {
        const body = panel.querySelector('.plot') ? panel : null;
        const plots = [...panel.querySelectorAll('.plot')].map(p => ({
            z: p.data[0].z, hidden: p.getAttribute('aria-hidden'),
            text: [...p.querySelectorAll('.cell')].map(c => c.textContent)}));
        const tables = [...panel.querySelectorAll('table.tensor-values')].map(t => ({
            caption: t.caption.textContent,
            cols: [...t.querySelectorAll('thead th')].map(th => th.textContent),
            rows: [...t.querySelectorAll('tbody tr')].map(tr => ({
                head: tr.querySelector('th') ? tr.querySelector('th').textContent : null,
                values: [...tr.querySelectorAll('td .value')].map(v => v.textContent)}))}));
        return {name: panel.dataset.tensor, drawn: Boolean(body), plots, tables,
                pending: panel.classList.contains('pending'),
                text: panel.querySelector('.tensor-table, table') ? 'table' : ''};
    })""", scope)


def agrees(cell: str, value: float) -> bool:
    """A cell's text is the value rounded to 1-4 significant digits, or "0"/"-0" for a
    value below 1 whose first digit does not fit its cell."""
    if cell in ("0", "-0") and abs(value) < 1:
        return (cell == "-0") == (value < 0) or value == 0
    forms = {engine.steps.num_text(value, d) for d in (1, 2, 3, 4)}
    forms |= {f.replace("0.", ".", 1) for f in forms if abs(value) < 1}
    return cell in forms


def check_tables(tensor: dict, *, captions: bool = True) -> int:
    """The tensor's tables hold exactly its cells' values, by index (and are captioned by
    its name); returns the number of values checked."""
    assert len(tensor["tables"]) == len(tensor["plots"]), tensor["name"]
    checked = 0
    for f, (plot, table) in enumerate(zip(tensor["plots"], tensor["tables"], strict=True)):
        many = len(tensor["plots"]) > 1
        if captions:
            name = tensor["name"]
            assert table["caption"] == (f"{name}, filter {f}" if many else name)
        else:
            assert table["caption"].endswith(f", filter {f}") if many else table["caption"]
        assert plot["hidden"] == "true"  # the grid's numbers are read from the table
        z = plot["z"]
        rows, cols = len(z), len(z[0])
        heads = [r["head"] for r in table["rows"]]
        if heads != [None]:  # a row vector is one row of values, headed by its columns
            assert [h.split(" ")[-1] for h in heads] == [str(r) for r in range(rows)]
            assert {h.split(" ")[0] for h in heads} <= {"row", "index"}
        if cols > 1 or heads == [None]:
            assert [h.split(" ")[-1] for h in table["cols"]] == [str(c) for c in range(cols)]
            assert {h.split(" ")[0] for h in table["cols"]} <= {"column", "index"}
        values = [v for row in table["rows"] for v in row["values"]]
        flat = [v for row in z for v in row]
        assert values == [engine.steps.num_text(v, 4) for v in flat], tensor["name"]
        for text, v in zip(plot["text"], flat, strict=True):
            assert text, f"{tensor['name']}: a blank cell holding {v}"
            assert agrees(text, v), (tensor["name"], text, v)
        checked += len(flat)
    return checked


def test_the_text_of_every_colour_on_both_scales_contrasts_4_5_to_1(page_factory):
    page, _ = page_factory("/", width=1280, height=720)
    found = page.evaluate("""async (href) => {
        const colors = await import(href);
        const out = [];
        for (const scale of ["diverging", "sequential"]) {
            for (let k = 0; k < 1000; k += 1) {
                const bg = colors.colorOf(-1 + 2 * k / 999, {min: -1, max: 1, scale});
                const text = colors.textOn(bg);
                out.push([scale, bg, text, colors.contrast ? colors.contrast(bg, text) : null]);
            }
        }
        return out;
    }""", import_module(page, "colors.js"))
    assert len(found) == 2000
    lowest = min(ratio(rgb(bg), rgb(text)) for _, bg, text, _ in found)
    assert lowest >= 4.5, lowest
    for scale, bg, text, theirs in found:
        ours = ratio(rgb(bg), rgb(text))
        assert abs(ours - theirs) < 1e-9, (scale, bg)  # the page's formula is WCAG's
        other = "#ffffff" if rgb(text) != (255, 255, 255) else "#000000"
        assert ours >= ratio(rgb(bg), rgb(other)) - 1e-9, (scale, bg)  # the better one
    # Practice's givens' grey that read 3.4:1 in white, and the reds that read 3.59 and 4.27
    for bg in ("#8b8b8b", "rgb(218, 98, 79)", "rgb(208, 80, 70)"):
        text = page.evaluate("async ([href, bg]) => (await import(href)).textOn(bg)",
                             [import_module(page, "colors.js"), bg])
        assert ratio(rgb(bg), rgb(text)) >= 4.5, (bg, text)


def test_a_cell_with_a_value_is_never_blank(page_factory):
    page, _ = page_factory("/", width=1280, height=720)
    texts = page.evaluate("""async (href) => {
        const f = await import(href);
        return [-3.2e-17, 4e-18, 0, -2.5e-9, 123456789012].map(v => f.cellText(v, 10, 12));
    }""", import_module(page, "format.js"))
    assert texts[:4] == ["-0", "0", "0", "-0"]
    assert texts[4]  # a huge value too keeps its first digit
    step_to(page, SEQUENCE.index("dW1"))  # dX: values of a few thousandths and less
    blank = page.evaluate("""() => [...document.querySelectorAll('.plot')].flatMap(plot => {
        const z = plot.data[0].z;
        return [...plot.querySelectorAll('.cell')].filter(el => el.textContent === ''
            && Number.isFinite(z[+el.dataset.r][+el.dataset.c]))
            .map(el => el.title);
    })""")
    assert blank == []


def test_every_explorer_heatmap_has_its_table_and_nothing_before_its_step(
        page_factory, screenshot):
    page, _ = page_factory("/", width=1280, height=720)
    seen = 0
    at = -1  # the walk's step, -1 at Start
    for step in ("start", "P1", "dA1", "W1"):
        target = SEQUENCE.index(step) if step != "start" else -1
        for _ in range(target - at):
            page.keyboard.press("ArrowRight")
        wait_step(page, step)
        at = target
        tensors = tables_of(page, ".panel[data-tensor]")
        tree = page.locator("main").aria_snapshot()
        for tensor in tensors:
            if tensor["pending"]:
                # not computed yet: no table, no value, nothing for a screen reader either
                assert tensor["tables"] == [] and tensor["text"] == "", (step, tensor["name"])
                assert f'table "{tensor["name"]}' not in tree, (step, tensor["name"])
            elif tensor["plots"]:
                seen += check_tables(tensor)
                assert f'table "{tensor["name"]}' in tree, (step, tensor["name"])
        assert accessibility_problems(page) == [], step
    assert seen > 300
    # the table follows the values: a new input redraws both
    for name in ("W1", "X"):
        tensor = tables_of(page, f'.panel[data-tensor="{name}"]')[0]
        check_tables(tensor)


def test_practice_givens_table_names_and_contrast(page_factory, screenshot):
    page, _ = page_factory("/practice?step=dA1&seed=3", width=1280, height=720)
    givens = tables_of(page, ".given[data-tensor]")
    assert sorted(g["name"] for g in givens) == ["A1", "dP1"]
    for given in givens:
        check_tables(given)
    # the routing step's values are buttons, named first by the number they show
    names = page.locator(".given button.value").evaluate_all(
        "els => els.map(e => [e.textContent, e.getAttribute('aria-label')])")
    assert len(names) == 20
    for text, label in names:
        assert label.startswith(text + ", "), (text, label)
    assert accessibility_problems(page) == []
    for step, seed in (("Z1", 2), ("dW1", 2), ("P1", 5), ("W1", 4)):
        page.goto(page.url.split("/practice")[0] + f"/practice?step={step}&seed={seed}")
        page.wait_for_selector("body.ready")
        for given in tables_of(page, ".given[data-tensor]"):
            if given["plots"]:
                check_tables(given)
        assert accessibility_problems(page) == [], step


@pytest.mark.parametrize(("width", "height"), [(1280, 720), (390, 844)])
def test_a_marked_answer_cell_shows_a_long_value_in_full(page_factory, screenshot, width, height):
    page, _ = page_factory("/practice?step=dA1&seed=3", width=width, height=height)
    inputs = page.locator("#answer-grid input")
    for i in range(inputs.count()):
        inputs.nth(i).fill("-0.00541")
    page.get_by_role("button", name="Check").click()
    page.locator("#feedback.wrong").wait_for()
    assert page.locator("#answer-grid .mark.wrong").count() >= 1
    assert mark_problems(page) == []
    clipped = page.evaluate("""() => [...document.querySelectorAll('#answer-grid input')]
        .filter(i => i.scrollWidth > i.clientWidth)
        .map(i => `${i.getAttribute('aria-label')} ${i.scrollWidth}>${i.clientWidth}`)""")
    assert clipped == []
    # four cells a row still fit a phone's width: no sideways scrolling of the answer
    assert page.evaluate("""() => { const g = document.getElementById('answer-grid');
        return g.scrollWidth <= g.clientWidth; }""")
    assert accessibility_problems(page) == []
    page.locator("#answer-grid").scroll_into_view_if_needed()
    screenshot(page, f"access-practice-marked-{width}x{height}")


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_screens_with_tables_and_contrast(page_factory, screenshot, width, height):
    page, _ = page_factory("/", width=width, height=height)
    step_to(page, SEQUENCE.index("dA1"))
    assert accessibility_problems(page) == []
    screenshot(page, f"access-explorer-dA1-{width}x{height}")
    practice, _ = page_factory("/practice?step=dW1&seed=2", width=width, height=height)
    assert accessibility_problems(practice) == []
    screenshot(practice, f"access-practice-dW1-{width}x{height}")
    if width == 1280:
        # the colours under deuteranopia: the scales stay apart, the text stays readable
        for shown, name in ((page, "explorer-dA1"), (practice, "practice-dW1")):
            cdp = shown.context.new_cdp_session(shown)
            cdp.send("Emulation.setEmulatedVisionDeficiency", {"type": "deuteranopia"})
            screenshot(shown, f"access-{name}-deuteranopia-{width}x{height}")
            cdp.send("Emulation.setEmulatedVisionDeficiency", {"type": "none"})
