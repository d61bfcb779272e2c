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


# ------------------------------------------------------------------ the training steps
def _binary(rng, batch, n):
    """0/1 images: exact ties inside pooling windows. The first image is blank, so with
    b1 = 0 its Z1 is exactly 0 everywhere (ReLU's kink) and every window ties."""
    X = (rng.random((batch, n, n)) > 0.5).astype(float)
    X[0] = 0.0
    return X


def _data(kind, config, batch, seed):
    rng = np.random.default_rng(seed)
    n = config.input_size
    X = _binary(rng, batch, n) if kind == "binary" else rng.normal(size=(batch, n, n))
    Y = rng.integers(0, 2, size=batch).astype(float)
    params = model.init_params(config, seed=seed)
    if kind == "binary":
        params["b1"][:] = 0.0
    return X, Y, params


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_batched_trace_matches_readable_path_with_ties(config):
    X, Y, params = _data("binary", config, 7, config.input_size)
    got = fast.trace_batch(X, Y, params, config)
    want = _reference(X, Y, params, config)
    for name in want:
        if name in ("dA2", "W1", "b1", "W2", "b2"):
            continue
        np.testing.assert_allclose(got[name], want[name], rtol=1e-12, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("config", CONFIGS, ids=str)
@pytest.mark.parametrize("batch", [1, 2, 7])
@pytest.mark.parametrize("kind", ["normal", "binary"])
def test_grad_step_is_the_readable_sgd_step(config, batch, kind):
    """Batch 1 takes the scalar step, larger batches the batched one; both must be the
    readable path's step on the batch's mean loss."""
    X, Y, params = _data(kind, config, batch, 3 + batch)
    want = _reference(X, Y, params, config)
    new, loss, right = fast.grad_step(fast.plan_for(config), X.reshape(batch, -1), Y, params,
                                      0.3)
    for name in params:
        np.testing.assert_allclose(new[name], params[name] - 0.3 * want[f"d{name}"],
                                   rtol=1e-12, atol=1e-14, err_msg=name)
    assert loss == pytest.approx(float(want["L"]), rel=1e-12)
    assert right == int(np.count_nonzero((want["A2"] > 0.5) == (Y == 1)))


def test_a_batch_done_in_chunks_is_the_same_step(monkeypatch):
    config = Config(input_size=7, kernel_size=2, filters=2, pool_size=3)
    X, Y, params = _data("binary", config, 8, 11)
    plan = fast.plan_for(config)
    whole = fast.grad_step(plan, X.reshape(8, -1), Y, params, 0.5)
    monkeypatch.setattr(fast, "CHUNK", 3)
    chunked = fast.grad_step(plan, X.reshape(8, -1), Y, params, 0.5)
    for name in params:
        np.testing.assert_allclose(chunked[0][name], whole[0][name], rtol=1e-12, atol=1e-15)
    assert chunked[1] == pytest.approx(whole[1], rel=1e-12)
    assert chunked[2] == whole[2]


@pytest.mark.parametrize("batch_size", [1, 3, 10, 16])
def test_train_is_grad_step_over_the_shuffled_batches(batch_size):
    """train's epochs (flat parameters, batches gathered in place, a last batch of one
    example at batch size 3) are grad_step on each batch of the epoch's permutation."""
    config = Config(input_size=7, kernel_size=2, filters=2, pool_size=3)
    X, Y, params = _data("binary", config, 10, 4)
    result = model.train(X, Y, params, config, lr=0.4, epochs=2, batch_size=batch_size, seed=9)
    plan, rng, p, Xf = fast.plan_for(config), np.random.default_rng(9), params, X.reshape(10, -1)
    for epoch in range(2):
        order, total, right, batches = rng.permutation(10), 0.0, 0, 0
        for start in range(0, 10, batch_size):
            rows = order[start : start + batch_size]
            p, loss, ok = fast.grad_step(plan, Xf[rows], Y[rows], p, 0.4)
            total, right, batches = total + loss, right + ok, batches + 1
        assert result.loss[epoch] == pytest.approx(total / batches, rel=1e-12)
        assert result.accuracy[epoch] == right / 10
        np.testing.assert_allclose(result.W1[epoch + 1], p["W1"], rtol=1e-12, atol=1e-15)
    for name in p:
        np.testing.assert_allclose(result.params[name], p[name], rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_predict_is_the_readable_A2(config):
    X, Y, params = _data("normal", config, 5, 6)
    want = [float(model.trace(x, y, params, config)["A2"]) for x, y in zip(X, Y)]
    np.testing.assert_allclose(model.predict(X, params, config), want, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("batch", [1, 6])
def test_z2_of_exactly_zero_is_class_0(batch):
    """A2 = 0.5 is class 0: with W2 = 0 and b2 = 0 exactly the Y = 0 examples are right."""
    config = Config()
    X, _, params = _data("normal", config, batch, 2)
    params["W2"][:] = 0.0
    for Y in (np.zeros(batch), np.ones(batch)):
        _, _, right = fast.grad_step(fast.plan_for(config), X.reshape(batch, -1), Y, params,
                                     0.1)
        assert right == (batch if Y[0] == 0 else 0)


def test_the_plan_cache_is_bounded_in_bytes_and_keeps_the_newest(monkeypatch):
    """Plans of recent configurations are reused; past the byte cap the least recently used
    go, and the newest stays even when it alone is over the cap."""
    monkeypatch.setattr(fast, "_plans", fast.OrderedDict())
    six, seven, eight = (Config(input_size=n) for n in (6, 7, 8))
    plans = {c: fast.plan_for(c) for c in (six, seven, eight)}
    assert fast.plan_for(six) is plans[six]  # reused, and now the most recent: 7, 8, 6
    new = Config(input_size=6, filters=2)
    need = fast._build_plan(new).nbytes
    # room for 8, 6 and the new one less a byte: 7 goes, then 8 goes too
    monkeypatch.setattr(fast, "PLAN_CACHE_BYTES",
                        plans[eight].nbytes + plans[six].nbytes + need - 1)
    fast.plan_for(new)
    assert list(fast._plans) == [six, new]
    assert fast.plans_bytes() == plans[six].nbytes + need
    monkeypatch.setattr(fast, "PLAN_CACHE_BYTES", 1)
    big = Config(input_size=10, filters=2)
    assert fast.plan_for(big) is fast.plan_for(big)  # alone over the cap, still kept
    assert list(fast._plans) == [big]


def _exact_zero_example(rng):
    """One-decimal numbers where some Z1 cell is exactly 0 in exact arithmetic but a
    rounding residue in float64 (0.1 × 0.3 + 0.2 × 0.6 − 0.15 ...), or None."""
    from fractions import Fraction

    config = Config()
    x = rng.integers(0, 10, size=(6, 6)) / 10
    W1 = rng.integers(-9, 10, size=(1, 3, 3)) / 10
    exact = sum(Fraction(str(x[a, b])) * Fraction(str(W1[0, a, b]))
                for a in range(3) for b in range(3))
    b1 = np.array([-float(exact)])  # makes Z1[0, 0, 0] exactly 0
    if Fraction(b1[0]) != -exact:  # -exact is not a float: no exact zero to be had
        return None
    params = {"W1": W1, "b1": b1, "W2": rng.integers(-9, 10, size=(1, 4)) / 10,
              "b2": np.array([0.1])}
    windows = model.np.sum(x[:3, :3] * W1[0]) + b1[0]  # the plain float sum
    return (config, x, params) if windows != 0 else None


def test_a_rounding_residue_of_zero_is_zero_on_every_path():
    """Z1 cells that are exactly 0 in exact arithmetic are 0 on the readable path, the
    batch path, the one-example step and trace_batch, so ReLU and the max-pool route every
    gradient alike: the fast path's dW1 equals the readable one to 1e-12."""
    rng = np.random.default_rng(5)
    found = 0
    for _ in range(4000):
        example = _exact_zero_example(rng)
        if example is None:
            continue
        config, x, params = example
        t = model.trace(x, 1, params, config)
        assert t["Z1"][0, 0, 0] == 0.0
        batch = fast.trace_batch(x[None], np.array([1.0]), params, config)
        assert batch["Z1"][0, 0, 0, 0] == 0.0
        for name in ("dW1", "db1", "dZ1", "dX"):
            got = batch[name][0] if name in ("dZ1", "dX") else batch[name]
            np.testing.assert_allclose(got, t[name], rtol=0, atol=1e-12, err_msg=name)
        new, _, _ = fast.grad_step(fast.plan_for(config), x.reshape(1, -1), np.array([1.0]),
                                   params, 0.1)
        np.testing.assert_allclose(new["W1"], params["W1"] - 0.1 * t["dW1"], atol=1e-12)
        two = np.stack([x, x])
        new2, _, _ = fast.grad_step(fast.plan_for(config), two.reshape(2, -1),
                                    np.array([1.0, 1.0]), params, 0.1)
        np.testing.assert_allclose(new2["W1"], params["W1"] - 0.1 * t["dW1"], atol=1e-12)
        found += 1
    assert found >= 20  # the draw does make such examples
