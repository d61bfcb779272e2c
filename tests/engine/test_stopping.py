"""Cooperative stopping: training and the gradient check ask ``should_stop`` as they go,
stop when it says so, and compute the same numbers when it never does (the same parameters
bit for bit; an epoch's loss, summed slice by slice, to rounding)."""

from __future__ import annotations

import numpy as np
import pytest

import engine
from engine.model import STOP_CHECK_EXAMPLES, StoppedError


@pytest.mark.parametrize("batch_size", [1, 7, 16, 100, 500])
def test_training_with_should_stop_gives_the_same_numbers(batch_size):
    config = engine.Config(input_size=6)
    xs, ys = engine.load_dataset("strokes", input_size=6)
    params = engine.init_params(config, seed=3)
    asked = []

    def never() -> bool:
        asked.append(1)
        return False

    plain = engine.train(xs, ys, params, config, lr=0.5, epochs=2, batch_size=batch_size, seed=1)
    polled = engine.train(xs, ys, params, config, lr=0.5, epochs=2, batch_size=batch_size,
                          seed=1, should_stop=never)
    for name in engine.PARAM_NAMES:
        np.testing.assert_array_equal(plain.params[name], polled.params[name])
    np.testing.assert_allclose(plain.loss, polled.loss, rtol=1e-13)  # summed in slices
    np.testing.assert_array_equal(plain.accuracy, polled.accuracy)
    # asked before every slice of whole batches: at least once per epoch, and often enough
    slice_size = batch_size * max(1, STOP_CHECK_EXAMPLES // batch_size)
    assert len(asked) == 2 * -(-len(xs) // slice_size)


def test_training_stops_when_asked():
    config = engine.Config(input_size=6)
    xs, ys = engine.load_dataset("strokes", input_size=6)
    calls = []

    def after_three() -> bool:
        calls.append(1)
        return len(calls) > 3

    with pytest.raises(StoppedError):
        engine.train(xs, ys, engine.init_params(config), config, lr=0.5, epochs=1000,
                     batch_size=16, should_stop=after_three)
    assert len(calls) == 4  # it stopped at the first True, not at the end of an epoch


def test_gradcheck_with_should_stop_gives_the_same_numbers_and_stops_when_asked():
    config = engine.Config(input_size=7, kernel_size=2, filters=2, pool_size=2)
    x, y, params = engine.seed_example(config)
    plain = engine.gradcheck(x, y, params, config)
    polled = engine.gradcheck(x, y, params, config, should_stop=lambda: False)
    for name in engine.PARAM_NAMES:
        np.testing.assert_array_equal(plain.numeric[name], polled.numeric[name])
    calls = []

    def after_five() -> bool:
        calls.append(1)
        return len(calls) > 5

    with pytest.raises(StoppedError):
        engine.gradcheck(x, y, params, config, should_stop=after_five)
    assert len(calls) == 6 < config.n_params
