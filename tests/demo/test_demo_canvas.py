"""The Canvas export: a lesson may require the student ID (``require_id = true``), the
presenter hears how many answers have no ID, the assignment's ID makes the total's column
"Title (ID)" (so a second import updates the same assignment), and there is one column per
question as well as the total. Read back with the csv module."""

from __future__ import annotations

import csv
import io

import pytest

from app import cli
from app.demo.answers import AnswerStore
from app.demo.lesson import DEFAULT_LESSON, LessonError, load_lesson, parse_lesson
from app.demo.mode import DemoSettings
from tests.demo.test_demo_answering import LESSON, QUESTIONS, go, join, put
from tests.demo.test_demo_cli import free_port

TITLE = " ".join(LESSON.title.split())


def required_lesson(tmp_path, value: str = "true"):
    text = DEFAULT_LESSON.read_text(encoding="utf-8")
    path = tmp_path / "require-id.toml"
    path.write_text(f"require_id = {value}\n" + text, encoding="utf-8")
    return path


def rows(response) -> list[list[str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def canvas(client, demo, **params) -> list[list[str]]:
    return rows(client.get(f"/api/demo/{demo.room}/results.csv",
                           params={"layout": "canvas", **params}, headers=demo.keyed))


# ------------------------------------------------------------------------------ the lesson
def test_a_lesson_may_require_the_student_id(tmp_path):
    assert load_lesson().require_id is False
    assert load_lesson(required_lesson(tmp_path)).require_id is True
    with pytest.raises(LessonError) as info:
        load_lesson(required_lesson(tmp_path, '"yes"'))
    assert str(info.value) == (f"{tmp_path / 'require-id.toml'}:1: require_id must be true "
                               "or false, got a string")
    with pytest.raises(LessonError, match="unknown key 'require_ids'"):
        parse_lesson("require_ids = true\n" + DEFAULT_LESSON.read_text(encoding="utf-8"))


def test_a_join_without_the_required_id_is_refused_naming_the_field(tmp_path, demo):
    with demo.client(script=required_lesson(tmp_path)) as client:
        go(client, demo, "dA2")
        asked = client.get(f"/api/demo/{demo.room}/question")
        assert asked.status_code == 200 and asked.json()["require_id"] is True
        for body in ({"name": "Ada"}, {"name": "Ada", "student_id": ""},
                     {"name": "Ada", "student_id": None}):
            r = client.post(f"/api/demo/{demo.room}/join", json=body)
            assert r.status_code == 422, r.text
            (problem,) = r.json()["detail"]
            assert problem["loc"] == ["body", "student_id"]
            assert "student ID is required in this lesson" in problem["msg"]
        token = join(client, demo, "Ada", "s-100")
        assert put(client, demo, "dA2", 1, token).status_code == 200
        # a reconnect with the token joins again, whatever the form held
        again = client.post(f"/api/demo/{demo.room}/join", json={"name": "Ada"},
                            headers=token)
        assert again.status_code == 200 and again.json()["student_id"] == "s-100"
    with demo.client() as client:  # the default lesson: the ID stays optional
        go(client, demo, "dA2")
        assert client.get(f"/api/demo/{demo.room}/question").json()["require_id"] is False
        join(client, demo, "Ada")


# ------------------------------------------------------------------------------ the export
def test_the_canvas_export_has_a_column_per_question_and_the_assignment_id(client, demo):
    go(client, demo, "dA2")
    ada = join(client, demo, "=Ada", "s-1")
    bob = join(client, demo, "Bob")  # no ID: Canvas cannot match him
    right = int(QUESTIONS["dA2"].truth)
    assert put(client, demo, "dA2", right, ada).status_code == 200
    assert put(client, demo, "dA2", 1 - right, bob).status_code == 200
    qs = list(QUESTIONS)
    table = canvas(client, demo)
    assert table[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section",
                        *(f"{TITLE}: {q}" for q in qs), TITLE]
    assert table[1] == ["Points Possible", "", "", "", "", *("1" for _ in qs), str(len(qs))]
    only = ["" for _ in qs]  # dA2 was the only question answered
    only[qs.index("dA2")] = "1"
    assert table[2] == ["'=Ada", "", "s-1", "", "", *only, "1"]
    only[qs.index("dA2")] = "0"
    assert table[3] == ["Bob", "", "", "", "", *only, "0"]
    assert len(table) == 4
    # the assignment's ID, as a query parameter: "Title (ID)", and nothing else changes
    table_id = canvas(client, demo, assignment="4711")
    assert table_id[0][-1] == f"{TITLE} (4711)" and table_id[0][:-1] == table[0][:-1]
    assert table_id[1:] == table[1:]
    for bad in ("47 11", "abc", "1" * 21, "=1+1"):
        r = client.get(f"/api/demo/{demo.room}/results.csv",
                       params={"layout": "canvas", "assignment": bad}, headers=demo.keyed)
        assert r.status_code == 422, bad
        assert r.json()["detail"][0]["loc"] == ["query", "assignment"]
    # the presenter hears of the answers without an ID: on the list and with every push
    roster = client.get(f"/api/demo/{demo.room}/students", headers=demo.keyed).json()
    assert roster["without_id"] == {"students": 1, "answers": 1}
    live = client.get(f"/api/demo/{demo.room}/questions/dA2/live", headers=demo.keyed).json()
    assert live["without_id"] == {"students": 1, "answers": 1}


def test_the_assignment_id_given_at_start_names_the_column(demo):
    with demo.client(canvas_assignment="123456") as client:
        assert canvas(client, demo)[0][-1] == f"{TITLE} (123456)"
        assert canvas(client, demo, assignment="99")[0][-1] == f"{TITLE} (99)"
        page = client.get("/demo", params={"key": demo.key})
        assert page.status_code == 200
        assert f"{TITLE} (123456)" in page.text and "Grades → Import" in page.text
        assert "SIS User ID" in page.text
    with pytest.raises(ValueError, match="--canvas-assignment"):
        DemoSettings(key=demo.key, canvas_assignment="12a")
    env = DemoSettings(key=demo.key, canvas_assignment="77").environment()
    assert env["CONVLENS_DEMO_CANVAS_ASSIGNMENT"] == "77"
    assert DemoSettings.from_env(env).canvas_assignment == "77"


def test_canvas_assignment_on_the_command_line(tmp_path, monkeypatch, capsys):
    from app import serving

    served: list = []
    monkeypatch.setattr(serving, "serve", lambda app, **kw: served.append(app))
    state = tmp_path / "rooms.sqlite3"
    assert cli.main(["demo", "--state", str(state), "--canvas-assignment", "5150",
                     "--port", str(free_port())]) == 0
    assert served[-1].state.demo.settings.canvas_assignment == "5150"
    assert cli.main(["demo", "--state", str(state), "--canvas-assignment", "x1",
                     "--port", "1"]) == 2
    assert "--canvas-assignment: the Canvas assignment ID must be its number" in (
        capsys.readouterr().err)


def test_the_counts_without_id_and_an_old_results_file(tmp_path):
    """A results file of the previous version opens with nothing lost, and counts."""
    path = tmp_path / "results.sqlite3"
    store = AnswerStore(path)
    store.join("r1", "Ada", "s-1")
    store.join("r1", "Bob")
    store.close()
    again = AnswerStore(path)
    assert again.without_id("r1") == {"students": 1, "answers": 0}
    assert [s.name for s in again.students("r1")] == ["Ada", "Bob"]
    again.close()


@pytest.mark.parametrize("value", ["42\n", "4 2", "", "12a", "1" * 21, "٣"])
def test_an_assignment_id_is_its_digits_and_nothing_else(value):
    from app.demo.answers import AnswerRefusedError, check_assignment

    with pytest.raises(AnswerRefusedError):
        check_assignment(value)
    assert check_assignment("4711") == "4711"


@pytest.mark.parametrize("sid", ["-1+2", "+44", "@me", ".x"])
def test_a_student_id_starts_with_a_letter_or_digit(client, demo, sid):
    """A spreadsheet reads "+44" as a formula: the export would have to write it "'+44",
    which no longer matches the LMS's ID. Such an ID is refused when it is typed."""
    client.post("/api/demo/rooms", json={"room": demo.room}, headers=demo.keyed)
    response = client.post(f"/api/demo/{demo.room}/join", json={"name": "A", "student_id": sid})
    assert response.status_code == 422
    assert "student_id" in response.text
