"""The batched path agrees with the readable one, example by example."""

import numpy as np
import pytest

from engine import fast, model
from engine.config import Config

CONFIGS = [
    Config(),
    Config(input_size=8, kernel_size=3, filters=3, pool_size=2),
    Config(input_size=7, kernel_size=2, filters=2, pool_size=3),  # remainder dropped
    Config(input_size=5, kernel_size=5, filters=1, pool_size=1),  # k = n
    Config(input_size=9, kernel_size=1, filters=8, pool_size=4),
    Config(input_size=28, kernel_size=7, filters=8, pool_size=4),  # the largest
]


def _reference(X, Y, params, config):
    """Stack the readable path's traces; gradients of the batch's mean loss."""
    traces = [model.trace(X[i], Y[i], params, config) for i in range(len(X))]
    out = {name: np.stack([t[name] for t in traces]) for name in traces[0]}
    for name in ("dW1", "db1", "dW2", "db2"):
        out[name] = out[name].mean(axis=0)
    for name in ("dZ2", "dF", "dP1", "dA1", "dZ1", "dX"):
        out[name] = out[name] / len(X)
    out["L"] = out["L"].mean()
    return out


@pytest.mark.parametrize("config", CONFIGS, ids=str)
@pytest.mark.parametrize("batch", [1, 7])
def test_batched_trace_matches_readable_path(config, batch):
    rng = np.random.default_rng(batch * 100 + config.input_size)
    params = model.init_params(config, seed=batch)
    X = rng.normal(size=(batch, config.input_size, config.input_size))
    Y = rng.integers(0, 2, size=batch).astype(float)
    got = fast.trace_batch(X, Y, params, config)
    want = _reference(X, Y, params, config)
    for name in want:
        if name in ("dA2", "W1", "b1", "W2", "b2"):
            continue
        assert got[name].shape == np.shape(want[name]), name
        np.testing.assert_allclose(got[name], want[name], rtol=1e-12, atol=1e-12, err_msg=name)


def test_ties_route_to_the_first_maximum_in_both_paths():
    config = Config(input_size=4, kernel_size=1, filters=1, pool_size=2)
    params = {"W1": np.ones((1, 1, 1)), "b1": np.zeros(1), "W2": np.ones((1, 4)),
              "b2": np.zeros(1)}
    X = np.array([[1.0, 1.0, 0.5, 2.0], [1.0, 0.0, 2.0, 2.0],
                  [3.0, 3.0, 0.0, 0.0], [3.0, 3.0, 0.0, 0.0]])
    got = fast.trace_batch(X[None], np.array([1.0]), params, config)
    want = model.trace(X, 1, params, config)
    np.testing.assert_array_equal(got["dA1"][0] != 0, want["dA1"] != 0)
    np.testing.assert_allclose(got["dA1"][0], want["dA1"], rtol=1e-12)
    # exactly one cell per window receives the gradient, the first maximum in row-major order
    winners = np.argwhere(want["dA1"][0] != 0).tolist()
    assert winners == [[0, 0], [0, 3], [2, 0], [2, 2]]  # the all-zero window routes to (2, 2)
    # ...where ReLU then blocks it: Z1 = 0 there, and ReLU' is 0 at 0
    assert want["dZ1"][0, 2, 2] == 0 and got["dZ1"][0, 0, 2, 2] == 0


def test_grad_step_equals_trace_and_sgd_step():
    config = Config()
    rng = np.random.default_rng(5)
    params = model.init_params(config, seed=2)
    X = rng.random((16, 6, 6))
    Y = (rng.random(16) > 0.5).astype(float)
    new, batch_loss, right = fast.grad_step(fast.plan_for(config), X.reshape(16, -1), Y,
                                            params, 0.3)
    t = fast.trace_batch(X, Y, params, config)
    want = model.sgd_step(params, t, 0.3)
    for name in want:
        np.testing.assert_allclose(new[name], want[name], rtol=1e-12, atol=1e-14)
    assert batch_loss == pytest.approx(float(t["L"]), rel=1e-12)
    assert right == int(np.count_nonzero((t["A2"] > 0.5) == (Y == 1)))
