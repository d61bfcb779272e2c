"""Practice's exercises of issue 21: an update by momentum or Adam ("W1@momentum",
"W1@adam") and a mini-batch's mean gradient ("mean_dW1"): the truth, the grading of each
misconception's answer, hints, names and refusals."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from engine import practice
from engine.misconceptions import for_step
from engine.optimizers import optimizer, practice_optimizer

SEED_STEPS = [f"{P}@{kind}" for kind in ("momentum", "adam") for P in engine.SEED.param_names]
MEAN_STEPS = [f"mean_d{P}" for P in engine.SEED.param_names]
RUNS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# A network that is not seed-shaped: two convs, tanh, average pooling, softmax.
OTHER = engine.network({"input": {"size": 6}, "layers": [
    {"type": "conv", "filters": 2, "kernel": 3}, {"type": "tanh"},
    {"type": "avgpool", "size": 2}, {"type": "flatten"}, {"type": "dense", "units": 3},
    {"type": "relu"}, {"type": "dense", "units": 2}], "output": "softmax_ce"})


def check_misconceptions(step: str, ex: practice.Exercise, net, diagnosed: set[str]) -> None:
    """Each misconception's answer is diagnosed as it, where it differs from the truth
    (where two give the same answer here, either one names it)."""
    ms = for_step(step, net)
    assert ms and all(m.step == step for m in ms)
    wrongs = {m.id: np.asarray(m.wrong(ex.given, None, ex.lr)) for m in ms}
    for m in ms:
        answer = wrongs[m.id]
        if practice.right_cells(answer, ex.truth).all():
            continue  # the same as the right answer here: nothing to diagnose
        graded = engine.grade(step, answer, ex.truth, ex.given, net=net, lr=ex.lr)
        assert not graded.correct and graded.misconception is not None, m.id
        found = graded.misconception.id
        assert found == m.id or practice.right_cells(answer, wrongs[found]).all(), (m.id, found)
        diagnosed.add(m.id.split("-", 1)[1])


def check_exercise(step: str, var: practice.Variant, diagnosed: set[str]) -> None:
    ex = engine.exercise(step, var)
    assert ex.step == step and ex.truth.dtype == np.float64
    right = engine.grade(step, ex.truth, ex.truth, ex.given, net=var.network, lr=ex.lr)
    assert right.correct and right.misconception is None and right.score == 1.0
    rounded = np.array([float(f"{v:.3g}") for v in ex.truth.ravel()]).reshape(ex.shape)
    assert engine.grade(step, rounded, ex.truth, ex.given, net=var.network, lr=ex.lr).correct
    check_misconceptions(step, ex, var.network, diagnosed)


# ---------------------------------------------------------------------- the updates
def test_an_update_exercise_gives_what_the_update_reads_and_apply_answers():
    var = practice.variant(7)
    for kind in ("momentum", "adam"):
        step = f"W1@{kind}"
        ex = engine.exercise(step, var)
        opt = practice_optimizer(kind)
        assert list(ex.given) == ["W1", "dW1", *opt.state_names("W1"), "t",
                                  *(k for k, _ in opt.options)]
        t = int(ex.given["t"])
        assert practice.UPDATE_COUNTS[0] <= t <= practice.UPDATE_COUNTS[1]
        state = {name: ex.given[name] for name in opt.state_names("W1")}
        new, _ = opt.apply({"W1": var.params["W1"]}, var.trace, state, t, var.lr)
        np.testing.assert_array_equal(ex.truth, new["W1"])
        np.testing.assert_array_equal(ex.given["dW1"], var.trace["dW1"])
        assert ex.lr == var.lr and f"t = {t}" in ex.prompt and "Your answer" in ex.prompt
        assert ex.index == practice.INDEX["W1"]
        assert all(np.any(v != 0) for v in state.values())  # a state kept from before
        assert engine.exercise(step, var).given.keys() == ex.given.keys()  # deterministic
        np.testing.assert_array_equal(engine.exercise(step, var).truth, ex.truth)


def test_adams_practice_eps_is_large_enough_to_matter():
    ex = engine.exercise("W1@adam", practice.variant(7))
    assert float(ex.given["eps"]) == 1e-2


@RUNS
@given(seed=st.integers(0, 2**32 - 1))
def test_seed_network_updates_are_graded(seed):
    var = practice.variant(seed)
    diagnosed: set[str] = set()
    for step in SEED_STEPS:
        check_exercise(step, var, diagnosed)
    assert {"momentum-no-velocity", "momentum-no-decay", "adam-no-bias-correction"} <= diagnosed


def test_every_misconception_is_diagnosed_somewhere():
    diagnosed: set[str] = set()
    for seed in range(8):
        var = practice.variant(seed)
        for step in SEED_STEPS + MEAN_STEPS:
            check_exercise(step, var, diagnosed)
    assert diagnosed == {"momentum-no-velocity", "momentum-no-decay", "momentum-sign",
                         "adam-no-bias-correction", "adam-eps-inside-root", "adam-no-root",
                         "summed"}


def test_the_named_misconceptions():
    titles = {m.title for m in for_step("W1@adam")}
    assert {"Bias correction left out", "ε inside the square root"} <= titles
    assert "The velocity left out" in {m.title for m in for_step("b1@momentum")}
    (summed,) = for_step("mean_dW2")
    assert summed.title == "Summed instead of averaged" and summed.id == "mean_dW2-summed"
    assert all(m.id.startswith("W2-") for m in for_step("W2@momentum"))
    assert "dW1" in for_step("W1@momentum")[0].message


def test_hand_made_wrong_answers():
    """Answers written as a student would, without the misconception functions."""
    var = practice.variant(11)
    ex = engine.exercise("W1@adam", var)
    g, lr = ex.given, ex.lr
    b1, b2, eps, t = (float(g[k]) for k in ("beta1", "beta2", "eps", "t"))
    m = b1 * g["m_W1"] + (1 - b1) * g["dW1"]
    s = b2 * g["s_W1"] + (1 - b2) * g["dW1"] ** 2
    no_correction = g["W1"] - lr * m / (np.sqrt(s) + eps)
    graded = engine.grade("W1@adam", no_correction, ex.truth, g, lr=lr)
    assert graded.misconception.title == "Bias correction left out"
    inside = g["W1"] - lr * (m / (1 - b1**t)) / np.sqrt(s / (1 - b2**t) + eps)
    if not practice.right_cells(inside, ex.truth).all():
        assert engine.grade("W1@adam", inside, ex.truth, g, lr=lr).misconception.title == (
            "ε inside the square root")
    ex = engine.exercise("W1@momentum", var)
    plain = ex.given["W1"] - ex.lr * ex.given["dW1"]
    graded = engine.grade("W1@momentum", plain, ex.truth, ex.given, lr=ex.lr)
    assert graded.misconception.title == "The velocity left out"
    ex = engine.exercise("mean_dW1", var)
    total = sum(ex.given.values())
    assert engine.grade("mean_dW1", total, ex.truth, ex.given).misconception.title == (
        "Summed instead of averaged")


def test_other_options_and_a_wrong_optimizer():
    var = practice.variant(2)
    opt = optimizer({"type": "momentum", "beta": 0.5})
    ex = practice.extra_exercise("W2@momentum", var, optimizer=opt)
    assert float(ex.given["beta"]) == 0.5
    new, _ = opt.apply({"W2": var.params["W2"]}, var.trace, {"v_W2": ex.given["v_W2"]},
                       int(ex.given["t"]), var.lr)
    np.testing.assert_array_equal(ex.truth, new["W2"])
    diagnosed: set[str] = set()
    check_misconceptions("W2@momentum", ex, var.network, diagnosed)  # β read off the givens
    assert diagnosed
    with pytest.raises(ValueError, match="not by adam"):
        practice.extra_exercise("W2@momentum", var, optimizer="adam")


# ------------------------------------------------------------------------- the mean
def test_a_mean_exercise_averages_the_examples_gradients():
    var = practice.variant(5)
    ex = engine.exercise("mean_dW1", var)
    assert list(ex.given) == [f"dW1({n})" for n in range(1, practice.BATCH + 1)]
    np.testing.assert_array_equal(ex.given["dW1(1)"], var.trace["dW1"])  # the variant's own
    np.testing.assert_allclose(ex.truth, sum(ex.given.values()) / practice.BATCH, rtol=1e-15)
    assert ex.lr is None and "N = 3" in ex.prompt and ex.index == practice.INDEX["dW1"]
    assert not np.array_equal(ex.given["dW1(2)"], ex.given["dW1(3)"])
    big = practice.extra_exercise("mean_db1", var, batch=16)
    assert len(big.given) == 16
    given = [engine.trace(np.full((6, 6), v), 1.0, var.params) for v in (0.1, 0.5, 0.9, 0.3)]
    own = practice.extra_exercise("mean_dW2", var, examples=given)
    np.testing.assert_allclose(own.truth, np.mean([tr["dW2"] for tr in given], axis=0))


@pytest.mark.parametrize("kwargs", [{"batch": 1}, {"batch": 17}, {"batch": 2.0},
                                    {"examples": []}])
def test_a_mean_exercise_refuses_a_bad_batch(kwargs):
    with pytest.raises(ValueError):
        practice.extra_exercise("mean_dW1", practice.variant(5), **kwargs)


# -------------------------------------------------------- any network, hints, names
def test_any_network():
    diagnosed: set[str] = set()
    for seed in range(3):
        var = practice.variant(seed, OTHER)
        for P in OTHER.param_names:
            for step in (f"{P}@momentum", f"{P}@adam", f"mean_d{P}"):
                check_exercise(step, var, diagnosed)
    assert "summed" in diagnosed and "adam-no-bias-correction" in diagnosed


def test_a_walks_own_example():
    x, y, params = engine.seed_example()
    var = practice.given_variant(x, y, params, 0.05)
    a, b = engine.exercise("W1@adam", var), engine.exercise("W1@adam", var)
    np.testing.assert_array_equal(a.truth, b.truth)
    assert a.lr == 0.05


def test_hints():
    var = practice.variant(4)
    for step in ("W1@momentum", "W1@adam", "mean_dW1"):
        ex = engine.exercise(step, var)
        one = engine.hint(step, 1, (0, 1, 2), ex.given, config=var.config, lr=ex.lr)
        assert one.level == 1 and "[0,1,2]" in one.text
        assert all(cells in ([(0, 1, 2)], [()]) for cells in one.feeds.values())
        assert set(one.feeds) == set(ex.given)
        two = engine.hint(step, 2, (0, 1, 2), ex.given, config=var.config, lr=ex.lr)
        assert two.text.startswith(one.text) and two.text.endswith("= ?")
        assert f"{float(ex.truth[0, 1, 2]):.4g}" not in two.text[len(one.text):]
    with pytest.raises(ValueError):
        engine.hint("W1@adam", 3, (0, 0, 0), ex.given)


def test_step_names():
    assert practice.step_names() == practice.STEP_NAMES
    assert practice.step_names(optimizer="sgd") == practice.STEP_NAMES
    names = practice.step_names(engine.SEED, optimizer={"type": "adam"})
    assert names[-4:] == ("W1@adam", "b1@adam", "W2@adam", "b2@adam")
    assert names[:-4] == practice.STEP_NAMES[:-4]
    assert practice.mean_step_names() == ("mean_dW1", "mean_db1", "mean_dW2", "mean_db2")
    assert practice.mean_step_names(OTHER)[-1] == "mean_db3"


@pytest.mark.parametrize("step", ["W1@sgd", "W1@rmsprop", "W9@adam", "mean_dW9", "X@adam"])
def test_unknown_steps_are_refused(step):
    with pytest.raises(ValueError):
        engine.exercise(step, practice.variant(1))


def test_the_seed_library_is_unchanged():
    assert all("@" not in m.step and not m.step.startswith("mean_")
               for m in engine.MISCONCEPTIONS)
    assert [m.id for m in for_step("W1")] == ["W1-update-sign", "W1-update-no-lr"]
