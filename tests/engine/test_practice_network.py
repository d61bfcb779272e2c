"""Practice on any network: drawn variants a student can compute by hand, every step an
exercise graded right with the truth, and each layer kind's misconceptions recognised."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import engine
from engine import kinds, practice
from engine.misconceptions import MISCONCEPTIONS, Misconception, for_step, library
from engine.network import NetworkError, network
from tests.support.networks import specs

RUNS = settings(max_examples=25, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
SEEDS = st.integers(0, 2**20)

TWO_CONV = {"input": {"size": 6}, "layers": [
    {"type": "conv", "filters": 2, "kernel": 3, "padding": 1}, {"type": "relu"},
    {"type": "avgpool", "size": 2}, {"type": "conv", "filters": 2, "kernel": 2},
    {"type": "relu"}, {"type": "flatten"}, {"type": "dense", "units": 3}],
    "output": "softmax_ce"}
OVERLAP = {"input": {"size": 7}, "layers": [
    {"type": "conv", "filters": 2, "kernel": 2, "stride": 2, "padding": 1},
    {"type": "leaky_relu", "slope": 0.1}, {"type": "maxpool", "size": 2, "stride": 1},
    {"type": "flatten"}, {"type": "dense", "units": 2}, {"type": "tanh"},
    {"type": "dense", "units": 1}], "output": "sigmoid_bce"}
AVG_OVERLAP = {"input": {"size": 6}, "layers": [
    {"type": "conv", "filters": 1, "kernel": 2, "stride": 1}, {"type": "sigmoid"},
    {"type": "avgpool", "size": 2, "stride": 1}, {"type": "flatten"},
    {"type": "dense", "units": 3}], "output": "softmax_ce"}


def built(spec):
    try:
        return network(spec)
    except NetworkError:
        assume(False)


def small_specs():
    return specs(sizes=(4, 8), max_filters=2)


def drawn(spec, seed):
    net = built(spec)
    try:
        return net, practice.variant(seed, net)
    except ValueError:  # no fit example in the budget (tiny, saturating networks)
        assume(False)


# ------------------------------------------------------------------------------ variants
@given(spec=small_specs(), seed=SEEDS)
@RUNS
def test_drawn_variants_are_hand_computable(spec, seed):
    net, v = drawn(spec, seed)
    t = v.trace
    assert practice.unfit(t) == []
    scale = 10**v.decimals
    assert np.allclose(v.x * scale, np.round(v.x * scale))
    assert (v.x >= 0).all() and (v.x <= 1).all()
    for node in net.weighted:
        W, b = v.params[node.params["W"]], v.params[node.params["b"]]
        assert np.allclose(W * scale, np.round(W * scale)) and (W != 0).all()
        assert np.allclose(b * 10, np.round(b * 10)) and (np.abs(b) <= 0.3 + 1e-12).all()
    assert v.y in range(net.classes)
    # each kind's fit check, said again by hand
    for node in net.nodes[:-1]:
        if node.layer.type in ("relu", "leaky_relu"):
            assert (np.abs(t[node.reads]) > 1e-9).all()
        if node.layer.type == "maxpool":
            p, s = node.layer["size"], node.layer["stride"]
            win = np.sort(kinds._pool.windows(np.asarray(t[node.reads]), p, s), axis=-1)
            if win.shape[-1] > 1:
                tied = (win[..., -1] - win[..., -2] < 1e-9) & (np.abs(win[..., -1]) > 1e-9)
                assert not tied.any()
    again = practice.variant.__wrapped__(seed, net)
    assert np.array_equal(again.x, v.x) and again.y == v.y
    assert all(np.array_equal(again.params[k], v.params[k]) for k in v.params)


def test_a_seed_shaped_network_draws_what_its_config_draws():
    spec = {"input": {"size": 7}, "layers": [
        {"type": "conv", "filters": 2, "kernel": 2}, {"type": "relu"},
        {"type": "maxpool", "size": 2}, {"type": "flatten"}, {"type": "dense", "units": 1}]}
    a, b = practice.variant(5, network(spec)), practice.variant(5, engine.Config(7, 2, 2, 2))
    assert np.array_equal(a.x, b.x) and a.params.keys() == b.params.keys()
    assert practice.step_names(network(spec)) == engine.STEP_NAMES


# ----------------------------------------------------------------------------- exercises
@given(spec=small_specs(), seed=SEEDS)
@RUNS
def test_every_step_is_an_exercise_graded_right_with_the_truth_only(spec, seed):
    net, v = drawn(spec, seed)
    names = practice.step_names(net)
    assert {s.writes for s in engine.steps.steps_for(net)} <= set(names)
    for step in names:
        ex = practice.exercise(step, v)
        ps = practice.practice_step(step, net)
        assert tuple(ex.given) == ps.reads and ex.network == net
        shape = net.shapes()["d" + step if ps.phase == "update" else step]
        assert ex.shape == shape and ex.prompt.endswith(".")
        right = practice.grade(step, ex.truth, ex.truth, ex.given, net=net, lr=ex.lr)
        assert right.correct and right.misconception is None
        if ex.truth.size:
            off = np.array(ex.truth, dtype=np.float64)
            off.flat[0] += 1.0 + abs(off.flat[0])
            wrong = practice.grade(step, off, ex.truth, ex.given, net=net, lr=ex.lr)
            assert not wrong.correct and not wrong.cells.flat[0]
        h = practice.hint(step, 2, (0,) * len(ex.shape), ex.given, net=net, lr=ex.lr)
        assert h.text.endswith("= ?")
        for name, cells in h.feeds.items():
            assert name in ex.given
            assert all(len(ix) == np.ndim(ex.given[name]) for ix in cells)


def test_the_input_gradients_are_steps_of_their_own_beside_the_weights():
    net = network(TWO_CONV)
    names = practice.step_names(net)
    assert names.index("dW2") < names.index("dP1") < names.index("dA1")
    assert "dX" in names and practice.practice_step("dX", net).reads == ("dZ1", "W1")
    v = practice.variant(0, net)
    np.testing.assert_array_equal(practice.exercise("dP1", v).truth, v.trace["dP1"])


# ------------------------------------------------------------------------ misconceptions
def _check_library(net, seed) -> set[str]:
    """Every misconception of every step: the step's shape, and named when answered on a
    variant where it differs from the truth. The ids that differed somewhere."""
    v = practice.variant(seed, net)
    seen = set()
    for m in library(net):
        ex = practice.exercise(m.step, v)
        node = practice.practice_step(m.step, net).node
        wrong = np.asarray(m.wrong(ex.given, node, ex.lr), dtype=np.float64)
        assert wrong.shape == ex.shape, m.id
        if practice.right_cells(wrong, ex.truth).all():
            continue
        seen.add(m.id)
        result = practice.grade(m.step, wrong, ex.truth, ex.given, net=net, lr=ex.lr)
        assert not result.correct and result.misconception is not None, m.id
        same = practice.right_cells(result.misconception.wrong(ex.given, node, ex.lr), wrong)
        assert result.misconception.id == m.id or same.all(), (m.id, result.misconception.id)
    return seen


@pytest.mark.parametrize("spec", [TWO_CONV, OVERLAP, AVG_OVERLAP])
def test_each_kinds_misconceptions_are_named_on_some_variant(spec):
    net = network(spec)
    seen: set[str] = set()
    for seed in range(6):
        seen |= _check_library(net, seed)
    # each one differs from the truth on some variant; but "the wrong cell of a tie" needs a
    # tie, which a drawn variant has only in an all-zero window after a ReLU
    ties_only = {m.id for m in library(net) if m.id.endswith("-last-max")
                 and net.nodes[practice.practice_step(m.step, net).node.position - 1]
                 .layer.type != "relu"}
    assert seen == {m.id for m in library(net)} - ties_only


@given(spec=small_specs(), seed=SEEDS)
@RUNS
def test_misconceptions_of_random_networks_have_the_steps_shape_and_are_named(spec, seed):
    net, _ = drawn(spec, seed)
    _check_library(net, seed)


def test_every_kind_brings_its_misconceptions_with_roles_its_steps_have():
    roles = {"forward", "backward", "dW", "db", "dinput", "loss", "dA"}
    for name, kind in kinds.KINDS.items():
        ms = getattr(kind, "MISCONCEPTIONS", ())
        assert all(isinstance(m, Misconception) and m.step in roles for m in ms), name
        assert hasattr(kind, "unfit"), name
    assert {m.id for m in kinds.avgpool.MISCONCEPTIONS} >= {"not-divided", "one-overlap"}
    assert {m.id for m in kinds.softmax_ce.MISCONCEPTIONS} >= {"p-only"}


def test_the_max_pool_misconceptions_do_not_fire_on_an_average_pool():
    net = network(AVG_OVERLAP)
    v = practice.variant(1, net)
    ex = practice.exercise("dA1", v)
    ids = [m.id for m in for_step("dA1", net)]
    assert ids == ["da1-not-divided", "da1-one-overlap"]
    assert not any(m.kind == "maxpool" for m in for_step("dA1", net))
    # "the gradient split evenly over the window" is the right answer here
    split = kinds.maxpool.MISCONCEPTIONS[2]
    assert split.id == "average" and split.step == "backward"
    node = practice.practice_step("dA1", net).node
    evenly = kinds._wrong.spread(
        np.repeat(ex.given["dP1"][..., None], 4, axis=-1) / 4, node.in_shape, 2, 1)
    result = practice.grade("dA1", evenly, ex.truth, ex.given, net=net)
    assert result.correct and result.misconception is None
    # the not-divided answer is named as such
    wrong = evenly * 4
    result = practice.grade("dA1", wrong, ex.truth, ex.given, net=net)
    assert result.misconception is not None and result.misconception.id == "da1-not-divided"


def test_messages_use_the_networks_own_names():
    net = network(TWO_CONV)
    by_id = {m.id: m for m in library(net)}
    assert "dA2 by the mask [Z2 > 0]" in by_id["dz2-no-mask"].message
    assert "p − onehot" not in by_id["dz3-p-only"].message
    assert "onehot(Y)" in by_id["dz3-p-only"].message
    assert "{" not in "".join(m.message + m.title for m in library(net))
    assert [m.id for m in MISCONCEPTIONS][:3] == ["z1-no-bias", "z1-flipped-kernel",
                                                  "z1-transposed-kernel"]


def test_the_padding_and_stride_misconceptions_appear_only_where_they_can_happen():
    ids = {m.id for m in library(network(OVERLAP))}
    assert {"dw1-no-stride", "dx-pad-corner", "da1-one-overlap"} <= ids
    seed_ids = {m.id for m in MISCONCEPTIONS}
    assert not {"dw1-no-stride", "da1-one-overlap"} & seed_ids
