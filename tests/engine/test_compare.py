"""Compare mode (engine.compare): the switches, shared weights, the lockstep alignment of two
walks' steps, the cells that differ and the sentence for each pair of steps."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine.compare import (
    BATCH,
    SWITCHES,
    SwitchError,
    align,
    differs,
    explain,
    owner,
    shared_params,
    switch,
    walk_network,
)
from engine.steps import steps_for

SEED_BODY: dict = {}
NETWORK_SWITCHES = ("pool", "leaky_relu", "tanh", "softmax", "stride", "padding", "overlap",
                    "two_conv")


def spec(*layers, size=6, output="sigmoid_bce") -> dict:
    return {"input": {"size": size}, "layers": list(layers), "output": output}


CONV = {"type": "conv", "filters": 1, "kernel": 3}
FLAT, D1 = {"type": "flatten"}, {"type": "dense", "units": 1}


def seed_trace(net, params, x=None, y=1):
    x = engine.preset("vertical_stroke", net.input_size)[0] if x is None else x
    return engine.trace(x, y, params, net)


# ============================================================================ switch
def test_switches_are_served_with_a_title_and_a_description():
    assert set(SWITCHES) == {*NETWORK_SWITCHES, "batch", "momentum", "adam"}
    for name, about in SWITCHES.items():
        assert set(about) == {"title", "description"}, name
        assert about["title"] and about["description"], name


@pytest.mark.parametrize("name", list(SWITCHES))
@pytest.mark.parametrize("base", [
    {}, {"config": {"input_size": 8, "kernel_size": 3, "filters": 2, "pool_size": 2}},
    {"network": engine.SEED.to_dict(), "y": 0, "seed": 3, "lr": 0.2},
], ids=["seed", "config", "network"])
def test_every_switch_gives_a_network_and_toggles_back(name, base):
    net_a = walk_network(base)
    b = switch(base, name)
    json.dumps(b)  # a plain JSON body, as POST /api/sessions takes it
    assert "config" not in b
    net_b = engine.network(b["network"])
    assert set(b["params"]) == set(net_b.param_names)
    engine.check_params(b["params"], net_b)
    if name in NETWORK_SWITCHES:
        assert net_b != net_a
    else:
        assert net_b == net_a
    back = switch(b, name)
    assert engine.network(back["network"]) == net_a
    for key in ("seed", "lr"):
        assert back.get(key) == base.get(key)
    assert back.get("optimizer") == base.get("optimizer")
    if "x" in back:  # one image again (the seed's example made explicit by a batch)
        assert np.shape(back["x"]) == (net_a.input_size,) * 2


def test_what_each_network_switch_changes():
    def layers(name):
        return engine.network(switch({}, name)["network"]).layers

    seed = engine.SEED
    assert [la.type for la in layers("pool")] == ["conv", "relu", "avgpool", "flatten",
                                                 "dense"]
    assert layers("leaky_relu")[1].type == "leaky_relu"
    assert layers("tanh")[1].type == "tanh"
    soft = engine.network(switch({}, "softmax")["network"])
    assert soft.output == "softmax_ce" and soft.layers[-1]["units"] == 2
    assert layers("stride")[0]["stride"] == 2 and layers("stride")[1:] == seed.layers[1:]
    assert layers("padding")[0]["padding"] == 1
    assert layers("overlap")[2]["stride"] == 1 and layers("overlap")[2]["size"] == 2
    two = layers("two_conv")
    assert [la.type for la in two] == ["conv", "relu", "maxpool", "conv", "relu", "flatten",
                                      "dense"]
    assert two[3]["kernel"] == 3 and two[3]["padding"] == 1


def test_two_conv_removes_the_second_block_with_its_pool():
    base = {"network": spec(CONV, {"type": "tanh"}, {"type": "conv", "kernel": 2},
                            {"type": "tanh"}, {"type": "avgpool", "size": 2}, FLAT, D1)}
    b = engine.network(switch(base, "two_conv")["network"])
    assert [la.type for la in b.layers] == ["conv", "tanh", "flatten", "dense"]


def test_activation_switches_change_every_relu():
    base = {"network": spec(CONV, {"type": "relu"}, FLAT, {"type": "dense", "units": 3},
                            {"type": "relu"}, D1)}
    b = engine.network(switch(base, "tanh")["network"])
    assert [la.type for la in b.layers if la.type in ("relu", "tanh")] == ["tanh", "tanh"]


@pytest.mark.parametrize(("name", "base", "words"), [
    ("pool", {"network": spec(CONV, {"type": "relu"}, FLAT, D1)}, "no pool"),
    ("overlap", {"network": spec(CONV, FLAT, D1)}, "no pool"),
    ("overlap", {"network": spec(CONV, {"type": "maxpool", "size": 1}, FLAT, D1)},
     "cannot overlap"),
    ("padding", {"network": spec({"type": "conv", "kernel": 1}, FLAT, D1)},
     "padding 1 must be smaller than the kernel 1"),
    ("stride", {"network": spec(FLAT, D1)}, "no conv"),
    ("tanh", {"network": spec(CONV, {"type": "leaky_relu"}, FLAT, D1)}, "no ReLU or tanh"),
    ("softmax", {"network": spec(CONV, FLAT, {"type": "dense", "units": 3},
                                 output="softmax_ce")}, "2 classes"),
    ("two_conv", {"network": spec(CONV, {"type": "relu"}, {"type": "maxpool"}, FLAT,
                                  {"type": "dense", "units": 4}, {"type": "relu"}, D1)},
     "at most 8 layers"),
    ("nope", {}, "unknown switch"),
    ("pool", {"config": {"input_size": 6}, "network": engine.SEED.to_dict()}, "not both"),
    ("pool", {"network": {"layers": []}}, "network"),
    ("pool", {"params": {"W1": [1.0]}}, "params"),
    ("batch", {"x": [[0.0] * 5] * 5}, "batch"),
])
def test_a_switch_that_does_not_apply_says_why(name, base, words):
    with pytest.raises(SwitchError, match=words):
        switch(base, name)


def test_switch_errors_are_value_errors():
    assert issubclass(SwitchError, ValueError)


def test_batch_turns_one_example_into_four_and_back():
    x = np.random.default_rng(0).random((6, 6)).round(3).tolist()
    base = {"x": x, "y": 0}
    b = switch(base, "batch")
    assert len(b["x"]) == len(b["y"]) == BATCH
    assert b["x"][0] == x and b["y"][0] == 0
    assert b == switch(base, "batch")  # deterministic
    images = [np.asarray(i) for i in b["x"]]
    assert all(i.shape == (6, 6) for i in images)
    assert len({i.tobytes() for i in images}) == BATCH  # four different examples
    for label in b["y"]:
        engine.check_y(label)
    back = switch(b, "batch")
    assert back["x"] == x and back["y"] == 0


def test_batch_of_the_seed_example_starts_with_the_vertical_stroke():
    b = switch({}, "batch")
    assert np.array_equal(b["x"][0], engine.preset("vertical_stroke", 6)[0])
    assert b["y"][0] == 1
    assert not any(np.array_equal(x, b["x"][0]) for x in b["x"][1:])


def test_optimizer_switches_toggle_with_sgd():
    assert switch({}, "momentum")["optimizer"] == {"type": "momentum"}
    assert switch({}, "adam")["optimizer"] == {"type": "adam"}
    assert "optimizer" not in switch({"optimizer": {"type": "adam", "beta1": 0.8}}, "adam")
    assert switch({"optimizer": {"type": "adam"}}, "momentum")["optimizer"] == {
        "type": "momentum"}


def test_softmax_keeps_the_labels_of_a_batch():
    b = switch(switch({}, "batch"), "softmax")
    net = engine.network(b["network"])
    assert b["y"] == switch({}, "batch")["y"]
    for label in b["y"]:
        engine.check_y(label, net)


# ====================================================================== shared params
@pytest.mark.parametrize("name", NETWORK_SWITCHES)
def test_shared_params_copy_what_matches_and_only_that(name):
    params_a = engine.init_params(engine.SEED, 5)
    params_a = {k: v + 1.0 for k, v in params_a.items()}  # unlike any init
    net_b = engine.network(switch({}, name)["network"])
    shared = shared_params(params_a, engine.SEED, net_b, 5)
    own = engine.init_params(net_b, 5)
    shapes = net_b.shapes()
    assert set(shared) == set(net_b.param_names)
    for p in net_b.param_names:
        if p in params_a and params_a[p].shape == shapes[p]:
            assert np.array_equal(shared[p], params_a[p]), p
        else:
            assert np.array_equal(shared[p], own[p]), p
    assert any(p in params_a and np.array_equal(shared[p], params_a[p]) for p in shared)


def test_shared_params_are_new_arrays():
    params_a = engine.init_params(engine.SEED, 0)
    shared = shared_params(params_a, engine.SEED, engine.SEED, 0)
    shared["W1"][0, 0, 0] = 99.0
    assert params_a["W1"][0, 0, 0] != 99.0


def test_switch_gives_b_the_shared_params():
    params = {k: (v + 0.5).tolist() for k, v in engine.init_params(engine.SEED, 7).items()}
    b = switch({"params": params}, "stride")
    assert b["params"]["W1"] == params["W1"] and b["params"]["b1"] == params["b1"]
    assert np.shape(b["params"]["W2"]) == (1, 1)  # the stride-2 network's own


# ============================================================================= align
def pairs(name, base=SEED_BODY, batch_b=1):
    net_a, net_b = walk_network(base), walk_network(switch(base, name))
    sa, sb = steps_for(net_a), steps_for(net_b, batch_b)
    return sa, sb, net_a, net_b, align(sa, sb, net_a, net_b)


def by_writes(sa, sb, pairing):
    return [(None if i is None else sa[i].writes, None if j is None else sb[j].writes)
            for i, j in pairing]


@pytest.mark.parametrize("name", NETWORK_SWITCHES)
def test_align_keeps_each_walk_in_order_exactly_once(name):
    sa, sb, *_, pairing = pairs(name)
    assert [i for i, _ in pairing if i is not None] == list(range(len(sa)))
    assert [j for _, j in pairing if j is not None] == list(range(len(sb)))
    assert all(i is not None or j is not None for i, j in pairing)
    for i, j in pairing:
        if i is not None and j is not None:
            assert sa[i].phase == sb[j].phase


@pytest.mark.parametrize("name", ["pool", "leaky_relu", "tanh", "softmax", "stride",
                                  "padding", "overlap"])
def test_a_switch_that_keeps_the_steps_pairs_them_all(name):
    sa, sb, *_, pairing = pairs(name)
    assert by_writes(sa, sb, pairing) == [(s.writes, s.writes) for s in sa]


def test_align_pairs_the_pool_steps():
    sa, sb, *_, pairing = pairs("pool")
    pool_a = [i for i, s in enumerate(sa) if s.writes in ("P1", "dA1")]
    for i, j in pairing:
        if i in pool_a:
            assert sb[j].writes == sa[i].writes


def test_align_pairs_the_first_conv_with_the_first_conv():
    sa, sb, _, _, pairing = pairs("two_conv")
    got = by_writes(sa, sb, pairing)
    for name in ("Z1", "A1", "P1", "dA1", "dZ1", "dW1", "db1", "W1", "b1"):
        assert (name, name) in got, name
    assert ("F", "F") in got and ("Z2", "Z3") in got and ("L", "L") in got
    assert ("W2", "W3") in got and ("dW2", "dW3") in got
    lone_b = [b for a, b in got if a is None]
    assert lone_b == ["Z2", "A2", "dZ2", "dW2", "db2", "W2", "b2"]  # the second block
    assert [a for a, b in got if b is None] == []


def test_align_pairs_the_outputs_for_softmax():
    sa, sb, *_, pairing = pairs("softmax")
    got = dict(by_writes(sa, sb, pairing))
    assert got["A2"] == "A2" and got["L"] == "L" and got["dA2"] == "dA2"
    assert got["dZ2"] == "dZ2"


def test_a_batch_walk_averaging_steps_stand_alone():
    sa, sb, *_, pairing = pairs("batch", batch_b=BATCH)
    got = by_writes(sa, sb, pairing)
    lone = [b for a, b in got if a is None]
    assert lone == ["mean_dW1", "mean_db1", "mean_dW2", "mean_db2"]
    assert [(a, b) for a, b in got if a is not None] == [(s.writes, s.writes) for s in sa]


def test_owner_finds_the_node_a_step_belongs_to():
    net = engine.SEED
    got = {s.writes: (owner(s, net).node.layer.type, owner(s, net).part)
           for s in steps_for(net)}
    assert got["Z1"] == ("conv", "") and got["dZ1"] == ("relu", "")
    assert got["dA1"] == ("maxpool", "") and got["dW1"] == ("conv", "W")
    assert got["L"] == ("sigmoid_bce", "loss") and got["dA2"] == ("sigmoid_bce", "")
    assert got["b2"] == ("dense", "b")
    mean = dataclasses.replace(steps_for(net)[0], phase="backward", writes="mean_dW2")
    assert owner(mean, net).part == "mean W" and owner(mean, net).node.layer.type == "dense"


# =========================================================================== differs
def test_differs_finds_cells_shapes_and_absences():
    a = {"X": np.zeros((2, 2)), "Y": np.asarray(1.0), "F": np.zeros(3), "only": np.ones(1)}
    b = {"X": np.array([[0.0, 1.0], [0.0, 1e-13]]), "Y": np.asarray(0.0), "F": np.zeros(4)}
    got = differs(a, b, ["X", "Y", "F", "only", "nowhere"])
    assert got == {"X": [[0, 1]], "Y": [[]], "F": "shape", "only": "shape"}


def test_differs_is_relative_for_large_values():
    a = {"Z": np.array([1e6, 1e6])}
    b = {"Z": np.array([1e6 * (1 + 1e-14), 1e6 * (1 + 1e-9)])}
    assert differs(a, b, ["Z"]) == {"Z": [[1]]}


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(0, 1000))
def test_max_vs_average_differs_from_the_pool_on(data_seed, param_seed):
    x = np.random.default_rng(data_seed).random((6, 6))
    base = {"x": x.tolist(), "y": 1, "seed": param_seed}
    b = switch(base, "pool")
    net_a, net_b = walk_network(base), walk_network(b)
    ta = seed_trace(net_a, engine.init_params(net_a, param_seed), x)
    tb = seed_trace(net_b, b["params"], x)
    got = differs(ta, tb, list(ta))
    assert got["X"] == got["Z1"] == got["A1"] == got["W1"] == got["W2"] == []
    windows = ta["A1"].reshape(1, 2, 2, 2, 2).transpose(0, 1, 3, 2, 4).reshape(1, 2, 2, 4)
    want = np.argwhere(~np.isclose(windows.max(-1), windows.mean(-1), rtol=1e-12,
                                   atol=1e-12)).tolist()
    assert got["P1"] == want
    assert got["F"] == [[(i * 2 + j) + 4 * f] for f, i, j in want]


# =========================================================================== explain
def fake_update(step, state):
    return dataclasses.replace(step, reads=(*step.reads, *(f"{s}_{step.writes}" for s in state)))


def walk_steps(name):
    """Both walks' steps for a switch on the seed walk, optimizer steps faked where the
    optimizers are not built yet."""
    b = switch({}, name)
    net_a, net_b = walk_network({}), walk_network(b)
    sa = steps_for(net_a)
    sb = steps_for(net_b, BATCH if name == "batch" else 1)
    if name in ("momentum", "adam"):
        state = ("v",) if name == "momentum" else ("m", "s")
        sb = tuple(fake_update(s, state) if s.phase == "update" else s for s in sb)
    return sa, sb, net_a, net_b


@pytest.mark.parametrize("name", list(SWITCHES))
def test_explain_gives_a_sentence_at_every_aligned_position(name):
    sa, sb, net_a, net_b = walk_steps(name)
    pairing = align(sa, sb, net_a, net_b)
    for i, j in pairing:
        a = None if i is None else sa[i]
        b = None if j is None else sb[j]
        for args in ((a, b, net_a, net_b), (b, a, net_b, net_a)):  # either way round
            text = explain(name, *args)
            assert isinstance(text, str) and len(text) > 20, (name, i, j)
            names = tuple(s.writes for s in (a, b) if s is not None)
            assert text[0].isupper() or text.startswith(names), text
            assert text.endswith("."), text
            assert "{" not in text and "}" not in text, text
            assert text.count(". ") == 0, text  # one sentence
        if a is None or b is None:
            assert "no such step" in text


def test_explain_pool_at_dA1_names_the_window_size():
    sa, sb, net_a, net_b = walk_steps("pool")
    i = next(k for k, s in enumerate(sa) if s.writes == "dA1")
    text = explain("pool", sa[i], sb[i], net_a, net_b)
    assert "dP1 / 4" in text and "winner" in text
    assert text.startswith("Average pooling sends dP1 / 4 to every cell of its window")
    net3 = engine.network(spec(CONV, {"type": "relu"}, {"type": "maxpool", "size": 3},
                               FLAT, D1, size=9))
    avg3 = walk_network(switch({"network": net3.to_dict()}, "pool"))
    s3a, s3b = steps_for(net3), steps_for(avg3)
    k = next(k for k, s in enumerate(s3a) if s.writes == "dA1")
    assert "dP1 / 9" in explain("pool", s3a[k], s3b[k], net3, avg3)


def test_explain_says_what_is_the_same_before_the_switch():
    sa, sb, net_a, net_b = walk_steps("pool")
    assert explain("pool", sa[0], sb[0], net_a, net_b) == (
        "Before the pool both networks compute the same Z1.")
    sa, sb, net_a, net_b = walk_steps("adam")
    assert "only in the update" in explain("adam", sa[0], sb[0], net_a, net_b)
    w1 = next(k for k, s in enumerate(sa) if s.phase == "update")
    text = explain("adam", sa[w1], sb[w1], net_a, net_b)
    assert "Adam" in text and "SGD" in text and "bias-corrected" in text
    sa, sb, net_a, net_b = walk_steps("momentum")
    assert "velocity" in explain("momentum", sa[w1], sb[w1], net_a, net_b)


def test_explain_names_the_walk_without_the_step():
    _, sb, net_a, net_b = walk_steps("batch")
    mean = next(s for s in sb if s.writes == "mean_dW1")
    text = explain("batch", None, mean, net_a, net_b)
    assert "Only the batch walk" in text and "one-example walk has no such step" in text
    _, sb, net_a, net_b = walk_steps("two_conv")
    z2 = next(s for s in sb if s.writes == "Z2")
    text = explain("two_conv", None, z2, net_a, net_b)
    assert "Only the two-conv network" in text and "one-conv network has no such step" in text


def test_explain_refuses_an_unknown_switch_and_two_missing_steps():
    with pytest.raises(SwitchError):
        explain("nope", engine.STEPS[0], engine.STEPS[0], None, None)
    with pytest.raises(ValueError):
        explain("pool", None, None, None, None)
