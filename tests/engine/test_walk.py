"""A walk's pass over a mini-batch, its optimizers and the compare switches, against
PyTorch's float64 autograd and torch.optim: the mean of the per-example gradients is the
gradient of the batch's mean loss, five passes of each optimizer on it equal torch.optim's,
and the network every switch makes computes what torch computes."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import engine
from engine import compare, walk
from engine.network import Network
from tests.support.networks import accepted, random_label, random_params, runs, seed_specs, specs

torch = pytest.importorskip("torch")
F = torch.nn.functional

TOL = 1e-10




def torch_mean_loss(X: np.ndarray, Y: np.ndarray, p: dict[str, torch.Tensor],
                    net: Network) -> torch.Tensor:
    """The batch's mean loss, as a PyTorch training loop computes it (reduction='mean')."""
    h = torch.tensor(X, dtype=torch.float64)[:, None]
    for node in net.nodes[:-1]:
        layer, kind = node.layer, node.layer.type
        if kind == "conv":
            W = p[node.params["W"]]
            h = F.conv2d(h, W[:, None] if W.ndim == 3 else W, p[node.params["b"]],
                         stride=layer["stride"], padding=layer["padding"])
        elif kind == "dense":
            h = F.linear(h, p[node.params["W"]], p[node.params["b"]])
        elif kind == "flatten":
            h = h.reshape(h.shape[0], -1)
        elif kind == "leaky_relu":
            h = F.leaky_relu(h, layer["slope"])
        elif kind == "maxpool":
            h = F.max_pool2d(h, layer["size"], layer["stride"])
        elif kind == "avgpool":
            h = F.avg_pool2d(h, layer["size"], layer["stride"])
        else:
            h = {"relu": F.relu, "tanh": torch.tanh, "sigmoid": torch.sigmoid}[kind](h)
    if net.output == "sigmoid_bce":
        return F.binary_cross_entropy_with_logits(
            h[:, 0], torch.tensor(Y, dtype=torch.float64))
    return F.cross_entropy(h, torch.tensor(Y, dtype=torch.long))


def _batch(net: Network, seed: int, N: int):
    rng = np.random.default_rng(seed)
    n = net.input_size
    X = rng.normal(size=(N, n, n))
    Y = np.array([random_label(net, rng) for _ in range(N)])
    return X, Y, random_params(net, rng)


@runs(120)
@given(spec=specs(), seed=st.integers(0, 2**31), N=st.integers(1, 6))
def test_the_mean_of_the_per_example_gradients_is_torchs_batch_gradient(spec, seed, N):
    net = accepted(spec)
    X, Y, params = _batch(net, seed, N)
    traces = walk.traces(X, Y, params, net)
    got = walk.means(traces, net)
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    L = torch_mean_loss(X, Y, p, net)
    L.backward()
    assert walk.batch_loss(traces) == pytest.approx(L.item(), rel=TOL, abs=TOL)
    for name in net.param_names:
        np.testing.assert_allclose(got[walk.mean_name(name)], p[name].grad.numpy(),
                                   rtol=TOL, atol=TOL, err_msg=name)


def test_a_sum_is_not_the_mean():
    """The test above could fail: a batch's summed gradient is N times torch's."""
    net = engine.SEED
    X, Y, params = _batch(net, 3, 4)
    traces = walk.traces(X, Y, params, net)
    summed = sum(t["dW1"] for t in traces)
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    torch_mean_loss(X, Y, p, net).backward()
    assert not np.allclose(summed, p["W1"].grad.numpy(), rtol=TOL, atol=TOL)
    np.testing.assert_allclose(summed / 4, p["W1"].grad.numpy(), rtol=TOL, atol=TOL)


TORCH_OPTIM = {
    "sgd": lambda ps, lr, o: torch.optim.SGD(ps, lr=lr),
    "momentum": lambda ps, lr, o: torch.optim.SGD(ps, lr=lr, momentum=o["beta"]),
    "adam": lambda ps, lr, o: torch.optim.Adam(ps, lr=lr, betas=(o["beta1"], o["beta2"]),
                                               eps=o["eps"]),
}


@runs(40)
@given(spec=seed_specs(), seed=st.integers(0, 2**31), N=st.integers(1, 4),
       kind=st.sampled_from(sorted(TORCH_OPTIM)), lr=st.sampled_from([0.01, 0.1, 0.5]))
def test_five_passes_over_a_batch_equal_torch_optim(spec, seed, N, kind, lr):
    net = accepted(spec)
    X, Y, params = _batch(net, seed, N)
    opt = engine.optimizers.optimizer({"type": kind})
    options = opt.to_dict()
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    reference = TORCH_OPTIM[kind](list(p.values()), lr, options)
    state = opt.init_state(params)
    for t in range(1, 6):
        means = walk.means(walk.traces(X, Y, params, net), net)
        grads = {"d" + name: means[walk.mean_name(name)] for name in net.param_names}
        params, state = opt.apply(params, grads, state, t, lr)
        reference.zero_grad()
        torch_mean_loss(X, Y, p, net).backward()
        reference.step()
        for name in net.param_names:
            np.testing.assert_allclose(params[name], p[name].detach().numpy(), rtol=1e-9,
                                       atol=1e-12, err_msg=f"{kind} pass {t} {name}")


@pytest.mark.parametrize("name", sorted(compare.SWITCHES))
def test_every_switch_makes_a_network_torch_computes_alike(name):
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    base = {"seed": 5, "x": rng.uniform(0, 1, (6, 6)).tolist(), "y": 1}
    body = compare.switch(base, name)
    net = engine.network(body["network"])
    X = np.asarray(body["x"], dtype=np.float64)
    X = X[None] if X.ndim == 2 else X
    Y = np.atleast_1d(np.asarray(body["y"], dtype=np.float64))
    params = {k: np.asarray(v, dtype=np.float64) for k, v in body["params"].items()}
    traces = walk.traces(X, Y, params, net)
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True) for k, v in params.items()}
    L = torch_mean_loss(X, Y, p, net)
    L.backward()
    means = walk.means(traces, net)
    assert walk.batch_loss(traces) == pytest.approx(L.item(), rel=TOL)
    for param in net.param_names:
        np.testing.assert_allclose(means[walk.mean_name(param)], p[param].grad.numpy(),
                                   rtol=TOL, atol=TOL, err_msg=f"{name}: {param}")


def test_the_averaging_step_writes_out_every_example_and_the_mean():
    net = engine.SEED
    X, Y, params = _batch(net, 8, 3)
    traces = walk.traces(X, Y, params, net)
    steps = engine.steps_for(net, 3)
    index = [s.writes for s in steps].index("mean_dW1")
    record = engine.steps.step_record(walk.Pass(traces, 1), index, 0.1)
    cells = [engine.steps.num(t["dW1"].flat[0]) for t in traces]
    for cell in cells:
        assert cell.strip("()") in record["latex_numbers"]
    mean = walk.means(traces, net)["mean_dW1"].flat[0]
    assert record["latex_numbers"].endswith(engine.steps.num(mean))
    assert r"\frac{1}{3}" in record["latex_numbers"]
    update = engine.steps.step_record(walk.Pass(traces, 0),
                                      [s.writes for s in steps].index("W1"), 0.1)
    assert engine.steps.num(mean, paren=True) in update["latex_numbers"]
    def outline(some):
        return [(s.phase, s.writes, s.latex) for s in some]
    # the one-example pass's steps, then the means, then the updates
    assert outline(steps[:len(engine.STEPS) - 4]) == outline(engine.STEPS[:-4])
    assert [s.writes for s in steps[len(engine.STEPS) - 4:-4]] == [
        "mean_dW1", "mean_db1", "mean_dW2", "mean_db2"]
    with pytest.raises(ValueError, match="example"):
        walk.Pass(traces, 3)


def test_a_batch_is_checked_example_by_example():
    x, _ = engine.preset("vertical_stroke", 6)
    with pytest.raises(ValueError, match="1 to 16"):
        walk.check_batch([x] * 17, [1] * 17)
    with pytest.raises(ValueError, match="2 images but 1 labels"):
        walk.check_batch([x, x], [1])
    with pytest.raises(ValueError, match="example 1"):
        walk.check_batch([x, x[:3]], [1, 0])
    X, Y = walk.check_batch([x, x.T], [1, 0])
    assert X.shape == (2, 6, 6) and Y == (1.0, 0.0)


@pytest.mark.parametrize("kind", ["momentum", "adam"])
def test_a_lessons_loss_falls_point_is_judged_by_its_own_optimizer(kind):
    from engine import points
    opt = engine.optimizers.optimizer({"type": kind})
    rng = np.random.default_rng(21)
    for _ in range(20):
        net = engine.SEED
        x, y, params = rng.normal(size=(6, 6)), float(rng.integers(0, 2)), random_params(
            net, rng, scale=2.0)
        t = engine.trace(x, y, params, net)
        lr = float(rng.choice([0.1, 3.0, 30.0]))
        new, _ = opt.apply(params, t, opt.init_state(params), 1, lr)
        falls = engine.loss(x, y, new, net) < float(t["L"])
        judged = walk.Pass([t], 0, opt.init_state(params), 1, opt)
        assert points.holds("loss-falls", judged, lr) == falls
