"""Teaching points against their meaning, computed another way (window by window)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine import points


@st.composite
def examples(draw):
    n = draw(st.integers(4, 8))
    k = draw(st.integers(1, min(3, n)))
    p = draw(st.integers(1, min(3, n - k + 1)))
    config = engine.Config(n, k, draw(st.integers(1, 2)), p)
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    x = np.round(rng.random((n, n)), 1)
    params = engine.init_params(config, seed)
    params["b1"] = np.round(rng.normal(0, 0.3, size=params["b1"].shape), 1)
    return engine.trace(x, float(seed % 2), params, config)


def windows(t):
    """Every pooling window of A1 and Z1 and its dP1, one at a time."""
    p = t.config.pool_size
    K, q, _ = np.asarray(t["P1"]).shape
    for f in range(K):
        for r in range(q):
            for c in range(q):
                cut = (f, slice(r * p, r * p + p), slice(c * p, c * p + p))
                yield (np.asarray(t["A1"])[cut].ravel(), np.asarray(t["Z1"])[cut].ravel(),
                       float(np.asarray(t["dP1"])[f, r, c]))


@settings(max_examples=60, deadline=None)
@given(t=examples())
def test_each_point_means_what_it_says(t):
    shown = points.shown(t, 0.1)
    ws = list(windows(t))
    # the mask blocks a routed gradient: a window whose maximum is 0 (every Z1 <= 0) with
    # a gradient of its own; it passes one: a window won by a positive cell
    assert shown["relu-blocks"] == any(a.max() <= 0 and z[a.argmax()] <= 0 and d != 0
                                       for a, z, d in ws)
    assert shown["relu-passes"] == any(a.max() > 0 and d != 0 for a, _, d in ws)
    assert shown["positive-losers"] == any(sum(v > 0 for v in a) >= 2 for a, _, _ in ws)
    assert shown["clear-winners"] == all(
        len(a) == 1 or sorted(a)[-1] > sorted(a)[-2] for a, _, _ in ws)
    assert shown["zero-window"] == any(a.max() <= 0 for a, _, _ in ws)
    Z1 = np.asarray(t["Z1"])
    assert shown["relu-zeroes"] == (bool((Z1 <= 0).any()) and bool((Z1 > 0).any()))
    assert shown["features-positive"] == all(a.max() > 0 for a, _, _ in ws)
    A2, Y = float(t["A2"]), float(t["Y"])
    assert shown["label-one"] == (Y == 1) == (float(t["dA2"]) < 0)
    assert shown["wrong-side"] == ((Y == 1 and A2 < 0.5) or (Y == 0 and A2 > 0.5))
    params = {n: np.asarray(t[n]) for n in engine.PARAM_NAMES}
    new = {n: params[n] - 0.1 * np.asarray(t["d" + n]) for n in engine.PARAM_NAMES}
    assert shown["loss-falls"] == (engine.loss(t["X"], t["Y"], new, t.config) < float(t["L"]))


def test_an_unknown_point_is_refused_with_the_known_ones():
    with pytest.raises(ValueError, match="relu-blocks"):
        points.check_point("relu-block")
