"""A lesson file from the explorer's walk: `GET /api/sessions/{id}/lesson`, read back by the
lesson checker and by `convlens demo --check`."""

from __future__ import annotations

import pytest

import engine
from app import cli
from app.demo.lesson import load_lesson, parse_lesson
from tests.app.conftest import make_client


def same_example(lesson, view) -> None:
    """The lesson holds the walk's X, Y, η and the parameters of its pass, exactly."""
    t = view["tensors"]
    assert lesson.x.tolist() == t["X"] and lesson.y == t["Y"] and lesson.lr == view["lr"]
    for name in engine.PARAM_NAMES:
        assert lesson.params[name].tolist() == t[name], name


@pytest.fixture(scope="module")
def client():
    with make_client() as c:
        yield c


def lesson_of(client, walk_id: str) -> str:
    response = client.get(f"/api/sessions/{walk_id}/lesson")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert 'filename="convlens-lesson.toml"' in response.headers["content-disposition"]
    return response.text


@pytest.mark.parametrize("epoch", [0, 3])
def test_the_explorer_walk_becomes_a_lesson_on_its_numbers(client, epoch):
    walk = client.post("/api/sessions", json={"seed": 11, "lr": 0.25}).json()
    view = client.post(f"/api/sessions/{walk['id']}/goto",
                       json={"epoch": epoch, "cursor": 4}).json()
    text = lesson_of(client, walk["id"])
    lesson = parse_lesson(text)
    same_example(lesson, view)
    assert [s.name for s in lesson.slides] == [s.name for s in load_lesson().slides]
    assert (f"pass {epoch + 1} of the explorer's walk" in text) == (epoch > 0)


def test_the_file_says_nothing_of_what_later_steps_show(client):
    """The explorer serves it at any step: which points the numbers show (ReLU blocks a
    gradient, the loss falls) would tell what is to come. It says how to find them."""
    presets = client.get("/api/presets?input_size=6").json()
    flat = next(p for p in presets if p["name"] == "horizontal_stroke")
    walk = client.post("/api/sessions", json={"x": flat["x"], "y": 0}).json()
    text = lesson_of(client, walk["id"])
    head = text.split("\n# convlens lesson:")[0]  # what the file adds above the lesson
    assert head.startswith("# Made from the explorer") and "convlens demo --check" in head
    for point in engine.points.POINTS:
        assert point not in head, point
    assert parse_lesson(text).warnings  # ... though the checker has some to name


def test_a_lesson_for_another_network_says_its_words_were_not_written_for_it(client):
    walk = client.post("/api/sessions", json={"config": {"input_size": 8, "filters": 2}}
                       ).json()
    text = lesson_of(client, walk["id"])
    assert "written for the seed's network" in text.split("\n[example]")[0]
    assert "8×8 input" in text and parse_lesson(text).config.filters == 2


def test_a_walk_too_big_for_a_lesson_is_refused_with_the_reason(client):
    walk = client.post("/api/sessions", json={"config": {"input_size": 16}}).json()
    response = client.get(f"/api/sessions/{walk['id']}/lesson")
    assert response.status_code == 409
    assert "cannot become a lesson" in response.text and "144" in response.text


def test_an_unknown_walk_has_no_lesson(client):
    assert client.get("/api/sessions/nope/lesson").status_code == 404


def test_convlens_demo_check_names_the_points_a_lesson_does_not_show(client, tmp_path,
                                                                     capsys):
    presets = client.get("/api/presets?input_size=6").json()
    flat = next(p for p in presets if p["name"] == "horizontal_stroke")
    walk = client.post("/api/sessions", json={"x": flat["x"], "y": 0}).json()
    out = tmp_path / "y0.toml"
    out.write_text(lesson_of(client, walk["id"]), encoding="utf-8")
    assert cli.main(["demo", "--check", str(out)]) == 0  # it runs ...
    err = capsys.readouterr().err
    # ... and the slides whose point its numbers do not show are named, with their lines
    lesson = load_lesson(out)
    assert any("label-one" in w for w in lesson.warnings)
    assert err.splitlines() == [f"convlens: check before class: {w}" for w in lesson.warnings]
