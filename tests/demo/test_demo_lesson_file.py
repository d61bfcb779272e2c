"""A lesson file from the explorer's example: `GET /api/sessions/{id}/lesson` and
`convlens lesson --from-url`, each read back by the lesson checker."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from app import cli
from app.demo import lesson_file
from app.demo.lesson import load_lesson, parse_lesson
from tests.app.conftest import make_client

BASE = "http://127.0.0.1:8000/"


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


@pytest.mark.parametrize("epoch", [0, 3])
def test_the_explorer_walk_becomes_a_lesson_on_its_numbers(client, epoch):
    walk = client.post("/api/sessions", json={"seed": 11, "lr": 0.25}).json()
    view = client.post(f"/api/sessions/{walk['id']}/goto",
                       json={"epoch": epoch, "cursor": 4}).json()
    response = client.get(f"/api/sessions/{walk['id']}/lesson")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/toml")
    assert 'filename="convlens-lesson.toml"' in response.headers["content-disposition"]
    lesson = parse_lesson(response.text)
    same_example(lesson, view)
    # the slides are the default lesson's
    assert [s.name for s in lesson.slides] == [s.name for s in load_lesson().slides]


def test_the_points_an_example_does_not_show_are_listed_with_their_lines(client):
    presets = client.get("/api/presets?input_size=6").json()
    flat = next(p for p in presets if p["name"] == "horizontal_stroke")
    walk = client.post("/api/sessions", json={"x": flat["x"], "y": 0}).json()
    text = client.get(f"/api/sessions/{walk['id']}/lesson").text
    lines = text.splitlines()
    assert lines[0] == "# Made from the explorer. Check before class:"
    listed = [line for line in lines if line.startswith("#   line ")]
    assert listed, "a Y = 0 example does not show the label-one point"
    lesson = parse_lesson(text, source="x.toml")
    assert [f"#   {w.replace('x.toml:', 'line ', 1)}" for w in lesson.warnings] == listed
    for line in listed:  # each names the line of the slide that makes the point
        number = int(line.split()[2].rstrip(":"))
        assert lines[number - 1] == "[[slide]]"
        name = line.split("(")[1].split(":")[0]
        slide = next(s for s in lesson.slides if s.line == number)
        assert name in slide.shows


def test_a_lesson_for_another_network_says_its_words_were_not_written_for_it(client):
    walk = client.post("/api/sessions", json={"config": {"input_size": 8, "filters": 2}}
                       ).json()
    text = client.get(f"/api/sessions/{walk['id']}/lesson").text
    assert "written for the seed's network" in text.split("\n[example]")[0]
    assert "8×8 input" in text and parse_lesson(text).config.filters == 2


def test_an_unknown_walk_has_no_lesson(client):
    assert client.get("/api/sessions/nope/lesson").status_code == 404


# --------------------------------------------------------------------- from a link
def test_a_link_is_read_as_the_explorer_reads_it(client):
    params = engine.init_params(engine.Config(), 5)
    params["W1"][0, 0, 0] = 0.5  # edited by hand: the link carries all four
    edited = {name: value.tolist() for name, value in params.items()}
    import json
    from urllib.parse import urlencode
    fragment = urlencode({"cfg": "6,3,1,2", "preset": "diagonal", "y": "0", "lr": "0.2",
                          "seed": "5", "params": json.dumps(edited), "pass": "3",
                          "step": "2"})
    example = lesson_file.from_url(BASE + "#" + fragment)
    # the same walk on the server, at the start of pass 3
    x, _ = engine.preset("diagonal", 6)
    walk = client.post("/api/sessions", json={"x": x.tolist(), "y": 0, "lr": 0.2,
                                              "seed": 5, "params": edited}).json()
    view = client.post(f"/api/sessions/{walk['id']}/goto",
                       json={"epoch": 2, "cursor": 0}).json()
    assert example.epoch == 2
    for name in engine.PARAM_NAMES:
        assert np.asarray(example.params[name]).tolist() == view["tensors"][name]
    text, _ = lesson_file.lesson_text(example)
    same_example(parse_lesson(text), view)


@pytest.mark.parametrize(("fragment", "message"), [
    ("", "has no #"),
    ("#cfg=6,3,1", "cfg must be four whole numbers"),
    ("#cfg=6,3,1,5", "pool"),
    ("#x=1,2,3", "x has 3 numbers"),
    ("#x=1,a", "x must be numbers"),
    ("#preset=spiral", "unknown preset"),
    ("#lr=fast", "lr must be a number"),
    ("#lr=0", "lr"),
    ("#seed=-1", "seed must be a whole number"),
    ("#params=%7B", "params is not JSON"),
    ("#params=%7B%22W1%22%3A%5B1%5D%7D", "W1"),
    ("#pass=99999", "beyond"),
])
def test_a_bad_link_is_refused_naming_what_is_wrong(fragment, message):
    with pytest.raises(ValueError, match=message):
        lesson_file.from_url(BASE + fragment)


def test_convlens_lesson_writes_a_file_the_demo_accepts(tmp_path, capsys):
    out = tmp_path / "mine.toml"
    link = BASE + "#cfg=6,3,1,2&preset=vertical_stroke&y=1&lr=0.1&seed=7&step=3"
    assert cli.main(["lesson", "--from-url", link, "-o", str(out)]) == 0
    err = capsys.readouterr().err
    assert f"wrote the lesson to {out}" in err and "check before class" not in err
    assert cli.main(["demo", "--check", str(out)]) == 0
    x, y, params = engine.seed_example()
    lesson = load_lesson(out)
    assert lesson.x.tolist() == x.tolist() and lesson.y == y
    assert lesson.params["W1"].tolist() == params["W1"].tolist()
    assert lesson.warnings == ()
    # a link the engine refuses: a message and exit status 2, no file
    bad = tmp_path / "bad.toml"
    assert cli.main(["lesson", "--from-url", BASE + "#x=1", "-o", str(bad)]) == 2
    assert "x has 1 number;" in capsys.readouterr().err and not bad.exists()


def test_convlens_demo_check_names_the_points_a_lesson_does_not_show(tmp_path, capsys):
    out = tmp_path / "y0.toml"
    link = BASE + "#cfg=6,3,1,2&preset=horizontal_stroke&y=0&lr=0.1&seed=7"
    assert cli.main(["lesson", "--from-url", link, "-o", str(out)]) == 0
    capsys.readouterr()
    assert cli.main(["demo", "--check", str(out)]) == 0  # it runs ...
    err = capsys.readouterr().err
    # ... and the slides whose point its numbers do not show are named, with their lines
    lesson = load_lesson(out)
    assert lesson.warnings
    assert err.splitlines() == [f"convlens: check before class: {w}" for w in lesson.warnings]
