"""From the explorer's "Practise this step" to Practice on the same numbers, in real
Chromium: the givens are the tensors the explorer shows, and "New numbers" leaves them."""

from __future__ import annotations

import json

import pytest

import engine

pytestmark = pytest.mark.browser


def created(page, action):
    """Run ``action`` and return the exercise POST /api/exercises answered with."""
    with page.expect_response(lambda r: r.url.endswith("/api/exercises")
                              and r.request.method == "POST") as info:
        action()
    assert info.value.status == 201
    return info.value.json()


@pytest.mark.parametrize("walk_pass", [1, 2])
def test_practise_this_step_opens_the_numbers_on_screen(page_factory, screenshot, walk_pass):
    cursor = engine.STEP_NAMES.index("dZ1")
    page, _ = page_factory(f"/#pass={walk_pass}&step={cursor}", width=1280, height=720)
    page.wait_for_function("() => document.querySelector('main').dataset.step === 'dZ1'")
    shown = page.evaluate("""() => Object.fromEntries(['Z1', 'dA1'].map((name) => [name,
        [...document.querySelectorAll(`.panel[data-tensor="${name}"] .plot`)]
            .map((p) => p.data[0].z)]))""")
    exercise = created(page, page.get_by_role("link", name="Practise this step (dZ1)").click)
    page.wait_for_selector("body.ready")
    assert exercise["example"] is True and exercise["seed"] is None
    for name in ("Z1", "dA1"):  # one filter: one plot each
        assert [exercise["given"][name][0]] == shown[name], name
    note = page.locator("#example-note")
    assert note.is_visible()
    assert "numbers of your walk in the explorer" in note.inner_text()
    assert ("pass 2" in note.inner_text()) == (walk_pass == 2)
    screenshot(page, f"practice-from-explorer-pass{walk_pass}-1280x720")
    # a reload works the same numbers again: they travel in the hash
    again = created(page, page.reload)
    assert again["given"] == exercise["given"]
    page.wait_for_selector("body.ready")
    # "New numbers": drawn ones; the note and the hash go
    fresh = created(page, page.get_by_role("button", name="New numbers").click)
    assert fresh["example"] is False and fresh["given"] != exercise["given"]
    page.wait_for_function("() => document.getElementById('example-note').hidden")
    assert "example=" not in page.url


def test_a_broken_example_link_still_opens_the_step(page_factory):
    broken = json.dumps({"config": {"input_size": 6, "kernel_size": 3, "filters": 1,
                                    "pool_size": 2},
                         "x": [[1]], "y": 1, "lr": 0.1, "params": {}})
    page, probe = page_factory("/practice?step=Z1#example=" + broken, width=1280, height=720)
    assert "could not be used" in page.locator("#feedback").inner_text()
    assert page.locator("#task-title").inner_text() == "Compute Z1"
    assert not page.locator("#example-note").is_visible()
    # the refused request is the one console error this link may cause
    assert all("422" in e for e in probe.errors), probe.errors
    probe.errors.clear()


def test_the_lesson_file_button_downloads_this_walk_as_a_lesson(page_factory, tmp_path):
    from app.demo.lesson import parse_lesson

    cursor = engine.STEP_NAMES.index("dA1")
    page, _ = page_factory(f"/#pass=2&step={cursor}", width=1280, height=720)
    page.wait_for_function("() => document.querySelector('main').dataset.step === 'dA1'")
    with page.expect_download() as info:
        page.get_by_role("button", name="Lesson file").click()
    assert info.value.suggested_filename == "convlens-lesson.toml"
    path = tmp_path / "lesson.toml"
    info.value.save_as(path)
    lesson = parse_lesson(path.read_text(encoding="utf-8"))
    shown = page.evaluate("""() => ['X', 'W1'].map((name) =>
        [...document.querySelectorAll(`.panel[data-tensor="${name}"] .plot`)]
            .map((p) => p.data[0].z))""")
    assert lesson.x.tolist() == shown[0][0]  # the walk's X ...
    assert lesson.params["W1"].tolist() == shown[1]  # ... and pass 2's W1, as on screen
    assert "pass 2 of the explorer's walk" in path.read_text(encoding="utf-8")
    page.wait_for_function(
        "() => document.getElementById('toast').textContent.includes('Lesson file saved')")
