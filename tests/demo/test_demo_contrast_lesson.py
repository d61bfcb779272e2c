"""A contrast slide in a lesson (two walks of compare mode at one step) and a lesson's
optimizer: the checker's problems at their lines, the slide's numbers equal to
``app.compare``'s views, nothing of a label or a later step before its beat, an Adam lesson's
updates equal to ``app.sessions``' walk, and a walk with an optimizer written back as a
lesson with nothing lost (or refused, where a lesson cannot hold it)."""

from __future__ import annotations

import json

import numpy as np
import pytest

import engine
from app import compare, schemas, sessions
from app.demo import lesson_file
from app.demo.lesson import DEFAULT_LESSON, LessonError, load_lesson, parse_lesson
from app.demo.slides import lesson_views

from .test_demo_lesson import line

POOLING = DEFAULT_LESSON.with_name("pooling.toml")
TEXT = POOLING.read_text(encoding="utf-8")
CONTRAST = '''[[slide]]
kind = "contrast"
name = "pools"
switch = "pool"
step = "dA1"
hide_labels = true'''


def with_contrast(replacement: str, text: str = TEXT) -> str:
    assert CONTRAST in text
    return text.replace(CONTRAST, replacement)


def moved(block: str, before: str = '[[slide]]\nstep = "P1"') -> str:
    """The pooling lesson with its contrast slide replaced by ``block``, put before the
    slide that starts with ``before``."""
    start = TEXT.index('[[slide]]\nkind = "contrast"')
    end = TEXT.index('[[slide]]\nkind = "loss-after"')
    text = TEXT[:start] + TEXT[end:]
    return text.replace(before, block.rstrip("\n") + "\n\n" + before, 1)


def problems(text: str) -> list[tuple[int, str]]:
    with pytest.raises(LessonError) as info:
        parse_lesson(text, source="pool.toml")
    return [(p.line, p.message) for p in info.value.problems]


def contrast_beats(lesson) -> list[int]:
    return [b for b, (i, _) in enumerate(lesson.beats) if lesson.slides[i].kind == "contrast"]


def comparison_at(lesson, step: str = "dA1", **request) -> tuple[compare.Comparison, dict]:
    """compare mode's own comparison of the lesson's walk, at its first position of step."""
    body = request or {"base": lesson.walk_body(), "switch": "pool"}
    c = compare.create(schemas.CompareCreate.model_validate(body))
    at = next(p for p, (i, j) in enumerate(c.positions)
              if (i is not None and c.a.steps[i].writes == step)
              or (j is not None and c.b.steps[j].writes == step))
    c.goto(0, at)
    return c, c.view()


# --------------------------------------------------------------------------- parsing
def test_the_shipped_pooling_lesson_holds_a_contrast_slide_with_hidden_labels():
    lesson = load_lesson(POOLING)
    (slide,) = [s for s in lesson.slides if s.kind == "contrast"]
    assert slide.contrast.switch == "pool" and slide.contrast.step == "dA1"
    assert slide.contrast.hide_labels and slide.predict == "Which side is which?"
    assert slide.reveal == "Left: max-pool 2×2. Right: avg-pool 2×2."
    assert slide.step == engine.steps_for(lesson.network).index(
        next(s for s in engine.steps_for(lesson.network) if s.writes == "dA1"))
    assert len(contrast_beats(lesson)) == 2  # asked (labels hidden), then answered
    assert lesson.warnings == ()


@pytest.mark.parametrize(("replacement", "snippet", "expected"), [
    (CONTRAST.replace('"pool"', '"pooling"'), 'switch = "pooling"',
     "unknown switch 'pooling' (known: pool, leaky_relu"),
    (CONTRAST.replace('"dA1"', '"dQ7"'), 'step = "dQ7"',
     "unknown step 'dQ7': neither network has it"),
    (CONTRAST.replace('switch = "pool"\n', ""), 'name = "pools"',
     'a contrast slide needs switch = "NAME"'),
    (CONTRAST.replace('step = "dA1"\n', ""), 'name = "pools"',
     "a contrast slide is missing the required key 'step'"),
    (CONTRAST.replace("hide_labels = true", 'hide_labels = "yes"'), 'hide_labels = "yes"',
     "hide_labels must be true or false, got a string"),
    (CONTRAST + '\n[slide.b]\ninput = { size = 6 }\nlayers = []', 'switch = "pool"',
     "give switch or the networks [slide.a] / [slide.b], not both"),
    (CONTRAST + '\nquestion = { kind = "choice" }', "question =",
     "unknown key 'question' in a contrast slide"),
])
def test_the_checker_reports_a_bad_contrast_at_its_line(replacement, snippet, expected):
    text = with_contrast(replacement)
    found = problems(text)
    assert [m for _, m in found if expected in m], found
    at = next(n for n, m in found if expected in m)
    # a key's problem is at its line; a slide's (a key missing) at its [[slide]] line
    assert at == line(text, snippet) - 2 * (snippet == 'name = "pools"')


def test_a_switch_that_does_not_apply_to_the_network_is_reported_at_the_switch():
    text = with_contrast(CONTRAST.replace('"pool"', '"softmax"'))
    lesson = parse_lesson(text)  # softmax applies to the seed's network
    assert [s.contrast.switch for s in lesson.slides if s.kind == "contrast"] == ["softmax"]
    # a network with no pool layer cannot switch its pooling
    no_pool = text.replace(
        "[example.config]\ninput_size = 6\nkernel_size = 3\nfilters = 1\npool_size = 2\n",
        '[network]\ninput = { size = 6 }\noutput = "sigmoid_bce"\nlayers = [\n'
        '  { type = "conv", filters = 1, kernel = 3 },\n  { type = "relu" },\n'
        '  { type = "flatten" },\n  { type = "dense", units = 1 },\n]\n').replace(
        'switch = "softmax"', 'switch = "pool"').replace('step = "P1"\n', 'step = "A1"\n')
    no_pool = no_pool.replace('W2 = [[0.6, -0.6, 0.8, -0.8]]', "W2 = [[" + ", ".join(
        ["0.1"] * 16) + "]]")
    found = problems(no_pool)
    expected = "switch 'pool' does not apply to the lesson's network"
    assert [(n, m) for n, m in found if expected in m] == [
        (line(no_pool, 'switch = "pool"'),
         next(m for _, m in found if expected in m))], found
    assert "no pool layer" in next(m for _, m in found if expected in m)


def test_a_contrast_out_of_the_engines_order_or_after_the_second_pass_is_reported():
    early = TEXT.replace('[[slide]]\nstep = "P1"', CONTRAST + '\nnarration = "x"\n\n'
                         '[[slide]]\nstep = "P1"', 1).replace("name = \"pools\"",
                                                              'name = "first"', 1)
    found = problems(early)
    assert any("is out of order" in m and n == line(early, 'step = "P1"') for n, m in found), \
        found
    late = TEXT + "\n" + CONTRAST.replace('"pools"', '"late"') + '\nnarration = "x"\n'
    found = problems(late)
    assert any("comes after the loss-after slide" in m for _, m in found), found


def test_the_checker_reports_a_bad_optimizer_and_a_batch_at_their_lines():
    text = TEXT.replace("lr = 0.1\n", 'lr = 0.1\noptimizer = { type = "adamw" }\n', 1)
    found = problems(text)
    assert (line(text, "optimizer ="), "optimizer: must be one of sgd, momentum, adam, got "
                                       "'adamw'") in found
    text = TEXT.replace("y = 1\n", "y = [1, 0]\n", 1)
    found = problems(text)
    assert any(n == line(text, "y = [1, 0]") and "a lesson shows one example" in m
               for n, m in found), found


# ----------------------------------------------------------------------------- views
def test_the_contrast_slides_numbers_are_compare_modes_views():
    lesson = load_lesson(POOLING)
    presenter, audience = lesson_views(lesson)
    _, view = comparison_at(lesson)
    for beat in contrast_beats(lesson):
        for shown in (presenter[beat], audience[beat]):
            assert [s["side"] for s in shown["sides"]] == ["a", "b"]
            for side in shown["sides"]:
                walk = view[side["side"]]
                assert side["panels"], side
                for panel in side["panels"]:
                    expected = np.asarray(walk["tensors"][panel["name"]], dtype=float)
                    assert np.array_equal(np.asarray(panel["value"], dtype=float), expected)
                    cells = view["differs"][panel["name"]]
                    outlined = [m["index"] for m in panel["marks"] if m["kind"] == "source"]
                    assert outlined == ([] if cells == "shape" else cells)
    answer = audience[contrast_beats(lesson)[1]]
    assert answer["explain"] == view["explain"] and "max-pool" in view["explain"]
    # the two dA1 differ, and so say the panels in words
    (da1,) = [p for p in answer["sides"][1]["panels"] if p["name"] == "dA1"]
    assert da1["differ"].endswith("differ") and view["differs"]["dA1"]


def test_nothing_of_the_labels_or_a_later_step_before_its_beat():
    lesson = load_lesson(POOLING)
    presenter, audience = lesson_views(lesson)
    c, view = comparison_at(lesson)
    asked, answered = contrast_beats(lesson)
    for shown in (presenter[asked], audience[asked]):
        text = json.dumps({k: v for k, v in shown.items() if k not in ("notes", "answer")},
                          ensure_ascii=False)
        for word in ("max-pool", "avg-pool", "winner", view["explain"][:30]):
            assert word not in text, word
        assert [s["title"] for s in shown["sides"]] == ["Left", "Right"]
        assert not [m for s in shown["sides"] for p in s["panels"] for m in p["marks"]
                    if m["kind"] == "focus"]  # max-pool's winners would name the side
        assert shown["explain"] == ""
    # each side shows only what its walk has shown at the slide's position (engine.known)
    cursors = c.cursors(c.position)
    for beat in (asked, answered):
        for side, cursor, walk in zip(audience[beat]["sides"], cursors, (c.a, c.b)):
            known = set(engine.known(cursor, walk.net, walk.batch, walk.optimizer))
            assert {p["name"] for p in side["panels"]} <= known
    assert [s["title"] for s in audience[answered]["sides"]] == [
        "Left: max-pool 2×2", "Right: avg-pool 2×2"]
    # before the contrast, no beat holds a number only the other network computes
    other = {round(float(v), 9) for name in view["b"]["tensors"]
             for v in np.ravel(view["b"]["tensors"][name])}
    mine = {round(float(v), 9) for name in view["a"]["tensors"]
            for v in np.ravel(view["a"]["tensors"][name])}
    only_b = {v for v in other - mine if v not in (0.0, 1.0)}
    assert only_b
    for beat in range(asked):
        found = json.dumps(audience[beat])
        numbers = {round(float(x), 9) for x in _numbers(audience[beat])}
        assert not numbers & only_b, beat
        assert "avg-pool" not in found


def _numbers(data) -> list[float]:
    if isinstance(data, bool) or data is None:
        return []
    if isinstance(data, int | float):
        return [float(data)]
    if isinstance(data, dict):
        return [x for v in data.values() for x in _numbers(v)]
    if isinstance(data, list):
        return [x for v in data for x in _numbers(v)]
    return []


def test_a_step_only_one_network_has_shows_the_other_waiting():
    text = moved('[[slide]]\nkind = "contrast"\nswitch = "two_conv"\nstep = "Z2"\n'
                 'narration = "A second conv block."\n')
    lesson = parse_lesson(text)
    _, audience = lesson_views(lesson)
    (beat,) = contrast_beats(lesson)
    left, right = audience[beat]["sides"]
    # the second block comes after the first one's pool: the left walk waits at P1
    assert left["note"] == "No Z2 step here: this network waits, still at P1."
    assert right["note"] == "" and [p["name"] for p in right["panels"]][-1] == "Z2"
    assert left["title"] == "Left: without it" and "conv 3×3" in right["title"]
    slide = next(s for s in lesson.slides if s.kind == "contrast")
    assert slide.name == "contrast-Z2"
    assert slide.step == [s.writes for s in engine.steps_for(lesson.network)].index("P1")


def test_a_contrast_of_two_networks_written_out():
    b = ('[slide.b]\ninput = { size = 6 }\noutput = "sigmoid_bce"\nlayers = [\n'
         '  { type = "conv", filters = 1, kernel = 3 },\n  { type = "tanh" },\n'
         '  { type = "maxpool", size = 2 },\n  { type = "flatten" },\n'
         '  { type = "dense", units = 1 },\n]\n')
    text = moved('[[slide]]\nkind = "contrast"\nstep = "A1"\nnarration = "ReLU or tanh?"\n'
                 + b)
    lesson = parse_lesson(text)
    _, audience = lesson_views(lesson)
    (beat,) = contrast_beats(lesson)
    spec = json.loads(next(s for s in lesson.slides if s.kind == "contrast").contrast.b)
    _, view = comparison_at(lesson, "A1", a=lesson.walk_body(),
                            b={**lesson.walk_body(), "network": spec, "params": None})
    sides = audience[beat]["sides"]
    assert [s["title"] for s in sides] == ["Left: ReLU", "Right: tanh"]
    (a1,) = [p for p in sides[1]["panels"] if p["name"] == "A1"]
    assert np.array_equal(np.asarray(a1["value"]), np.asarray(view["b"]["tensors"]["A1"]))
    broken = text.replace('{ type = "tanh" }', '{ type = "tanhh" }')
    found = problems(broken)
    assert any(n == broken.splitlines().index("[slide.b]") + 1 and m.startswith("[slide.b]")
               for n, m in found), found


# ------------------------------------------------------------------------- optimizer
def test_an_adam_lessons_updates_are_the_sessions_walks():
    text = TEXT.replace("lr = 0.1\n", 'lr = 0.1\noptimizer = { type = "adam" }\n', 1)
    after = text.index('[[slide]]\nkind = "loss-after"')
    text = (text[:after] + '[[slide]]\nstep = "W2"\nnarration = "Adam\'s first step."\n\n'
            + text[after:])
    lesson = parse_lesson(text)
    assert lesson.optimizer == {"type": "adam", "beta1": 0.9, "beta2": 0.999, "eps": 1e-08}
    _, audience = lesson_views(lesson)
    shown = next(v for v in audience if v["name"] == "W2" and v["revealed"])
    keys = [p["key"] for p in shown["panels"]]
    assert keys == ["W2", "dW2", "m_W2", "s_W2", "new-W2"]
    walk = sessions.create(schemas.SessionCreate.model_validate(lesson.walk_body()))
    index = [s.writes for s in walk.steps].index("W2", len(walk.steps) - 4)
    walk.goto(0, index)
    new = next(p for p in shown["panels"] if p["key"] == "new-W2")
    assert np.allclose(new["value"], walk.view()["updated"]["W2"], rtol=0, atol=1e-15)
    sgd = walk.params["W2"] - lesson.lr * np.asarray(walk.view()["tensors"]["dW2"])
    assert not np.allclose(new["value"], sgd)  # Adam's step, not gradient descent's
    # the second pass: the loss after Adam's update
    after_view = next(v for v in audience if v["kind"] == "loss-after" and v["revealed"])
    walk.goto(1, 0)
    assert after_view["summary"]["loss_after"] == pytest.approx(walk.loss(), abs=1e-12)


@pytest.mark.parametrize("optimizer", [{"type": "adam"}, {"type": "momentum", "beta": 0.5}])
@pytest.mark.parametrize("network", [None, {"input": {"size": 6}, "output": "sigmoid_bce",
                                            "layers": [
                                                {"type": "conv", "filters": 1, "kernel": 3},
                                                {"type": "tanh"}, {"type": "avgpool",
                                                                   "size": 2},
                                                {"type": "flatten"},
                                                {"type": "dense", "units": 1}]}])
def test_a_walk_with_an_optimizer_becomes_a_lesson_with_nothing_lost(optimizer, network):
    body = {"optimizer": optimizer, "lr": 0.05, **({"network": network} if network else {})}
    walk = sessions.create(schemas.SessionCreate.model_validate(body))
    text, _ = lesson_file.lesson_text(lesson_file.walk_example(walk))
    lesson = parse_lesson(text)
    assert lesson.optimizer == walk.optimizer.to_dict()
    assert lesson.network == walk.net and lesson.lr == 0.05
    assert all(np.array_equal(lesson.params[k], walk.params[k]) for k in walk.net.param_names)


def test_a_walk_a_lesson_cannot_hold_is_refused_in_words():
    batch = sessions.create(schemas.SessionCreate.model_validate(
        {"x": [[[0.0] * 6] * 6, [[0.5] * 6] * 6], "y": [1, 0]}))
    with pytest.raises(ValueError, match="batch of 2 examples and a lesson shows one"):
        lesson_file.walk_example(batch)
    adam = sessions.create(schemas.SessionCreate.model_validate({"optimizer": {"type": "adam"}}))
    for _ in range(len(adam.steps) + 1):
        adam.next()
    with pytest.raises(ValueError, match="adam state after 1 update is not zero"):
        lesson_file.walk_example(adam)


NET_B = ('[slide.b]\ninput = { size = 6 }\noutput = "sigmoid_bce"\nlayers = [\n'
         '  { type = "conv", filters = 1, kernel = 3 },\n  { type = "tanh" },\n'
         '  { type = "avgpool", size = 2 },\n  { type = "flatten" },\n'
         '  { type = "dense", units = 1 },\n]\n')


def test_two_written_out_networks_share_the_lessons_weights_and_need_a_lesson_step():
    a = NET_B.replace("[slide.b]", "[slide.a]").replace("tanh", "relu")
    text = moved('[[slide]]\nkind = "contrast"\nstep = "dA1"\nnarration = "x"\n' + a + NET_B,
                 before='[[slide]]\nkind = "loss-after"')
    lesson = parse_lesson(text)
    _, audience = lesson_views(lesson)
    (beat,) = contrast_beats(lesson)
    assert [s["title"] for s in audience[beat]["sides"]] == ["Left: ReLU", "Right: tanh"]
    first = engine.trace(lesson.x, lesson.y, lesson.params, lesson.network)
    # the left network is the lesson's with average pooling: the same weights, so its dP1
    # differs from the lesson's own only through the pool
    (dp1,) = [p for p in audience[beat]["sides"][0]["panels"] if p["name"] == "dP1"]
    assert np.asarray(dp1["value"]).shape == first["dP1"].shape
    only_a = moved('[[slide]]\nkind = "contrast"\nstep = "dA1"\nnarration = "x"\n' + a,
                   before='[[slide]]\nkind = "loss-after"')
    assert any("[slide.a] goes with a [slide.b]" in m for _, m in problems(only_a))
    two_conv = a.replace('  { type = "flatten" },', '  { type = "conv", filters = 1, '
                         'kernel = 1 },\n  { type = "flatten" },')
    elsewhere = moved('[[slide]]\nkind = "contrast"\nstep = "Z3"\nnarration = "x"\n'
                      + two_conv + NET_B, before='[[slide]]\nkind = "loss-after"')
    assert any("the step must also be one of the lesson's network's" in m
               for _, m in problems(elsewhere)), problems(elsewhere)


def test_an_optimizer_lesson_refuses_a_question_on_an_update():
    text = TEXT.replace("lr = 0.1\n", 'lr = 0.1\noptimizer = { type = "momentum" }\n', 1)
    after = text.index('[[slide]]\nkind = "loss-after"')
    text = (text[:after] + '[[slide]]\nstep = "W2"\nnarration = "x"\npredict = "W2?"\n'
            'reveal = "W2."\n\n[slide.question]\nkind = "grid"\nprompt = "W2?"\n'
            'step = "W2"\n\n' + text[after:])
    found = problems(text)
    assert any(n == line(text, "[slide.question]") and "graded as gradient descent's" in m
               and "momentum" in m for n, m in found), found
