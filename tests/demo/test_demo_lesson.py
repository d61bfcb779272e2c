"""The lesson file: the default lesson, and every kind of malformed lesson refused with the
line it is on and what is wrong."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from app.demo.lesson import LessonError, load_lesson, parse_lesson
from app.demo.slides import lesson_views
from app.mathml import static_mathml, to_mathml
from engine.kinds._pool import windows as pool_windows

MINI = """\
title = "Mini"
lr = 0.1

[example]
y = 1
x = [
  [0.0, 0.0, 1.0, 0.0, 0.0, 0.0],
  [0.0, 0.0, 1.0, 0.5, 0.0, 0.0],
  [0.0, 0.0, 1.0, 0.5, 0.0, 0.0],
  [0.0, 0.0, 1.0, 0.5, 0.0, 0.0],
  [0.0, 0.0, 1.0, 0.5, 0.0, 0.0],
  [0.0, 0.0, 1.0, 0.0, 0.0, 0.0],
]

[example.params]
W1 = [[[0.1, 0.2, 0.3], [0.0, 0.1, 0.0], [-0.1, 0.2, 0.1]]]
b1 = [0.1]
W2 = [[0.5, -0.5, 0.5, -0.5]]
b2 = [0.0]

[[slide]]
kind = "intro"
name = "intro"
title = "Hello"
narration = "The network."

[[slide]]
step = "Z1"
narration = "Conv."

[[slide]]
step = "dA1"
narration = "Routing."
predict = "Which cells?"
reveal = "The winners."
"""


def line(text: str, snippet: str, nth: int = 1) -> int:
    """The 1-based line of the nth line of ``text`` that contains ``snippet``."""
    found = [i for i, ln in enumerate(text.splitlines(), start=1) if snippet in ln]
    assert len(found) >= nth, f"{snippet!r} is not in the text"
    return found[nth - 1]


def refused(text: str) -> LessonError:
    with pytest.raises(LessonError) as info:
        parse_lesson(text, source="lesson.toml")
    return info.value


def only_problem(text: str) -> tuple[int, str]:
    error = refused(text)
    assert len(error.problems) == 1, str(error)
    return error.problems[0].line, error.problems[0].message


# ----------------------------------------------------------------------- the default
def test_mini_lesson_is_accepted():
    lesson = parse_lesson(MINI)
    assert [s.name for s in lesson.slides] == ["intro", "Z1", "dA1"]
    assert lesson.beats == ((0, True), (1, True), (2, False), (2, True))
    assert lesson.slides[2].line == line(MINI, "[[slide]]", 3)


def test_the_default_lesson_walks_every_step_of_the_engine_in_order():
    lesson = load_lesson()
    steps = [s.step for s in lesson.slides if s.kind == "step"]
    assert steps == list(range(len(engine.STEPS)))
    assert [s.name for s in lesson.slides if s.kind == "step"] == [s.writes for s in engine.STEPS]
    assert lesson.slides[0].kind == "intro" and lesson.slides[-1].kind == "loss-after"
    assert lesson.config == engine.Config() and lesson.config.n_params == 15
    assert all(s.narration for s in lesson.slides)
    asked = {s.name for s in lesson.slides if s.predict}
    assert {"A1", "P1", "dA2", "dZ2", "dA1", "dZ1", "loss-after"} <= asked
    assert all(s.reveal for s in lesson.slides if s.predict)


def test_the_default_narration_names_each_chain_rule_factor():
    slides = {s.name: s.narration + " " + s.title for s in load_lesson().slides}
    assert "(A2 − Y) / (A2(1 − A2))" in slides["dA2"]
    assert "A2(1 − A2)" in slides["dZ2"] and "A2 − Y" in slides["dZ2"]
    assert "(A2 − Y) Fᵀ" in slides["dW2"]
    assert "∂Z2/∂F = W2" in slides["dF"]
    assert "reshape" in slides["dP1"]
    assert "winner" in slides["dA1"]
    assert "[Z1 > 0]" in slides["dZ1"]
    assert "Conv(X, dZ1)" in slides["dW1"]
    assert "sum" in slides["db1"]
    assert "W1 ← W1 − η dW1" in slides["W1"]


def test_the_default_example_shows_every_part_of_the_derivation():
    lesson = load_lesson()
    t = engine.trace(lesson.x, lesson.y, lesson.params, lesson.config)
    A1, Z1 = t["A1"], t["Z1"]
    assert (A1 == 0).any() and (A1 > 0).any()  # ReLU zeroes some cells and keeps others
    assert not (Z1 == 0).any()
    windows = pool_windows(A1, 2, 2).reshape(-1, 4)
    blocked = [w for w in windows if w.max() <= 0]
    assert len(blocked) == 1  # one window ReLU zeroed entirely: the mask blocks its route
    live_windows = [w for w in windows if w.max() > 0]
    for window in live_windows:  # one clear winner: no other cell reaches its maximum
        top, second = np.sort(window)[-2:][::-1]
        assert top - second > 0.05, window
    winners = {int(w.argmax()) for w in live_windows}
    assert len(winners) == 3  # winners sit in different corners of their windows
    assert ((t["dA1"] != 0) & (Z1 <= 0)).sum() == 1  # the blocked route
    assert ((t["dA1"] != 0) & (Z1 > 0)).sum() == 3  # ... and the three that pass
    live = t["dA1"] != 0
    assert live.sum() == t["P1"].size  # one live route per window ...
    assert ((A1 > 0) & ~live).any() and ((A1 == 0) & ~live).any()  # ... losers and dead cells
    assert (t["dA1"] > 0).any() and (t["dA1"] < 0).any()
    assert (t["dW1"] > 0).any() and (t["dW1"] < 0).any()
    assert 0.2 < float(t["A2"]) < 0.8
    new = engine.sgd_step(lesson.params, t, lesson.lr)
    after = engine.loss(lesson.x, lesson.y, new, lesson.config)
    assert after < float(t["L"]) - 0.1  # the second forward pass shows the loss fall


def test_each_step_slide_shows_what_the_engine_computes():
    lesson = load_lesson()
    answers = [view for view in lesson_views(lesson)[0] if view["revealed"]]
    t = engine.trace(lesson.x, lesson.y, lesson.params, lesson.config)
    records = engine.step_records(t, lesson.lr)
    assert len(answers) == len(lesson.slides)
    for slide, out in zip(lesson.slides, answers):
        assert out["name"] == slide.name and out["narration"] == slide.narration
        if slide.kind != "step":
            continue
        step, record = engine.STEPS[slide.step], records[slide.step]
        assert out["phase"] == step.phase
        assert out["formulas"] == [static_mathml(step.latex)]
        if slide.cell is None:  # (a chosen cell is worked out instead: tested below)
            assert out["numbers"] == (None if record["latex_numbers"] is None
                                      else to_mathml(record["latex_numbers"]))
        writes = out["panels"][-1]
        assert writes["role"] == "writes"
        expected = engine.step_value(t, slide.step, lesson.lr)
        assert np.allclose(np.asarray(writes["value"], dtype=float).reshape(np.shape(expected)),
                           expected, rtol=0, atol=0)
        reads = [p["name"] for p in out["panels"] if p["role"] == "reads"]
        assert reads == [r for r in step.reads if r != step.writes or step.phase == "update"]
        for panel in out["panels"]:
            assert panel["range"]["scale"] in ("sequential", "diverging")


def test_the_closing_slide_computes_the_second_forward_pass():
    lesson = load_lesson()
    out = lesson_views(lesson)[1][-1]
    t = engine.trace(lesson.x, lesson.y, lesson.params, lesson.config)
    new = engine.sgd_step(lesson.params, t, lesson.lr)
    assert out["summary"]["loss_before"] == float(t["L"])
    assert out["summary"]["loss_after"] == engine.loss(lesson.x, lesson.y, new, lesson.config)
    assert out["summary"]["loss_after"] < out["summary"]["loss_before"]


def test_the_audience_gets_no_speaker_notes():
    presenter, audience = lesson_views(load_lesson())
    assert any(view["notes"] for view in presenter)
    assert not any("notes" in view or "answer" in view for view in audience)


def test_winners_are_outlined_only_once_max_pool_has_run():
    lesson = load_lesson()
    t = engine.trace(lesson.x, lesson.y, lesson.params, lesson.config)
    winners = [{"index": w, "kind": "focus"} for w in engine.winners(t).reshape(-1, 3).tolist()]
    views = lesson_views(lesson)[1]
    marked = {(v["name"], v["revealed"]) for v in views
              if any(all(w in p.get("marks", []) for w in winners) for p in v["panels"])}
    assert {("P1", True), ("dA1", True), ("dZ1", True)} <= marked
    assert not {("P1", False), ("dA1", False)} & marked  # they would hint at the answer
    assert not {name for name, _ in marked} & {"Z1", "A1"}


# ------------------------------------------------------------------- malformed lessons
def test_a_toml_syntax_error_names_its_line():
    text = MINI.replace('narration = "Conv."', 'narration = "Conv.')
    at, message = only_problem(text)
    assert at == line(text, 'narration = "Conv.') and "not valid TOML" in message


def test_an_unknown_step_is_refused_at_its_line():
    text = MINI.replace('step = "dA1"', 'step = "dA3"')
    at, message = only_problem(text)
    assert at == line(text, 'step = "dA3"')
    assert "unknown step 'dA3'" in message and "dZ1" in message


def test_a_wrong_phase_is_refused():
    text = MINI.replace('step = "dA1"\n', 'step = "dA1"\nphase = "forward"\n')
    at, message = only_problem(text)
    assert at == line(text, 'phase = "forward"') and "backward phase" in message


def test_a_step_twice_is_refused_at_the_second():
    text = MINI + '\n[[slide]]\nstep = "Z1"\nnarration = "Again."\n'
    at, message = only_problem(text)
    assert at == line(text, 'step = "Z1"', 2)
    assert f"appears twice (first at line {line(text, '[[slide]]', 2)})" in message


def test_steps_out_of_the_engines_order_are_refused():
    text = MINI + '\n[[slide]]\nstep = "P1"\nnarration = "Late."\n'
    at, message = only_problem(text)
    assert at == line(text, 'step = "P1"') and "out of order" in message and "'dA1'" in message


@pytest.mark.parametrize("rows, shape", [(5, "(5, 6)"), (7, "(7, 6)")])
def test_x_of_the_wrong_shape_is_refused(rows, shape):
    row = "  [0.0, 0.0, 1.0, 0.0, 0.0, 0.0],\n"
    start = MINI.index("x = [\n") + len("x = [\n")
    end = MINI.index("]\n\n[example.params]")
    text = MINI[:start] + row * rows + MINI[end:]
    at, message = only_problem(text)
    assert at == line(text, "x = [") and f"X must have shape (6, 6), got {shape}" in message


def test_a_ragged_x_is_refused():
    text = MINI.replace("[0.0, 0.0, 1.0, 0.5, 0.0, 0.0],", "[0.0, 1.0, 0.5, 0.0, 0.0],", 1)
    at, message = only_problem(text)
    assert at == line(text, "x = [") and "X must be an array of numbers" in message


@pytest.mark.parametrize("name, value, expected", [
    ("W1", "[[0.1, 0.2, 0.3], [0.0, 0.1, 0.0], [-0.1, 0.2, 0.1]]", "(1, 3, 3), got (3, 3)"),
    ("W2", "[[0.5, -0.5, 0.5]]", "(1, 4), got (1, 3)"),
    ("b1", "0.1", "(1,), got ()"),
    ("b2", '["zero"]', "(1,): could not convert"),
])
def test_a_parameter_of_the_wrong_shape_is_refused(name, value, expected):
    old = next(ln for ln in MINI.splitlines() if ln.startswith(f"{name} = "))
    text = MINI.replace(old, f"{name} = {value}")
    at, message = only_problem(text)
    assert at == line(text, f"{name} = {value}")
    assert message == f"{name} must have shape {expected}" or (
        message.startswith(f"{name} must be an array of numbers with shape {expected}"))


@pytest.mark.parametrize("value", ["2", "true", "0.5", '"1"', "-1"])
def test_y_must_be_0_or_1(value):
    text = MINI.replace("y = 1", f"y = {value}")
    at, message = only_problem(text)
    assert at == line(text, f"y = {value}") and message.startswith("Y must be 0 or 1")


def test_a_missing_required_field_names_the_table_it_is_missing_from():
    text = MINI.replace('narration = "Conv."\n', "")
    at, message = only_problem(text)
    assert at == line(text, "[[slide]]", 2)
    assert "missing the required key 'narration'" in message
    text = MINI.replace("b2 = [0.0]\n", "")
    at, message = only_problem(text)
    assert at == line(text, "[example.params]") and "missing the required key 'b2'" in message
    at, message = only_problem(MINI.replace('title = "Mini"\n', ""))
    assert at == 1 and "missing the required key 'title'" in message


@pytest.mark.parametrize("where, addition, key", [
    ('lr = 0.1\n', 'titel = "typo"\n', "titel"),
    ("y = 1\n", "label = 1\n", "label"),
    ('narration = "Conv."\n', 'narate = "typo"\n', "narate"),
    ("b2 = [0.0]\n", "W3 = [1.0]\n", "W3"),
])
def test_an_unknown_key_is_refused_at_its_line(where, addition, key):
    text = MINI.replace(where, where + addition, 1)
    at, message = only_problem(text)
    assert at == line(text, addition.strip()) and f"unknown key {key!r}" in message


def test_predict_needs_reveal():
    text = MINI.replace('reveal = "The winners."\n', "")
    at, message = only_problem(text)
    assert at == line(text, "[[slide]]", 3) and "missing 'reveal'" in message


def test_show_must_name_tensors():
    text = MINI.replace('title = "Hello"\n', 'title = "Hello"\nshow = ["X", "W9"]\n')
    at, message = only_problem(text)
    assert at == line(text, "show = ") and "W9" in message


@pytest.mark.parametrize("latex, words", [
    ("x^", "a ^ or _ has nothing after it"),
    ("\\sqrt", "missing what it applies to"),
    ("\\left( a", "has no \\right"),
])
def test_a_formula_must_be_latex_that_converts_and_the_reason_is_in_words(latex, words):
    text = MINI.replace('title = "Hello"\n', f"title = \"Hello\"\nformula = '{latex}'\n")
    at, message = only_problem(text)
    assert at == line(text, "formula = ") and "is not LaTeX" in message
    assert words in message and "Error" not in message


@pytest.mark.parametrize("value", ["0", "-1", '"fast"', "1000"])
def test_lr_must_be_a_sensible_number(value):
    text = MINI.replace("lr = 0.1", f"lr = {value}")
    at, message = only_problem(text)
    assert at == line(text, f"lr = {value}") and message.startswith("lr must be")


def test_a_config_that_does_not_fit_is_refused_at_its_key():
    text = MINI.replace("[example.params]", "[example.config]\nkernel_size = 9\n\n[example.params]")
    at, message = only_problem(text)
    assert at == line(text, "kernel_size = 9") and "kernel_size" in message


def test_slide_names_must_be_unique_and_not_tensor_names():
    twice = MINI + '\n[[slide]]\nkind = "intro"\nname = "intro"\ntitle = "T"\nnarration = "N"\n'
    at, message = only_problem(twice)
    assert at == line(twice, 'name = "intro"', 2) and "used twice" in message
    tensor = MINI.replace('name = "intro"', 'name = "Z1"')
    at, message = only_problem(tensor)
    assert at == line(tensor, 'name = "Z1"') and "tensor's name" in message


def test_an_unknown_kind_and_a_slide_with_neither_kind_nor_step():
    text = MINI.replace('kind = "intro"', 'kind = "outro"')
    at, message = only_problem(text)
    assert at == line(text, 'kind = "outro"') and "unknown slide kind 'outro'" in message
    text = MINI + '\n[[slide]]\nnarration = "Lost."\n'
    at, message = only_problem(text)
    assert at == line(text, "[[slide]]", 4) and "needs either step" in message


def test_narration_too_long_for_the_screen_is_refused():
    text = MINI.replace('narration = "Conv."', f'narration = "{"word " * 400}"')
    at, message = only_problem(text)
    assert at == line(text, "narration = \"word") and "characters long" in message


def test_every_problem_is_reported_in_line_order():
    text = (MINI.replace("y = 1", "y = 3").replace('step = "dA1"', 'step = "dA9"')
            .replace("b1 = [0.1]", "b1 = [0.1, 0.2]"))
    error = refused(text)
    assert [p.line for p in error.problems] == sorted(
        [line(text, "y = 3"), line(text, "b1 = [0.1, 0.2]"), line(text, 'step = "dA9"')])
    assert str(error).splitlines()[0].startswith(f"lesson.toml:{line(text, 'y = 3')}: ")


def test_a_lesson_without_slides_is_refused():
    text = MINI[: MINI.index("[[slide]]")]
    at, message = only_problem(text)
    assert at == 1 and "missing the required key 'slide'" in message


def test_unreadable_files_are_refused(tmp_path):
    with pytest.raises(LessonError, match="cannot read the lesson"):
        load_lesson(tmp_path / "missing.toml")
    bad = tmp_path / "latin1.toml"
    bad.write_bytes(b'title = "caf\xe9"\n')
    with pytest.raises(LessonError, match=r"latin1.toml:1: the lesson is not UTF-8 text"):
        load_lesson(bad)


def test_a_lesson_file_is_read_from_disk(tmp_path):
    path = tmp_path / "mine.toml"
    path.write_text(MINI, encoding="utf-8")
    assert load_lesson(path).title == "Mini"
    path.write_text(MINI.replace("y = 1", "y = 2"), encoding="utf-8")
    with pytest.raises(LessonError, match=rf"mine.toml:{line(MINI, 'y = 1')}: Y must be 0 or 1"):
        load_lesson(path)


# ---------------------------------------------------------------------------- highlight
def test_a_slide_chooses_cells_to_highlight_and_they_show_with_their_tensor():
    text = MINI.replace('narration = "Routing."\n',
                        'narration = "Routing."\nhighlight = { dA1 = [[0, 1, 2]], '
                        'A1 = [[0, 0, 3], [0, 3, 0]] }\n')
    lesson = parse_lesson(text)
    assert dict(lesson.slides[-1].highlight) == {"dA1": ((0, 1, 2),),
                                                 "A1": ((0, 0, 3), (0, 3, 0))}
    asked, answered = lesson_views(lesson)[1][-2:]
    panels = {p["key"]: p for p in asked["panels"]}
    assert panels["dA1"]["hidden"] and "marks" not in panels["dA1"]
    assert panels["A1"]["marks"] == [{"index": [0, 0, 3], "kind": "focus"},
                                     {"index": [0, 3, 0], "kind": "focus"}]
    panels = {p["key"]: p for p in answered["panels"]}
    assert {"index": [0, 1, 2], "kind": "focus"} in panels["dA1"]["marks"]
    assert len(panels["dA1"]["marks"]) == 1 + 4  # and max-pool's four winners


@pytest.mark.parametrize("value, words", [
    ("{ Z2 = [[0]] }", "which this slide does not draw"),
    ("{ A1 = [[0, 1]] }", "each 3 whole numbers"),
    ("{ A1 = [[0, 4, 0]] }", "lies outside its shape (1, 4, 4)"),
    ("[[0, 1, 2]]", "must be a table"),
])
def test_a_highlight_must_name_cells_the_slide_draws(value, words):
    anchor = 'narration = "Routing."\n'
    text = MINI.replace(anchor, f"{anchor}highlight = {value}\n")
    at, message = only_problem(text)
    assert at == line(text, "highlight = ") and words in message


# --------------------------------------------------------------------- a chosen cell
def test_a_chosen_cell_is_worked_out_product_by_product_and_its_sources_outlined():
    lesson = load_lesson()
    z1 = next(s for s in lesson.slides if s.name == "Z1")
    assert z1.cell == (0, 0, 0)
    t = engine.trace(lesson.x, lesson.y, lesson.params, lesson.config)
    view = next(v for v in lesson_views(lesson)[1] if v["name"] == "Z1")
    numbers = view["numbers"]
    assert numbers.count("&#x000D7;") == 9  # the nine products, not their sum
    for value in (t["X"][0, 0], t["W1"][0, 0, 0], t["Z1"][0, 0, 0]):
        assert engine.steps.num(value).lstrip("-") in numbers
    panels = {p["key"]: p for p in view["panels"]}
    assert {"index": [0, 0, 0], "kind": "focus"} in panels["Z1"]["marks"]
    window = engine.provenance(t, "Z1", (0, 0, 0))["X"]
    assert [m["index"] for m in panels["X"]["marks"]] == window
    dw1 = next(v for v in lesson_views(lesson)[1] if v["name"] == "dW1")
    assert dw1["numbers"].count("&#x000D7;") == int(np.count_nonzero(t["dZ1"]))


@pytest.mark.parametrize("value, words", [
    ("[0, 4, 0]", "lies outside Z1, whose shape is (1, 4, 4)"),
    ("[0, 1]", "must be 3 whole numbers"),
])
def test_a_chosen_cell_must_lie_in_the_tensor_the_step_writes(value, words):
    anchor = 'narration = "Conv."\n'
    text = MINI.replace(anchor, f"{anchor}cell = {value}\n")
    at, message = only_problem(text)
    assert at == line(text, "cell = ") and words in message


def test_a_cell_needs_a_step_the_engine_can_trace_back():
    text = MINI + '\n[[slide]]\nstep = "b2"\nnarration = "Bias."\ncell = [0]\n'
    at, message = only_problem(text)
    assert at == line(text, "cell = ") and "cannot trace a cell of b2" in message


# ------------------------------------------------------------------ the points slides make
PREVIOUS_EXAMPLE = """\
[example.params]
W1 = [[[-0.4, 0.6, 0.2], [0.6, -0.5, 0.5], [0.5, -0.5, -0.3]]]
b1 = [0.1]
W2 = [[-0.7, 0.5, -0.9, 0.5]]
b2 = [-0.2]
"""


def with_params(text: str, params: str) -> str:
    """The lesson ``text`` with its [example.params] table replaced by ``params``."""
    start = text.index("[example.params]")
    end = text.index("# ----", start)
    return text[:start] + params + "\n" + text[end:]


def test_every_point_of_the_default_lesson_is_shown_by_its_numbers(default_text):
    lesson = load_lesson()
    assert lesson.warnings == ()
    made = {name for slide in lesson.slides for name in slide.shows}
    assert {"relu-blocks", "relu-passes", "relu-zeroes", "loss-falls"} <= made
    dZ1 = next(s for s in lesson.slides if s.name == "dZ1")
    assert "relu-blocks" in dZ1.shows


def test_a_slide_whose_point_the_numbers_do_not_show_is_named(default_text):
    # the example of the lesson before: every window's winner positive, nothing blocked
    text = with_params(default_text, PREVIOUS_EXAMPLE)
    lesson = parse_lesson(text, source="mine.toml")
    dZ1 = next(s for s in lesson.slides if s.name == "dZ1")
    blocked = [w for w in lesson.warnings if "relu-blocks" in w]
    assert blocked == [f"mine.toml:{dZ1.line}: the example's numbers do not show this "
                       "slide's point (relu-blocks: the ReLU mask stops a gradient "
                       "max-pooling routed (a window's winner had Z1 <= 0))"]


def test_an_unknown_point_is_refused_at_its_line(default_text):
    text = default_text.replace('shows = ["label-one", "loss-falls"]', 'shows = "loss-drops"')
    where, message = only_problem(text)
    assert where == line(text, 'shows = "loss-drops"')
    assert "unknown point 'loss-drops'" in message and "loss-falls" in message


def test_shows_must_name_points(default_text):
    text = default_text.replace('shows = ["label-one", "loss-falls"]', "shows = 3")
    _, message = only_problem(text)
    assert "shows must be a point's name or a list of them" in message
