"""Nothing before its step: everything the audience can fetch without the key — the public
lesson, the room's state, the audience page and every socket frame — holds only what the
room has shown, beat by beat. The reference here is the engine's walk (``engine.known``),
applied to the default lesson independently of the server's code."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from app.demo.lesson import load_lesson

LESSON = load_lesson()
TRACE = engine.trace(LESSON.x, LESSON.y, LESSON.params, LESSON.config)
NEW = engine.sgd_step(LESSON.params, TRACE, LESSON.lr)
SECOND = engine.trace(LESSON.x, LESSON.y, NEW, LESSON.config)
NAMES = tuple(LESSON.config.shapes())
UPDATES = {i: s.writes for i, s in enumerate(engine.STEPS) if s.phase == "update"}


def cursor_of(beat: int) -> int:
    """Where the walk stands at ``beat``: the last step shown (past the end: the second
    pass of the loss-after slide)."""
    index, revealed = LESSON.beats[beat]
    cursor = -1
    for slide in LESSON.slides[:index]:
        cursor = slide.step if slide.kind == "step" else (
            len(engine.STEPS) if slide.kind == "loss-after" else cursor)
    slide = LESSON.slides[index]
    if slide.kind == "step":
        return slide.step if revealed else slide.step - 1
    if slide.kind == "loss-after":
        return len(engine.STEPS) if revealed else len(engine.STEPS) - 1
    return cursor


def values(array, signs: bool = False) -> set[float]:
    out = {round(float(v), 12) for v in np.ravel(array)}
    return out | {-v for v in out} if signs else out


def unshown_values(cursor: int) -> set[float]:
    """Numbers only a later step computes: in no tensor known at ``cursor``, not 0 or 1."""
    known = set(engine.known(min(cursor, len(engine.STEPS) - 1)))
    later: set[float] = set()
    for name in NAMES:
        if name not in known:
            later |= values(TRACE[name])
    for index, name in UPDATES.items():
        if index > cursor:
            later |= values(NEW[name])
    if cursor < len(engine.STEPS):
        later |= values(SECOND["A2"]) | values(SECOND["L"])
    seen: set[float] = {0.0, 1.0}
    for name in known:  # (with their signs flipped: a colour range is ±max |value|)
        seen |= values(TRACE[name], signs=True)
    for index, name in UPDATES.items():
        if index <= cursor:
            seen |= values(NEW[name], signs=True)
    return later - seen


def numbers_in(data) -> set[float]:
    if isinstance(data, bool) or data is None:
        return set()
    if isinstance(data, int | float):
        return {round(float(data), 12)}
    if isinstance(data, dict):
        return set().union(*(numbers_in(v) for v in data.values())) if data else set()
    if isinstance(data, list):
        return set().union(*(numbers_in(v) for v in data)) if data else set()
    return set()


def check_shown(beat: int, text: str, data: dict) -> None:
    """``text``/``data``, received by the audience at ``beat``, show nothing early."""
    index, revealed = LESSON.beats[beat]
    for i, slide in enumerate(LESSON.slides):
        if slide.notes:
            assert slide.notes not in text, f"beat {beat}: notes of slide {i}"
        if slide.reveal and not (i == index and revealed):
            assert slide.reveal not in text, f"beat {beat}: the answer of slide {i}"
    cursor = cursor_of(beat)
    known = engine.known(min(cursor, len(engine.STEPS) - 1))
    step_of = {f"new-{name}": index for index, name in UPDATES.items()}
    for panel in data.get("view", {}).get("panels", []):
        if panel["hidden"]:
            assert set(panel) == {"key", "name", "label", "role", "vertical", "shape", "hidden"}
        elif panel["key"] in step_of:
            assert step_of[panel["key"]] <= cursor, f"beat {beat}: {panel['key']}"
        elif panel["key"] in ("A2-after", "L-after"):
            assert cursor == len(engine.STEPS), f"beat {beat}: {panel['key']}"
        else:
            assert panel["key"] in known, f"beat {beat}: {panel['key']} before its step"
    early = numbers_in(data) & unshown_values(cursor)
    assert not early, f"beat {beat} ({LESSON.slides[index].name}): later values {early}"


def test_the_reference_walk_is_not_vacuous():
    # Answer beats show values their question beats do not (A1, P1, dA1 and dZ1 only pick
    # or mask numbers known before: check_shown's panel check covers those).
    gained = set()
    for beat, (index, revealed) in enumerate(LESSON.beats):
        slide = LESSON.slides[index]
        if slide.predict and revealed:
            if unshown_values(cursor_of(beat - 1)) - unshown_values(cursor_of(beat)):
                gained.add(slide.name)
    assert {"dA2", "dZ2", "loss-after"} <= gained


def test_no_frame_state_or_page_holds_an_answer_before_it_is_revealed(client, demo):
    public = client.get("/api/demo/lesson")
    assert public.status_code == 200
    check_shown(0, public.text, public.json())
    page = client.get(f"/follow/{demo.room}")
    assert page.status_code == 200
    check_shown(0, page.text, {})
    with client.websocket_connect(demo.socket) as ws:
        first = ws.receive_text()
        check_shown(0, first, ws_json(first))
        for beat in range(len(LESSON.beats)):
            moved = client.post(f"/api/demo/{demo.room}/goto", json={"beat": beat},
                                headers=demo.keyed)
            assert moved.status_code == 200
            frame = ws.receive_text()
            while ws_json(frame)["type"] == "question":  # a question closed by a move
                check_shown(beat, frame, ws_json(frame))
                frame = ws.receive_text()
            state = ws_json(frame)
            assert state["beat"] == beat and state["view"]["beat"] == beat
            check_shown(beat, frame, state)
            fetched = client.get(f"/api/demo/{demo.room}")
            assert fetched.status_code == 200
            check_shown(beat, fetched.text, fetched.json())


def ws_json(text: str) -> dict:
    import json

    return json.loads(text)


def test_a_question_beat_hides_the_result_and_the_answer_beat_shows_it(client, demo):
    asked = next(b for b, (i, r) in enumerate(LESSON.beats)
                 if LESSON.slides[i].name == "dA1" and not r)
    client.post(f"/api/demo/{demo.room}/goto", json={"beat": asked}, headers=demo.keyed)
    view = client.get(f"/api/demo/{demo.room}").json()["view"]
    hidden = {p["key"]: p for p in view["panels"] if p["hidden"]}
    assert set(hidden) == {"dA1"} and "value" not in hidden["dA1"]
    assert hidden["dA1"]["shape"] == list(TRACE["dA1"].shape)
    assert view["reveal"] == "" and view["numbers"] is None and not view["revealed"]
    assert view["predict"] == LESSON.slides[LESSON.beats[asked][0]].predict
    assert all(not p.get("marks") for p in view["panels"])  # the winners would hint
    client.post(f"/api/demo/{demo.room}/goto", json={"beat": asked + 1}, headers=demo.keyed)
    view = client.get(f"/api/demo/{demo.room}").json()["view"]
    shown = next(p for p in view["panels"] if p["key"] == "dA1")
    assert not shown["hidden"] and np.array_equal(shown["value"], TRACE["dA1"])
    assert view["reveal"] == LESSON.slides[LESSON.beats[asked][0]].reveal
    assert view["numbers"] and "notes" not in view and "answer" not in view


def test_notes_and_answers_come_only_with_the_key(client, demo):
    keyed = client.get("/api/demo/lesson", headers=demo.keyed)
    assert keyed.status_code == 200
    views = keyed.json()["views"]
    assert len(views) == len(LESSON.beats)
    for view, (index, revealed) in zip(views, LESSON.beats):
        slide = LESSON.slides[index]
        assert view["notes"] == slide.notes and view["answer"] == slide.reveal
        assert view["reveal"] == (slide.reveal if revealed else "")
    wrong = client.get("/api/demo/lesson", headers={"X-Demo-Key": "not-the-key-at-all"})
    assert wrong.status_code == 200 and "views" not in wrong.json()


@pytest.mark.parametrize("show, where", [
    ('["X", "Z1"]', "intro"),  # the intro comes before any step
    ('["dA1"]', "Z1"),  # a step slide showing a later step's result
])
def test_the_checker_refuses_a_slide_that_shows_a_tensor_before_its_step(show, where):
    from app.demo.lesson import LessonError, parse_lesson

    from .test_demo_lesson import MINI, line

    anchor = 'title = "Hello"\n' if where == "intro" else 'narration = "Conv."\n'
    text = MINI.replace(anchor, anchor + f"show = {show}\n")
    with pytest.raises(LessonError) as info:
        parse_lesson(text)
    (problem,) = info.value.problems
    assert problem.line == line(text, "show = ")
    assert "has not computed yet" in problem.message
    fine = MINI.replace('narration = "Routing."\n', 'narration = "Routing."\nshow = ["Z1"]\n')
    assert parse_lesson(fine).slides[-1].show == ("Z1",)


def test_a_step_after_the_second_pass_is_refused():
    from app.demo.lesson import LessonError, parse_lesson

    from .test_demo_lesson import MINI

    text = (MINI + '\n[[slide]]\nkind = "loss-after"\nnarration = "After."\n'
            '\n[[slide]]\nstep = "db1"\nnarration = "Late."\n')
    with pytest.raises(LessonError, match="comes after the loss-after slide"):
        parse_lesson(text)
