"""Every analytic gradient against central finite differences, on random configurations."""

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

import engine
from engine import Config
from engine.kinds._pool import windows as pool_windows
from engine.model import numeric_gradient, relative_error

TOL = 1e-6
KINK = 1e-4  # stay this far from ReLU's kink and from pooling ties: there is no derivative


@st.composite
def cases(draw, max_size=12):
    n = draw(st.integers(4, max_size))
    k = draw(st.integers(1, min(7, n)))
    p = draw(st.integers(1, min(4, n - k + 1)))
    K = draw(st.integers(1, 8))
    seed = draw(st.integers(0, 2**32 - 1))
    config = Config(input_size=n, kernel_size=k, filters=K, pool_size=p)
    rng = np.random.default_rng(seed)
    params = engine.init_params(config, seed=seed % 1000)
    params["b1"] = rng.normal(0, 0.3, size=K)
    params["b2"] = rng.normal(0, 0.5, size=1)
    X = rng.normal(0, 1, size=(n, n))
    y = int(rng.integers(0, 2))
    return config, X, y, params


def away_from_kinks(t, config):
    # A tiny dZ2 (a confident, right answer) makes every gradient too small for central
    # differences to resolve to 1e-6 relative in float64; saturation has its own exact test.
    if abs(float(t["dZ2"])) < 1e-3:
        return False
    if np.min(np.abs(t["Z1"])) < KINK:
        return False
    windows = np.sort(pool_windows(t["A1"], config.pool_size, config.pool_size), axis=-1)
    if windows.shape[-1] > 1:
        top, second = windows[..., -1], windows[..., -2]
        if np.any((top > 0) & (top - second < KINK)):
            return False
    return True


def check_all_gradients(config, X, y, params):
    t = engine.trace(X, y, params, config)
    for name in engine.PARAM_NAMES:
        def f(value, name=name):
            return engine.loss(X, y, {**params, name: value}, config)
        numeric = numeric_gradient(f, params[name])
        assert relative_error(t["d" + name], numeric) <= TOL, name
    numeric_dx = numeric_gradient(lambda v: engine.loss(v, y, params, config), X)
    assert relative_error(t["dX"], numeric_dx) <= TOL, "dX"


@settings(max_examples=60, deadline=None)
@given(cases())
def test_every_gradient_matches_central_differences(case):
    config, X, y, params = case
    assume(away_from_kinks(engine.trace(X, y, params, config), config))
    check_all_gradients(*case)


@settings(max_examples=30, deadline=None)
@given(cases())
def test_gradcheck_reports_agreement(case):
    config, X, y, params = case
    assume(away_from_kinks(engine.trace(X, y, params, config), config))
    result = engine.gradcheck(X, y, params, config)
    assert set(result.rel_error) == set(engine.PARAM_NAMES)
    assert result.max_rel_error <= TOL
    for name in engine.PARAM_NAMES:
        assert result.numeric[name].shape == params[name].shape


def test_gradcheck_notices_a_wrong_gradient(monkeypatch):
    """The check can fail: break dense_backward and it must say so."""
    from engine.kinds import dense

    original = dense.backward

    def wrong(dZ2, cache):
        dF, grads = original(dZ2, cache)
        return dF, {**grads, "W": 2 * grads["W"]}

    monkeypatch.setattr(dense, "backward", wrong)
    config = Config()
    X = np.random.default_rng(3).random((6, 6))
    result = engine.gradcheck(X, 1, engine.init_params(config, 3), config)
    assert result.rel_error["W2"] > 0.1
    assert result.rel_error["b2"] <= TOL


@pytest.mark.parametrize("config", [
    Config(input_size=5, kernel_size=5, filters=1, pool_size=1),   # k = n
    Config(input_size=6, kernel_size=3, filters=1, pool_size=1),   # p = 1
    Config(input_size=6, kernel_size=3, filters=8, pool_size=2),   # K = 8
    Config(input_size=11, kernel_size=3, filters=2, pool_size=4),  # remainder dropped
], ids=str)
def test_edge_configurations(config):
    rng = np.random.default_rng(config.input_size * 7 + config.filters)
    for attempt in range(20):
        X = rng.normal(size=(config.input_size, config.input_size))
        params = engine.init_params(config, seed=attempt)
        if away_from_kinks(engine.trace(X, 1, params, config), config):
            break
    else:
        pytest.fail("no example away from the kinks")
    check_all_gradients(config, X, 1, params)


@pytest.mark.slow
def test_largest_configuration():
    config = Config(input_size=28, kernel_size=7, filters=8, pool_size=4)
    rng = np.random.default_rng(28)
    for attempt in range(20):
        X = rng.random((28, 28))
        params = engine.init_params(config, seed=attempt)
        params["b1"] = rng.normal(0, 0.2, size=8)
        if away_from_kinks(engine.trace(X, 0, params, config), config):
            break
    check_all_gradients(config, X, 0, params)
