"""Every network's tensors and gradients against PyTorch's float64 autograd, and the
engine's two paths (batched, one example at a time; engine.fast for seed-shaped networks)
against each other.

Inputs are continuous random draws, so no max-pool window holds two equal maxima except
where ReLU cut several cells to exactly 0. There both libraries pick the first maximum in
row-major order (torch's CPU kernel replaces the running max only on a strictly larger
value), and ReLU's derivative at 0 is 0 in both, so the gradient that reaches Z through such
a window is 0 either way. No input needs to be redrawn to avoid ties.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import engine
from engine import fast, model
from engine.kinds import KINDS
from engine.network import Network, NetworkError, network
from tests.support.networks import accepted, random_label, random_params, runs, seed_specs, specs

torch = pytest.importorskip("torch")
F = torch.nn.functional

TOL = 1e-10  # engine vs torch
SAME = 1e-12  # engine vs engine




# ---------------------------------------------------------------------- the reference
def torch_trace(x: np.ndarray, y: float, params: dict[str, np.ndarray],
                net: Network) -> dict[str, np.ndarray]:
    """The same names as engine.trace, computed by torch's functional ops and autograd:
    each intermediate keeps its gradient (retain_grad), X's comes from requires_grad."""
    as_t = {name: torch.tensor(v, dtype=torch.float64, requires_grad=True)
            for name, v in params.items()}
    X = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    held: dict[str, torch.Tensor] = {}
    h = X[None, None]  # (1, 1, n, n)
    for node in net.nodes[:-1]:
        layer, kind = node.layer, node.layer.type
        if kind == "conv":
            W = as_t[node.params["W"]]
            W4 = W[:, None] if W.ndim == 3 else W
            h = F.conv2d(h, W4, as_t[node.params["b"]], stride=layer["stride"],
                         padding=layer["padding"])
        elif kind == "relu":
            h = F.relu(h)
        elif kind == "leaky_relu":
            h = F.leaky_relu(h, layer["slope"])
        elif kind == "tanh":
            h = torch.tanh(h)
        elif kind == "sigmoid":
            h = torch.sigmoid(h)
        elif kind == "maxpool":
            h = F.max_pool2d(h, layer["size"], layer["stride"], ceil_mode=False)
        elif kind == "avgpool":
            h = F.avg_pool2d(h, layer["size"], layer["stride"], ceil_mode=False)
        elif kind == "flatten":
            h = h.reshape(1, -1)
        elif kind == "dense":
            h = F.linear(h, as_t[node.params["W"]], as_t[node.params["b"]])
        else:  # pragma: no cover - a kind this reference does not know
            raise AssertionError(kind)
        h.retain_grad()
        held[node.writes] = h
    Z = h
    if net.output == "sigmoid_bce":
        A = torch.sigmoid(Z)
        L = F.binary_cross_entropy_with_logits(Z, torch.tensor([[y]], dtype=torch.float64))
    else:
        A = torch.softmax(Z, dim=1)
        L = F.cross_entropy(Z, torch.tensor([int(y)]))
    L.backward()
    # dL/dA of the loss written in A (BCE of the probability, -log A[Y]), as the engine's
    # dA; by hand, since F.binary_cross_entropy clamps its gradient at 1e12
    A_ = A.detach().clone().requires_grad_(True)
    if net.output == "sigmoid_bce":
        L_a = (-torch.log(A_) if y == 1 else -torch.log1p(-A_)).sum()
    else:
        L_a = F.nll_loss(torch.log(A_), torch.tensor([int(y)]))
    (dA,) = torch.autograd.grad(L_a, A_)

    shapes = net.shapes()
    out = {"X": x, "L": L.item(), net.last: A.detach().numpy(), "d" + net.last: dA.numpy(),
           "dX": X.grad.numpy()}
    for name, tensor in held.items():
        out[name] = tensor.detach().numpy()
        out["d" + name] = tensor.grad.numpy()
    for name, tensor in as_t.items():
        out[name] = tensor.detach().numpy()
        out["d" + name] = tensor.grad.numpy()
    return {name: np.asarray(v).reshape(shapes[name] if name != "L" else ())
            for name, v in out.items()}


def _inputs(net: Network, seed: int) -> tuple[np.ndarray, float, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    n = net.input_size
    return rng.normal(size=(n, n)), random_label(net, rng), random_params(net, rng)


# ------------------------------------------------------------------ engine vs torch
@runs(400)
@given(spec=specs(), seed=st.integers(0, 2**31))
def test_every_tensor_and_gradient_matches_torch(spec, seed):
    net = accepted(spec)
    x, y, params = _inputs(net, seed)
    got = engine.trace(x, y, params, net)
    want = torch_trace(x, y, params, net)
    names = set(net.shapes()) - {"Y"}
    assert set(want) == names and set(got) == names | {"Y"}
    for name in sorted(names):
        assert np.shape(got[name]) == np.shape(want[name]), name
        ref, rtol = (_reference_da(got, want, net) if name == "d" + net.last
                     else (want[name], TOL))
        np.testing.assert_allclose(got[name], ref, rtol=rtol, atol=TOL,
                                   err_msg=f"{name} of {net}")


def _reference_da(t, want, net: Network) -> tuple[np.ndarray, float]:
    """torch's dA and the tolerance it deserves. For a saturated sigmoid torch
    differentiates BCE at the rounded A, so its 1/(1 - A) (Y = 0) or -1/A (Y = 1) carries a
    relative error of about eps over the distance of A from the bound (the engine computes
    dA from the logit); where A rounded to the bound itself torch's dA is infinite, and the
    reference is the same derivative written in torch's logit, 1 + e^Z or -(1 + e^-Z).
    Softmax's -1/A[Y] is as accurate as A[Y], a few eps relative."""
    dA = want["d" + net.last]
    if net.output != "sigmoid_bce":
        return dA, TOL
    A, eps, y = float(want[net.last]), np.finfo(np.float64).eps, float(t["Y"])
    room = 1.0 - A if y == 0 else A
    if room == 0:
        z = torch.tensor(float(want[net.nodes[-1].reads]), dtype=torch.float64)
        return np.asarray((1 + torch.exp(z) if y == 0 else -(1 + torch.exp(-z))).item()), TOL
    return dA, TOL + 4 * eps / room


def _kinds_drawn(spec):
    return {layer["type"] for layer in spec["layers"]} | {spec["output"]}


def test_the_strategy_reaches_every_kind_and_option():
    """The space test_every_tensor... draws from covers every kind, both pool-stride cases,
    strides up to 3, padding up to 3 and two convs/dense layers: a narrower strategy fails."""
    seen_kinds, strides, pads, pool_cases, convs, denses = set(), set(), set(), set(), set(), set()

    @settings(max_examples=300, deadline=None, database=None)
    @given(spec=specs())
    def collect(spec):
        try:
            network(spec)
        except NetworkError:
            return
        seen_kinds.update(_kinds_drawn(spec))
        layers = spec["layers"]
        convs.add(sum(layer["type"] == "conv" for layer in layers))
        denses.add(sum(layer["type"] == "dense" for layer in layers))
        for layer in layers:
            if layer["type"] == "conv":
                strides.add(layer["stride"])
                pads.add(layer["padding"])
            if layer["type"] in ("maxpool", "avgpool"):
                s, p = layer["stride"], layer["size"]
                pool_cases.add("overlap" if s < p else "gaps" if s > p else "tiled")

    collect()
    assert seen_kinds == set(KINDS)
    assert strides == {1, 2, 3} and pads == {0, 1, 2, 3}
    assert pool_cases == {"overlap", "gaps", "tiled"}
    assert convs == {1, 2} and denses == {1, 2}


def test_a_wrong_gradient_is_caught():
    """The comparison can fail: a gradient off by one part in 1e9 is reported."""
    net = network({"input": {"size": 6}, "layers": [
        {"type": "conv", "filters": 2, "kernel": 3, "stride": 2, "padding": 1},
        {"type": "tanh"}, {"type": "avgpool", "size": 2, "stride": 1}, {"type": "flatten"},
        {"type": "dense", "units": 3}], "output": "softmax_ce"})
    x, y, params = _inputs(net, 3)
    got, want = engine.trace(x, y, params, net), torch_trace(x, y, params, net)
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=TOL, atol=TOL, err_msg=name)
    with pytest.raises(AssertionError):
        np.testing.assert_allclose(got["dW1"] * (1 + 1e-9), want["dW1"], rtol=TOL, atol=TOL)


def test_relu_zero_ties_in_maxpool_match_torch():
    """A window of ReLU zeros: both libraries route its gradient to the first cell, and it
    stops there (ReLU' = 0), so dZ and dX agree exactly."""
    net = network({"input": {"size": 6}, "layers": [
        {"type": "conv", "filters": 1, "kernel": 1, "stride": 1, "padding": 0},
        {"type": "relu"}, {"type": "maxpool", "size": 2, "stride": 1}, {"type": "flatten"},
        {"type": "dense", "units": 1}], "output": "sigmoid_bce"})
    x = np.random.default_rng(0).normal(size=(6, 6))
    x[:3, :3] = -np.abs(x[:3, :3]) - 0.1  # a 3x3 block of negatives: windows of zeros
    params = {"W1": np.ones((1, 1, 1)), "b1": np.zeros(1),
              "W2": np.random.default_rng(1).normal(size=(1, 25)), "b2": np.array([0.2])}
    got, want = engine.trace(x, 1, params, net), torch_trace(x, 1, params, net)
    assert np.count_nonzero(got["A1"][0, :3, :3]) == 0
    for name in want:
        np.testing.assert_allclose(got[name], want[name], rtol=TOL, atol=TOL, err_msg=name)
    assert np.all(got["dZ1"][0, :3, :3] == 0)


# ------------------------------------------------------------------ engine vs engine
def _stacked(net: Network, X: np.ndarray, Y: np.ndarray, params) -> dict[str, np.ndarray]:
    """Per-example traces stacked (batch axis first); gradients of the batch's mean loss."""
    traces = [engine.trace(X[i], Y[i], params, net) for i in range(len(X))]
    out = {name: np.stack([t[name] for t in traces]) for name in traces[0]}
    for name in net.param_names:
        out["d" + name] = out["d" + name].mean(axis=0)
    for name in out:
        if name.startswith("d") and name[1:] not in net.param_names:
            out[name] = out[name] / len(X)
    out["L"] = out["L"].mean()
    return out


@runs(150)
@given(spec=specs(), seed=st.integers(0, 2**31), N=st.integers(1, 5))
def test_batched_path_equals_per_example_traces(spec, seed, N):
    net = accepted(spec)
    rng = np.random.default_rng(seed)
    n = net.input_size
    X = rng.normal(size=(N, n, n))
    Y = rng.integers(0, net.classes, size=N).astype(np.float64)
    params = random_params(net, rng)
    outs, caches, (A, L, cache) = model.forward_batch(net, X, Y, params)
    grads, dparams = model.backward_batch(net, caches, cache)
    want = _stacked(net, X, Y, params)
    got = {node.writes: out for node, out in zip(net.nodes[:-1], outs)}
    got[net.last] = A
    got["L"] = L.mean()
    got.update(grads)
    got.update(dparams)
    assert set(got) == set(want) - {"X", "Y", *net.param_names}
    for name, value in got.items():
        # the batched path keeps a scalar Z or A as (N, 1); the traces stack () as (N,)
        assert np.size(value) == np.size(want[name]), name
        np.testing.assert_allclose(np.reshape(value, np.shape(want[name])), want[name],
                                   rtol=SAME, atol=SAME, err_msg=name)


@runs(60)
@given(spec=seed_specs(), seed=st.integers(0, 2**31), N=st.integers(1, 5))
def test_fast_path_equals_the_trace_for_seed_shaped_networks(spec, seed, N):
    net = network(spec)
    config = net.config
    assert config is not None and Network.from_config(config) == net
    rng = np.random.default_rng(seed)
    n = net.input_size
    X = rng.normal(size=(N, n, n))
    Y = rng.integers(0, 2, size=N).astype(np.float64)
    params = random_params(net, rng)
    got = fast.trace_batch(X, Y, params, config)
    want = _stacked(net, X, Y, params)
    for name in want:
        if name in ("dA2", "Y", *net.param_names):
            continue
        assert np.shape(got[name]) == np.shape(want[name]), name
        np.testing.assert_allclose(got[name], want[name], rtol=SAME, atol=SAME, err_msg=name)
