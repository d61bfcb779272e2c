"""The gradebook in real headless Chromium against ``convlens demo``: a lesson that requires
the student ID says so on the phone's join form and refuses a join without one; the
presenter's page warns how many answers have no ID, says how to import into Canvas, and
its export buttons download the Canvas CSV with the assignment's ID in the total's column
and one column per question."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from app.demo.lesson import DEFAULT_LESSON, load_lesson
from tests.demo.conftest import DemoServer
from tests.demo.test_demo_answers_browser import WAIT, ask_beat, choose, download, walk_to
from tests.demo.test_demo_browser import live, presenter_path
from tests.support.axe import violations
from tests.support.localserver import free_port

pytestmark = [pytest.mark.browser, pytest.mark.slow]

LESSON = load_lesson()
TITLE = " ".join(LESSON.title.split())
QUESTIONS = [q.id for q in LESSON.questions]


@pytest.fixture
def demo_server(tmp_path, request):
    """``convlens demo`` with ``--canvas-assignment 4711``; the lesson requires the
    student ID when the test is parametrized with ``"require_id"``."""
    script = None
    if getattr(request, "param", None) == "require_id":
        script = tmp_path / "require-id.toml"
        script.write_text("require_id = true\n" + DEFAULT_LESSON.read_text(encoding="utf-8"),
                          encoding="utf-8")
    server = DemoServer(port=free_port(), state=tmp_path / "rooms.sqlite3", script=script,
                        options=("--canvas-assignment", "4711",
                                 "--results", str(tmp_path / "results.sqlite3")))
    server.start()
    yield server
    server.stop()


def join(phone, name: str, sid: str = "") -> None:
    expect(phone.locator("#answer-name")).to_be_visible(timeout=WAIT)
    phone.locator("#answer-name").fill(name)
    phone.locator("#answer-sid").fill(sid)
    phone.locator("#answer-join").click()


@pytest.mark.parametrize("demo_server", ["require_id"], indirect=True)
def test_a_lesson_that_requires_the_id_says_so_and_refuses_a_join_without_it(
        open_page, demo_server, demo, screenshot):
    presenter, _ = open_page(presenter_path(demo), width=1280, height=720)
    phone, _ = open_page(f"/follow/{demo_server.room}", width=390, height=844,
                         expected_errors=("422 (Unprocessable",))
    live(presenter)
    live(phone)
    walk_to(presenter, ask_beat("dA2"))
    label = phone.locator('label[for="answer-sid"]')
    expect(label).to_have_text("Student ID (required: the gradebook matches you by it)",
                               timeout=WAIT)
    expect(phone.locator("#answer-sid")).to_have_attribute("aria-required", "true")
    join(phone, "Ada")  # no ID
    expect(phone.locator(".answer-status")).to_contain_text(
        "student_id: a student ID is required in this lesson", timeout=WAIT)
    expect(phone.locator(".answer-status")).to_have_attribute("data-kind", "error")
    expect(phone.locator("#answer-name")).to_be_visible()  # still the join form
    screenshot(phone, "canvas-phone-id-required-390x844")
    assert violations(phone, "#answer-panel") == []
    join(phone, "Ada", "s-100")
    expect(phone.locator(".answer-who")).to_have_text("Answering as Ada", timeout=WAIT)
    presenter.locator("#btn-students").click()
    expect(presenter.locator(".gradebook")).to_contain_text(
        "This lesson requires a student ID to join.")


def test_the_presenter_is_warned_of_answers_without_id_and_told_how_to_import(
        open_page, demo_server, demo, screenshot):
    # the 422: an assignment ID typed wrong, which the page says
    presenter, _ = open_page(presenter_path(demo), width=1280, height=720,
                             expected_errors=("422 (Unprocessable",))
    phones = [open_page(f"/follow/{demo_server.room}", width=390, height=844)[0]
              for _ in range(2)]
    for page in (presenter, *phones):
        live(page)
    walk_to(presenter, ask_beat("dA2"))
    expect(phones[0].locator('label[for="answer-sid"]')).to_have_text(
        "Student ID (optional, for the gradebook)", timeout=WAIT)
    join(phones[0], "Ada", "s-100")
    join(phones[1], "Bob")  # no ID
    for phone in phones:
        expect(phone.locator(".answer-who")).to_contain_text("Answering as", timeout=WAIT)
    choose(phones[0], "negative")
    choose(phones[1], "positive")
    badge = presenter.locator("#noid-badge")
    expect(badge).to_have_text(" · ⚠ 1 answer without ID", timeout=WAIT)  # panel closed
    presenter.locator("#btn-students").click()
    warning = presenter.locator("#noid-warning")
    expect(warning).to_have_text("⚠ 1 answer from 1 student without a student ID: Canvas "
                                 "cannot match them to a student.", timeout=WAIT)
    steps = presenter.locator("#canvas-steps")
    expect(steps).to_contain_text("Grades → Import")
    expect(steps).to_contain_text("SIS User ID")
    expect(steps).to_contain_text("updates assignment 4711 at every import")
    expect(presenter.locator("#canvas-column")).to_have_text(f"{TITLE} (4711)")
    assert violations(presenter, "#students-panel") == []
    assert violations(presenter, ".demo-bar") == []
    presenter.locator(".gradebook").scroll_into_view_if_needed()
    screenshot(presenter, "canvas-presenter-gradebook-1280x720")
    presenter.set_viewport_size({"width": 390, "height": 844})
    presenter.locator(".gradebook").scroll_into_view_if_needed()
    screenshot(presenter, "canvas-presenter-gradebook-390x844")
    overflow = presenter.evaluate("""() => {
        const p = document.getElementById('students-panel');
        return p.scrollWidth - p.clientWidth;
    }""")
    assert overflow <= 1  # nothing cut off at the side
    presenter.set_viewport_size({"width": 1280, "height": 720})

    table = download(presenter, "#export-canvas")
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                        *(f"{TITLE}: {q}" for q in QUESTIONS), f"{TITLE} (4711)"]
    assert table[1] == ["Points Possible", "", "", "", "", *("1" for _ in QUESTIONS),
                        str(len(QUESTIONS))]
    assert [row[:3] for row in table[2:]] == [["Ada", "", "s-100"], ["Bob", "", ""]]
    dA2 = 5 + QUESTIONS.index("dA2")
    assert sorted(row[dA2] for row in table[2:]) == ["0", "1"]
    expect(presenter.locator("#gradebook-status")).to_have_text(
        f"convlens-{demo_server.room}-canvas.csv saved.")
    # another assignment, typed on the page: the column says so, and so does the file
    field = presenter.get_by_label("Canvas assignment ID")
    expect(field).to_have_value("4711")
    field.fill("31337")
    expect(presenter.locator("#canvas-column")).to_have_text(f"{TITLE} (31337)")
    assert download(presenter, "#export-canvas")[0][-1] == f"{TITLE} (31337)"
    field.fill("12a")  # not an ID: the server names the field, the page says it
    presenter.locator("#export-canvas").click()
    expect(presenter.locator("#gradebook-status")).to_contain_text("assignment",
                                                                  timeout=WAIT)
    field.fill("4711")
    generic = download(presenter, "#export-results")
    assert generic[0] == ["name", "student_id", *QUESTIONS, "total", "after_reveal"]
    assert [row[:2] for row in generic[1:]] == [["Ada", "s-100"], ["Bob", ""]]
    # the student without an ID removed: the warning goes
    presenter.locator('button[aria-label="Remove Bob"]').click()
    expect(warning).to_be_hidden(timeout=WAIT)
    expect(badge).to_be_hidden()
