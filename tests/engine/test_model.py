"""The seed's derivation on one example worked out by hand, the edge cases, and validation."""

import math
import subprocess
import sys

import numpy as np
import pytest

import engine
from engine import Config

# ---------------------------------------------------------------------------------------
# A 6x6 example small enough to do on paper. X[r, c] = v[c] * w[r], so with the vertical
# edge filter W1 = [[1, 0, -1]] * 3 every Z1 cell is (v[j] - v[j+2]) * (w[i] + w[i+1] + w[i+2])
# plus b1.
v = np.array([0, 1, 2, 2, 1, 0], dtype=float)
w = np.array([1, 2, 0, 1, 3, 1], dtype=float)
HAND_X = np.outer(w, v)
HAND_PARAMS = {
    "W1": np.array([[[1.0, 0.0, -1.0], [1.0, 0.0, -1.0], [1.0, 0.0, -1.0]]]),
    "b1": np.array([-1.0]),
    "W2": np.array([[0.5, 0.1, -0.3, -0.2]]),
    "b2": np.array([0.3]),
}
# v[j] - v[j+2] = [-2, -1, 1, 2];  window sums of w = [3, 3, 4, 5];  minus 1:
HAND_Z1 = np.array([[-7, -4, 2, 5], [-7, -4, 2, 5], [-9, -5, 3, 7], [-11, -6, 4, 9.0]])
HAND_A1 = np.array([[0, 0, 2, 5], [0, 0, 2, 5], [0, 0, 3, 7], [0, 0, 4, 9.0]])
# windows: zeros -> 0 (winner (0,0)); [2,5,2,5] -> 5, tie, first maximum (0,3);
#          zeros -> 0 (winner (2,0)); [3,7,4,9] -> 9 at (3,3)
HAND_P1 = np.array([[0, 5], [0, 9.0]])
HAND_F = np.array([0, 5, 0, 9.0])
# Z2 = 0*0.5 + 5*0.1 + 0*(-0.3) + 9*(-0.2) + 0.3 = -1
SIG1 = 1 / (1 + math.exp(-1))  # sigma(1); A2 = sigma(-1) = 1 - SIG1
HAND_A2 = 1 - SIG1
HAND_L = math.log(1 + math.e)  # Y = 1: L = -log sigma(-1) = log(1 + e)
HAND_DA2 = -(1 + math.e)  # (A2 - 1) / (A2 (1 - A2)) = -1 / A2 = -(1 + e)
HAND_DZ2 = -SIG1  # A2 - Y = sigma(-1) - 1 = -sigma(1)
HAND_DF = HAND_DZ2 * np.array([0.5, 0.1, -0.3, -0.2])
# dA1: each window's dF goes to its winner; ReLU passes only (0,3) and (3,3) (Z1 > 0)
HAND_DA1 = np.zeros((4, 4))
HAND_DA1[0, 0], HAND_DA1[0, 3], HAND_DA1[2, 0], HAND_DA1[3, 3] = HAND_DF
HAND_DZ1 = np.zeros((4, 4))
HAND_DZ1[0, 3], HAND_DZ1[3, 3] = HAND_DF[1], HAND_DF[3]
# dW1[a,b] = X[a, 3+b] dZ1[0,3] + X[3+a, 3+b] dZ1[3,3] = dZ2 v[3+b] (0.1 w[a] - 0.2 w[3+a])
HAND_DW1 = HAND_DZ2 * np.outer([-0.1, -0.4, -0.2], [2, 1, 0])
HAND_DB1 = HAND_DZ2 * (0.1 - 0.2)


def test_the_seed_derivation_by_hand():
    t = engine.trace(HAND_X, 1, HAND_PARAMS, Config())
    np.testing.assert_allclose(t["Z1"][0], HAND_Z1, atol=1e-12)
    np.testing.assert_allclose(t["A1"][0], HAND_A1, atol=1e-12)
    np.testing.assert_allclose(t["P1"][0], HAND_P1, atol=1e-12)
    np.testing.assert_allclose(t["F"], HAND_F, atol=1e-12)
    assert float(t["Z2"]) == pytest.approx(-1.0, abs=1e-12)
    assert float(t["A2"]) == pytest.approx(HAND_A2, rel=1e-12)
    assert float(t["L"]) == pytest.approx(HAND_L, rel=1e-12)
    assert float(t["dA2"]) == pytest.approx(HAND_DA2, rel=1e-12)
    assert float(t["dZ2"]) == pytest.approx(HAND_DZ2, rel=1e-12)
    np.testing.assert_allclose(t["dW2"], HAND_DZ2 * HAND_F[None, :], rtol=1e-12)
    np.testing.assert_allclose(t["db2"], [HAND_DZ2], rtol=1e-12)
    np.testing.assert_allclose(t["dF"], HAND_DF, rtol=1e-12)
    np.testing.assert_allclose(t["dP1"][0], HAND_DF.reshape(2, 2), rtol=1e-12)
    np.testing.assert_allclose(t["dA1"][0], HAND_DA1, rtol=1e-12)
    np.testing.assert_allclose(t["dZ1"][0], HAND_DZ1, rtol=1e-12)
    np.testing.assert_allclose(t["dW1"][0], HAND_DW1, rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(t["db1"], [HAND_DB1], rtol=1e-12)
    # the seed's shortcut: dW2 = (A2 - Y) F^T and db2 = A2 - Y
    np.testing.assert_allclose(t["dW2"], (t["A2"] - 1) * t["F"][None, :], rtol=1e-12)


def test_trace_has_every_name_with_its_shape():
    config = Config(input_size=9, kernel_size=2, filters=3, pool_size=3)
    t = engine.trace(np.ones((9, 9)), 0, engine.init_params(config, 1), config)
    shapes = config.shapes()
    assert set(t) == set(shapes)
    for name, array in t.items():
        assert np.shape(array) == shapes[name], name
        assert np.asarray(array).dtype == np.float64, name


def test_default_network_has_15_parameters():
    config = Config()
    assert config.n_params == 15
    params = engine.init_params(config, 0)
    assert sum(p.size for p in params.values()) == 15
    big = Config(input_size=28, kernel_size=7, filters=8, pool_size=4)
    assert big.n_params == 8 * 49 + 8 + 8 * 5 * 5 + 1  # m = 22, q = 5


def test_init_params_is_deterministic_and_small():
    a, b = engine.init_params(Config(), 7), engine.init_params(Config(), 7)
    c = engine.init_params(Config(), 8)
    for name in a:
        np.testing.assert_array_equal(a[name], b[name])
    assert not np.array_equal(a["W1"], c["W1"])
    assert np.all(np.abs(a["W1"]) <= 1 / 3) and np.all(np.abs(a["W2"]) <= 0.5)


def test_sgd_step_lowers_the_loss_and_leaves_inputs_alone():
    config = Config()
    rng = np.random.default_rng(11)
    for seed in range(10):
        X, y = rng.random((6, 6)), seed % 2
        params = engine.init_params(config, seed)
        before = {k: v.copy() for k, v in params.items()}
        t = engine.trace(X, y, params, config)
        new = engine.sgd_step(params, t, 0.01)
        assert engine.loss(X, y, new, config) < float(t["L"])
        for name in params:
            np.testing.assert_array_equal(params[name], before[name])
            np.testing.assert_allclose(new[name], params[name] - 0.01 * t["d" + name])


def test_dead_relu_gives_zero_conv_gradients():
    config = Config()
    params = {**engine.init_params(config, 0), "b1": np.array([-100.0])}
    t = engine.trace(np.random.default_rng(0).random((6, 6)), 1, params, config)
    assert np.all(t["Z1"] < 0)
    assert np.all(t["dW1"] == 0) and np.all(t["db1"] == 0) and np.all(t["dX"] == 0)
    assert np.all(t["dZ1"] == 0)
    assert np.count_nonzero(t["dA1"]) == 4  # max-pool still routes, ReLU blocks
    assert math.isfinite(float(t["L"]))


@pytest.mark.parametrize("b2, y", [(40.0, 0), (-40.0, 1), (800.0, 0), (-800.0, 1)])
def test_saturated_output_keeps_the_loss_finite_and_the_gradient_exact(b2, y):
    config = Config()
    params = {**engine.init_params(config, 0), "b2": np.array([b2])}
    t = engine.trace(np.zeros((6, 6)), y, params, config)
    z = float(t["Z2"])
    assert float(t["A2"]) in (0.0, 1.0) or abs(float(t["A2"]) - (1 - y)) < 1e-16
    assert float(t["L"]) == pytest.approx(abs(z), rel=1e-12)  # softplus(|z|) = |z| here
    assert float(t["dZ2"]) == pytest.approx(1 - 2 * y, abs=1e-15)
    assert np.all(np.isfinite(t["dW1"])) and np.all(np.isfinite(t["dW2"]))
    if abs(z) < 700:
        assert float(t["dA2"]) == pytest.approx((1 - 2 * y) * (1 + math.exp(abs(z))), rel=1e-12)
    else:
        assert math.isinf(float(t["dA2"]))  # the true value overflows float64


def test_readable_sigmoid_does_not_overflow():
    from engine.kinds.sigmoid import sigma as sigmoid
    assert sigmoid(-1000) == 0.0 and sigmoid(1000) == 1.0
    assert sigmoid(-30) == pytest.approx(math.exp(-30) / (1 + math.exp(-30)), rel=1e-12)


@pytest.mark.parametrize("field, value, fragment", [
    ("input_size", 3, "input_size must be between 4 and 28, got 3"),
    ("input_size", 29, "between 4 and 28"),
    ("kernel_size", 0, "kernel_size must be between 1 and 7"),
    ("filters", 9, "filters must be between 1 and 8"),
    ("pool_size", 5, "pool_size must be between 1 and 4"),
    ("filters", 2.0, "filters must be an integer"),
    ("filters", True, "filters must be an integer"),
])
def test_config_rejects_out_of_range_values(field, value, fragment):
    with pytest.raises(ValueError, match=fragment):
        Config(**{field: value})


def test_config_rejects_inconsistent_sizes():
    with pytest.raises(ValueError, match="kernel_size must be <= input_size"):
        Config(input_size=5, kernel_size=6)
    with pytest.raises(ValueError, match=r"pool_size must be <= .* = 2"):
        Config(input_size=6, kernel_size=5, pool_size=3)


@pytest.mark.parametrize("x, fragment", [
    (np.zeros((5, 6)), r"X must have shape \(6, 6\), got \(5, 6\)"),
    (np.zeros(36), r"X must have shape \(6, 6\), got \(36,\)"),
    ([[1, 2], [3]], "X must be an array of numbers"),
    (np.full((6, 6), np.nan), "X must be finite"),
    (np.full((6, 6), np.inf), "X must be finite"),
    ([["a"] * 6] * 6, "X must be an array of numbers"),
])
def test_trace_rejects_bad_x(x, fragment):
    with pytest.raises(ValueError, match=fragment):
        engine.trace(x, 1, engine.init_params(Config(), 0))


@pytest.mark.parametrize("y", [0.5, 2, -1, "1", None, [1], True, np.nan])
def test_trace_rejects_bad_y(y):
    with pytest.raises(ValueError, match="Y must be 0 or 1"):
        engine.trace(np.zeros((6, 6)), y, engine.init_params(Config(), 0))


def test_trace_rejects_bad_params():
    params = engine.init_params(Config(), 0)
    with pytest.raises(ValueError, match="params is missing b2"):
        engine.trace(np.zeros((6, 6)), 1, {k: v for k, v in params.items() if k != "b2"})
    with pytest.raises(ValueError, match=r"W2 must have shape \(1, 4\), got \(4,\)"):
        engine.trace(np.zeros((6, 6)), 1, {**params, "W2": np.zeros(4)})
    with pytest.raises(ValueError, match="W1 must be finite"):
        engine.trace(np.zeros((6, 6)), 1, {**params, "W1": np.full((1, 3, 3), np.nan)})


@pytest.mark.parametrize("lr", [0, -0.1, np.inf, np.nan, 1e9, "0.1", True])
def test_sgd_step_rejects_bad_learning_rates(lr):
    params = engine.init_params(Config(), 0)
    t = engine.trace(np.zeros((6, 6)), 1, params)
    with pytest.raises(ValueError, match="lr must be"):
        engine.sgd_step(params, t, lr)


def test_import_engine_pulls_in_no_web_packages():
    code = ("import sys, engine; bad = [m for m in ('fastapi', 'pydantic', 'plotly', "
            "'starlette', 'jinja2', 'uvicorn', 'app') if m in sys.modules]; print(bad)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "[]"
