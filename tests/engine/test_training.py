"""Training lowers the loss on every built-in dataset and reaches the accuracy the README
states (default network, lr 0.5, 30 epochs, batch 16, seed 0)."""

import numpy as np
import pytest

import engine
from engine import Config, fast

# The accuracy floors the README's table promises, measured on the whole training set.
README_ACCURACY = {"strokes": 0.75, "x_vs_o": 0.85, "plus_vs_cross": 0.85,
                   "digits_0_1": 0.95, "digits_3_8": 0.90}


@pytest.mark.parametrize("name", README_ACCURACY)
def test_training_learns_each_dataset(name):
    config = Config()
    xs, ys = engine.load_dataset(name, input_size=6)
    params = engine.init_params(config, 0)
    result = engine.train(xs, ys, params, config, lr=0.5, epochs=30, batch_size=16, seed=0)
    assert result.loss[-1] < 0.75 * result.loss[0]
    accuracy = float(np.mean((engine.predict(xs, result.params, config) > 0.5) == (ys == 1)))
    assert accuracy >= README_ACCURACY[name]
    before = float(np.mean((engine.predict(xs, params, config) > 0.5) == (ys == 1)))
    assert accuracy > before


def test_training_history_shapes_and_determinism():
    config = Config(input_size=8, kernel_size=3, filters=2, pool_size=2)
    xs, ys = engine.load_dataset("x_vs_o", input_size=8, n=64)
    params = engine.init_params(config, 1)
    a = engine.train(xs, ys, params, config, lr=0.3, epochs=5, batch_size=10, seed=4)
    b = engine.train(xs, ys, params, config, lr=0.3, epochs=5, batch_size=10, seed=4)
    c = engine.train(xs, ys, params, config, lr=0.3, epochs=5, batch_size=10, seed=5)
    assert a.loss.shape == a.accuracy.shape == (5,)
    assert a.W1.shape == (6, 2, 3, 3)
    np.testing.assert_array_equal(a.W1[0], params["W1"])
    np.testing.assert_array_equal(a.W1[-1], a.params["W1"])
    np.testing.assert_array_equal(a.loss, b.loss)
    assert not np.array_equal(a.loss, c.loss)
    assert np.all((a.accuracy >= 0) & (a.accuracy <= 1))


def test_full_batch_training_is_repeated_gradient_descent():
    config = Config()
    xs, ys = engine.load_dataset("plus_vs_cross", input_size=6, n=24)
    params = engine.init_params(config, 2)
    result = engine.train(xs, ys, params, config, lr=0.2, epochs=3, batch_size=24, seed=0)
    p = params
    for _ in range(3):
        p = engine.sgd_step(p, fast.trace_batch(xs, ys, p, config), 0.2)
    for name in p:
        np.testing.assert_allclose(result.params[name], p[name], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("kwargs, fragment", [
    ({"epochs": 0}, "epochs must be an integer between 1"),
    ({"batch_size": 0}, "batch_size must be an integer between 1"),
    ({"lr": -1.0}, "lr must be > 0"),
    ({"epochs": 2.5}, "epochs must be an integer"),
])
def test_train_rejects_bad_settings(kwargs, fragment):
    config = Config()
    xs, ys = engine.load_dataset("strokes", input_size=6, n=8)
    settings = {"lr": 0.1, "epochs": 1, "batch_size": 4, **kwargs}
    with pytest.raises(ValueError, match=fragment):
        engine.train(xs, ys, engine.init_params(config), config, **settings)


def test_train_rejects_bad_data():
    config = Config()
    params = engine.init_params(config)
    with pytest.raises(ValueError, match=r"xs must have shape \(N, 6, 6\)"):
        engine.train(np.zeros((3, 5, 5)), np.zeros(3), params, config, lr=0.1, epochs=1,
                     batch_size=1)
    with pytest.raises(ValueError, match="ys must hold only 0 and 1"):
        engine.train(np.zeros((3, 6, 6)), np.full(3, 0.5), params, config, lr=0.1, epochs=1,
                     batch_size=1)
    with pytest.raises(ValueError, match="xs must be finite"):
        engine.train(np.full((3, 6, 6), np.nan), np.zeros(3), params, config, lr=0.1,
                     epochs=1, batch_size=1)
