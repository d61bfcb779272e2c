"""Demo mode in real headless Chromium against ``convlens demo`` on 127.0.0.1: a presenter
page, audience pages following it live, late joiners, dropped connections."""

from __future__ import annotations

import json
import re
import time

import httpx
import pytest
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

import engine
from app.demo.lesson import load_lesson
from tests.support.redisserver import RedisServer

pytestmark = pytest.mark.browser

FOLLOW = 5_000  # ms to wait for an audience page to follow (bench/demo_bench.py times it)
# What Chromium prints when the server is killed under a page: the sockets drop, new
# connections are refused, and a response in flight is cut off (reset, or shorter than
# its Content-Length, or empty). And a ping sent as the socket dies: the page checks
# readyState before it sends, but under the test's socket routing (route_web_socket wraps
# the page's WebSocket) the state the page reads can lag the real socket's by a moment.
SERVER_KILLED = ("WebSocket connection to", "ERR_CONNECTION_REFUSED", "ERR_CONNECTION_RESET",
                 "ERR_CONTENT_LENGTH_MISMATCH", "ERR_EMPTY_RESPONSE",
                 "ERR_INCOMPLETE_CHUNKED_ENCODING",
                 "WebSocket is already in CLOSING or CLOSED state")

LESSON = load_lesson()


def presenter_path(demo) -> str:
    return f"/demo?key={demo.key}"


def room_state(server) -> dict:
    response = httpx.get(f"{server.url}/api/demo/{server.room}", timeout=5)
    assert response.status_code == 200
    return response.json()


def live(page) -> None:
    expect(page.locator("#status")).to_have_attribute("data-connection", "live", timeout=10_000)


def on_beat(page, beat: int, timeout: float = 5_000) -> None:
    expect(page.locator("main")).to_have_attribute("data-beat", str(beat), timeout=timeout)


def test_the_audience_follows_the_presenter(
        open_page, demo_server, demo, screenshot):
    presenter, _ = open_page(presenter_path(demo))
    audiences = [open_page(f"/follow/{demo_server.room}", width=1366, height=768)[0]
                 for _ in range(2)]
    for page in (presenter, *audiences):
        live(page)
        on_beat(page, 0)
    expect(presenter.locator("#followers")).to_have_text("2 following")
    assert "key=" not in presenter.url  # the key left the address bar the room can see
    screenshot(presenter, "demo-presenter-intro-1280x720")
    main = presenter.locator("main")
    for beat in range(1, 23):
        presenter.keyboard.press("ArrowRight" if beat % 2 else " ")
        step = main.get_attribute("data-step")
        assert main.get_attribute("data-beat") == str(beat)
        for page in audiences:
            on_beat(page, beat, timeout=FOLLOW)
            assert page.locator("main").get_attribute("data-step") == step
            assert (page.locator("main").get_attribute("data-reveal")
                    == main.get_attribute("data-reveal"))
        if step == "dA1":
            reveal = main.get_attribute("data-reveal")
            name = "answer" if reveal == "true" else "predict"
            screenshot(presenter, f"demo-presenter-dA1-{name}-1280x720")
            if reveal == "true":
                screenshot(audiences[0], "demo-audience-dA1-1366x768")
    assert room_state(demo_server)["beat"] == 22
    presenter.keyboard.press("ArrowLeft")
    on_beat(audiences[0], 21, timeout=FOLLOW)
    presenter.keyboard.press("Home")
    on_beat(audiences[1], 0, timeout=FOLLOW)
    presenter.keyboard.press("End")
    for page in audiences:
        on_beat(page, room_state(demo_server)["beats"] - 1)
    # the loss-after slide's numbers are the lesson's own: its example, one update later
    t = engine.trace(LESSON.x, LESSON.y, LESSON.params, LESSON.config)
    after = engine.loss(LESSON.x, LESSON.y, engine.sgd_step(LESSON.params, t, LESSON.lr),
                        LESSON.config)
    expect(audiences[0].locator("#summary")).to_contain_text(
        f"Loss {float(t['L']):.4g} → {after:.4g} (down")
    screenshot(presenter, "demo-presenter-loss-after-1280x720")


def test_the_predict_step_hides_the_answer_until_the_next_press(open_page, demo_server, demo):
    presenter, _ = open_page(presenter_path(demo))
    audience, _ = open_page(f"/follow/{demo_server.room}")
    live(presenter)
    demo_server.goto(20)  # dA1, the question
    for page in (presenter, audience):
        on_beat(page, 20)
        expect(page.locator("main")).to_have_attribute("data-step", "dA1")
        expect(page.locator('.dpanel[data-tensor="dA1"]')).to_have_class(re.compile("pending"))
        expect(page.locator("#prompt-label")).to_have_text("Predict")
        expect(page.locator("#prompt-answer")).to_be_hidden()
        expect(page.locator("#numbers")).to_be_hidden()
    presenter.keyboard.press("ArrowRight")
    for page in (presenter, audience):
        expect(page.locator("main")).to_have_attribute("data-reveal", "true")
        expect(page.locator('.dpanel[data-tensor="dA1"]')).not_to_have_class(
            re.compile("pending"))
        expect(page.locator("#prompt-answer")).to_contain_text("Only the four winners")
        expect(page.locator("#numbers math")).to_be_visible()
    # the heatmap shows the engine's numbers
    lesson = httpx.get(f"{demo_server.url}/api/demo/lesson", headers={"X-Demo-Key": demo.key})
    answer = lesson.json()["views"][21]
    expected = next(p["value"] for p in answer["panels"] if p["key"] == "dA1")
    shown = audience.evaluate("""() => [...document.querySelectorAll(
        '.dpanel[data-tensor="dA1"] .plot')].map(p => p.data[0].z)""")
    assert shown == expected


def test_an_audience_page_cannot_move_the_lesson(open_page, demo_server, demo):
    presenter, _ = open_page(presenter_path(demo))
    audience, _ = open_page(f"/follow/{demo_server.room}")
    live(audience)
    demo_server.goto(3)
    on_beat(audience, 3)
    for key in ("ArrowRight", " ", "PageDown", "ArrowLeft", "Home", "End"):
        audience.keyboard.press(key)
    expect(audience.locator("#alert")).to_contain_text("The presenter moves the lesson")
    audience.wait_for_timeout(300)
    assert audience.locator("main").get_attribute("data-beat") == "3"
    assert room_state(demo_server)["beat"] == 3 and room_state(demo_server)["seq"] == 1
    # Even a hand-made socket from the audience's page is refused.
    reply = audience.evaluate("""(room) => new Promise((resolve) => {
        const ws = new WebSocket(`ws://${location.host}/ws/follow/${room}`);
        ws.onmessage = (e) => {
            const m = JSON.parse(e.data);
            if (m.type === 'state') ws.send(JSON.stringify({type: 'goto', beat: 9}));
            else { resolve(m); ws.close(); }
        };
    })""", demo_server.room)
    assert reply == {"type": "refused", "detail": "only the presenter moves the lesson"}
    assert room_state(demo_server)["beat"] == 3
    on_beat(presenter, 3)


def test_a_late_joiner_arrives_on_the_current_step(open_page, demo_server, demo, screenshot):
    presenter, _ = open_page(presenter_path(demo))
    live(presenter)
    for _ in range(13):  # as fast as keys go, some while the socket is still signing in
        presenter.keyboard.press("ArrowRight")
    on_beat(presenter, 13)
    deadline = time.monotonic() + 5
    while room_state(demo_server)["beat"] != 13 and time.monotonic() < deadline:
        presenter.wait_for_timeout(50)  # (not time.sleep: the page's requests pass through
        # this test's route handler, which runs only while Playwright is called)
    assert room_state(demo_server)["beat"] == 13  # no move overtook another
    step = presenter.locator("main").get_attribute("data-step")
    assert step == "dA2"
    late, _ = open_page(f"/follow/{demo_server.room}", width=390, height=844)
    on_beat(late, 13, timeout=1_000)
    assert late.locator("main").get_attribute("data-step") == "dA2"
    live(late)
    screenshot(late, "demo-audience-phone-390x844")


def test_a_dropped_audience_connection_resynchronises(open_page, demo_server, demo):
    presenter, _ = open_page(presenter_path(demo))
    audience, context = open_page(f"/follow/{demo_server.room}", ready=False,
                                  expected_errors=("WebSocket connection to",))
    links: dict[str, object] = {"down": False, "current": None}

    def relay(ws):
        if links["down"]:
            ws.close()
            return
        ws.connect_to_server()
        links["current"] = ws

    audience.route_web_socket(re.compile(r".*/ws/follow/.*"), relay)
    audience.reload()
    audience.wait_for_selector("body.ready", timeout=15_000)
    live(audience)
    live(presenter)
    expect(presenter.locator("#followers")).to_have_text("1 following")
    # The connection drops and stays down while the presenter moves on.
    links["down"] = True
    links["current"].close()
    expect(audience.locator("#status")).not_to_have_attribute("data-connection", "live")
    expect(presenter.locator("#followers")).to_have_text("0 following")
    for _ in range(4):
        presenter.keyboard.press("ArrowRight")
    on_beat(presenter, 4)
    audience.wait_for_timeout(500)
    assert audience.locator("main").get_attribute("data-beat") == "0"
    # It comes back: the page reconnects by itself and lands on the current slide.
    links["down"] = False
    on_beat(audience, 4, timeout=10_000)
    live(audience)
    expect(presenter.locator("#followers")).to_have_text("1 following")
    # An offline spell (the network paused, the socket kept) catches up as well.
    context.set_offline(True)
    presenter.keyboard.press("ArrowRight")
    on_beat(presenter, 5)
    context.set_offline(False)
    on_beat(audience, 5, timeout=10_000)


def test_the_presenter_page_needs_the_key(open_page, demo_server, demo):
    wrong, _ = open_page("/demo?key=not-the-right-key", ready=False,
                         expected_errors=("403",))
    expect(wrong.locator("h1")).to_have_text("This presenter link's key is wrong.")
    keyless, _ = open_page("/demo")
    expect(keyless.locator("#alert")).to_contain_text("needs the presenter key")
    expect(keyless.locator("#btn-next")).to_be_disabled()
    keyless.keyboard.press("ArrowRight")
    keyless.wait_for_timeout(300)
    assert room_state(demo_server)["beat"] == 0 and room_state(demo_server)["seq"] == 0
    demo_server.goto(2)
    on_beat(keyless, 2)  # it still follows, read-only


def test_presenter_keys_play_zoom_notes(open_page, demo_server, demo):
    presenter, _ = open_page(presenter_path(demo))
    live(presenter)
    presenter.locator("#speed").fill("2")
    presenter.keyboard.press("p")
    expect(presenter.get_by_role("button", name="Pause")).to_be_visible()
    on_beat(presenter, 1, timeout=4_000)
    presenter.keyboard.press("P")
    expect(presenter.get_by_role("button", name="Play")).to_be_visible()
    assert room_state(demo_server)["beat"] == int(presenter.locator("main").get_attribute(
        "data-beat"))
    def type_size() -> float:
        return presenter.evaluate(
            "() => parseFloat(getComputedStyle(document.documentElement).fontSize)")

    size = type_size()
    presenter.keyboard.press("+")
    assert type_size() > size
    presenter.keyboard.press("-")
    presenter.keyboard.press("-")
    assert type_size() < size
    presenter.keyboard.press("0")
    expect(presenter.locator("#notes")).to_be_hidden()
    presenter.keyboard.press("Home")
    presenter.keyboard.press("n")
    expect(presenter.locator("#notes")).to_be_visible()
    expect(presenter.locator("#notes-text")).to_contain_text("9 + 1 + 4 + 1 = 15")
    presenter.keyboard.press("N")
    expect(presenter.locator("#notes")).to_be_hidden()


SIZES = ((1920, 1080), (1280, 720), (390, 844))


def test_the_join_panel_shows_the_audience_link_and_its_qr_code(
        open_page, demo_server, demo, screenshot):
    presenter, _ = open_page(presenter_path(demo))
    live(presenter)
    panel = presenter.locator("#join-panel")
    expect(panel).to_be_hidden()
    presenter.keyboard.press("j")
    expect(panel).to_be_visible()
    expect(presenter.locator("#btn-join")).to_have_attribute("aria-pressed", "true")
    url = f"{demo_server.url}/follow/{demo_server.room}"
    expect(presenter.locator("#join-url")).to_have_text(url)
    for width, height in SIZES:
        presenter.set_viewport_size({"width": width, "height": height})
        presenter.keyboard.press("j")  # closed and opened again at this size
        presenter.keyboard.press("j")
        code = presenter.locator(".join-qr svg").bounding_box()
        assert code and code["width"] >= 200 and code["height"] >= 200  # scannable
        assert code["x"] >= 0 and code["x"] + code["width"] <= width
        assert code["y"] >= 0 and code["y"] + code["height"] <= height
        button = presenter.locator("#btn-join").bounding_box()
        assert button and button["x"] + button["width"] <= width  # reachable on a phone
        screenshot(presenter, f"demo-presenter-join-{width}x{height}")
    presenter.keyboard.press("Escape")
    expect(panel).to_be_hidden()
    presenter.locator("#btn-join").click()
    expect(panel).to_be_visible()
    presenter.locator("#btn-join").click()
    expect(panel).to_be_hidden()


def test_the_audience_page_holds_no_answer_before_it_is_revealed(open_page, demo_server, demo):
    """At every beat, the audience page's DOM (hidden parts included), its accessibility
    tree and every response and socket frame it has received hold no answer, no speaker
    note and no value the room has not reached."""
    from .test_demo_reveal import LESSON, cursor_of, numbers_in, unshown_values

    presenter, _ = open_page(presenter_path(demo))
    audience, _ = open_page(f"/follow/{demo_server.room}")
    frames: list[str] = []
    responses: list = []
    audience.on("websocket", lambda ws: ws.on("framereceived", lambda payload: frames.append(
        payload if isinstance(payload, str) else payload.decode())))
    audience.on("response", lambda response: responses.append(response))
    audience.reload()
    audience.wait_for_selector("body.ready", timeout=15_000)
    live(audience)
    live(presenter)
    answer_beat = {}
    for beat, (index, revealed) in enumerate(LESSON.beats):
        if revealed:
            answer_beat[index] = beat
    notes = [s.notes for s in LESSON.slides if s.notes]
    bodies: list[str] = []
    asked: list[dict] = []
    read = 0
    for beat in range(len(LESSON.beats)):
        if beat:
            presenter.keyboard.press("ArrowRight")
        on_beat(audience, beat, timeout=FOLLOW)
        secret = [s.reveal for i, s in enumerate(LESSON.slides)
                  if s.reveal and answer_beat[i] > beat] + notes
        dom = audience.evaluate("() => document.documentElement.outerHTML")
        tree = audience.locator("body").aria_snapshot()
        while read < len(responses):
            response = responses[read]
            read += 1
            if response.request.resource_type in ("document", "fetch", "xhr"):
                try:
                    bodies.append(response.text())
                    if response.url.endswith("/question"):  # the answer panel's question
                        asked.append(response.json())
                except PlaywrightError as exc:  # the page before the reload took its body
                    if "navigated away" not in str(exc):
                        raise
        received = "\n".join([*frames, *bodies])
        for text in secret:
            assert text not in dom, f"beat {beat}: in the DOM: {text[:40]}"
            assert text not in tree, f"beat {beat}: in the accessibility tree: {text[:40]}"
            assert text not in received, f"beat {beat}: received: {text[:40]}"
        assert bodies and frames  # the page, its state and the room's frames were seen
        later = unshown_values(cursor_of(beat))
        for frame in frames:
            assert not numbers_in(json.loads(frame)) & later, f"beat {beat}: a later value"
        for question in asked:
            assert not numbers_in(question) & later, f"beat {beat}: a later value in a question"
        index, revealed = LESSON.beats[beat]
        pending = audience.locator(".dpanel.pending")
        if LESSON.slides[index].predict and not revealed:
            assert pending.count() >= 1 and pending.locator(".plot").count() == 0
            expect(audience.locator("#prompt-answer")).to_be_hidden()
            assert audience.locator("#prompt-answer").text_content() == ""
        else:
            assert pending.count() == 0


def test_after_kill_9_and_a_restart_both_pages_come_back_on_the_current_slide(
        open_page, demo_server, demo):
    presenter, _ = open_page(presenter_path(demo), expected_errors=SERVER_KILLED)
    audience, _ = open_page(f"/follow/{demo_server.room}", width=390, height=844,
                            expected_errors=SERVER_KILLED)
    live(presenter)
    live(audience)
    for _ in range(6):
        presenter.keyboard.press("ArrowRight")
    on_beat(audience, 6)
    deadline = time.monotonic() + 5
    while room_state(demo_server)["beat"] != 6 and time.monotonic() < deadline:
        presenter.wait_for_timeout(50)
    demo_server.kill()
    expect(audience.locator("#status")).not_to_have_attribute("data-connection", "live")
    expect(presenter.locator("#status")).not_to_have_attribute("data-connection", "live")
    demo_server.start()
    started = time.monotonic()
    for page in (presenter, audience):  # by themselves: nothing here reloads them
        live(page)
        on_beat(page, 6)
    back = time.monotonic() - started
    assert room_state(demo_server)["beat"] == 6
    presenter.keyboard.press("ArrowRight")  # and the presenter still moves the room
    on_beat(audience, 7)
    assert room_state(demo_server)["beat"] == 7
    print(f"\nafter the restart both pages were live on the current slide in {back:.1f} s")


def test_a_mistyped_room_says_so(open_page, demo_server):
    page, _ = open_page("/follow/no-such-room", ready=False, expected_errors=("404",))
    expect(page.locator("h1")).to_have_text("There is no such room.")


def test_a_question_on_the_audience_page_fits_every_screen(
        open_page, demo_server, demo, screenshot):
    from .test_demo_reveal import LESSON

    asked = next(b for b, (i, r) in enumerate(LESSON.beats)
                 if LESSON.slides[i].name == "dZ1" and not r)
    demo_server.goto(asked)
    audience, _ = open_page(f"/follow/{demo_server.room}")
    on_beat(audience, asked)
    veil = audience.locator('.dpanel[data-tensor="dZ1"] .dveil')
    z1 = next(b for b, (i, _) in enumerate(LESSON.beats) if LESSON.slides[i].name == "Z1")
    for step, beat in (("predict", asked), ("answer", asked + 1), ("products", z1)):
        if beat != asked:
            demo_server.goto(beat)
            on_beat(audience, beat)
        for width, height in SIZES:
            audience.set_viewport_size({"width": width, "height": height})
            audience.wait_for_timeout(100)  # the page refits on resize
            if step == "predict":
                expect(veil).to_be_visible()
                expect(veil).to_have_attribute("aria-label", "dZ1: not computed yet")
                expect(audience.locator("#prompt-label")).to_have_text("Predict")
            elif step == "answer":
                expect(veil).to_have_count(0)
                expect(audience.locator("#prompt-label")).to_have_text("Answer")
            else:  # the top-left cell worked out: nine products, none cut off
                numbers = audience.locator("#numbers")
                expect(numbers).to_be_visible()
                assert numbers.evaluate("e => getComputedStyle(e).overflowX") == "auto"
                starts = numbers.evaluate("""e => [...e.querySelectorAll('math')].map(
                    m => m.getBoundingClientRect().left - e.getBoundingClientRect().left)""")
                assert min(starts) >= 0, starts  # nothing overflows where scrolling cannot go
                numbers.evaluate("e => { e.scrollLeft = e.scrollWidth; }")
                assert numbers.evaluate(
                    "e => Math.ceil(e.scrollLeft + e.clientWidth) >= e.scrollWidth - 1")
            assert audience.evaluate("() => document.scrollingElement.scrollWidth") <= width
            smallest = audience.evaluate("""() => Math.min(...[...document.querySelectorAll(
                'body *')].filter(e => e.offsetParent !== null && e.childNodes.length &&
                [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
                .map(e => parseFloat(getComputedStyle(e).fontSize)))""")
            assert smallest >= 12, f"text at {smallest} px"
            screenshot(audience, f"demo-audience-{step}-{width}x{height}")


def test_a_presenter_page_opens_its_room_again_when_the_server_lost_it(
        open_page, demo_server, demo, tmp_path):
    presenter, _ = open_page(presenter_path(demo), expected_errors=SERVER_KILLED)
    live(presenter)
    presenter.keyboard.press("ArrowRight")
    on_beat(presenter, 1)
    demo_server.kill()
    demo_server.state = tmp_path / "a-fresh-state.sqlite3"  # the rooms are gone
    demo_server.room = "other-room"  # and the server opens another one at start
    demo_server.start()
    demo_server.room = "testroom"
    room = f"{demo_server.url}/api/demo/testroom"
    deadline = time.monotonic() + 20
    while httpx.get(room, timeout=5).status_code == 404 and time.monotonic() < deadline:
        presenter.wait_for_timeout(100)
    assert room_state(demo_server)["room"] == "testroom"  # the page opened it again
    deadline = time.monotonic() + 5  # ... on the slide the page was showing
    while room_state(demo_server)["beat"] != 1 and time.monotonic() < deadline:
        presenter.wait_for_timeout(50)
    assert room_state(demo_server)["beat"] == 1
    live(presenter)
    on_beat(presenter, 1)
    presenter.keyboard.press("ArrowRight")
    deadline = time.monotonic() + 5
    while room_state(demo_server)["beat"] != 2 and time.monotonic() < deadline:
        presenter.wait_for_timeout(50)
    assert room_state(demo_server)["beat"] == 2


PHONE_PROBLEMS = """() => {
    // Text smaller than 12 px as rendered (font size times the stage's zoom), anything cut
    // off at the sides where no scrolling reaches it, a stage taller than its tensors, a
    // numbers line that needs sideways scrolling.
    const problems = [];
    const width = document.documentElement.clientWidth;
    if (document.scrollingElement.scrollWidth > width + 1)
        problems.push(`page scrolls sideways: ${document.scrollingElement.scrollWidth}`);
    const zoomOf = (el) => {
        let zoom = 1;
        for (let e = el; e; e = e.parentElement) {
            const t = getComputedStyle(e).transform;
            if (t && t !== 'none') zoom *= new DOMMatrix(t).a;
        }
        return zoom;
    };
    const scroller = (el) => {
        for (let e = el.parentElement; e; e = e.parentElement) {
            const o = getComputedStyle(e).overflowX;
            if (o !== 'visible') return e;
        }
        return null;
    };
    for (const el of document.querySelectorAll('main *')) {
        if (!el.getClientRects().length) continue;
        const own = [...el.childNodes].some(n => n.nodeType === 3 && n.textContent.trim());
        if (!own) continue;
        // text for a screen reader only (a heatmap's table): never drawn, never cut
        if (el.closest('.visually-hidden, .tensor-table.hidden, .tensor-name')) continue;
        const r = el.getBoundingClientRect();
        const px = parseFloat(getComputedStyle(el).fontSize) * zoomOf(el);
        const what = `${el.tagName}.${el.className} "${el.textContent.trim().slice(0, 20)}"`;
        if (px < 11.99) problems.push(`${what} at ${px.toFixed(1)} px`);
        const box = scroller(el);
        if (!box || box === document.documentElement || box === document.body) {
            if (r.left < -1 || r.right > width + 1) problems.push(`${what} off screen`);
            continue;
        }
        const b = box.getBoundingClientRect();
        const style = getComputedStyle(box);
        if (box.scrollWidth > box.clientWidth + 1 && style.overflowX !== 'scroll')
            problems.push(`${what}: its box scrolls without showing a scroll bar`);
        const start = b.left + box.clientLeft - box.scrollLeft;  // where scrolling starts
        if (r.left < start - 1) problems.push(`${what} cut off on the left`);
        if (style.overflowX === 'hidden' || style.overflowX === 'clip') {
            if (r.right > b.right + 1 || r.left < b.left - 1) problems.push(`${what} clipped`);
        } else if (r.right > start + box.scrollWidth + 1) {
            problems.push(`${what} past the scroll`);
        }
    }
    const stage = document.getElementById('stage');
    const row = stage.querySelector('.stage-box');
    if (row && getComputedStyle(stage).display !== 'none') {
        if (stage.scrollWidth > stage.clientWidth + 1) problems.push('tensors scroll sideways');
        const band = stage.clientHeight - row.getBoundingClientRect().height;
        if (band > 16) problems.push(`stage ${band.toFixed(0)} px taller than its tensors`);
    }
    const numbers = document.getElementById('numbers');
    if (!numbers.hidden && numbers.scrollWidth > numbers.clientWidth + 1)
        problems.push(`numbers line ${numbers.scrollWidth} px in ${numbers.clientWidth}`);
    return problems;
}"""


def test_every_beat_reads_on_a_phone(open_page, demo_server, screenshot):
    """On a 390×844 phone each beat of the default lesson keeps its type at 12 px or more
    as drawn, wraps its tensors and its numbers line to the width, and leaves no empty band."""
    beats = room_state(demo_server)["beats"]
    audience, _ = open_page(f"/follow/{demo_server.room}", width=390, height=844)
    wrapped = 0
    for beat in range(beats):
        view = demo_server.goto(beat)["view"]
        on_beat(audience, beat)  # drawn and fitted in the same task
        assert audience.evaluate(PHONE_PROBLEMS) == [], f"beat {beat} ({view['name']})"
        if view["panels"]:
            expect(audience.locator("main")).to_have_attribute("data-layout", "flow")
        if view["numbers"]:
            # a wrapped line keeps every symbol of the line the server sent, in order
            same = audience.evaluate("""html => {
                const t = document.createElement('template');
                t.innerHTML = html;
                const text = (n) => n.textContent.replace(/\\s/g, '');
                return text(t.content) === text(document.getElementById('numbers'));
            }""", view["numbers"])
            assert same, f"beat {beat}: the numbers line lost or moved a symbol"
            # a line too wide is broken into a table of lines inside its <math>
            wrapped += audience.locator("#numbers mtable[data-lines]").count() > 0
        if beat in (0, 2, 24):
            screenshot(audience, f"demo-audience-b{beat}-390x844")
            audience.evaluate("() => window.scrollTo(0, document.body.scrollHeight)")
            screenshot(audience, f"demo-audience-b{beat}-390x844-end")
            audience.evaluate("() => window.scrollTo(0, 0)")
    assert wrapped > 0  # some numbers line was too wide for a phone, and wrapped
    # back on a wide screen the same slide unwraps to the server's lines
    audience.set_viewport_size({"width": 1920, "height": 1080})
    audience.wait_for_timeout(100)
    expect(audience.locator("main")).not_to_have_attribute("data-layout", "flow")


@pytest.mark.parametrize(("width", "height"), [(1920, 1080), (1280, 720)])
def test_the_presenter_page_keeps_its_projector_layout(
        open_page, demo_server, demo, screenshot, width, height):
    presenter, _ = open_page(presenter_path(demo), width=width, height=height)
    for beat in (2, 24):
        demo_server.goto(beat)
        on_beat(presenter, beat)
        layout = presenter.locator("main").get_attribute("data-layout")
        assert layout in ("stack", "side")
        # one screen, no scrolling: everything the slide holds is inside the window
        assert presenter.evaluate("() => document.scrollingElement.scrollHeight") <= height
        smallest = presenter.evaluate("""() => Math.min(...[...document.querySelectorAll(
            '#main *')].filter(e => e.getClientRects().length &&
            [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))
            .map(e => parseFloat(getComputedStyle(e).fontSize) * (e.closest('.stage-inner')
                ? new DOMMatrix(getComputedStyle(e.closest('.stage-inner')).transform).a : 1)))""")
        assert smallest >= 12, f"beat {beat}: text at {smallest} px"
        screenshot(presenter, f"demo-presenter-b{beat}-{width}x{height}")


@pytest.mark.slow  # a Redis of its own, stopped and started again
def test_a_move_the_room_could_not_take_is_said_and_made_again_once_redis_is_back(
        open_page, demo_server, demo):
    with RedisServer() as redis:
        demo_server.stop()
        demo_server.options = ("--redis", redis.url)
        demo_server.start()
        # while Redis is away, the page's socket is closed (1013) and reconnects, and any
        # request that needs the room is a 503
        presenter, _ = open_page(presenter_path(demo), expected_errors=(*SERVER_KILLED, "503"))
        live(presenter)
        presenter.keyboard.press("ArrowRight")
        deadline = time.monotonic() + 5
        while room_state(demo_server)["beat"] != 1 and time.monotonic() < deadline:
            presenter.wait_for_timeout(50)
        presenter.evaluate("""() => {  // every status the page shows from now on
            const status = document.getElementById("status");
            window.shown = [];
            new MutationObserver(() => window.shown.push(status.dataset.connection))
                .observe(status, { attributes: true, attributeFilter: ["data-connection"] });
        }""")
        redis.stop()
        presenter.keyboard.press("ArrowRight")  # the room cannot take it now
        alert = presenter.locator("#alert")
        expect(alert).to_contain_text("did not reach the room")
        presenter.wait_for_function("window.shown.includes('reconnecting')", timeout=5_000)
        presenter.wait_for_timeout(1_500)  # tries again, and is never live without the room
        assert "live" not in presenter.evaluate("window.shown"), presenter.evaluate("window.shown")
        redis.start()  # empty: the worker puts its room back, then the page its slide
        live(presenter)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            response = httpx.get(f"{demo_server.url}/api/demo/{demo_server.room}", timeout=5)
            if response.status_code == 200 and response.json()["beat"] == 2:
                break
            presenter.wait_for_timeout(100)
        assert room_state(demo_server)["beat"] == 2  # the presenter's slide, not lost
        expect(alert).to_be_hidden()
        on_beat(presenter, 2)
