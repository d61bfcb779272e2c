"""The explorer on a network that is not the seed's, in real headless Chromium against a real
server: a two-conv network with average pooling and a softmax output, opened by a link,
built in Edit by clicking, refused with reasons before anything is sent, and shared."""

from __future__ import annotations

import json
import urllib.parse

import httpx
import numpy as np
import pytest

pytestmark = pytest.mark.browser

TWO_CONV = {
    "input": {"size": 8},
    "layers": [
        {"type": "conv", "filters": 2, "kernel": 3, "stride": 1, "padding": 0},
        {"type": "relu"},
        {"type": "avgpool", "size": 2, "stride": 1},
        {"type": "conv", "filters": 2, "kernel": 2, "stride": 1, "padding": 0},
        {"type": "tanh"},
        {"type": "avgpool", "size": 2, "stride": 2},
        {"type": "flatten"},
        {"type": "dense", "units": 3},
    ],
    "output": "softmax_ce",
}
LINK = "/?network=" + urllib.parse.quote(json.dumps(TWO_CONV))


def served_walk(server_url, network=TWO_CONV):
    """The walk of the page's default example on ``network``, through the API apart from
    the page: the view at the start, then per step the move (what it reveals, what is known)."""
    with httpx.Client(base_url=server_url, timeout=10) as client:
        view = client.post("/api/sessions", json={"network": network}).json()
        moves = [client.post(f"/api/sessions/{view['id']}/next").json()
                 for _ in range(len(view["steps"]))]
    return view, moves


def wait_step(page, name, timeout=10_000):
    page.wait_for_function("(name) => document.querySelector('main').dataset.step === name",
                           arg=name, timeout=timeout)


def shown_values(page, name):
    return page.evaluate("""(name) => {
        const panel = document.querySelector(`.panel[data-tensor="${name}"]`);
        const card = panel.querySelector('.card');
        if (card) return {card: Number(card.dataset.value)};
        return {plots: [...panel.querySelectorAll('.plot')].map(p => p.data[0].z)};
    }""", name)


def as_planes(value, name):
    """The API's value split into the planes the page draws (a 4-D weight: K×C planes)."""
    if not isinstance(value[0], list):
        return [[[v] for v in value]] if name in ("F", "dF") else [[value]]
    if not isinstance(value[0][0], list):
        return [value]
    if isinstance(value[0][0][0], list):
        return [plane for f in value for plane in f]
    return value


def assert_panel_matches(page, name, value):
    shown = shown_values(page, name)
    if "card" in shown:
        assert shown["card"] == (value[0] if isinstance(value, list) else value), name
    else:
        assert shown["plots"] == as_planes(value, name), name


def texts(value):
    return {repr(float(v)) for v in np.ravel(np.array(value, dtype=float)) if np.isfinite(v)}


def later_values(all_tensors, known):
    """Full-precision numbers of the tensors not known yet that no known tensor holds."""
    seen = set().union(*(texts(all_tensors[n]) for n in known if n in all_tensors))
    return {name: {v for v in texts(value) - seen if len(v) >= 9}
            for name, value in all_tensors.items() if name not in known}


def leaks(text, later):
    return {name: sorted(v for v in values if v in text)[:3]
            for name, values in later.items() if any(v in text for v in values)}


def no_clipping(page):
    """Nothing wider than the window, no formula cut off, every panel inside the page."""
    return page.evaluate("""() => {
        const out = [];
        const root = document.documentElement;
        if (root.scrollWidth > root.clientWidth + 1) {
            out.push(`page ${root.scrollWidth} > ${root.clientWidth}`);
        }
        for (const f of document.querySelectorAll('.explain .formula')) {
            const over = f.scrollWidth > f.clientWidth + 1;
            if (over && !f.classList.contains('scrolls')) out.push(`formula ${f.id}`);
        }
        for (const p of document.querySelectorAll('.panel')) {
            const r = p.getBoundingClientRect(), row = p.closest('.row').getBoundingClientRect();
            if (r.right > row.right + 1) out.push(`panel ${p.dataset.tensor} past its row`);
        }
        return out;
    }""")


# --------------------------------------------------------------------- (a) the walk
def test_a_two_conv_softmax_walk_shows_each_served_value_and_nothing_later(page_factory,
                                                                           server_url):
    view, moves = served_walk(server_url)
    everything = dict(view["tensors"])
    for move in moves:
        everything.update(move["reveals"])
    page, _ = page_factory(wait=False)
    responses = []
    page.on("response", lambda r: responses.append(r))
    page.goto(server_url + LINK)
    page.wait_for_selector("body.ready", timeout=15_000)
    bodies = []

    def received():
        while len(bodies) < len(responses):
            try:
                bodies.append(responses[len(bodies)].text())
            except Exception:  # a body the browser did not keep: no values
                bodies.append("")
        return "\n".join(bodies)

    assert page.locator("#progress").inner_text() == f"Start · {len(view['steps'])} steps"
    assert page.locator("#pipeline .chip").count() == len(view["steps"]) + 1  # and X
    # one panel per tensor, laid out from the network: W2 as K×C small grids
    assert page.locator('.panel[data-tensor="W2"] .plot').count() == 4
    for name in ("X", "W1", "W2", "W3", "b3"):
        assert_panel_matches(page, name, view["tensors"][name])
    known = set(view["known"])
    for cursor, move in enumerate(moves):
        step = move["step"]
        page.keyboard.press("ArrowRight")
        wait_step(page, step["writes"])
        known = set(move["known"])
        if step["phase"] != "update":
            panel = page.locator(f'.panel[data-tensor="{step["writes"]}"]')
            assert "current" in panel.get_attribute("class"), step["writes"]
            for name in move["reveals"]:  # what it writes and what it computes beside it
                assert_panel_matches(page, name, move["reveals"][name])
        else:
            assert page.locator(".update-row").count() == 1
        later = later_values(everything, known)
        where = f"at step {cursor + 1} ({step['writes']})"
        tables = page.evaluate("() => [...document.querySelectorAll('table.tensor-values')]"
                               ".map(t => t.outerHTML).join('')")
        assert leaks(page.content(), later) == {}, f"the DOM {where}"
        assert leaks(page.locator("body").inner_text(), later) == {}, f"the page's text {where}"
        assert leaks(tables, later) == {}, f"the heatmaps' tables {where}"
        assert leaks(received(), later) == {}, f"a response {where}"
        pending = page.evaluate("""() => [...document.querySelectorAll('.panel.pending')]
            .map(p => ({name: p.dataset.tensor,
                        cells: p.querySelectorAll('.cell, .card, td').length}))""")
        assert all(p["cells"] == 0 for p in pending), where
        assert not {p["name"] for p in pending} & known, where
    assert page.locator("#progress").inner_text().startswith(f"Step {len(moves)} of {len(moves)}")


def test_the_marks_come_from_the_server_at_the_steps_that_use_them(page_factory, server_url):
    _, moves = served_walk(server_url)
    page, _ = page_factory(LINK)
    index = {m["step"]["writes"]: i for i, m in enumerate(moves) if m["step"]["phase"] != "update"}

    def marked(name, cls):
        return page.evaluate("""([name, cls]) => [...document.querySelectorAll(
            `.panel[data-tensor="${name}"] .cell.${cls}`)].length""", [name, cls])

    page.get_by_role("button", name=f"Go to step {index['P1'] + 1}: forward P1").click()
    wait_step(page, "P1")
    # stride 1 < size 2: the windows overlap, the first one is outlined on each filter
    assert marked("A1", "wr") == 2 * 2 and marked("A1", "wb") == 2 * 2
    assert marked("A1", "winner") == 0  # an average has no winner
    page.get_by_role("button", name=f"Go to step {index['P2'] + 1}: forward P2").click()
    wait_step(page, "P2")
    assert marked("A1", "wr") == 0  # only at the steps that use them
    assert marked("A2", "wr") > 0  # 2×2 windows, stride 2, over the 4×4 A2
    page.get_by_role("button", name=f"Go to step {index['dZ1'] + 1}: backward dZ1").click()
    wait_step(page, "dZ1")
    mask = moves[index["dZ1"]]["marks"]["dZ1"]["masked"]
    assert marked("dZ1", "masked") == int(np.sum(mask))


# ------------------------------------------------------------ (b) Edit builds it
def layer(page, i):
    return page.locator(f'#layer-list .layer-item[data-index="{i}"]')


def set_option(page, i, key, value):
    field = page.get_by_label(f"Layer {i + 1} {key}", exact=True)
    field.fill(str(value))
    field.press("Tab")  # a change event, as a user leaving the field gives


def add_layer(page, kind, after):
    page.get_by_label("New layer").select_option(kind)
    page.get_by_label("Place").select_option(str(after))
    page.get_by_role("button", name="Add layer").click()


def problems(page):
    return page.locator("#net-problems li").all_inner_texts()


def test_edit_builds_the_two_conv_network_by_clicking(page_factory, server_url, screenshot):
    page, _ = page_factory()
    sent = []
    page.on("request", lambda r: r.method == "PATCH" and sent.append(r.post_data_json))
    page.locator('button[data-drawer="edit"]').click()
    page.wait_for_selector("#drawer-edit:not([hidden])")
    assert page.locator("#layer-list .layer-item").count() == 5  # the seed's five layers
    page.get_by_label("Input size", exact=True).fill("8")
    page.get_by_label("Input size", exact=True).press("Tab")
    set_option(page, 0, "filters", 2)
    page.get_by_label("Layer 3 kind").select_option("avgpool")
    set_option(page, 2, "stride", 1)
    add_layer(page, "tanh", 3)  # conv relu avgpool tanh flatten dense: tanh follows a pool
    assert any(p.startswith("Layer 4 (tanh): tanh must follow a conv or dense layer")
               for p in problems(page)), problems(page)
    add_layer(page, "conv", 3)
    assert problems(page) == []
    set_option(page, 3, "filters", 2)
    set_option(page, 3, "kernel", 2)
    add_layer(page, "sigmoid", 7)  # after the last dense: the last layer must be dense
    assert problems(page) == [
        "Layer 8 (sigmoid): the last layer must be dense (the sigmoid_bce output reads its Z), "
        "got sigmoid"]
    page.get_by_role("button", name="Move layer 7 down").click()  # dense last, σ after F
    assert problems(page) == ["Layer 7 (sigmoid): sigmoid must follow a conv or dense layer "
                              "(it follows the flatten)"]
    page.get_by_role("button", name="Remove layer 7").click()
    add_layer(page, "avgpool", 6)  # after the flatten: refused, then moved up before it
    assert any(p.startswith("Layer 7 (avgpool)") for p in problems(page)), problems(page)
    page.get_by_role("button", name="Move layer 7 up").click()
    assert problems(page) == []
    set_option(page, 7, "units", 3)
    assert problems(page) == ["Layer 8 (dense), units: sigmoid_bce needs a last dense layer "
                              "of 1 unit, got 3"]
    page.get_by_label("Output", exact=True).select_option("softmax_ce")
    assert problems(page) == []
    assert "65 trainable parameters" in page.locator("#net-summary").inner_text()
    assert sent == []  # nothing is sent while the draft is edited
    screenshot(page, "network-edit-drawer-1440")
    page.get_by_role("button", name="Build this network").click()
    page.wait_for_function(
        "() => document.querySelector('#progress').textContent === 'Start · 30 steps'")
    assert [body.get("network") for body in sent] == [TWO_CONV], sent
    page.wait_for_function("() => location.hash.includes('network=')")
    state = page.evaluate("() => location.hash")
    assert json.loads(urllib.parse.parse_qs(state[1:])["network"][0]) == TWO_CONV
    # the walk that results has that network: its steps, its panels, its values
    view, moves = served_walk(server_url)
    assert page.locator("#pipeline .chip").count() == len(view["steps"]) + 1
    page.keyboard.press("Escape")
    for move in moves[:4]:
        page.keyboard.press("ArrowRight")
        wait_step(page, move["step"]["writes"])
    assert page.locator('.panel[data-tensor="Z2"] .plot').count() == 2
    assert page.locator('.panel[data-tensor="W2"] .plot').count() == 4
    assert page.get_by_label("Label Y").locator("option").all_inner_texts() == ["0", "1", "2"]


# ------------------------------------------------------ (c) refused, with reasons
def test_a_refused_network_is_explained_in_the_drawer_and_nothing_is_sent(page_factory):
    page, _ = page_factory()
    sent = []
    page.on("request", lambda r: "/api/sessions" in r.url and r.method != "GET"
            and sent.append(r.url))
    page.locator('button[data-drawer="edit"]').click()
    page.wait_for_selector("#drawer-edit:not([hidden])")
    assert page.get_by_role("button", name="Undo these changes").is_disabled()
    set_option(page, 0, "kernel", 7)
    page.get_by_role("button", name="Build this network").click()
    assert problems(page) == ["Layer 1 (conv): kernel 7 is larger than its input (6×6)"]
    assert "refused" in layer(page, 0).get_attribute("class")
    set_option(page, 0, "kernel", 3)
    assert problems(page) == []
    page.get_by_role("button", name="Move layer 4 down").click()  # a dense before the flatten
    # the keyboard stays on the moved layer's control (at the end: its other arrow)
    assert page.evaluate("() => document.activeElement.getAttribute('aria-label')") == (
        "Move layer 5 up")
    page.get_by_role("button", name="Build this network").click()
    assert problems(page) == [
        "Layer 4 (dense): dense needs a flatten before it (this one comes before the flatten)",
        "Layer 5 (flatten): the last layer must be dense (the sigmoid_bce output reads its Z), "
        "got flatten"]
    page.get_by_role("button", name="Undo these changes").click()
    assert problems(page) == []
    assert page.get_by_role("button", name="Undo these changes").is_disabled()
    assert sent == []


def test_the_server_refusal_is_listed_like_the_pages_own(page_factory):
    page, _ = page_factory()
    lines = page.evaluate("""async () => {
        const m = await import(document.querySelector('link[href*="network-check"]').href);
        const detail = [{loc: ["body", "network", "layers", 2, "size"], msg: "must be an integer"},
                        {loc: ["body", "network", "input", "size"], msg: "too large"}];
        const layers = [{type: "conv"}, {type: "relu"}, {type: "maxpool"}];
        return m.serverProblems(detail).map((p) => m.problemText(p, layers));
    }""")
    assert lines == ["Layer 3 (maxpool), size: must be an integer", "Input size: too large"]


# ------------------------------------------------------------ (d) the link
def test_the_link_round_trips_a_custom_network(page_factory, server_url):
    page, _ = page_factory(LINK)
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    wait_step(page, "A2")
    page.get_by_role("button", name="Link").click()
    page.wait_for_selector("#toast.show")
    page.wait_for_function("() => location.hash.includes('step=4')")
    href = page.evaluate("() => location.href")
    assert "?network=" not in href and "network=" in href and "cfg=" not in href
    again, _ = page_factory(href[len(server_url):])
    wait_step(again, "A2")
    assert again.locator("#progress").inner_text() == page.locator("#progress").inner_text()
    for name in ("W2", "Z2", "A2"):
        assert shown_values(again, name) == shown_values(page, name)
    # the seed keeps today's short link
    seed, _ = page_factory("/")
    seed.wait_for_function("() => location.hash.includes('cfg=6%2C3%2C1%2C2')")
    assert "network=" not in seed.evaluate("() => location.hash")


# ------------------------------------------------------------------ screenshots
@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (1280, 720), (390, 844)])
def test_the_two_conv_network_mid_backward_fits(page_factory, screenshot, width, height):
    page, _ = page_factory(LINK, width=width, height=height)
    page.get_by_role("button", name="Go to step 19: backward dW2").click()
    wait_step(page, "dW2")
    page.wait_for_timeout(200)
    screenshot(page, f"network-two-conv-dW2-{width}x{height}")
    assert no_clipping(page) == []
    # every panel is reachable by scrolling down, none off to the side
    right = page.evaluate("() => Math.max(...[...document.querySelectorAll('.panel')]"
                          ".map(p => p.getBoundingClientRect().right))")
    assert right <= page.evaluate("() => document.documentElement.clientWidth") + 1
    page.locator('.panel[data-tensor="dW1"]').scroll_into_view_if_needed()
    page.locator('button[data-drawer="edit"]').click()
    page.wait_for_selector("#drawer-edit:not([hidden])")
    screenshot(page, f"network-two-conv-edit-{width}x{height}")
    assert page.evaluate("() => { const d = document.getElementById('drawer-edit');"
                         " return d.scrollWidth <= d.clientWidth + 1; }")


def test_the_two_conv_network_under_deuteranopia(page_factory, screenshot):
    page, _ = page_factory(LINK, width=1280, height=720)
    page.get_by_role("button", name="Go to step 22: backward dZ1").click()
    wait_step(page, "dZ1")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setEmulatedVisionDeficiency", {"type": "deuteranopia"})
    page.wait_for_timeout(100)
    screenshot(page, "network-two-conv-dZ1-deuteranopia-1280x720")
    cdp.send("Emulation.setEmulatedVisionDeficiency", {"type": "none"})
