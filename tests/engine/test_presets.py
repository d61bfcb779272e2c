"""The default example shows every idea of the derivation it teaches."""

from __future__ import annotations

import numpy as np

import engine


def test_the_default_example_shows_losers_no_tie_and_a_gradient_the_relu_mask_blocks():
    config = engine.Config()
    x, y, params = engine.seed_example(config)
    t = engine.trace(x, y, params, config)
    p = config.pool_size
    blocked = losers = 0
    for f, i, j in np.ndindex(t["P1"].shape):
        z = t["Z1"][f, i * p:(i + 1) * p, j * p:(j + 1) * p]
        a = t["A1"][f, i * p:(i + 1) * p, j * p:(j + 1) * p]
        positive = a[a > 0]
        assert len(np.unique(positive)) == positive.size  # no tie among positive maxima
        losers += int(positive.size >= 2)
        if (z <= 0).all():
            # the tie rule routes this window's gradient to its first cell, and ReLU blocks it
            assert t["dA1"][f, i * p, j * p] == t["dP1"][f, i, j] != 0
            assert t["dZ1"][f, i * p, j * p] == 0
            blocked += 1
    assert blocked >= 1 and losers >= 1
    assert not np.any(t["Z1"] == 0)
    assert engine.loss(x, y, engine.sgd_step(params, t, 0.1), config) < float(t["L"])
