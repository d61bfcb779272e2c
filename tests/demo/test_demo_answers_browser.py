"""The room answers in real headless Chromium against ``convlens demo`` on 127.0.0.1: a
presenter and three phones answer every kind of question (one with a known
misconception), the presenter's live distribution, the reveal on each phone, the CSV
downloads, and the results file across a restart of the server."""

from __future__ import annotations

import csv
import io
import sqlite3
from pathlib import Path

import numpy as np
import pytest
from playwright.sync_api import expect

from app.demo.lesson import load_lesson
from tests.demo.test_demo_browser import live, on_beat, presenter_path

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LESSON = load_lesson()
Q = {q.id: q for q in LESSON.questions}
WAIT = 5_000


def ask_beat(name: str) -> int:
    slide = next(i for i, s in enumerate(LESSON.slides) if s.name == name)
    return LESSON.beats.index((slide, False))


def walk_to(presenter, beat: int) -> None:
    now = int(presenter.locator("main").get_attribute("data-beat"))
    for _ in range(beat - now):
        presenter.keyboard.press("ArrowRight")
    on_beat(presenter, beat)


def status(phone):
    return phone.locator(".answer-status")


def tap(phone, tensor: str, cells) -> None:
    for cell in cells:
        phone.locator(f'.answer-cell[aria-label^="{tensor}[{",".join(map(str, cell))}] "]').click()
    phone.locator(".answer-send").click()
    expect(status(phone)).to_contain_text("Your answer", timeout=WAIT)


def type_grid(phone, values) -> None:
    inputs = phone.locator(".answer-grid input")
    for i, v in enumerate(np.ravel(values)):
        inputs.nth(i).fill(f"{v:.4f}")
    phone.locator(".answer-grid-form button[type=submit]").click()
    expect(status(phone)).to_contain_text("Your answer", timeout=WAIT)


def choose(phone, option: str) -> None:
    phone.locator(".answer-option", has_text=option).click()
    expect(phone.locator(".answer-option", has_text=option)).to_have_attribute(
        "aria-pressed", "true", timeout=WAIT)


def number(phone, value: str) -> None:
    phone.locator("#answer-value").fill(value)
    phone.locator(".answer-number button").click()
    expect(status(phone)).to_contain_text("Your answer", timeout=WAIT)


def no_truth_on(phone) -> None:
    """Before the reveal: no right answer, no result, no distribution on the phone, in its
    DOM or its accessibility tree."""
    assert phone.locator(".answer-reveal, .tally, [data-right]").count() == 0
    tree = phone.locator("body").aria_snapshot()
    assert "Right answer" not in tree and "answered" not in tree


def reveal_with(presenter, how: str) -> None:
    if how == "keys":
        presenter.keyboard.press("c")
        expect(presenter.locator("#tally-panel")).to_have_attribute("data-state", "closed")
        presenter.keyboard.press("r")
    else:
        presenter.locator("#tally-close").click()
        expect(presenter.locator("#tally-panel")).to_have_attribute("data-state", "closed")
        presenter.locator("#tally-open").click()  # reopened ...
        expect(presenter.locator("#tally-panel")).to_have_attribute("data-state", "open")
        presenter.locator("#tally-reveal").click()  # ... and revealed straight away
    expect(presenter.locator("#tally-panel")).to_have_attribute("data-state", "revealed",
                                                                timeout=WAIT)


def under_the_sheet(phone) -> float:
    """How far the slide's end stays under the answer sheet with the page scrolled to its
    end (the sheet is fixed to the bottom of the screen): at most 1 px, nothing hidden."""
    phone.wait_for_timeout(100)  # (the room below the slide follows the sheet's size)
    return phone.evaluate("""() => {
        window.scrollTo(0, document.scrollingElement.scrollHeight);
        const sheet = document.getElementById("answer-panel").getBoundingClientRect();
        return document.querySelector("main").getBoundingClientRect().bottom - sheet.top;
    }""")


def download(presenter, button: str) -> list[list[str]]:
    with presenter.expect_download() as info:
        presenter.locator(button).click()
    text = Path(info.value.path()).read_text(encoding="utf-8-sig")
    return list(csv.reader(io.StringIO(text)))


def test_a_room_answers_every_kind_and_the_results_survive_a_restart(
        open_page, demo_server, demo, screenshot, tmp_path):
    presenter, _ = open_page(presenter_path(demo), width=1920, height=1080)
    names = [("Ada", "s-100"), ("<b>Bob</b>", "s-200"), ("=Cy", "")]
    phones = [open_page(f"/follow/{demo_server.room}", width=390, height=844)[0]
              for _ in names]
    for page in (presenter, *phones):
        live(page)

    # ---- cells: which Z1 cells ReLU sets to 0 (the first question: everyone joins here)
    walk_to(presenter, ask_beat("A1"))
    for phone, (name, sid) in zip(phones, names):
        expect(phone.locator("#answer-name")).to_be_visible(timeout=WAIT)
        phone.locator("#answer-name").fill(name)
        phone.locator("#answer-sid").fill(sid)
        phone.locator("#answer-join").click()
        expect(phone.locator(".answer-who")).to_have_text(f"Answering as {name}", timeout=WAIT)
    assert phones[1].locator(".answer-panel b").count() == 0  # the name is text
    screenshot(phones[1], "answers-phone-cells-390x844")
    assert under_the_sheet(phones[1]) <= 1
    right = [tuple(c) for c in Q["A1"].answer_json()]
    tap(phones[0], "Z1", right)
    tap(phones[1], "Z1", right)
    wrong = next((0, r, c) for r in range(4) for c in range(4) if (0, r, c) not in right)
    tap(phones[2], "Z1", [wrong])  # a cell ReLU keeps
    count = presenter.locator("#tally-count")
    expect(count).to_have_text("3 of 3 following answered · open", timeout=WAIT)
    taps = presenter.locator(".tally-tap")
    expect(taps.nth(right[0][1] * 4 + right[0][2])).to_have_text("2")
    expect(taps.nth(wrong[1] * 4 + wrong[2])).to_have_text("1")
    # the heatmap of taps is a table a screen reader can walk: rows of cells
    cells = presenter.locator('[role="cell"]').count()
    assert cells == 16 and presenter.locator(
        '[role="table"] > [role="row"] > [role="cell"]').count() == cells
    screenshot(presenter, "answers-presenter-cells-1920x1080")
    for phone in phones:
        no_truth_on(phone)
    reveal_with(presenter, "keys")
    for phone, ok in zip(phones, (True, True, False)):
        expect(phone.locator(".answer-yours")).to_contain_text("right ✓" if ok else "not quite ✗",
                                                               timeout=WAIT)
        expect(phone.locator(".answer-right")).to_contain_text("[0,0,1]")  # one index notation
        expect(phone.locator(".tally-legend")).to_have_text(
            "How many tapped each cell of Z1; outlined: the right cells")  # the counts' key
    assert under_the_sheet(phones[0]) <= 1  # the sheet grew with the reveal; so did the room
    screenshot(phones[0], "answers-phone-cells-revealed-390x844")

    # ---- grid: P1, one phone averages the windows (misconception p1-average)
    walk_to(presenter, ask_beat("P1"))
    p1 = np.asarray(Q["P1"].truth)
    a1 = np.asarray(Q["P1"].given["A1"])
    average = a1.reshape(1, 2, 2, 2, 2).mean(axis=(2, 4))
    expect(phones[0].locator(".answer-grid input")).to_have_count(4, timeout=WAIT)
    type_grid(phones[0], p1)
    type_grid(phones[1], average)
    type_grid(phones[2], p1)
    expect(count).to_have_text("3 of 3 following answered · open", timeout=WAIT)
    expect(presenter.locator(".tally-misconceptions")).to_contain_text(
        "Average pooling instead of max: 1")
    expect(presenter.locator(".tally-summary")).to_contain_text("2 right (67%)")
    for phone in phones:
        no_truth_on(phone)
    reveal_with(presenter, "buttons")
    expect(phones[1].locator(".answer-misconception")).to_contain_text(
        "Average pooling instead of max", timeout=WAIT)
    expect(phones[0].locator(".answer-yours")).to_contain_text("right ✓")
    right_grid = phones[0].locator(".answer-right").text_content()
    assert " / " in right_grid and "[" not in right_grid, right_grid  # rows, not JSON
    assert "[" not in phones[0].locator(".answer-given").first.text_content()
    screenshot(phones[0], "answers-phone-grid-revealed-390x844")

    # ---- choice: the sign of dA2; a phone changes its mind
    walk_to(presenter, ask_beat("dA2"))
    expect(phones[2].locator(".answer-option")).to_have_count(3, timeout=WAIT)
    choose(phones[0], "negative")
    choose(phones[1], "positive")
    choose(phones[2], "zero")
    choose(phones[2], "negative")  # latest wins
    expect(count).to_have_text("3 of 3 following answered · open", timeout=WAIT)
    bars = presenter.locator(".tally-bar")
    expect(bars.nth(0)).to_contain_text("1 (33%)")
    expect(bars.nth(1)).to_contain_text("2 (67%)")
    expect(bars.nth(2)).to_contain_text("0 (0%)")
    for phone in phones:
        no_truth_on(phone)
    reveal_with(presenter, "keys")
    expect(phones[1].locator(".answer-right")).to_have_text("Right answer: negative",
                                                            timeout=WAIT)
    expect(phones[1].locator(".answer-yours")).to_contain_text("positive — not quite ✗")
    expect(phones[1].locator(".tally-bar").nth(1)).to_contain_text("✓ negative")
    screenshot(phones[1], "answers-phone-reveal-390x844")

    # ---- number: dZ2
    walk_to(presenter, ask_beat("dZ2"))
    expect(phones[0].locator("#answer-value")).to_be_visible(timeout=WAIT)
    number(phones[0], f"{Q['dZ2'].truth:.3f}")
    # a typographic minus and a decimal comma
    number(phones[1], f"{Q['dZ2'].truth:.3f}".replace("-", "−").replace(".", ","))
    number(phones[2], "0.5")
    expect(count).to_have_text("3 of 3 following answered · open", timeout=WAIT)
    expect(presenter.locator(".tally-bar")).to_have_count(2)
    reveal_with(presenter, "keys")
    expect(phones[2].locator(".answer-yours")).to_contain_text("not quite ✗", timeout=WAIT)

    # ---- cells: which A1 cells receive a gradient
    walk_to(presenter, ask_beat("dA1"))
    right = [tuple(c) for c in Q["dA1"].answer_json()]
    tap(phones[0], "A1", right)
    tap(phones[1], "A1", right[:2])
    tap(phones[2], "A1", right)
    expect(count).to_have_text("3 of 3 following answered · open", timeout=WAIT)
    presenter.set_viewport_size({"width": 1280, "height": 720})
    screenshot(presenter, "answers-presenter-dA1-1280x720")
    reveal_with(presenter, "keys")
    expect(phones[1].locator(".answer-yours")).to_contain_text("not quite ✗", timeout=WAIT)

    # ---- the gradebook
    rows = download(presenter, "#tally-csv")
    assert rows[0] == ["name", "student_id", "A1", "P1", "dA2", "dZ2", "dA1", "dZ1", "total",
                       "after_reveal"]
    assert rows[1] == ["Ada", "s-100", "1", "1", "1", "1", "1", "", "5", "0"]  # dZ1 unasked
    # Bob: cells A1 and number dZ2, and the share of P1 his averages got right (a window
    # ReLU zeroed averages to its maximum, 0)
    bob_p1 = float(np.isclose(average, p1).mean())
    assert rows[2][0] == "<b>Bob</b>" and rows[2][-2] == f"{2 + bob_p1:g}"
    assert rows[3][0] == "'=Cy" and rows[3][-2] == "3"
    canvas = download(presenter, "#tally-canvas")
    assert canvas[1][0] == "Points Possible" and canvas[1][-1] == "6"
    assert canvas[2][2] == "s-100" and canvas[2][-1] == "5"
    raw = download(presenter, "#tally-raw")
    assert [r[0] for r in raw[1:]] == ["Ada", "<b>Bob</b>", "'=Cy"]

    # ---- a restart: the answers are still there and each phone gets its own back
    results = tmp_path / "xdg-state" / "convlens" / "demo-results.sqlite3"
    demo_server.stop()
    demo_server.start()
    with sqlite3.connect(results) as db:
        assert db.execute("SELECT COUNT(*) FROM answers").fetchone()[0] == 15
        assert db.execute("SELECT COUNT(*) FROM students").fetchone()[0] == 3
    for page in (presenter, *phones):
        live(page)
    phones[1].reload()
    live(phones[1])
    expect(phones[1].locator(".answer-who")).to_have_text("Answering as <b>Bob</b>",
                                                          timeout=WAIT)
    expect(phones[1].locator(".answer-yours")).to_contain_text("not quite ✗", timeout=WAIT)
