"""Serialization helpers: JSON from NumPy, colour ranges, winners."""

from __future__ import annotations

import math

import numpy as np
import orjson

from app import serialize


def test_dumps_writes_nested_lists_plain_scalars_and_null_for_non_finite():
    content = {"a": np.arange(6.0).reshape(2, 3), "t": np.arange(6.0).reshape(2, 3).T,
               "s": np.asarray(2.5), "g": np.float64(1.5), "inf": np.asarray(-np.inf),
               "v": np.array([1.0, np.nan, np.inf]), "i": np.int64(3)}
    assert orjson.loads(serialize.dumps(content)) == {
        "a": [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]], "t": [[0.0, 3.0], [1.0, 4.0], [2.0, 5.0]],
        "s": 2.5, "g": 1.5, "inf": None, "v": [1.0, None, None], "i": 3}


def test_dumps_keeps_every_bit_of_a_float64():
    values = np.random.default_rng(0).normal(size=100) * 10.0 ** np.arange(-50, 50)
    assert np.array_equal(np.array(orjson.loads(serialize.dumps(values))), values)


def test_sequential_ranges():
    r = serialize.ranges({"X": np.zeros((4, 4)), "A1": np.zeros((1, 2, 2)),
                        "P1": np.array([[[0.5]]]), "F": np.array([0.0, 3.0])})
    assert r["X"] == {"min": 0.0, "max": 1.0, "scale": "sequential"}
    assert r["A1"] == {"min": 0.0, "max": 1.0, "scale": "sequential"}
    assert r["P1"] == {"min": 0.0, "max": 0.5, "scale": "sequential"}
    assert r["F"] == {"min": 0.0, "max": 3.0, "scale": "sequential"}
    r = serialize.ranges({"X": np.array([[-2.0, 0.5], [3.0, 0.0]])})
    assert r["X"] == {"min": -2.0, "max": 3.0, "scale": "sequential"}


def test_diverging_ranges_are_symmetric_with_a_floor():
    r = serialize.ranges({"dW1": np.array([[-0.5, 0.25]]), "dZ1": np.zeros((1, 3, 3)),
                        "Z2": np.asarray(-7.0), "dA2": np.asarray(np.inf),
                        "W2": np.array([[1.0, np.nan, -np.inf, -2.0]])})
    assert r["dW1"] == {"min": -0.5, "max": 0.5, "scale": "diverging"}
    assert r["dZ1"] == {"min": -1e-12, "max": 1e-12, "scale": "diverging"}
    assert r["Z2"] == {"min": -7.0, "max": 7.0, "scale": "diverging"}
    assert r["dA2"] == {"min": -1e-12, "max": 1e-12, "scale": "diverging"}
    assert r["W2"] == {"min": -2.0, "max": 2.0, "scale": "diverging"}
    assert all(math.isfinite(v["min"]) and math.isfinite(v["max"]) for v in r.values())


def test_ranges_of_nothing():
    assert serialize.ranges({}) == {}


def test_single_numbers_get_a_yardstick_not_their_own_range():
    r = serialize.view_ranges({"A2": np.asarray(0.3), "L": np.asarray(2.5), "Y": np.asarray(1.0),
                               "b1": np.array([0.1]), "dZ2": np.asarray(-3.0),
                               "dA2": np.asarray(np.inf), "W1": np.ones((1, 2, 2))})
    assert r["A2"] == r["Y"] == {"min": 0.0, "max": 1.0, "scale": "sequential"}
    assert r["L"] == {"min": 0.0, "max": 2.5, "scale": "sequential"}
    assert r["b1"] == {"min": -1.0, "max": 1.0, "scale": "diverging"}
    assert r["dZ2"] == {"min": -3.0, "max": 3.0, "scale": "diverging"}
    assert r["dA2"] == {"min": -1.0, "max": 1.0, "scale": "diverging"}
    assert r["W1"] == serialize.ranges({"W1": np.ones((1, 2, 2))})["W1"]
