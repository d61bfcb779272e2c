"""The spec checker (engine.network): every refusal names its field, several are reported in
one pass; names and shapes; the Config shorthand; NETWORK_LIMITS."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine.config import Config
from engine.network import NETWORK_LIMITS, SEED, Network, NetworkError, Problem, network

CONV = {"type": "conv"}
FLAT = {"type": "flatten"}
D1 = {"type": "dense", "units": 1}


def spec(*layers, size=6, output="sigmoid_bce") -> dict:
    return {"input": {"size": size}, "layers": list(layers), "output": output}


def problems(value) -> list[Problem]:
    with pytest.raises(NetworkError) as err:
        network(value)
    assert str(err.value) == "; ".join(map(str, err.value.problems))
    return err.value.problems


def only(value) -> Problem:
    (problem,) = problems(value)
    return problem


# ------------------------------------------------------------------- each refusal
@pytest.mark.parametrize(("value", "field", "words"), [
    # sizes that do not fit
    (spec({"type": "conv", "kernel": 7}, FLAT, D1), "layers[0]", "kernel 7 is larger"),
    (spec(CONV, {"type": "conv", "kernel": 5}, FLAT, D1), "layers[1]", "kernel 5 is larger"),
    (spec({"type": "conv", "kernel": 3, "padding": 3}, FLAT, D1), "layers[0]",
     "padding 3 must be smaller than the kernel 3"),
    (spec(CONV, {"type": "maxpool", "size": 4}, {"type": "conv", "kernel": 2}, FLAT, D1),
     "layers[2]", "kernel 2 is larger than its input (1×1)"),
    (spec({"type": "conv", "kernel": 4}, {"type": "avgpool", "size": 4}, FLAT, D1),
     "layers[1]", "pool size 4 is larger than its input (3×3)"),
    # the grammar
    (spec(CONV, D1), "layers[1]", "dense needs a flatten before it"),
    (spec(D1, FLAT, D1), "layers[0]", "before the flatten"),
    (spec(CONV, FLAT, FLAT, D1), "layers[2]", "a second flatten"),
    (spec(FLAT, CONV, D1), "layers[1]", "conv after the flatten"),
    (spec(CONV, FLAT), "layers[1]", "the last layer must be dense"),
    (spec(CONV, FLAT, D1, {"type": "relu"}), "layers[3]", "the last layer must be dense"),
    (spec({"type": "relu"}, CONV, FLAT, D1), "layers[0]",
     "relu must follow a conv or dense layer (it follows the input)"),
    (spec(CONV, {"type": "tanh"}, {"type": "sigmoid"}, FLAT, D1), "layers[2]",
     "sigmoid must follow a conv or dense layer (it follows an activation)"),
    (spec(CONV, {"type": "maxpool"}, {"type": "relu"}, FLAT, D1), "layers[2]",
     "(it follows a pool)"),
    (spec(FLAT, {"type": "leaky_relu"}, D1), "layers[1]", "(it follows the flatten)"),
    (spec({"type": "maxpool"}, CONV, FLAT, D1), "layers[0]",
     "maxpool must follow a conv layer or its activation (it follows the input)"),
    (spec(CONV, {"type": "maxpool"}, {"type": "avgpool"}, FLAT, D1), "layers[2]",
     "(it follows a pool)"),
    (spec(CONV, FLAT, {"type": "avgpool"}, D1), "layers[2]", "(it follows the flatten)"),
    (spec(CONV, FLAT, {"type": "dense", "units": 3}, {"type": "relu"}, {"type": "maxpool"}, D1),
     "layers[4]", "(it follows a dense layer's activation)"),
    # outputs whose units do not match
    (spec(CONV, FLAT, {"type": "dense", "units": 2}), "layers[2].units",
     "sigmoid_bce needs a last dense layer of 1 unit, got 2"),
    (spec(CONV, FLAT, D1, output="softmax_ce"), "layers[2].units",
     "softmax_ce needs 2 to 10 units"),
    (spec(CONV, FLAT, {"type": "dense", "units": 11}, output="softmax_ce"), "layers[2].units",
     "got 11"),
    # types, options and values
    (spec({"type": "convolution"}, FLAT, D1), "layers[0].type", "must be one of conv, relu"),
    (spec(CONV, {}, FLAT, D1), "layers[1].type", "got None"),
    (spec(CONV, "relu", FLAT, D1), "layers[1]", "must be an object with a type"),
    (spec({"type": "conv", "kernal": 3}, FLAT, D1), "layers[0].kernal",
     "is not an option of conv (options: filters, kernel, stride, padding)"),
    (spec(CONV, {"type": "flatten", "size": 2}, D1), "layers[1].size",
     "is not an option of flatten (options: none)"),
    (spec(CONV, {"type": "relu", "slope": 0.1}, FLAT, D1), "layers[1].slope",
     "is not an option of relu"),
    (spec({"type": "conv", "stride": 0}, FLAT, D1), "layers[0].stride",
     "must be an integer from 1 to 3, got 0"),
    (spec({"type": "conv", "stride": 4}, FLAT, D1), "layers[0].stride", "got 4"),
    (spec({"type": "conv", "padding": -1}, FLAT, D1), "layers[0].padding", "got -1"),
    (spec({"type": "conv", "filters": 17}, FLAT, D1), "layers[0].filters", "from 1 to 16"),
    (spec({"type": "conv", "filters": 2.0}, FLAT, D1), "layers[0].filters", "got 2.0"),
    (spec({"type": "conv", "kernel": True}, FLAT, D1), "layers[0].kernel", "got True"),
    (spec({"type": "conv", "kernel": "3"}, FLAT, D1), "layers[0].kernel", "got '3'"),
    (spec(CONV, {"type": "maxpool", "size": 5}, FLAT, D1), "layers[1].size", "from 1 to 4"),
    (spec(CONV, {"type": "avgpool", "stride": 0}, FLAT, D1), "layers[1].stride", "got 0"),
    (spec(CONV, {"type": "leaky_relu", "slope": 0.6}, FLAT, D1), "layers[1].slope",
     "must be a number from 0.0001 to 0.5, got 0.6"),
    (spec(CONV, {"type": "leaky_relu", "slope": float("nan")}, FLAT, D1), "layers[1].slope",
     "got nan"),
    (spec(CONV, {"type": "leaky_relu", "slope": False}, FLAT, D1), "layers[1].slope",
     "got False"),
    (spec(CONV, FLAT, {"type": "dense", "units": 0}), "layers[2].units", "from 1 to 64"),
    (spec(CONV, FLAT, {"type": "dense", "units": 65}), "layers[2].units", "got 65"),
    # the network's own fields
    ("a network", "network", "must be an object"),
    ({**spec(CONV, FLAT, D1), "loss": "mse"}, "network.loss", "is not a field"),
    (spec(CONV, FLAT, D1, output="mse"), "output", "must be one of sigmoid_bce, softmax_ce"),
    ({"input": 6, "layers": [CONV, FLAT, D1]}, "input", 'must be {"size": n}'),
    ({"input": {"size": 6, "channels": 1}, "layers": [CONV, FLAT, D1]}, "input",
     'must be {"size": n}'),
    (spec(CONV, FLAT, D1, size=3), "input.size", "must be an integer from 4 to 28, got 3"),
    (spec(CONV, FLAT, D1, size=29), "input.size", "got 29"),
    (spec(CONV, FLAT, D1, size=6.0), "input.size", "got 6.0"),
    (spec(size=6), "layers", "must be a non-empty list"),
    ({"input": {"size": 6}, "layers": {"0": CONV}}, "layers", "must be a non-empty list"),
    (spec(*[CONV] * 4, FLAT, *[D1] * 4), "layers", "at most 8 layers, got 9"),
])
def test_each_refusal_names_its_field(value, field, words):
    problem = only(value)
    assert problem.field == field, problem
    assert words in problem.message, problem
    assert str(problem) == f"{field}: {problem.message}"


def test_the_caps_on_parameters_and_on_the_largest_tensor():
    big = {"type": "conv", "filters": 16, "kernel": 7, "padding": 3}
    # four 16-filter 7x7 convs and a dense layer: no tensor above 12,544 cells, 51,025 in all
    p = only(spec(big, big, big, big, FLAT, D1, size=28))
    assert p.field == "layers" and p.message == "51025 parameters: at most 50000"
    # a dense weight of 21 x 784 = 16,464 cells, 16,506 parameters
    p = only(spec(FLAT, {"type": "dense", "units": 21}, D1, size=28))
    assert p.field == "layers[1]" and p.message == "W1 would hold 16464 cells: at most 16384"
    # one unit fewer fits
    assert network(spec(FLAT, {"type": "dense", "units": 20}, D1, size=28)).n_params == 15_721


def test_several_problems_in_one_pass():
    found = problems({"input": {"size": 3},
                      "layers": [{"type": "conv", "kernal": 3, "stride": 0}, {"type": "bogus"},
                                 5, {"type": "dense", "units": 99}],
                      "output": "mse", "extra": 1})
    assert [p.field for p in found] == [
        "network.extra", "input.size", "output", "layers[0].kernal", "layers[0].stride",
        "layers[1].type", "layers[2]", "layers[3].units"]
    # grammar faults are all reported together, too
    found = problems(spec({"type": "relu"}, CONV, FLAT, FLAT, {"type": "maxpool"},
                          {"type": "dense", "units": 3}))
    assert [(p.field, p.message.split(" (")[0]) for p in found] == [
        ("layers[3]", "a second flatten: the network has one, between its conv and dense "
                      "layers"),
        ("layers[0]", "relu must follow a conv or dense layer"),
        ("layers[4]", "maxpool must follow a conv layer or its activation"),
        ("layers[5].units", "sigmoid_bce needs a last dense layer of 1 unit, got 3")]


# ------------------------------------------------------------------ names and shapes
def test_the_seeds_names_and_shapes():
    shapes = SEED.shapes()
    values = [name for name in shapes if name != "Y" and not name.startswith("d")]
    assert " ".join(values) == "X W1 b1 Z1 A1 P1 F W2 b2 Z2 A2 L"
    assert shapes == Config().shapes()
    assert shapes["W1"] == (1, 3, 3) and shapes["P1"] == (1, 2, 2) and shapes["Z2"] == ()
    assert SEED.param_names == ("W1", "b1", "W2", "b2") and SEED.n_params == 15
    assert SEED.last == "A2" and SEED.classes == 2
    t = engine.trace(np.zeros((6, 6)), 1, engine.init_params(SEED), SEED)
    assert " ".join(t) == ("X Y W1 b1 Z1 A1 P1 F W2 b2 Z2 A2 L dA2 dZ2 dW2 db2 dF dP1 dA1 "
                           "dZ1 dW1 db1 dX")
    for name, value in t.items():
        assert np.shape(value) == shapes[name], name


@pytest.mark.parametrize("config", [Config(), Config(8, 3, 3, 2), Config(7, 2, 2, 3),
                                    Config(28, 7, 8, 4), Config(5, 5, 1, 1)], ids=str)
def test_every_config_is_a_seed_shaped_network(config):
    net = Network.from_config(config)
    assert net.config == config
    assert net.shapes() == config.shapes()
    assert net.n_params == config.n_params
    assert network(net.to_dict()) == net


TWO_CONV = spec({"type": "conv", "filters": 2, "kernel": 3, "padding": 1},
                {"type": "relu"}, {"type": "maxpool", "size": 2},
                {"type": "conv", "filters": 3, "kernel": 2, "stride": 2}, {"type": "tanh"},
                FLAT, {"type": "dense", "units": 4}, {"type": "dense", "units": 3},
                size=10, output="softmax_ce")


def test_a_two_conv_softmax_networks_names_and_shapes():
    net = network(TWO_CONV)
    assert net.config is None and net.classes == 3 and net.last == "A4"
    assert net.param_names == ("W1", "b1", "W2", "b2", "W3", "b3", "W4", "b4")
    values = {name: shape for name, shape in net.shapes().items()
              if name != "Y" and not name.startswith("d")}
    assert values == {
        "X": (10, 10), "W1": (2, 3, 3), "b1": (2,), "Z1": (2, 10, 10), "A1": (2, 10, 10),
        "P1": (2, 5, 5), "W2": (3, 2, 2, 2), "b2": (3,), "Z2": (3, 2, 2), "A2": (3, 2, 2),
        "F": (12,), "W3": (4, 12), "b3": (4,), "Z3": (4,), "W4": (3, 4), "b4": (3,),
        "Z4": (3,), "A4": (3,), "L": ()}
    grads = {name for name in net.shapes() if name.startswith("d")}
    assert grads == {"d" + name for name in values if name != "L"}
    assert net.n_params == 18 + 2 + 24 + 3 + 48 + 4 + 12 + 3
    assert [(n.reads, n.writes) for n in net.nodes] == [
        ("X", "Z1"), ("Z1", "A1"), ("A1", "P1"), ("P1", "Z2"), ("Z2", "A2"), ("A2", "F"),
        ("F", "Z3"), ("Z3", "Z4"), ("Z4", "A4")]
    t = engine.trace(np.random.default_rng(0).random((10, 10)), 2, engine.init_params(net), net)
    for name, value in t.items():
        assert np.shape(value) == net.shapes()[name], name


def test_defaults_are_filled_and_the_dict_round_trips():
    net = network(spec(CONV, {"type": "maxpool", "size": 3}, FLAT, D1, size=8))
    assert net.to_dict()["layers"][0] == {"type": "conv", "filters": 1, "kernel": 3,
                                          "stride": 1, "padding": 0}
    assert net.to_dict()["layers"][1] == {"type": "maxpool", "size": 3, "stride": 3}
    for value in (TWO_CONV, SEED.to_dict(), net.to_dict(),
                  spec(CONV, {"type": "leaky_relu", "slope": 0.2}, FLAT, D1)):
        net = network(value)
        again = network(net.to_dict())
        assert again == net and hash(again) == hash(net)
    assert network(spec(CONV, {"type": "leaky_relu", "slope": 1 / 4}, FLAT, D1)).layers[1][
        "slope"] == 0.25
    # the input and output have defaults too: a 6x6 input and sigmoid_bce
    assert network({"layers": SEED.to_dict()["layers"]}) == SEED


def test_config_round_trips_and_other_networks_have_none():
    for config in (Config(), Config(9, 1, 8, 4)):
        assert Network.from_config(config).config == config
    assert Network.from_config(Config()) is SEED or Network.from_config(Config()) == SEED
    seedlike = SEED.to_dict()
    for change in ({"stride": 2}, {"padding": 1}):
        other = {**seedlike, "layers": [{**seedlike["layers"][0], **change},
                                        *seedlike["layers"][1:]]}
        assert network(other).config is None
    pooled = {**seedlike, "layers": [*seedlike["layers"][:2],
                                     {"type": "maxpool", "size": 2, "stride": 1},
                                     *seedlike["layers"][3:]]}
    assert network(pooled).config is None
    leaky = {**seedlike, "layers": [seedlike["layers"][0], {"type": "leaky_relu"},
                                    *seedlike["layers"][2:]]}
    assert network(leaky).config is None
    # a seed-shaped network beyond Config's own limits (16 filters > 8) is not a Config
    wide = {**seedlike, "layers": [{**seedlike["layers"][0], "filters": 16},
                                   *seedlike["layers"][1:]]}
    assert network(wide).config is None


# ----------------------------------------------------------------------- the limits
def test_network_limits_are_enforced_at_their_bounds(monkeypatch):
    lo, hi = NETWORK_LIMITS["input_min"], NETWORK_LIMITS["input_max"]
    for size in (lo, hi):
        assert network(spec(CONV, FLAT, D1, size=size)).input_size == size
    for size in (lo - 1, hi + 1):
        assert only(spec(CONV, FLAT, D1, size=size)).field == "input.size"
    most = NETWORK_LIMITS["layers"]
    fits = spec(CONV, {"type": "relu"}, {"type": "maxpool"}, FLAT,
                *[{"type": "dense", "units": 2}, {"type": "relu"}] * ((most - 5) // 2),
                *([{"type": "dense", "units": 2}] if (most - 5) % 2 else []), D1, size=8)
    assert len(network(fits).layers) == most
    assert only({**fits, "layers": [*fits["layers"][:-1], {"type": "dense", "units": 2}, D1]}
                ).field == "layers"
    # the caps are read from NETWORK_LIMITS, so a tighter one takes effect
    net = network(TWO_CONV)
    monkeypatch.setitem(NETWORK_LIMITS, "params", net.n_params)
    assert network(TWO_CONV) == net
    monkeypatch.setitem(NETWORK_LIMITS, "params", net.n_params - 1)
    assert only(TWO_CONV).message == f"{net.n_params} parameters: at most {net.n_params - 1}"
    monkeypatch.setitem(NETWORK_LIMITS, "params", 50_000)
    largest = max(int(np.prod(s)) for s in net.shapes().values())
    assert largest == 200  # Z1 and A1, 2 x 10 x 10
    monkeypatch.setitem(NETWORK_LIMITS, "tensor", largest)
    assert network(TWO_CONV) == net
    monkeypatch.setitem(NETWORK_LIMITS, "tensor", largest - 1)
    assert [(p.field, p.message) for p in problems(TWO_CONV)] == [
        ("layers[0]", "Z1 would hold 200 cells: at most 199"),
        ("layers[1]", "A1 would hold 200 cells: at most 199")]
