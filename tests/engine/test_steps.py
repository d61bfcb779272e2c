"""The ordered steps and the provenance of each element."""

import re

import numpy as np
import pytest

import engine
from engine import Config

SEQUENCE = ["Z1", "A1", "P1", "F", "Z2", "A2", "L",
            "dA2", "dZ2", "dW2", "db2", "dF", "dP1", "dA1", "dZ1", "dW1", "db1",
            "W1", "b1", "W2", "b2"]


def example(config=Config(), seed=0, y=1):
    rng = np.random.default_rng(seed)
    params = engine.init_params(config, seed)
    X = rng.random((config.input_size, config.input_size))
    return engine.trace(X, y, params, config)


def test_steps_follow_the_seed_order():
    assert [s.writes for s in engine.STEPS] == SEQUENCE
    phases = [s.phase for s in engine.STEPS]
    assert phases == ["forward"] * 7 + ["backward"] * 10 + ["update"] * 4


def test_every_step_reads_only_what_is_known_by_then():
    known = {"X", "Y", "W1", "b1", "W2", "b2"}
    for step in engine.STEPS:
        assert set(step.reads) <= known, step.writes
        if step.phase != "update":
            known.add(step.writes)


@pytest.mark.parametrize("config", [Config(), Config(input_size=10, kernel_size=3,
                                                     filters=3, pool_size=2)], ids=str)
def test_records_carry_live_numbers(config):
    t = example(config)
    records = engine.step_records(t, lr=0.5)
    assert [r["index"] for r in records] == list(range(len(SEQUENCE)))
    by_name = {r["writes"]: r for r in records if r["phase"] != "update"}
    num = engine.steps.num
    assert by_name["dZ2"]["latex_numbers"].endswith("= " + num(t["dZ2"]))
    assert num(t["A2"]) in by_name["dZ2"]["latex_numbers"]
    assert by_name["L"]["latex_numbers"].endswith(num(t["L"]))
    assert by_name["Z1"]["latex_numbers"].endswith(num(t["Z1"][0, 0, 0]))
    assert by_name["db1"]["latex_numbers"].endswith(num(t["db1"][0]))
    assert by_name["dW1"]["latex_numbers"].endswith(num(t["dW1"][0, 0, 0]))
    update_b2 = records[-1]
    assert update_b2["latex_numbers"].endswith(num(t["b2"][0] - 0.5 * t["db2"][0]))
    for r in records:
        assert r["latex"] and r["text"].endswith(".")


def test_update_numbers_need_a_learning_rate():
    records = engine.step_records(example(), lr=None)
    assert all(r["latex_numbers"] is None for r in records if r["phase"] == "update")


def test_vectors_that_do_not_fit_are_not_written_out():
    t = example(Config(input_size=10, kernel_size=3, filters=3, pool_size=2))  # D = 48
    by_name = {r["writes"]: r for r in engine.step_records(t)}
    assert by_name["dW2"]["latex_numbers"] is None
    assert by_name["Z2"]["latex_numbers"].endswith(engine.steps.num(t["Z2"]))


def test_step_value_is_the_tensor_or_the_new_parameter():
    t = example()
    assert engine.step_value(t, 0, 0.1) is t["Z1"]
    new = engine.sgd_step({k: t[k] for k in engine.PARAM_NAMES}, t, 0.1)
    np.testing.assert_array_equal(engine.step_value(t, 17, 0.1), new["W1"])
    np.testing.assert_array_equal(engine.step_value(t, 20, 0.1), new["b2"])


def test_num_formats_for_latex():
    num = engine.steps.num
    assert num(0.731) == "0.731"
    assert num(-0.269, paren=True) == "(-0.269)"
    assert num(1.5e-7) == r"1.5 \times 10^{-7}"
    assert num(0.0) == "0"
    assert num(2.5e-4) == r"2.5 \times 10^{-4}"  # below 0.001: a power of ten, no zeros
    assert num(12345.6) == "12350"
    assert num(0.00099999) == "0.001"  # the rule looks at the rounded value


def test_one_index_notation_the_full_index():
    t = example()
    by_name = {r["writes"]: r for r in engine.step_records(t, 0.1)}
    assert by_name["Z1"]["latex_numbers"].startswith("Z_1[0,0,0]")
    assert "[0,0,0]" in by_name["W1"]["latex_numbers"]  # the update of W1[0,0,0]
    for name in ("dA1", "dZ1", "dW1"):  # every cell named by (filter, row, column)
        found = re.findall(r"\[([\d,]+)\]", by_name[name]["latex_numbers"])
        assert found and all(i.count(",") == 2 for i in found), (name, found)


CONFIGS = [Config(), Config(input_size=9, kernel_size=2, filters=2, pool_size=3),
           Config(input_size=7, kernel_size=3, filters=1, pool_size=1)]


@pytest.mark.parametrize("config", CONFIGS, ids=str)
def test_provenance_sums_reproduce_the_values(config):
    t = example(config, seed=4)
    params = {k: t[k] for k in engine.PARAM_NAMES}
    K, m, q = config.filters, config.conv_size, config.pooled_size
    for f in range(K):
        for i in range(m):
            for j in range(m):
                z = engine.provenance(t, "Z1", (f, i, j))
                assert sum(z["terms"]) + params["b1"][f] == pytest.approx(z["value"], abs=1e-12)
                assert all(t["X"][r, c] is not None for r, c in z["X"])
                a = engine.provenance(t, "dA1", (f, i, j))
                if a["dP1"]:
                    assert t["dP1"][tuple(a["dP1"][0])] == a["value"]
                else:
                    assert a["value"] == 0
        for i in range(q):
            for j in range(q):
                p = engine.provenance(t, "P1", (f, i, j))
                assert t["A1"][tuple(p["A1"][0])] == p["value"]
                assert p["A1"][0] in p["window"]
        for a in range(config.kernel_size):
            for b in range(config.kernel_size):
                d = engine.provenance(t, "dW1", (f, a, b))
                assert sum(d["terms"]) == pytest.approx(d["value"], abs=1e-12)
        d = engine.provenance(t, "db1", (f,))
        assert sum(d["terms"]) == pytest.approx(d["value"], abs=1e-12)
    n = config.input_size
    for r in range(n):
        for c in range(n):
            d = engine.provenance(t, "dX", (r, c))
            assert sum(d["terms"]) == pytest.approx(d["value"], abs=1e-12)


def test_each_window_routes_to_exactly_one_cell():
    t = example(Config(input_size=8, kernel_size=3, filters=2, pool_size=2), seed=2)
    routed = [(f, i, j) for f in range(2) for i in range(6) for j in range(6)
              if engine.provenance(t, "dA1", (f, i, j))["dP1"]]
    assert len(routed) == 2 * 3 * 3


def test_provenance_rejects_bad_requests():
    t = example()
    with pytest.raises(ValueError, match="outside Z1"):
        engine.provenance(t, "Z1", (0, 4, 0))
    with pytest.raises(ValueError, match="no provenance"):
        engine.provenance(t, "L", ())


def test_known_grows_one_step_at_a_time_and_dx_comes_with_dw1():
    assert engine.known(-1) == engine.GIVEN
    seen = list(engine.GIVEN)
    for i, step in enumerate(engine.STEPS):
        now = engine.known(i)
        assert now[:len(seen)] == tuple(seen)
        added = now[len(seen):]
        if step.phase == "update":
            assert added == ()
        else:
            assert added[0] == step.writes
            assert added[1:] == (("dX",) if step.writes == "dW1" else ())
        seen = list(now)
    assert "dX" not in engine.known(engine.STEPS.index(next(
        s for s in engine.STEPS if s.writes == "db2")))
    with pytest.raises(ValueError, match="cursor"):
        engine.known(len(engine.STEPS))


def test_each_backward_step_writes_the_chain_rule_with_both_factors():
    t = example()
    by_name = {r["writes"]: r["latex_numbers"] for r in engine.step_records(t, 0.1)}
    num = engine.steps.num
    dz2 = by_name["dZ2"]
    assert dz2.startswith(r"\frac{\partial L}{\partial Z_2} = \frac{\partial L}{\partial A_2}")
    a, da2 = float(num(t["A2"])), float(num(t["dA2"]))
    assert f"{num(t['dA2'], paren=True)} \\times {num(t['A2'])}\\,(1 - {num(t['A2'])})" in dz2
    assert da2 * a * (1 - a) == pytest.approx(float(t["dZ2"]), rel=2e-3)  # the factors multiply out
    assert f"{num(t['dZ2'], paren=True)} \\times 1 = " in by_name["db2"]
    assert r"\frac{\partial P_1}{\partial A_1}" in by_name["dA1"]
    assert r"\frac{\partial A_1}{\partial Z_1}" in by_name["dZ1"]
    assert r"\frac{\partial L}{\partial Z_2}\,F^T" in by_name["dW2"]
    assert r"\frac{\partial L}{\partial Z_2}\,W_2" in by_name["dF"]


def test_a_saturated_a2_does_not_write_infinity_times_zero():
    config = Config()
    x, _ = engine.preset("vertical_stroke", 6)
    params = {k: np.asarray(v) for k, v in engine.init_params(config, 0).items()}
    params["b2"] = np.array([-800.0])
    t = engine.trace(x, 1, params, config)
    dz2 = {r["writes"]: r["latex_numbers"] for r in engine.step_records(t)}["dZ2"]
    assert "infty" not in dz2 and dz2.endswith(engine.steps.num(t["dZ2"]))


@pytest.mark.parametrize("config", [Config(), Config(input_size=7, kernel_size=3,
                                                     filters=2, pool_size=2)], ids=str)
def test_dx_has_its_own_formula_at_the_dw1_step(config):
    """dX, revealed beside dW1, comes with its own formula (the full convolution of dZ1 with
    the flipped W1) and the same with one cell's live numbers, which add up to that cell."""
    t = example(config, seed=3)
    records = engine.step_records(t, lr=0.5)
    assert [r["writes"] for r in records] == SEQUENCE  # the walk itself is unchanged
    dw1 = next(r for r in records if r["writes"] == "dW1")
    assert dw1["reveals"] == ["dW1", "dX"]
    (dx,) = dw1["also"]
    assert dx["writes"] == "dX"
    assert r"\mathrm{FullConv}" in dx["latex"] and r"\mathrm{flip}(W_1)" in dx["latex"]
    assert r"[f,i-a,j-b]\,W_1[f,a,b]" in dx["latex"]
    numbers = dx["latex_numbers"]
    i, j = np.unravel_index(np.argmax(np.abs(t["dX"])), t["dX"].shape)
    assert numbers.startswith(r"\frac{\partial L}{\partial X}" + f"[{i},{j}] = ")
    assert numbers.endswith("= " + engine.steps.num(t["dX"][i, j]))
    # the written-out terms are dZ1 x W1 products that sum to the cell (to the rounding)
    middle = numbers.split(" = ")[1]
    if r"\sum" not in middle:
        products = [re.findall(r"-?[\d.]+(?: \\times 10\^\{-?\d+\})?", term)
                    for term in middle.split(" + ")]
        total = sum(float(a) * float(b) for a, b in (p[:2] for p in products))
        assert total == pytest.approx(t["dX"][i, j], rel=2e-3, abs=1e-6)
    others = [r for r in records if r["writes"] != "dW1"]
    assert all(r["also"] == [] for r in others)
