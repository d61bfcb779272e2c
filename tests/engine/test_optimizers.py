"""Optimizers (engine.optimizers): each against torch.optim in float64 over five passes of
a random network's own gradients, option checking, and the update steps' formulas."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import engine
from engine.network import Network
from engine.notation import num
from engine.optimizers import (
    OPTIMIZER_LIMITS,
    OPTIMIZERS,
    SGD,
    Optimizer,
    OptimizerError,
    limits,
    optimizer,
)
from tests.support.networks import accepted, random_label, random_params, runs, specs

PASSES = 5
SAME = 1e-12  # relative to each tensor's largest magnitude
ZERO = 1e-200  # below this a difference is 0 (a β of 1e-270 times a state, against torch's
#                exact 0 where the gradient is 0: torch's lerp and β·m + (1 − β)·g round apart)




def close(a: np.ndarray, b: np.ndarray, tol: float = SAME, scale: float = 0.0) -> bool:
    """Equal to ``tol`` of the larger of ``b``'s largest magnitude and ``scale``."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    scale = max(scale, float(np.abs(b).max()) if b.size else 0.0)
    return a.shape == b.shape and float(np.abs(a - b).max(initial=0.0)) <= max(tol * scale, ZERO)


def example(net: Network, seed: int):
    rng = np.random.default_rng(seed)
    x = rng.uniform(0.0, 1.0, size=(net.input_size, net.input_size))
    return x, random_label(net, rng), random_params(net, rng)


options = {
    "sgd": st.just({}),
    "momentum": st.fixed_dictionaries({"beta": st.floats(0.0, 0.99)}),
    "adam": st.fixed_dictionaries({
        "beta1": st.floats(0.0, 0.99), "beta2": st.floats(0.0, 0.9999),
        "eps": st.floats(-12.0, -2.0).map(lambda e: 10.0**e)}),
}


# ------------------------------------------------------------------ against torch.optim
def torch_optimizer(opt: Optimizer, tensors: list, lr: float):
    torch = pytest.importorskip("torch")
    if opt.type == "sgd":
        return torch.optim.SGD(tensors, lr=lr)
    if opt.type == "momentum":
        return torch.optim.SGD(tensors, lr=lr, momentum=opt["beta"], dampening=0.0)
    return torch.optim.Adam(tensors, lr=lr, betas=(opt["beta1"], opt["beta2"]), eps=opt["eps"])


TORCH_STATE = {"v": "momentum_buffer", "m": "exp_avg", "s": "exp_avg_sq"}


def check_against_torch(opt: Optimizer, net: Network, seed: int, lr: float) -> None:
    torch = pytest.importorskip("torch")
    x, y, params = example(net, seed)
    names = net.param_names
    theirs = {P: torch.tensor(params[P], dtype=torch.float64, requires_grad=True) for P in names}
    reference = torch_optimizer(opt, [theirs[P] for P in names], lr)
    ours, state = dict(params), opt.init_state(params)
    for t in range(1, PASSES + 1):
        # Both step from our point with its gradients: each pass's update, and the state
        # carried over, are compared exactly. (Each from its own point, the two would part:
        # Adam's step is scale-free, so a cell whose gradient is rounding noise takes a
        # step of about lr chosen by that noise, different at points a rounding apart.)
        grads = engine.trace(x, y, ours, net)
        their_grads = grads
        with torch.no_grad():
            for P in names:
                theirs[P].copy_(torch.tensor(ours[P], dtype=torch.float64))
                theirs[P].grad = torch.tensor(grads["d" + P], dtype=torch.float64)
        before = state
        ours, state = opt.apply(ours, grads, state, t, lr)
        reference.step()
        for P in names:
            g = np.asarray(grads["d" + P])
            m_apart = 0.0  # how far torch's first moment is from ours, cell by cell
            for prefix, name in zip(opt.kind.STATE, opt.state_names(P)):
                held = reference.state[theirs[P]]
                if prefix == "v" and opt["beta"] == 0:  # torch keeps no buffer: v = g
                    assert "momentum_buffer" not in held
                    kept = their_grads["d" + P]
                else:
                    kept = held[TORCH_STATE[prefix]].numpy()
                # torch's Adam moves m by lerp, m + (1 − β1)(g − m): it rounds at the
                # scale of what it starts from, so a moment that shrinks by orders of
                # magnitude in one pass (β1 near 0, a gradient that vanishes) is off by
                # rounding of the old one, not of the new
                inputs = np.abs(before[name]) + np.abs(g if prefix != "s" else g * g)
                assert close(state[name], kept, scale=float(inputs.max(initial=0.0))), (
                    t, name, state[name], kept)
                if prefix == "m":
                    m_apart = np.abs(state[name] - kept)
            # the parameters agree but for what that difference in m moves them by
            explained = 0.0
            if opt.type == "adam":
                s_hat = state[opt.state_names(P)[1]] / (1 - opt["beta2"] ** t)
                explained = float((lr * m_apart / (1 - opt["beta1"] ** t)
                                   / (np.sqrt(s_hat) + opt["eps"])).max(initial=0.0))
            apart = float(np.abs(ours[P] - theirs[P].detach().numpy()).max(initial=0.0))
            assert apart <= SAME * float(np.abs(ours[P]).max(initial=0.0)) + 1.01 * explained \
                + ZERO, (t, P, apart, explained)


@pytest.mark.parametrize("kind", list(OPTIMIZERS))
@runs(12)
@given(spec=specs(sizes=(4, 8), max_filters=2), seed=st.integers(0, 2**31),
       lr=st.floats(1e-3, 1.0), data=st.data())
def test_equals_torch_optim_over_five_passes(kind, spec, seed, lr, data):
    net = accepted(spec)
    opt = optimizer({"type": kind, **data.draw(options[kind])})
    check_against_torch(opt, net, seed, lr)


@pytest.mark.parametrize("spec", ["sgd", "momentum", "adam",
                                  {"type": "adam", "beta1": 0.0, "beta2": 0.5, "eps": 1e-2},
                                  {"type": "momentum", "beta": 0.0}])
def test_equals_torch_optim_on_the_seed_network(spec):
    check_against_torch(optimizer(spec), engine.SEED, 3, 0.1)


def test_sgd_is_the_engines_sgd_step():
    x, y, params = engine.seed_example()
    t = engine.trace(x, y, params)
    new, state = SGD.apply(params, t, None, 1, 0.1)
    assert state == {}
    for P, value in engine.sgd_step(params, t, 0.1).items():
        np.testing.assert_array_equal(new[P], value)


# ------------------------------------------------------------------------- the math
@pytest.mark.parametrize("kind", list(OPTIMIZERS))
def test_apply_leaves_its_inputs_alone_and_takes_a_trace(kind):
    opt = optimizer(kind)
    x, y, params = engine.seed_example()
    t = engine.trace(x, y, params)
    state = {k: v + 0.5 for k, v in opt.init_state(params).items()}
    copies = ({k: v.copy() for k, v in t.items()}, {k: v.copy() for k, v in state.items()})
    new, new_state = opt.apply(t, t, state, 2, 0.1)  # a trace as params: its W1 b1 ...
    assert set(new) == set(engine.SEED.param_names)
    assert set(new_state) == {s for P in new for s in opt.state_names(P)}
    for before, now in zip(copies, (t, state)):
        for k, v in before.items():
            np.testing.assert_array_equal(now[k], v)


def test_a_state_of_none_is_zeros():
    opt = optimizer("adam")
    x, y, params = engine.seed_example()
    t = engine.trace(x, y, params)
    a = opt.apply(params, t, None, 1, 0.1)
    b = opt.apply(params, t, opt.init_state(params), 1, 0.1)
    for P in a[0]:
        np.testing.assert_array_equal(a[0][P], b[0][P])


def test_adams_first_step_has_the_size_of_lr():
    """At t = 1 the bias correction gives m̂ = g and ŝ = g², so each step is lr·sign(g)."""
    opt = optimizer({"type": "adam", "eps": 1e-12})
    x, y, params = engine.seed_example()
    t = engine.trace(x, y, params)
    new, _ = opt.apply(params, t, None, 1, 0.1)
    change = new["W1"] - params["W1"]
    np.testing.assert_allclose(change, -0.1 * np.sign(t["dW1"]), rtol=1e-9)


def test_state_names():
    assert SGD.state_names("W1") == ()
    assert optimizer("momentum").state_names("W1") == ("v_W1",)
    assert optimizer("adam").state_names("b2") == ("m_b2", "s_b2")
    zeros = optimizer("adam").init_state({"W1": np.ones((1, 3, 3)), "X": np.ones((6, 6))})
    assert set(zeros) == {"m_W1", "s_W1"} and not zeros["m_W1"].any()


@pytest.mark.parametrize("bad, message", [
    (dict(t=0), "t "), (dict(t=1.0), "t "), (dict(t=True), "t "), (dict(lr=0.0), "lr"),
    (dict(lr=float("nan")), "lr"), (dict(grads={}), "missing dW1"),
    (dict(state={}), "missing m_W1"),
    (dict(grads={"dW1": np.zeros(2), "db1": np.zeros(1), "dW2": np.zeros((1, 4)),
                 "db2": np.zeros(1)}), "dW1 must have shape"),
])
def test_apply_refuses(bad, message):
    opt = optimizer("adam")
    x, y, params = engine.seed_example()
    t = engine.trace(x, y, params)
    args = {"grads": t, "state": None, "t": 1, "lr": 0.1, **bad}
    with pytest.raises(ValueError, match=message):
        opt.apply(params, args["grads"], args["state"], args["t"], args["lr"])


@pytest.mark.parametrize("kind", ["momentum", "adam"])
def test_details_are_the_numbers_of_apply(kind):
    opt = optimizer(kind)
    x, y, params = engine.seed_example()
    t = engine.trace(x, y, params)
    state = {k: v + 0.03 for k, v in opt.init_state(params).items()}
    new, new_state = opt.apply(params, t, state, 3, 0.1)
    shown = opt.details("W1", t["dW1"], {**t, **state}, 3, 0.1)
    np.testing.assert_array_equal(shown["after"], new["W1"])
    np.testing.assert_array_equal(shown["change"], new["W1"] - params["W1"])
    for name in opt.state_names("W1"):
        np.testing.assert_array_equal(shown[name], state[name])
        np.testing.assert_array_equal(shown[name + "_after"], new_state[name])
    if kind == "adam":
        np.testing.assert_allclose(shown["m_hat_W1"], new_state["m_W1"] / (1 - 0.9**3))
        np.testing.assert_allclose(shown["s_hat_W1"], new_state["s_W1"] / (1 - 0.999**3))


# --------------------------------------------------------------------- the spec check
def fields(spec) -> list[str]:
    with pytest.raises(OptimizerError) as caught:
        optimizer(spec)
    assert isinstance(caught.value, ValueError)
    return [p.field for p in caught.value.problems]


def test_defaults_and_the_spec_round_trip():
    assert optimizer(None) == SGD == optimizer({"type": "sgd"}) == optimizer("sgd")
    assert SGD.to_dict() == {"type": "sgd"}
    assert optimizer("momentum").to_dict() == {"type": "momentum", "beta": 0.9}
    adam = optimizer({"type": "adam", "beta2": 0.99})
    assert adam.to_dict() == {"type": "adam", "beta1": 0.9, "beta2": 0.99, "eps": 1e-8}
    assert optimizer(adam.to_dict()) == adam and optimizer(adam) is adam
    assert adam["beta2"] == 0.99 and adam.get("beta") is None and adam.kind is OPTIMIZERS["adam"]
    assert hash(adam) == hash(optimizer(adam.to_dict()))
    assert isinstance(optimizer({"type": "momentum", "beta": 0})["beta"], float)


@pytest.mark.parametrize("spec, expected", [
    ({"type": "rmsprop"}, ["type"]),
    ({}, ["type"]),
    ({"type": None}, ["type"]),
    ("nesterov", ["type"]),
    ([("type", "sgd")], ["optimizer"]),
    ({"type": "sgd", "beta": 0.9}, ["beta"]),
    ({"type": "momentum", "beta1": 0.9}, ["beta1"]),
    ({"type": "momentum", "beta": 1.0}, ["beta"]),
    ({"type": "momentum", "beta": -0.01}, ["beta"]),
    ({"type": "momentum", "beta": "0.9"}, ["beta"]),
    ({"type": "momentum", "beta": True}, ["beta"]),
    ({"type": "momentum", "beta": None}, ["beta"]),
    ({"type": "momentum", "beta": float("nan")}, ["beta"]),
    ({"type": "adam", "beta1": 1}, ["beta1"]),
    ({"type": "adam", "beta2": float("inf")}, ["beta2"]),
    ({"type": "adam", "eps": 0.0}, ["eps"]),
    ({"type": "adam", "eps": 0.1}, ["eps"]),
    ({"type": "adam", "eps": 1e-13}, ["eps"]),
    ({"type": "adam", "beta1": 2, "beta2": -1, "eps": "small", "lr": 0.1},
     ["lr", "beta1", "beta2", "eps"]),
])
def test_every_bad_field_is_named(spec, expected):
    assert fields(spec) == expected


def test_the_ranges_hold_at_their_ends():
    assert optimizer({"type": "momentum", "beta": 0.0})["beta"] == 0.0
    assert optimizer({"type": "adam", "eps": 1e-12, "beta1": 0.999999})["eps"] == 1e-12
    assert optimizer({"type": "adam", "eps": 1e-2})["eps"] == 1e-2


def test_limits_serve_every_option():
    served = limits()
    assert list(served) == list(OPTIMIZERS) == list(OPTIMIZER_LIMITS)
    assert served["adam"]["options"]["beta1"] == {
        "default": 0.9, "min": 0.0, "max": 1.0, "max_excluded": True,
        "text": OPTIMIZER_LIMITS["adam"]["beta1"].text}
    assert served["momentum"]["state"] == ["v"] and served["sgd"]["options"] == {}
    for kind, options in OPTIMIZER_LIMITS.items():
        defaults = {k: o.default for k, o in options.items()}
        assert optimizer(kind).to_dict() == {"type": kind, **defaults}


# ---------------------------------------------------------------------- update steps
def test_sgd_steps_are_todays_steps():
    x, y, params = engine.seed_example()
    t = engine.trace(x, y, params)
    updates = [s for s in engine.steps_for(engine.SEED) if s.phase == "update"]
    assert [s.writes for s in updates] == ["W1", "b1", "W2", "b2"]
    for s in updates:
        ours = SGD.update_step(s.writes, "d" + s.writes, s.text)
        assert (ours.phase, ours.writes, ours.reads, ours.latex, ours.text, ours.also) == (
            s.phase, s.writes, s.reads, s.latex, s.text, s.also)
        for lr in (0.1, 0.037, 2.5, None):
            assert ours.numbers(t, lr) == s.numbers(t, lr)


@runs(10)
@given(spec=specs(sizes=(4, 8), max_filters=2), seed=st.integers(0, 2**31))
def test_sgd_steps_are_todays_steps_on_any_network(spec, seed):
    net = accepted(spec)
    x, y, params = example(net, seed)
    t = engine.trace(x, y, params, net)
    for s in (s for s in engine.steps_for(net) if s.phase == "update"):
        ours = SGD.update_step(s.writes, "d" + s.writes, s.text)
        assert ours.latex == s.latex and ours.numbers(t, 0.1) == s.numbers(t, 0.1)


def walk_mapping(opt: Optimizer, t_count: int):
    """A pass's mapping as the walk gives it: the trace, the state before, and t."""
    x, y, params = engine.seed_example()
    t = engine.trace(x, y, params)
    rng = np.random.default_rng(5)
    state = {k: rng.normal(0, 0.1, v.shape) ** (2 if k.startswith("s_") else 1)
             for k, v in opt.init_state(params).items()}
    return params, t, state, {**t, **state, "t": np.asarray(float(t_count))}


@pytest.mark.parametrize("kind", ["sgd", "momentum", "adam"])
def test_step_numbers_are_applys_at_cell_0(kind):
    opt = optimizer(kind)
    params, t, state, mapping = walk_mapping(opt, 4)
    new, new_state = opt.apply(params, t, state, 4, 0.1)
    for P in params:
        step = opt.update_step(P, "d" + P, "text")
        assert step.reads == (P, "d" + P, *opt.state_names(P))
        assert step.phase == "update" and step.writes == P and step.reveals == ()
        assert step.numbers(mapping, 0.1).endswith(f"= {num(new[P].flat[0])}")
        assert step.numbers(mapping, None) is None
        shown = opt.details(P, t["d" + P], mapping, 4, 0.1)
        for formula in step.also:
            value = new_state.get(formula.writes, shown.get(formula.writes))
            assert formula.numbers(mapping, 0.1).endswith(f"= {num(value.flat[0])}")
        wrote = [f.writes for f in step.also]
        if kind == "momentum":
            assert wrote == [f"v_{P}"]
            assert f"{num(opt['beta'])} \\times" in step.also[0].numbers(mapping, 0.1)
        if kind == "adam":
            assert wrote == [f"m_{P}", f"s_{P}", f"m_hat_{P}", f"s_hat_{P}"]
            assert "^{4}" in step.also[2].numbers(mapping, 0.1)  # t in the bias correction
            assert r"\sqrt" in step.latex and r"\epsilon" in step.latex


def test_step_numbers_read_the_options():
    opt = optimizer({"type": "adam", "beta1": 0.5, "beta2": 0.75, "eps": 0.01})
    *_, mapping = walk_mapping(opt, 2)
    step = opt.update_step("W2", "dW2", "text")
    assert r"0.5 \times" in step.also[0].numbers(mapping, 0.1)
    assert r"0.75 \times" in step.also[1].numbers(mapping, 0.1)
    assert r"+ 0.01}" in step.numbers(mapping, 0.1)


def test_a_mean_gradient_is_written_with_a_bar():
    for kind in OPTIMIZERS:
        step = optimizer(kind).update_step("W1", "mean_dW1", "text")
        assert step.reads[:2] == ("W1", "mean_dW1")
        assert r"\overline{\frac{\partial L}{\partial W_1}}" in (
            step.latex + "".join(f.latex for f in step.also))
    x, y, params = engine.seed_example()
    t = dict(engine.trace(x, y, params))
    t["mean_dW1"] = t["dW1"] * 0.5
    sgd = SGD.update_step("W1", "mean_dW1", "text").numbers(t, 0.1)
    assert sgd.endswith(f"= {num(params['W1'].flat[0] - 0.1 * t['mean_dW1'].flat[0])}")


def test_formulas_are_finite_numbers():
    for kind in OPTIMIZERS:
        opt = optimizer(kind)
        _, _, _, mapping = walk_mapping(opt, 1)
        for P in engine.SEED.param_names:
            step = opt.update_step(P, "d" + P, "text")
            for text in [step.numbers(mapping, 0.1), *(f.numbers(mapping, 0.1) for f in step.also)]:
                assert "nan" not in text and "inf" not in text
