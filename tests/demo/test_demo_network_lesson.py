"""A lesson on any network: ``[network]`` in the lesson file, every problem of a broken one
reported in one pass, the example and the steps checked against the network, points that
do not apply, the slides' views (nothing before its step), and the explorer's walk on such a
network as a lesson file that reads back the same."""

from __future__ import annotations

import json

import numpy as np
import pytest

import engine
from app import cli
from app.demo.lesson import LessonError, parse_lesson
from app.demo.slides import lesson_views
from tests.app.conftest import make_client

from .network_lesson import (
    NET,
    NET_SPEC,
    PARAMS,
    STEPS,
    TRACE,
    X,
    Y,
    allowed_panel,
    cursor_of,
    lesson_text,
    numbers_in,
    unshown_values,
)
from .test_demo_lesson import line

TEXT = lesson_text()
LAYERS_START = TEXT.index("layers = [")
LAYERS_END = TEXT.index("]\n", LAYERS_START) + 2


def with_layers(layers: str, text: str = TEXT) -> str:
    return text[:LAYERS_START] + f"layers = [\n{layers}]\n" + text[LAYERS_END:]


def problems(text: str) -> list[tuple[int, str]]:
    with pytest.raises(LessonError) as info:
        parse_lesson(text, source="two.toml")
    return [(p.line, p.message) for p in info.value.problems]


# --------------------------------------------------------------------------- parsing
def test_a_two_conv_average_pool_softmax_lesson_parses():
    lesson = parse_lesson(TEXT, source="two.toml")
    assert lesson.network == NET and lesson.config is None
    assert lesson.y == Y and np.array_equal(lesson.x, X)
    assert set(lesson.params) == set(NET.param_names) == {"W1", "b1", "W2", "b2", "W3", "b3"}
    assert lesson.params["W2"].shape == (2, 2, 2, 2)  # a conv on two channels
    steps = [s for s in lesson.slides if s.kind == "step"]
    assert [s.step for s in steps] == sorted(s.step for s in steps)
    assert all(STEPS[s.step].writes == s.name for s in steps)
    assert [q.kind for q in lesson.questions] == ["cells", "grid", "number", "choice"]
    by_id = {q.id: q for q in lesson.questions}
    assert by_id["L"].truth == pytest.approx(float(TRACE["L"]))
    assert np.array_equal(by_id["P1"].truth, TRACE["P1"]) and by_id["P1"].net == NET
    assert by_id["dZ3"].truth == 2  # the right class's logit: A3 − one-hot is negative there


def test_a_point_about_a_part_the_network_lacks_is_a_warning_not_a_crash():
    (warning,) = parse_lesson(TEXT, source="two.toml").warnings
    at = line(TEXT, 'step = "P1"') - 1  # the slide's [[slide]] line
    assert warning.startswith(f"two.toml:{at}:")
    assert "positive-losers does not apply" in warning and "max-pool" in warning
    assert not engine.points.holds("positive-losers", TRACE, 0.5)
    assert "positive-losers" not in engine.points.shown(TRACE, 0.5)
    assert "relu-zeroes" in engine.points.shown(TRACE, 0.5)  # this one applies


def test_the_checker_reports_every_problem_of_a_broken_network_in_one_pass():
    broken = with_layers(
        '  { type = "conv", filters = 2, kernel = 3 },\n'
        '  { type = "relu" },\n'
        '  { type = "avgpool", size = 2 },\n'
        '  { type = "conv", filters = 2, kernel = 5 },\n'  # 5 > the 3×3 it reads
        '  { type = "dense", units = 4 },\n'  # before the flatten
        '  { type = "flatten" },\n'
        '  { type = "dense", units = 3, bias = true },\n')  # not an option
    found = problems(broken)
    assert found == [
        (line(broken, "kernel = 5"),
         "[network] layers[3] (conv): kernel 5 is larger than its input (3×3)"),
        (line(broken, "units = 4"), "[network] layers[4] (dense): dense needs a flatten "
                                    "before it (this one comes before the flatten)"),
        (line(broken, "bias = true"),
         "[network] layers[6] (dense).bias: is not an option of dense (options: units)"),
    ]


def test_network_problems_outside_the_layers_name_their_field():
    broken = TEXT.replace('output = "softmax_ce"', 'output = "mse"').replace(
        "input = { size = 8 }", "input = { size = 2 }")
    found = problems(broken)
    assert (line(broken, "size = 2"), "[network] input.size: must be an integer from 4 to "
                                      "28, got 2") in found
    assert any(at == line(broken, 'output = "mse"') and "[network] output: must be one of"
               in message for at, message in found)


def test_layers_as_an_array_of_tables_are_placed_too():
    tables = "".join("[[network.layers]]\n" + "".join(
        f"{k} = {json.dumps(v)}\n" for k, v in layer.items()) + "\n"
        for layer in [*NET_SPEC["layers"][:-1], {"type": "dense", "units": 11}])
    text = TEXT[:LAYERS_START] + TEXT[LAYERS_END:].replace("\n[example]", tables + "[example]", 1)
    ((at, message),) = problems(text)
    assert at == line(text, "units = 11") and "layers[6] (dense).units" in message


def test_network_and_config_together_is_one_problem():
    text = TEXT.replace("[example.params]", "[example.config]\ninput_size = 8\n\n"
                                            "[example.params]")
    ((at, message),) = problems(text)
    assert at == line(text, "[example.config]") and "both [network] and [example.config]" in (
        message)


def test_the_example_is_checked_against_the_network():
    text = TEXT.replace(f"y = {Y}\n", "y = 3\n").replace("\nb3 = ", "\nb4 = ")
    found = problems(text)
    assert (line(text, "y = 3"), "Y must be a class from 0 to 2, got 3") in found
    assert any(at == line(text, "b4 = ") and "unknown key 'b4'" in m and "b3" in m
               for at, m in found)
    assert any("missing the required key 'b3'" in m for _, m in found)
    w2 = TEXT.index("\nW2 = ")
    flat = TEXT[:w2] + "\nW2 = [[0.1, 0.2], [0.3, 0.4]]" + TEXT[TEXT.index("\nb2 = "):]
    ((at, message),) = problems(flat)
    assert at == line(flat, "W2 = ") and "W2 must have shape (2, 2, 2, 2)" in message


def test_a_step_the_network_does_not_have_is_refused_and_order_is_the_engines():
    missing = TEXT.replace('step = "Z2"', 'step = "dP1"', 1)  # dP1 comes with dW2's step
    ((at, message),) = problems(missing)
    assert at == line(missing, 'step = "dP1"') and "no such step" in message
    assert "dA3" in message  # ... and lists the ones it has
    swapped = TEXT.replace('step = "Z2"', 'step = "XX"').replace('step = "Z1"', 'step = "Z2"'
                                                                  ).replace('"XX"', '"Z1"')
    found = problems(swapped)
    assert any("out of order" in m for _, m in found)


def test_a_show_of_a_later_tensor_or_one_the_network_lacks_is_refused():
    early = TEXT.replace('show = ["X", "W1", "W2", "W3"]', 'show = ["X", "Z3"]')
    ((_, message),) = problems(early)
    assert "Z3" in message and "has not computed yet" in message
    other = TEXT.replace('show = ["X", "W1", "W2", "W3"]', 'show = ["X", "W4"]')
    ((_, message),) = problems(other)
    assert "does not have: ['W4']" in message


def test_questions_on_the_network_are_checked_with_a_reason():
    scalar = TEXT.replace('tensor = "Z1"\nanswer = "Z1 <= 0"', 'tensor = "Y"\nanswer = [[0]]')
    assert any("single number" in m for _, m in problems(scalar))
    big = TEXT.replace('kind = "grid"\nprompt = "Compute P1."\nstep = "P1"',
                       'kind = "grid"\nprompt = "Compute A1."\nstep = "A1"')
    assert any("72 numbers" in m for _, m in problems(big))  # (2, 6, 6) to type on a phone
    unknown = TEXT.replace('step = "P1"\n\n[[slide]]', 'step = "P3"\n\n[[slide]]')
    assert any("one of the network's steps" in m for _, m in problems(unknown))


def test_a_network_too_big_for_a_phone_is_refused():
    big = TEXT.replace("input = { size = 8 }", "input = { size = 16 }")
    ((at, message),) = problems(big)
    assert at == line(big, "[network]")
    assert "Z1 holds 392 numbers" in message and "at most 144" in message


def test_convlens_demo_check_reports_the_network_problems(tmp_path, capsys):
    path = tmp_path / "two.toml"
    path.write_text(with_layers('  { type = "flatten" },\n  { type = "conv" },\n'
                                '  { type = "dense", units = 3 },\n'), encoding="utf-8")
    assert cli.main(["demo", "--check", str(path)]) == 2
    err = capsys.readouterr().err
    assert f"{path}:" in err and "layers[1] (conv): conv after the flatten" in err


# ---------------------------------------------------------------------------- views
def test_no_view_holds_a_tensor_before_its_step():
    lesson = parse_lesson(TEXT)
    presenter, audience = lesson_views(lesson)
    for beat, view in enumerate(audience):
        cursor = cursor_of(lesson, beat)
        for panel in view["panels"]:
            if panel["hidden"]:
                assert "value" not in panel and "marks" not in panel
            else:
                assert allowed_panel(panel["key"], cursor), (beat, panel["key"])
        early = numbers_in(view) & unshown_values(cursor)
        assert not early, f"beat {beat} ({view['name']}): later values {early}"
    # not vacuous: a question beat hides what its answer beat shows
    asked = next(b for b, v in enumerate(audience) if v["name"] == "L" and not v["revealed"])
    assert [p["key"] for p in audience[asked]["panels"] if p["hidden"]] == ["L"]
    assert unshown_values(cursor_of(lesson, asked)) & numbers_in(audience[asked + 1])
    z2 = next(v for v in presenter if v["name"] == "Z2")
    w2 = next(p for p in z2["panels"] if p["key"] == "W2")
    assert w2["shape"] == [2, 2, 2, 2] and np.array_equal(w2["value"], PARAMS["W2"])
    after = presenter[-1]
    assert after["summary"]["prediction"] == f"A3[{Y}]"
    assert [p["key"] for p in after["panels"]] == ["A3", "L", "A3-after", "L-after"]
    z1 = next(v for v in presenter if v["name"] == "Z1")
    assert z1["numbers"].count("<math") >= 2  # the chosen cell worked out, product by product


# ------------------------------------------------------------------------ lesson file
@pytest.fixture(scope="module")
def client():
    with make_client() as c:
        yield c


def test_a_walk_on_the_network_becomes_a_lesson_that_reads_back_the_same(client):
    walk = client.post("/api/sessions", json={"network": NET_SPEC, "y": Y, "lr": 0.25}).json()
    client.post(f"/api/sessions/{walk['id']}/goto", json={"epoch": 2, "cursor": 3})
    view = client.post(f"/api/sessions/{walk['id']}/goto", json={"epoch": 2, "cursor": 3}
                       ).json()
    response = client.get(f"/api/sessions/{walk['id']}/lesson")
    assert response.status_code == 200, response.text
    text = response.text
    assert "\n[network]\n" in text and "[example.config]" not in text
    lesson = parse_lesson(text)
    assert lesson.network == NET and lesson.lr == 0.25 and lesson.y == Y
    assert lesson.x.tolist() == view["tensors"]["X"]
    for name in NET.param_names:
        assert lesson.params[name].tolist() == view["tensors"][name], name
    assert [s.name for s in lesson.slides if s.kind == "step"] == [s.writes for s in STEPS]
    assert "engine's own steps" in text.split("\n# convlens lesson:")[0]
    again = parse_lesson(text)  # and the views of it are drawn
    assert len(lesson_views(again)[0]) == len(again.beats)


def test_a_walk_on_a_network_too_big_for_a_phone_is_409(client):
    spec = {**NET_SPEC, "input": {"size": 16}}
    walk = client.post("/api/sessions", json={"network": spec, "y": 0}).json()
    response = client.get(f"/api/sessions/{walk['id']}/lesson")
    assert response.status_code == 409
    assert "cannot become a lesson" in response.text and "144" in response.text
