"""Each layer kind on its own: its batched backward against central differences of its
batched forward (random shapes, strides, padding), and worked examples by hand."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from engine.kinds import KINDS, LAYER_KINDS, OUTPUT_KINDS
from engine.network import Layer

H = 1e-6
RUNS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def layer(kind: str, **options) -> Layer:
    """A Layer with the kind's defaults filled, as engine.network builds it."""
    filled = {}
    for key, (default, *_) in KINDS[kind].OPTIONS.items():
        value = options.get(key, default)
        filled[key] = value(options) if callable(value) else value
    return Layer(kind, tuple(filled.items()))


# ----------------------------------------------------------- drawn cases, one per kind
@st.composite
def conv_case(draw):
    first = draw(st.booleans())
    N, K, C = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 3))
    side = draw(st.integers(1, 7))
    pad = draw(st.integers(0, 3))
    k = draw(st.integers(pad + 1, max(pad + 1, min(7, side + 2 * pad))))
    assume(k <= side + 2 * pad)
    s = draw(st.integers(1, 3))
    x_shape = (N, side, side) if first else (N, C, side, side)
    W_shape = (K, k, k) if first else (K, C, k, k)
    return layer("conv", filters=K, kernel=k, stride=s, padding=pad), x_shape, {
        "W": W_shape, "b": (K,)}


@st.composite
def pool_case(draw, kind):
    N, C, side = draw(st.integers(1, 2)), draw(st.integers(1, 3)), draw(st.integers(1, 8))
    p = draw(st.integers(1, min(4, side)))
    s = draw(st.integers(1, 4))
    return layer(kind, size=p, stride=s), (N, C, side, side), {}


@st.composite
def elementwise_case(draw, kind):
    shape = draw(st.sampled_from([(1, 5), (2, 3), (2, 2, 3, 3), (1, 1, 4, 4)]))
    options = {"slope": draw(st.sampled_from([0.01, 0.2, 0.5]))} if kind == "leaky_relu" else {}
    return layer(kind, **options), shape, {}


@st.composite
def dense_case(draw):
    N, D, U = draw(st.integers(1, 3)), draw(st.integers(1, 6)), draw(st.integers(1, 4))
    return layer("dense", units=U), (N, D), {"W": (U, D), "b": (U,)}


@st.composite
def flatten_case(draw):
    shape = draw(st.sampled_from([(1, 1, 2, 2), (2, 3, 2, 2), (2, 4, 4), (3, 2, 1, 5)]))
    return layer("flatten"), shape, {}


CASES = {
    "conv": conv_case(), "dense": dense_case(), "flatten": flatten_case(),
    "maxpool": pool_case("maxpool"), "avgpool": pool_case("avgpool"),
    **{kind: elementwise_case(kind) for kind in ("relu", "leaky_relu", "tanh", "sigmoid")},
}


def test_every_layer_kind_has_a_drawn_case():
    assert set(CASES) == set(LAYER_KINDS)
    assert set(LAYER_KINDS) | set(OUTPUT_KINDS) == set(KINDS)


def _away_from_kinks(kind: str, x: np.ndarray, lay: Layer) -> None:
    """Skip a draw whose input sits within a few h of a kink (ReLU's 0, a max-pool tie):
    there a central difference is not the derivative."""
    if kind in ("relu", "leaky_relu"):
        assume(np.min(np.abs(x)) > 1e-4)
    if kind == "maxpool":
        from engine.kinds import _pool

        win = np.sort(_pool.windows(x, lay["size"], lay["stride"]), axis=-1)
        if win.shape[-1] > 1:
            assume(np.min(win[..., -1] - win[..., -2]) > 1e-4)


def numeric(f, at: np.ndarray, *, relative: bool = False) -> np.ndarray:
    """Central differences of f at every element; with ``relative`` (for a in (0, 1)) the
    step is H times its distance from 0 or 1, at least 0.01 (for -log a, -log(1 - a))."""
    g = np.zeros_like(at)
    for i in np.ndindex(at.shape):
        h = H * max(min(at[i], 1 - at[i]), 1e-2) if relative else H
        plus, minus = at.copy(), at.copy()
        plus[i] += h
        minus[i] -= h
        g[i] = (f(plus) - f(minus)) / (2 * h)
    return g


@pytest.mark.parametrize("kind", sorted(CASES))
def test_batched_backward_matches_central_differences(kind):
    module = KINDS[kind]

    @RUNS
    @given(case=CASES[kind], seed=st.integers(0, 2**31))
    def check(case, seed):
        lay, x_shape, p_shapes = case
        rng = np.random.default_rng(seed)
        x = rng.normal(size=x_shape)
        params = {role: rng.normal(size=shape) for role, shape in p_shapes.items()}
        _away_from_kinks(kind, x, lay)
        out, cache = module.forward(x, params, lay)
        # the forward's shape is the one shapes() promises for one example
        one = x_shape[1:]
        want, want_params = module.shapes(lay, one, first=len(one) == 2, scalar=False)
        assert out.shape == (x_shape[0], *want)
        assert {r: tuple(s) for r, s in want_params.items()} == p_shapes
        R = rng.normal(size=out.shape)  # f = sum(out * R): d f / d out = R
        dx, dparams = module.backward(R, cache)
        # f's rounding, ~eps sum |out R|, over the step 2h: the central differences' floor
        atol = 1e-9 * (1.0 + float(np.abs(out * R).sum()))
        assert dx.shape == x.shape and set(dparams) == set(params)

        def f_x(v):
            return float(np.sum(module.forward(v, params, lay)[0] * R))

        np.testing.assert_allclose(dx, numeric(f_x, x), rtol=1e-6, atol=atol, err_msg="dx")
        for role in params:
            def f_p(v, role=role):
                return float(np.sum(module.forward(x, {**params, role: v}, lay)[0] * R))

            np.testing.assert_allclose(dparams[role], numeric(f_p, params[role]), rtol=1e-6,
                                       atol=atol, err_msg=role)

    check()


@pytest.mark.parametrize("kind", OUTPUT_KINDS)
@RUNS
@given(N=st.integers(1, 4), C=st.integers(2, 6), seed=st.integers(0, 2**31))
def test_outputs_backward_matches_central_differences(kind, N, C, seed):
    """dZ and dA are those of the batch's mean loss."""
    module = KINDS[kind]
    rng = np.random.default_rng(seed)
    C = 1 if kind == "sigmoid_bce" else C
    z = rng.normal(scale=2.0, size=(N, C))
    y = rng.integers(0, 2 if kind == "sigmoid_bce" else C, size=N).astype(np.float64)
    (A, L), cache = module.forward(z, y)
    dA, dZ = module.backward(cache)
    assert A.shape == z.shape == dA.shape == dZ.shape and L.shape == (N,)
    np.testing.assert_allclose(dZ, numeric(lambda v: float(module.forward(v, y)[0][1].mean()),
                                           z), rtol=1e-6, atol=1e-9)

    def loss_in_a(a):  # the loss written in A: BCE of the probability, or -log A[Y]
        if kind == "sigmoid_bce":
            return float(np.mean(-y * np.log(a[:, 0]) - (1 - y) * np.log(1 - a[:, 0])))
        return float(np.mean(-np.log(a[np.arange(N), y.astype(int)])))

    np.testing.assert_allclose(dA, numeric(loss_in_a, A, relative=True), rtol=1e-5, atol=1e-9)


# --------------------------------------------------------------------- by hand
def test_avgpool_sends_a_quarter_to_each_cell_of_a_window():
    x = np.arange(16.0).reshape(1, 1, 4, 4)
    P, cache = KINDS["avgpool"].forward(x, {}, layer("avgpool", size=2))
    np.testing.assert_array_equal(P[0, 0], [[2.5, 4.5], [10.5, 12.5]])
    dP = np.array([[[[4.0, 8.0], [-4.0, 0.0]]]])
    dx, grads = KINDS["avgpool"].backward(dP, cache)
    assert grads == {}
    np.testing.assert_array_equal(dx[0, 0], [[1, 1, 2, 2], [1, 1, 2, 2],
                                             [-1, -1, 0, 0], [-1, -1, 0, 0]])


def test_overlapping_avgpool_windows_add():
    _, cache = KINDS["avgpool"].forward(np.zeros((1, 1, 3, 3)), {},
                                        layer("avgpool", size=2, stride=1))
    dx, _ = KINDS["avgpool"].backward(np.ones((1, 1, 2, 2)), cache)
    np.testing.assert_array_equal(dx[0, 0] * 4, [[1, 2, 1], [2, 4, 2], [1, 2, 1]])


def test_overlapping_maxpool_windows_add_at_a_shared_winner():
    x = np.array([[1.0, 2.0, 0.0], [3.0, 9.0, 4.0], [0.0, 5.0, 1.0]])[None, None]
    P, cache = KINDS["maxpool"].forward(x, {}, layer("maxpool", size=2, stride=1))
    np.testing.assert_array_equal(P[0, 0], [[9, 9], [9, 9]])
    dx, _ = KINDS["maxpool"].backward(np.array([[[[1.0, 2.0], [3.0, 4.0]]]]), cache)
    np.testing.assert_array_equal(dx[0, 0], [[0, 0, 0], [0, 10, 0], [0, 0, 0]])


def test_maxpool_gaps_ties_and_a_dropped_remainder():
    # stride 3 > size 2 on 5x5: rows/columns 2 fall in no window and get 0
    x = np.random.default_rng(0).random((1, 1, 5, 5))
    P, cache = KINDS["maxpool"].forward(x, {}, layer("maxpool", size=2, stride=3))
    assert P.shape == (1, 1, 2, 2)
    dx, _ = KINDS["maxpool"].backward(np.ones((1, 1, 2, 2)), cache)
    assert np.all(dx[0, 0, 2, :] == 0) and np.all(dx[0, 0, :, 2] == 0)
    assert dx.sum() == 4 and np.count_nonzero(dx) == 4
    # a tie goes to the first maximum in row-major order, and only to it
    tie = np.array([[5.0, 5.0], [5.0, 1.0]])[None, None]
    _, cache = KINDS["maxpool"].forward(tie, {}, layer("maxpool", size=2))
    dx, _ = KINDS["maxpool"].backward(np.full((1, 1, 1, 1), 7.0), cache)
    np.testing.assert_array_equal(dx[0, 0], [[7, 0], [0, 0]])
    # 3x3 input, 2x2 windows at stride 2: the last row and column are a remainder
    _, cache = KINDS["maxpool"].forward(np.arange(9.0).reshape(1, 1, 3, 3), {},
                                        layer("maxpool", size=2))
    dx, _ = KINDS["maxpool"].backward(np.ones((1, 1, 1, 1)), cache)
    np.testing.assert_array_equal(dx[0, 0], [[0, 0, 0], [0, 1, 0], [0, 0, 0]])


def test_conv_padding_border_gradient_is_dropped():
    """A 3x3 filter W = 0..8 on a 2x2 input of ones with padding 1: every window holds all
    four input cells; the gradient meant for the zero border is dropped."""
    W = np.arange(9.0).reshape(1, 3, 3)
    x = np.ones((1, 2, 2))
    Z, cache = KINDS["conv"].forward(x, {"W": W, "b": np.array([0.5])},
                                     layer("conv", kernel=3, padding=1))
    np.testing.assert_array_equal(Z[0, 0], [[24.5, 20.5], [12.5, 8.5]])
    dx, grads = KINDS["conv"].backward(np.ones((1, 1, 2, 2)), cache)
    np.testing.assert_array_equal(dx[0], [[8, 12], [20, 24]])
    # the padded input's gradient would sum to 4 positions x sum(W) = 144; 64 is kept
    assert dx.sum() == 64 and 4 * W.sum() == 144
    np.testing.assert_array_equal(grads["W"][0], [[1, 2, 1], [2, 4, 2], [1, 2, 1]])
    np.testing.assert_array_equal(grads["b"], [4.0])


def test_conv_stride_leaves_unvisited_cells_without_gradient():
    x = np.random.default_rng(1).random((1, 1, 5, 5))
    W = np.ones((2, 1, 1, 1))
    Z, cache = KINDS["conv"].forward(x, {"W": W, "b": np.zeros(2)},
                                     layer("conv", filters=2, kernel=1, stride=2))
    np.testing.assert_array_equal(Z[0, 0], x[0, 0, ::2, ::2])
    dx, grads = KINDS["conv"].backward(np.ones((1, 2, 3, 3)), cache)
    want = np.zeros((5, 5))
    want[::2, ::2] = 2.0  # two filters of weight 1
    np.testing.assert_array_equal(dx[0, 0], want)
    np.testing.assert_allclose(grads["W"][:, 0, 0, 0], [x[0, 0, ::2, ::2].sum()] * 2)


def test_conv_on_channels_sums_over_them():
    x = np.stack([np.ones((3, 3)), 2 * np.ones((3, 3))])[None]  # (1, 2, 3, 3)
    W = np.stack([np.ones((2, 2)), -np.ones((2, 2))])[None]  # (1, 2, 2, 2)
    Z, _ = KINDS["conv"].forward(x, {"W": W, "b": np.array([1.0])}, layer("conv", kernel=2))
    np.testing.assert_array_equal(Z, np.full((1, 1, 2, 2), 4 * 1 - 4 * 2 + 1.0))


def test_leaky_relu_uses_its_slope_for_negative_z():
    z = np.array([[-2.0, 3.0, -0.5]])
    lay = layer("leaky_relu", slope=0.1)
    A, cache = KINDS["leaky_relu"].forward(z, {}, lay)
    np.testing.assert_allclose(A, [[-0.2, 3.0, -0.05]])
    dz, _ = KINDS["leaky_relu"].backward(np.array([[1.0, 1.0, 4.0]]), cache)
    np.testing.assert_allclose(dz, [[0.1, 1.0, 0.4]])
    # ReLU blocks the same cells entirely
    _, cache = KINDS["relu"].forward(z, {}, layer("relu"))
    np.testing.assert_array_equal(KINDS["relu"].backward(np.ones((1, 3)), cache)[0],
                                  [[0, 1, 0]])


def test_tanh_and_sigmoid_derivatives():
    z = np.array([[0.0, math.log(3.0)]])
    A, cache = KINDS["sigmoid"].forward(z, {}, layer("sigmoid"))
    np.testing.assert_allclose(A, [[0.5, 0.75]])
    np.testing.assert_allclose(KINDS["sigmoid"].backward(np.ones((1, 2)), cache)[0],
                               [[0.25, 0.1875]])  # A (1 - A)
    A, cache = KINDS["tanh"].forward(z, {}, layer("tanh"))
    np.testing.assert_allclose(A, [[0.0, 0.8]])
    np.testing.assert_allclose(KINDS["tanh"].backward(np.ones((1, 2)), cache)[0],
                               [[1.0, 0.36]])  # 1 - A²


def test_dense_by_hand():
    x = np.array([[1.0, 2.0], [3.0, -1.0]])
    W = np.array([[1.0, 0.0], [2.0, 1.0], [0.0, -1.0]])
    Z, cache = KINDS["dense"].forward(x, {"W": W, "b": np.array([0.0, 1.0, 2.0])},
                                      layer("dense", units=3))
    np.testing.assert_array_equal(Z, [[1, 5, 0], [3, 6, 3]])
    dZ = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 2.0]])
    dx, grads = KINDS["dense"].backward(dZ, cache)
    np.testing.assert_array_equal(dx, [[1, 0], [0, -2]])
    np.testing.assert_array_equal(grads["W"], [[1, 2], [0, 0], [6, -2]])  # dZ^T x
    np.testing.assert_array_equal(grads["b"], [1, 0, 2])


def test_flatten_order_and_its_inverse():
    x = np.arange(24.0).reshape(2, 3, 2, 2)
    Fx, cache = KINDS["flatten"].forward(x, {}, layer("flatten"))
    np.testing.assert_array_equal(Fx[1], np.arange(12.0, 24.0))  # filter, row, column
    dx, _ = KINDS["flatten"].backward(Fx, cache)
    np.testing.assert_array_equal(dx, x)


def test_outputs_by_hand():
    (A, L), cache = KINDS["sigmoid_bce"].forward(np.array([[0.0], [0.0]]), np.array([1.0, 0.0]))
    np.testing.assert_allclose(A[:, 0], [0.5, 0.5])
    np.testing.assert_allclose(L, [math.log(2)] * 2)
    dA, dZ = KINDS["sigmoid_bce"].backward(cache)
    np.testing.assert_allclose(dZ[:, 0], [-0.25, 0.25])  # (A - Y) / N
    np.testing.assert_allclose(dA[:, 0], [-1.0, 1.0])  # (-1/A, 1/(1-A)) / N
    (A, L), cache = KINDS["softmax_ce"].forward(np.array([[0.0, 0.0, math.log(2.0)]]),
                                                np.array([2.0]))
    np.testing.assert_allclose(A, [[0.25, 0.25, 0.5]])
    np.testing.assert_allclose(L, [math.log(2)])
    dA, dZ = KINDS["softmax_ce"].backward(cache)
    np.testing.assert_allclose(dZ, [[0.25, 0.25, -0.5]])
    np.testing.assert_allclose(dA, [[0.0, 0.0, -2.0]])
    # a saturated logit keeps a finite loss and the exact dA
    (A, L), cache = KINDS["sigmoid_bce"].forward(np.array([[40.0]]), np.array([0.0]))
    dA, dZ = KINDS["sigmoid_bce"].backward(cache)
    assert A[0, 0] == 1.0 and L[0] == pytest.approx(40.0)
    assert dA[0, 0] == pytest.approx(1 + math.exp(40.0), rel=1e-15) and dZ[0, 0] == 1.0
