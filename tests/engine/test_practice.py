"""Practice: hand-computable variants, exercises, grading and the misconception library."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import engine
from engine import practice
from engine.misconceptions import BY_ID, MISCONCEPTIONS, Sizes, for_step

SEEDS = st.integers(0, 2**32 - 1)


@st.composite
def configs(draw) -> engine.Config:
    n = draw(st.integers(4, 9))
    k = draw(st.integers(1, min(4, n)))
    m = n - k + 1
    p = draw(st.integers(1, min(3, m)))
    return engine.Config(input_size=n, kernel_size=k, filters=draw(st.integers(1, 3)),
                         pool_size=p)


RUNS = settings(max_examples=40, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


# ---------------------------------------------------------------- independent reference
def reference(v: practice.Variant) -> dict[str, np.ndarray]:
    """Every step's result by plain loops over the variant's own numbers (not the engine)."""
    c, x, y, lr = v.config, v.x, v.y, v.lr
    W1, b1, W2, b2 = (v.params[k] for k in ("W1", "b1", "W2", "b2"))
    K, k, p = c.filters, c.kernel_size, c.pool_size
    m, q = c.input_size - k + 1, (c.input_size - k + 1) // p
    Z1 = np.zeros((K, m, m))
    for f in range(K):
        for i in range(m):
            for j in range(m):
                Z1[f, i, j] = sum(x[i + a, j + b] * W1[f, a, b]
                                  for a in range(k) for b in range(k)) + b1[f]
    A1 = np.where(Z1 > 0, Z1, 0.0)
    P1, win = np.zeros((K, q, q)), {}
    for f in range(K):
        for r in range(q):
            for s in range(q):
                best = None
                for a in range(p):
                    for b in range(p):
                        val = A1[f, r * p + a, s * p + b]
                        if best is None or val > best[0]:
                            best = (val, (f, r * p + a, s * p + b))
                P1[f, r, s], win[f, r, s] = best
    F = np.array([P1[f, r, s] for f in range(K) for r in range(q) for s in range(q)])
    Z2 = sum(F[d] * W2[0, d] for d in range(F.size)) + b2[0]
    A2 = 1 / (1 + math.exp(-Z2))
    L = -y * math.log(A2) - (1 - y) * math.log(1 - A2)
    dA2 = -y / A2 + (1 - y) / (1 - A2)
    dZ2 = dA2 * A2 * (1 - A2)
    dW2 = np.array([[dZ2 * F[d] for d in range(F.size)]])
    dF = np.array([dZ2 * W2[0, d] for d in range(F.size)])
    dP1 = np.zeros((K, q, q))
    for d in range(F.size):
        dP1[d // (q * q), (d % (q * q)) // q, d % q] = dF[d]
    dA1 = np.zeros((K, m, m))
    for (f, r, s), cell in win.items():
        dA1[cell] = dP1[f, r, s]
    dZ1 = np.where(Z1 > 0, dA1, 0.0)
    dW1 = np.zeros((K, k, k))
    for f in range(K):
        for a in range(k):
            for b in range(k):
                dW1[f, a, b] = sum(x[i + a, j + b] * dZ1[f, i, j]
                                   for i in range(m) for j in range(m))
    db1 = dZ1.sum(axis=(1, 2))
    out = {"Z1": Z1, "A1": A1, "P1": P1, "F": F, "Z2": Z2, "A2": A2, "L": L, "dA2": dA2,
           "dZ2": dZ2, "dW2": dW2, "db2": np.array([dZ2]), "dF": dF, "dP1": dP1, "dA1": dA1,
           "dZ1": dZ1, "dW1": dW1, "db1": db1}
    grads = {"W1": dW1, "b1": db1, "W2": dW2, "b2": np.array([dZ2])}
    out.update({name: v.params[name] - lr * grads[name] for name in grads})
    return out


def round_sig(a: np.ndarray, digits: int) -> np.ndarray:
    a = np.asarray(a, dtype=np.float64)
    return np.vectorize(lambda v: float(f"{v:.{digits}g}"))(a) if a.size else a


# ------------------------------------------------------------------------------ variants
@given(seed=SEEDS, config=configs())
@RUNS
def test_variants_have_no_ties_and_no_zero_and_are_deterministic(seed, config):
    v = practice.variant(seed, config)
    Z1 = v.trace["Z1"]
    assert np.all(np.abs(Z1) > 1e-9)
    p = config.pool_size
    for f, r, s in np.ndindex(v.trace["P1"].shape):
        window = np.sort(v.trace["A1"][f, r * p:(r + 1) * p, s * p:(s + 1) * p].ravel())
        if window[-1] > 0 and window.size > 1:
            assert window[-1] - window[-2] > 1e-9
    # decimals: every number of the example is a multiple of 10^-decimals
    scale = 10**v.decimals
    for tensor in (v.x, v.params["W1"]):
        assert np.allclose(tensor * scale, np.round(tensor * scale))
    for name in ("b1", "W2", "b2"):
        assert np.allclose(v.params[name] * 10, np.round(v.params[name] * 10))
    assert np.all(v.params["W2"] != 0)
    again = practice.variant.__wrapped__(seed, config)
    assert np.array_equal(again.x, v.x)
    assert all(np.array_equal(again.params[k], v.params[k]) for k in v.params)


@given(seed=SEEDS)
@settings(max_examples=60, deadline=None)
def test_default_variants_show_a_loser_and_a_blocked_window(seed):
    """On the seed's network every variant has a positive window loser and a window whose
    cells are all <= 0, whose routed gradient the ReLU mask blocks."""
    v = practice.variant(seed)
    t = v.trace
    assert v.decimals == 1 and v.config == engine.Config()
    assert all(practice.features(t).values())
    blocked = (t["dA1"] != 0) & (t["Z1"] <= 0)
    assert blocked.any() and not t["dZ1"][blocked].any()
    losers = (t["A1"] > 0) & (t["dA1"] == 0)
    assert losers.any()


def test_a_cached_variant_cannot_be_changed_by_a_caller():
    v = practice.variant(0)
    ex = practice.exercise("dA1", v)
    with pytest.raises(ValueError, match="read-only"):
        ex.given["A1"][0, 0, 0] = 5.0
    with pytest.raises(ValueError, match="read-only"):
        v.params["W1"][0, 0, 0] = 5.0


def test_variant_refuses_a_bad_seed():
    with pytest.raises(ValueError, match="seed"):
        practice.variant(-1)


def test_big_configs_still_get_a_variant():
    config = engine.Config(input_size=28, kernel_size=3, filters=8, pool_size=2)
    v = practice.variant(3, config)
    assert not practice.ties_or_zeros(v.trace)


# ----------------------------------------------------------------------------- exercises
@given(seed=SEEDS, config=configs())
@RUNS
def test_each_exercise_gives_exactly_what_its_step_reads_and_the_true_result(seed, config):
    v = practice.variant(seed, config)
    ref = reference(v)
    for i, step in enumerate(engine.STEPS):
        ex = practice.exercise(step.writes, v)
        assert tuple(ex.given) == step.reads
        assert ex.lr == (v.lr if step.phase == "update" else None)
        np.testing.assert_allclose(ex.truth, ref[step.writes], rtol=1e-9, atol=1e-12)
        assert ex.shape == np.shape(ref[step.writes])
        assert ex.index == i and ex.latex == step.latex


def test_unknown_step_is_refused():
    with pytest.raises(ValueError, match="step must be one of"):
        practice.exercise("dA3", practice.variant(0))


@pytest.mark.parametrize("seed", range(8))
def test_dA1_prompt_states_the_tie_rule_and_where_it_applies(seed):
    v = practice.variant(seed)
    ex = practice.exercise("dA1", v)
    assert "top-left" in ex.prompt and ex.prompt.endswith("Your answer: a 4×4 grid.")
    # the cell it names is the top-left one of an all-zero window, and gets dP1 there
    named = re.findall(r"A1\[(\d),(\d),(\d)\]", ex.prompt)
    assert named
    for f, r, c in {tuple(map(int, cell)) for cell in named}:
        window = ex.given["A1"][f, r:r + 2, c:c + 2]
        assert r % 2 == 0 and c % 2 == 0 and not window.any()
        assert ex.truth[f, r, c] == ex.given["dP1"][f, r // 2, c // 2] != 0


# ------------------------------------------------------------------------------- grading
@given(seed=SEEDS, config=configs())
@RUNS
def test_the_right_answer_rounded_as_shown_passes(seed, config):
    v = practice.variant(seed, config)
    for step in practice.STEP_NAMES:
        ex = practice.exercise(step, v)
        result = practice.grade(step, round_sig(ex.truth, 3), ex.truth, ex.given, lr=ex.lr)
        assert result.correct and result.score == 1.0 and result.misconception is None
        assert result.cells.shape == ex.shape and result.cells.all()


@given(seed=SEEDS, config=configs(), data=st.data())
@RUNS
def test_a_cell_off_in_its_second_significant_digit_fails(seed, config, data):
    v = practice.variant(seed, config)
    step = data.draw(st.sampled_from(practice.STEP_NAMES))
    ex = practice.exercise(step, v)
    truth = np.asarray(ex.truth, dtype=np.float64)
    largest = np.abs(truth).max()
    candidates = [ix for ix in np.ndindex(truth.shape)
                  if abs(truth[ix]) >= 0.05 * largest and truth[ix] != 0]
    if not candidates:
        return
    cell = data.draw(st.sampled_from(candidates))
    sign = data.draw(st.sampled_from([-1, 1]))
    answer = round_sig(truth, 3)
    unit = 10.0 ** (math.floor(math.log10(abs(truth[cell]))) - 1)
    answer[cell] = truth[cell] + sign * unit
    result = practice.grade(step, answer, truth, ex.given, lr=ex.lr)
    assert not result.correct
    assert not result.cells[cell]
    assert result.cells.sum() == truth.size - 1
    assert result.score == pytest.approx((truth.size - 1) / truth.size)


@given(seed=SEEDS, config=configs())
@RUNS
def test_every_misconception_is_recognised_when_its_tensor_is_submitted(seed, config):
    v = practice.variant(seed, config)
    sizes = Sizes.of(config)
    for m in MISCONCEPTIONS:
        ex = practice.exercise(m.step, v)
        wrong = m.wrong(ex.given, sizes, ex.lr)
        result = practice.grade(m.step, wrong, ex.truth, ex.given, lr=ex.lr)
        if practice.right_cells(wrong, ex.truth).all():
            # coincides with the right answer on this variant: nothing to report
            assert result.correct and result.misconception is None
            continue
        assert not result.correct
        found = result.misconception
        assert found is not None, m.id
        # the one submitted, or another whose tensor is the same here
        same = practice.right_cells(found.wrong(ex.given, sizes, ex.lr), wrong).all()
        assert found.id == m.id or same, (m.id, found.id)


def test_the_pool_and_routing_misconceptions_never_coincide_on_the_default_network():
    for seed in range(40):
        v = practice.variant(seed)
        for mid in ("da1-every-cell", "da1-average", "da1-last-max", "dz1-no-mask",
                    "dz1-inverted-mask", "p1-average"):
            m = BY_ID[mid]
            ex = practice.exercise(m.step, v)
            wrong = m.wrong(ex.given, Sizes.of(v.config), ex.lr)
            assert not practice.right_cells(wrong, ex.truth).all(), (seed, mid)


def test_a_misconception_that_coincides_with_the_truth_is_not_reported():
    # with 1x1 pooling every cell is its own window: routing to every cell is right
    config = engine.Config(input_size=5, kernel_size=2, filters=1, pool_size=1)
    v = practice.variant(4, config)
    ex = practice.exercise("dA1", v)
    assert practice.right_cells(
        BY_ID["da1-every-cell"].wrong(ex.given, Sizes.of(config), None), ex.truth).all()
    answer = np.array(ex.truth)
    answer[0, 0, 0] += 1.0
    result = practice.grade("dA1", answer, ex.truth, ex.given)
    assert result.misconception is None or result.misconception.id != "da1-every-cell"


def test_a_random_wrong_answer_is_explained_by_nothing():
    v = practice.variant(11)
    ex = practice.exercise("dW1", v)
    answer = np.full(ex.shape, 123.0)
    result = practice.grade("dW1", answer, ex.truth, ex.given)
    assert result.score == 0 and result.misconception is None


def test_grade_refuses_a_wrong_shape_and_nan():
    v = practice.variant(0)
    ex = practice.exercise("P1", v)
    with pytest.raises(ValueError, match="shape"):
        practice.grade("P1", [[1.0, 2.0]], ex.truth, ex.given)
    with pytest.raises(ValueError, match="finite"):
        practice.grade("P1", np.full(ex.shape, np.nan), ex.truth, ex.given)


def test_tolerance_is_three_significant_digits_with_a_floor():
    tol = practice.tolerance(np.array([123.0, 0.0456, 0.0]))
    assert tol[0] == pytest.approx(0.6)
    assert tol[1] == pytest.approx(max(0.6e-4, 5e-4 * 123))
    assert tol[2] == pytest.approx(5e-4 * 123)


def test_every_step_has_a_misconception_library_entry_where_the_issue_asks():
    steps = {m.step for m in MISCONCEPTIONS}
    assert {"Z1", "P1", "F", "dZ2", "dW2", "dF", "dP1", "dA1", "dZ1", "dW1", "db1",
            "W1", "b1", "W2", "b2"} <= steps
    assert len({m.id for m in MISCONCEPTIONS}) == len(MISCONCEPTIONS)
    assert for_step("dA1")[0].id == "da1-every-cell"


# --------------------------------------------------------------------------------- hints
@given(seed=SEEDS, config=configs(), data=st.data())
@RUNS
def test_hints_name_cells_that_exist_and_never_print_the_result(seed, config, data):
    v = practice.variant(seed, config)
    step = data.draw(st.sampled_from(practice.STEP_NAMES))
    ex = practice.exercise(step, v)
    cell = data.draw(st.sampled_from(list(np.ndindex(ex.shape)) or [()]))
    first = practice.hint(step, 1, cell, ex.given, config=config, lr=ex.lr)
    second = practice.hint(step, 2, cell, ex.given, config=config, lr=ex.lr)
    assert second.text.startswith(first.text) and second.text.endswith("= ?")
    for name, cells in first.feeds.items():
        assert name in ex.given
        shape = np.shape(ex.given[name])
        for ix in cells:
            assert len(ix) == len(shape) and all(0 <= i < s for i, s in zip(ix, shape))


def test_the_dA1_hint_names_the_window_and_its_first_maximum():
    v = practice.variant(0)
    ex = practice.exercise("dA1", v)
    h = practice.hint("dA1", 2, (0, 0, 0), ex.given, config=v.config)
    assert set(h.feeds) == {"A1", "dP1"} and len(h.feeds["A1"]) == 4
    assert "first maximum" in h.text


def test_the_tolerance_in_words_states_the_constants_the_grader_uses():
    from engine import practice

    text = practice.TOLERANCE_TEXT
    assert f"within {practice.SLACK:g} units of the third significant digit" in text
    assert f"within {practice.FLOOR * 100:g}% of the tensor's largest magnitude" in text
    assert practice.SIGNIFICANT == 3 and "rounded to three significant digits" in text


def test_the_misconceptions_students_were_seen_to_hold_are_named():
    v = practice.variant(3)
    sizes = Sizes.of(v.config)
    for mid, step in (("dw1-transposed", "dW1"), ("z1-transposed-kernel", "Z1"),
                      ("da2-sign", "dA2"), ("db2-sign", "db2"), ("a2-no-sigmoid", "A2"),
                      ("dz2-divided", "dZ2")):
        m = BY_ID[mid]
        assert m.step == step and m.message
        ex = practice.exercise(step, v)
        wrong = m.wrong(ex.given, sizes, ex.lr)
        result = practice.grade(step, wrong, ex.truth, ex.given, lr=ex.lr)
        assert not result.correct and result.misconception is not None, mid
        assert result.misconception.id == mid, (mid, result.misconception.id)


@given(seed=SEEDS, config=configs(), data=st.data())
@RUNS
def test_hints_never_trail_off(seed, config, data):
    v = practice.variant(seed, config)
    step = data.draw(st.sampled_from(practice.STEP_NAMES))
    ex = practice.exercise(step, v)
    cell = tuple(data.draw(st.integers(0, n - 1)) for n in ex.shape)
    for level in (1, 2):
        text = practice.hint(step, level, cell, ex.given, config=config, lr=ex.lr).text
        assert "…" not in text, text
        if "more of its cells" in text:
            shown = re.search(r"(\d+) more of its cells", text)
            assert shown is not None and int(shown[1]) > 0
    assert "…" not in practice.tie_note(np.asarray(ex.given.get("A1", np.zeros((1, 4, 4)))),
                                        config.pool_size, at_most=1)


def test_a_given_example_is_its_own_trace_and_names_its_ties():
    """An example given as it is (the explorer's) is not redrawn: its trace is the model's,
    and a positive tie, which a drawn variant never has, is named in the dA1 prompt with
    the cell the first-maximum rule picks."""
    config = engine.Config()
    x = np.zeros((6, 6))
    x[1:5, 1:5] = 1.0  # a flat square: ties among positive maxima
    params = engine.init_params(config, 2)
    params["W1"] = np.zeros((1, 3, 3))
    params["W1"][0, 1, 1] = 0.1  # Z1 copies the square: every window tied
    params["b1"] = np.array([0.05])
    v = engine.given_variant(x, 1.0, params, 0.2, config)
    assert v.seed is None and v.lr == 0.2
    expected = engine.trace(x, 1.0, params, config)
    assert np.array_equal(v.trace["dZ1"], expected["dZ1"])
    A1 = v.trace["A1"]
    prompt = engine.exercise("dA1", v).prompt
    assert "two or more cells share the maximum" in prompt
    windows = engine.kinds._pool.windows(A1, 2, 2)
    first = windows[0, 0].argmax()
    assert f"A1[0,{first // 2},{first % 2}]" in prompt
    assert engine.practice.tie_note(np.arange(16.0).reshape(1, 4, 4), 2) == ""
