"""Provenance: the cells behind a number, as the page draws them."""

from __future__ import annotations

import numpy as np

import engine


def tied_trace():
    """A 4x4 input whose first pooling window has two equal maxima in A1."""
    config = engine.Config(input_size=4, kernel_size=1, filters=1, pool_size=2)
    params = {"W1": np.ones((1, 1, 1)), "b1": np.zeros(1), "W2": np.ones((1, 4)),
              "b2": np.zeros(1)}
    x = np.array([[0.5, 0.5, 0.1, 0.2],
                  [0.2, 0.1, 0.3, 0.9],
                  [0.4, 0.0, 0.0, 0.0],
                  [0.0, 0.0, 0.0, 0.7]])
    return engine.trace(x, 1.0, params, config)


def test_a_tied_loser_is_told_it_lost_the_tie_break():
    t = tied_trace()
    winner = engine.provenance(t, "dA1", (0, 0, 0))
    assert winner["dP1"] == [[0, 0, 0]] and "maximum of its window" in winner["note"]
    tied = engine.provenance(t, "dA1", (0, 0, 1))
    assert tied["dP1"] == [] and tied["A1"] == [[0, 0, 0]]
    assert "tie-break" in tied["note"] and "first maximum" in tied["note"]
    loser = engine.provenance(t, "dA1", (0, 1, 0))
    assert "not the maximum" in loser["note"] and "tie" not in loser["note"]


def test_sums_carry_their_factors_and_reproduce_the_value():
    rng = np.random.default_rng(3)
    config = engine.Config(input_size=7, kernel_size=3, filters=2, pool_size=2)
    params = engine.init_params(config, seed=4)
    t = engine.trace(rng.random((7, 7)), 0.0, params, config)
    for name, index in [("Z1", (1, 2, 3)), ("dW1", (0, 1, 2)), ("dX", (3, 4)),
                        ("dW2", (0, 5)), ("dF", (6,))]:
        found = engine.provenance(t, name, index)
        products = [a * b for a, b in found["factors"]]
        assert products == found["terms"], name
        total = sum(products) + found.get("bias", 0.0)
        assert np.isclose(total, found["value"], rtol=1e-12, atol=1e-15), name
    db2 = engine.provenance(t, "db2", (0,))
    assert db2["dZ2"] == [[]] and db2["value"] == float(t["dZ2"])
