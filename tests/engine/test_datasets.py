"""Tests for engine.datasets: shapes, determinism, resampling, digits data, learnability."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from engine import datasets
from engine.datasets import DATASETS, DatasetInfo, dataset_info, load_dataset, sample_images

GENERATED = ("strokes", "x_vs_o", "plus_vs_cross")
SIZES = (4, 6, 8, 13, 28)
# Class counts of the UCI optdigits test set (optdigits.tes), digits 0..9.
UCI_TEST_COUNTS = (178, 182, 177, 183, 181, 182, 181, 179, 174, 180)


# ---------------------------------------------------------------------------
# Helpers


def _logistic_regression(xs: np.ndarray, ys: np.ndarray, steps: int = 300) -> np.ndarray:
    """Full-batch gradient descent on the mean log loss; returns weights (features + 1,)."""
    x = np.hstack([xs.reshape(len(xs), -1), np.ones((len(xs), 1))])
    w = np.zeros(x.shape[1])
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(x @ w)))
        w -= 1.0 * x.T @ (p - ys) / len(x)
    return w


def _accuracy(w: np.ndarray, xs: np.ndarray, ys: np.ndarray) -> float:
    x = np.hstack([xs.reshape(len(xs), -1), np.ones((len(xs), 1))])
    return float(np.mean((x @ w > 0) == (ys == 1.0)))


def _conv_relu_pool(xs: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """3x3 valid convolution, ReLU and 2x2 max-pool: the teaching model's feature path."""
    n, s, _ = xs.shape
    o = s - 2
    z = sum(kernel[i, j] * xs[:, i : i + o, j : j + o] for i in range(3) for j in range(3))
    a = np.maximum(z, 0.0)
    p = o // 2
    return a[:, : 2 * p, : 2 * p].reshape(n, p, 2, p, 2).max(axis=(2, 4)).reshape(n, -1)


def _best_single_pixel_accuracy(xs: np.ndarray, ys: np.ndarray) -> float:
    """Best accuracy of any rule 'pixel (i, j) above / below some threshold'."""
    x = xs.reshape(len(xs), -1)
    best = 0.0
    for column in x.T:
        order = np.argsort(column, kind="stable")
        ones_below = np.concatenate([[0.0], np.cumsum(ys[order])])
        k = np.arange(len(column) + 1)
        # predict 1 above the cut: correct = zeros below + ones above
        acc_up = ((k - ones_below) + (ys.sum() - ones_below)) / len(column)
        best = max(best, acc_up.max(), (1.0 - acc_up).max())
    return best


VERTICAL_LINE = np.array([[-1.0, 2.0, -1.0]] * 3)
DIAGONAL_CROSS = np.array([[1.0, -1.0, 1.0], [-1.0, 0.0, -1.0], [1.0, -1.0, 1.0]])
HAND_FILTERS = {"strokes": VERTICAL_LINE, "x_vs_o": DIAGONAL_CROSS, "plus_vs_cross": DIAGONAL_CROSS}


def _check_arrays(xs: np.ndarray, ys: np.ndarray, size: int) -> None:
    assert xs.dtype == np.float64 and ys.dtype == np.float64
    assert xs.ndim == 3 and xs.shape[1:] == (size, size)
    assert ys.shape == (xs.shape[0],)
    assert np.all(np.isfinite(xs))
    assert xs.min() >= 0.0 and xs.max() <= 1.0
    assert set(np.unique(ys).tolist()) == {0.0, 1.0}


# ---------------------------------------------------------------------------
# Metadata


def test_datasets_registry() -> None:
    assert list(DATASETS) == ["strokes", "x_vs_o", "plus_vs_cross", "digits_0_1", "digits_3_8"]
    for key, info in DATASETS.items():
        assert isinstance(info, DatasetInfo)
        assert info.name == key
        assert info.title and info.description
        assert isinstance(info.classes, tuple) and len(info.classes) == 2
        assert all(isinstance(c, str) and c for c in info.classes)
    assert DATASETS["digits_3_8"].classes == ("3", "8")
    with pytest.raises(dataclasses.FrozenInstanceError):
        DATASETS["strokes"].title = "changed"  # type: ignore[misc]
    with pytest.raises(TypeError):
        DATASETS["new"] = DATASETS["strokes"]  # type: ignore[index]


def test_dataset_info_for_any_digit_pair() -> None:
    info = dataset_info("digits_7_2")
    assert info.name == "digits_7_2" and info.classes == ("7", "2")
    assert dataset_info("x_vs_o") is DATASETS["x_vs_o"]


# ---------------------------------------------------------------------------
# Shapes, dtypes, ranges


@pytest.mark.parametrize("size", SIZES)
@pytest.mark.parametrize("name", [*GENERATED, "digits_3_8"])
def test_shapes_dtypes_ranges(name: str, size: int) -> None:
    xs, ys = load_dataset(name, input_size=size, n=40, seed=1)
    _check_arrays(xs, ys, size)
    assert xs.shape[0] == 40


def test_generated_default_size_and_n() -> None:
    xs, ys = load_dataset("x_vs_o")
    _check_arrays(xs, ys, 6)
    assert xs.shape == (400, 6, 6)


@pytest.mark.parametrize("name", GENERATED)
def test_every_size_draws_a_visible_shape(name: str) -> None:
    for size in range(4, 29):
        xs, ys = load_dataset(name, input_size=size, n=6, seed=size)
        _check_arrays(xs, ys, size)
        # every image holds a shape (brightness >= 0.6, noise std 0.1) that does not fill it
        lit = (xs > 0.5).reshape(6, -1).sum(axis=1)
        assert np.all(lit >= 1) and np.all(lit <= 0.75 * size * size)


def test_digits_full_pair_at_size_8_is_source_over_16() -> None:
    images, labels = datasets._digits_raw()
    xs, ys = load_dataset("digits_0_1", input_size=8)
    assert xs.shape == (178 + 182, 8, 8)
    # same images as the source (order is shuffled): compare sorted flattened rows
    expected = images[(labels == 0) | (labels == 1)].reshape(-1, 64) / 16.0
    got = xs.reshape(-1, 64)
    assert np.array_equal(np.unique(got, axis=0), np.unique(expected, axis=0))
    for x, y in zip(xs[:20], ys[:20]):
        matches = np.flatnonzero(np.all(images.reshape(-1, 64) / 16.0 == x.reshape(64), axis=1))
        assert matches.size >= 1 and labels[matches[0]] == int(y)  # y 0.0 <-> digit 0


# ---------------------------------------------------------------------------
# Determinism and balance


@pytest.mark.parametrize("name", [*GENERATED, "digits_3_8"])
def test_deterministic_per_seed(name: str) -> None:
    a = load_dataset(name, input_size=7, n=60, seed=5)
    b = load_dataset(name, input_size=7, n=60, seed=5)
    c = load_dataset(name, input_size=7, n=60, seed=6)
    assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
    assert not np.array_equal(a[0], c[0])


@pytest.mark.parametrize("name", GENERATED)
def test_generated_balanced_and_shuffled(name: str) -> None:
    _, ys = load_dataset(name, input_size=6, seed=2)
    assert ys.sum() == 200 and ys.size == 400
    assert 0.0 < ys[:100].mean() < 1.0 and np.any(np.diff(ys) != 0)
    _, ys_odd = load_dataset(name, input_size=6, n=41, seed=2)
    assert sorted(np.bincount(ys_odd.astype(int)).tolist()) == [20, 21]


def test_digits_subset_is_balanced_and_capped() -> None:
    xs, ys = load_dataset("digits_3_8", input_size=6, n=50, seed=3)
    assert xs.shape == (50, 6, 6) and ys.sum() == 25
    xs_all, ys_all = load_dataset("digits_3_8", input_size=6, n=10_000)
    assert xs_all.shape[0] == 183 + 174 and ys_all.sum() == 174
    # without n every image is used, whatever the seed; the seed only changes the order
    a, _ = load_dataset("digits_3_8", input_size=6, seed=0)
    b, _ = load_dataset("digits_3_8", input_size=6, seed=1)
    assert not np.array_equal(a, b)
    assert np.allclose(np.sort(a.sum(axis=(1, 2))), np.sort(b.sum(axis=(1, 2))))


# ---------------------------------------------------------------------------
# Area-averaging resample


def test_resample_identity_at_8() -> None:
    assert np.array_equal(datasets._area_matrix(8), np.eye(8))
    rng = np.random.default_rng(0)
    img = rng.integers(0, 17, size=(3, 8, 8)) / 16.0
    assert np.array_equal(datasets._resize(img, 8), img)


def test_resample_matrix_rows_and_columns() -> None:
    for size in range(4, 29):
        r = datasets._area_matrix(size)
        assert r.shape == (size, 8) and r.min() >= 0.0
        assert np.allclose(r.sum(axis=1), 1.0)  # each output pixel is a weighted mean
        assert np.allclose(r.sum(axis=0), size / 8)  # each source pixel is spread fully


def test_resample_preserves_mean_at_every_size() -> None:
    # Column sums of R are all s / 8, so mean(R @ X @ R.T) == mean(X) for any s,
    # not only for whole-number ratios.
    rng = np.random.default_rng(1)
    img = rng.random((5, 8, 8))
    for size in range(4, 29):
        out = datasets._resize(img, size)
        assert out.shape == (5, size, size)
        assert np.allclose(out.mean(axis=(1, 2)), img.mean(axis=(1, 2)), atol=1e-12)


def test_resample_blocks_for_whole_ratios() -> None:
    rng = np.random.default_rng(2)
    img = rng.random((8, 8))
    assert np.allclose(datasets._resize(img[None], 16)[0], np.kron(img, np.ones((2, 2))))
    assert np.allclose(datasets._resize(img[None], 24)[0], np.kron(img, np.ones((3, 3))))
    assert np.allclose(datasets._resize(img[None], 4)[0], img.reshape(4, 2, 4, 2).mean(axis=(1, 3)))


def test_resample_partial_overlap_weights() -> None:
    # s = 6: output pixel 0 covers [0, 4/3): all of source pixel 0 and a third of pixel 1
    r = datasets._area_matrix(6)
    assert np.allclose(r[0, :2], [0.75, 0.25]) and np.allclose(r[0, 2:], 0.0)


# ---------------------------------------------------------------------------
# Digits data


def test_digits_file_contents() -> None:
    images, labels = datasets._digits_raw()
    assert images.dtype == np.uint8 and images.shape == (1797, 8, 8)
    assert labels.dtype == np.uint8 and labels.shape == (1797,)
    assert images.max() == 16 and images.min() == 0
    counts = np.bincount(labels, minlength=10)
    assert counts.size == 10 and counts.sum() == 1797
    assert np.all((counts >= 170) & (counts <= 190))
    assert tuple(counts.tolist()) == UCI_TEST_COUNTS
    assert not images.flags.writeable and not labels.flags.writeable


def test_digits_loaded_relative_to_module_not_cwd(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    datasets._digits_raw.cache_clear()
    xs, _ = load_dataset("digits_0_1", input_size=5)
    assert xs.shape == (360, 5, 5)


def test_any_digit_pair() -> None:
    counts = UCI_TEST_COUNTS
    for a in range(10):
        for b in range(10):
            if a == b:
                continue
            xs, ys = load_dataset(f"digits_{a}_{b}", input_size=4)
            assert xs.shape == (counts[a] + counts[b], 4, 4)
            assert int((ys == 0).sum()) == counts[a] and int((ys == 1).sum()) == counts[b]
    # swapping the digits swaps the labels
    xs_ab, ys_ab = load_dataset("digits_3_8", input_size=6)
    xs_ba, ys_ba = load_dataset("digits_8_3", input_size=6)
    sums_ab = np.sort(xs_ab[ys_ab == 1].sum(axis=(1, 2)))
    sums_ba = np.sort(xs_ba[ys_ba == 0].sum(axis=(1, 2)))
    assert np.allclose(sums_ab, sums_ba)


# ---------------------------------------------------------------------------
# Errors


@pytest.mark.parametrize("name", ["nope", "", "digits_1_10", "digits_a_b", "digits_12", "STROKES"])
def test_unknown_name(name: str) -> None:
    with pytest.raises(ValueError) as err:
        load_dataset(name)
    message = str(err.value)
    assert repr(name) in message
    assert all(key in message for key in DATASETS)
    assert "digits_A_B" in message


def test_same_digit_twice() -> None:
    with pytest.raises(ValueError, match="two different digits"):
        load_dataset("digits_3_3")


@pytest.mark.parametrize("size", [3, 29, 0, -6, 6.5, "6", True, None])
def test_bad_input_size(size: object) -> None:
    with pytest.raises(ValueError) as err:
        load_dataset("strokes", input_size=size)  # type: ignore[arg-type]
    message = str(err.value)
    assert "input_size" in message and "4" in message and "28" in message
    assert repr(size) in message


def test_good_input_size_integer_types() -> None:
    xs, _ = load_dataset("strokes", input_size=np.int64(5), n=4)
    assert xs.shape == (4, 5, 5)


@pytest.mark.parametrize("n", [0, 1, -3, 2.5])
def test_bad_n(n: object) -> None:
    with pytest.raises(ValueError, match="n must be"):
        load_dataset("x_vs_o", n=n)  # type: ignore[arg-type]


# ---------------------------------------------------------------------------
# sample_images


@pytest.mark.parametrize("name", [*GENERATED, "digits_0_1"])
def test_sample_images(name: str) -> None:
    samples = sample_images(name, input_size=7, count=5, seed=4)
    assert len(samples) == 5
    assert [label for _, label in samples] == [0.0, 1.0, 0.0, 1.0, 0.0]
    xs, ys = load_dataset(name, input_size=7, seed=4)
    for image, label in samples:
        assert isinstance(label, float)
        assert image.shape == (7, 7) and image.dtype == np.float64
        hits = np.flatnonzero(np.all(xs == image, axis=(1, 2)))
        assert hits.size >= 1 and ys[hits[0]] == label  # drawn from the data set itself
    samples[0][0][:] = 99.0  # returned images are copies
    assert sample_images(name, input_size=7, count=5, seed=4)[0][0].max() <= 1.0


def test_sample_images_bad_count() -> None:
    with pytest.raises(ValueError, match="count"):
        sample_images("strokes", count=1)
    with pytest.raises(ValueError, match="count"):
        sample_images("digits_0_1", count=1000)


# ---------------------------------------------------------------------------
# Learnability: the tasks carry signal but are not trivial


@pytest.mark.parametrize("name", ["x_vs_o", "plus_vs_cross", "digits_0_1", "digits_3_8"])
def test_linear_model_on_pixels_learns(name: str) -> None:
    xs, ys = load_dataset(name, input_size=6)
    w = _logistic_regression(xs, ys)
    assert _accuracy(w, xs, ys) > 0.8


def test_strokes_need_a_convolution() -> None:
    # Vertical and horizontal strokes are transposes of each other in distribution,
    # so a linear model on raw pixels stays near chance on fresh data ...
    xs, ys = load_dataset("strokes", input_size=6, seed=0)
    xs_new, ys_new = load_dataset("strokes", input_size=6, seed=1)
    w = _logistic_regression(xs, ys)
    assert _accuracy(w, xs_new, ys_new) < 0.65
    # ... while one 3x3 line filter + ReLU + max-pool makes it easy.
    f, f_new = _conv_relu_pool(xs, VERTICAL_LINE), _conv_relu_pool(xs_new, VERTICAL_LINE)
    w = _logistic_regression(f, ys)
    assert _accuracy(w, f_new, ys_new) > 0.9


@pytest.mark.parametrize("size", [4, 6])
@pytest.mark.parametrize("name", GENERATED)
def test_one_filter_conv_features_learn(name: str, size: int) -> None:
    # The teaching model's path (one 3x3 filter, ReLU, 2x2 max-pool, dense, sigmoid)
    # with a hand-set filter already separates the classes, also at 4x4.
    xs, ys = load_dataset(name, input_size=size)
    xs_new, ys_new = load_dataset(name, input_size=size, seed=1)
    kernel = HAND_FILTERS[name]
    w = _logistic_regression(_conv_relu_pool(xs, kernel), ys)
    assert _accuracy(w, _conv_relu_pool(xs, kernel), ys) > 0.9
    assert _accuracy(w, _conv_relu_pool(xs_new, kernel), ys_new) > 0.9


@pytest.mark.parametrize("name", GENERATED)
def test_no_single_pixel_solves_generated_task(name: str) -> None:
    xs, ys = load_dataset(name, input_size=6)
    assert _best_single_pixel_accuracy(xs, ys) < 0.8


# ---------------------------------------------------------------------------
# All ten digits: a 10-class task


def test_all_digits_info_and_registry() -> None:
    info = dataset_info("digits")
    assert info.name == datasets.ALL_DIGITS == "digits"
    assert info.classes == tuple(str(d) for d in range(10))
    assert info.title and info.description
    assert "digits" not in DATASETS  # the registry stays the two-class tasks
    assert dataset_info("digits") is dataset_info("digits")


@pytest.mark.parametrize("size", [4, 8, 13, 28])
def test_all_digits_every_image_labelled_by_its_digit(size: int) -> None:
    xs, ys = load_dataset("digits", input_size=size)
    assert xs.dtype == np.float64 and ys.dtype == np.float64
    assert xs.shape == (1797, size, size) and ys.shape == (1797,)
    assert xs.min() >= 0.0 and xs.max() <= 1.0
    assert tuple(np.bincount(ys.astype(int)).tolist()) == UCI_TEST_COUNTS
    assert np.array_equal(ys, np.round(ys))


def test_all_digits_at_8_are_the_source_images_over_16() -> None:
    images, labels = datasets._digits_raw()
    xs, ys = load_dataset("digits", input_size=8, seed=5)
    source = {(lab, img.tobytes()) for img, lab in zip(images / 16.0, labels.astype(float))}
    assert {(lab, img.tobytes()) for img, lab in zip(xs, ys)} == source
    # each digit pair is the same images: digits_3_8's 3s are the 3s here
    pair, pair_ys = load_dataset("digits_3_8", input_size=8)
    threes = np.sort(xs[ys == 3.0].sum(axis=(1, 2)))
    assert np.array_equal(threes, np.sort(pair[pair_ys == 0.0].sum(axis=(1, 2))))


@pytest.mark.parametrize(("n", "counts"), [
    (10, [1] * 10), (25, None), (100, [10] * 10), (1000, [100] * 10), (1797, None),
    (1790, None), (2, None)])
def test_all_digits_subset_is_class_balanced(n: int, counts) -> None:
    xs, ys = load_dataset("digits", input_size=6, n=n, seed=1)
    assert xs.shape == (n, 6, 6)
    got = np.bincount(ys.astype(int), minlength=10)
    assert got.sum() == n
    if counts is not None:
        assert got.tolist() == counts
    # as equal as the data allows: a class below the most-taken one ran out of images
    short = got < got.max() - 1
    assert np.all(got[short] == np.array(UCI_TEST_COUNTS)[short])
    assert got.max() - got[~short].min() <= 1


def test_all_digits_deterministic_and_shuffled() -> None:
    a_x, a_y = load_dataset("digits", input_size=6, n=50, seed=2)
    b_x, b_y = load_dataset("digits", input_size=6, n=50, seed=2)
    c_x, _ = load_dataset("digits", input_size=6, n=50, seed=3)
    assert np.array_equal(a_x, b_x) and np.array_equal(a_y, b_y)
    assert not np.array_equal(a_x, c_x)
    assert not np.all(np.diff(a_y) >= 0)  # not sorted by class
    whole, _ = load_dataset("digits", input_size=6, n=10_000)
    assert whole.shape[0] == 1797


def test_all_digits_sample_images_cycle_through_the_ten() -> None:
    samples = sample_images("digits", input_size=8, count=12, seed=0)
    assert [label for _, label in samples] == [*map(float, range(10)), 0.0, 1.0]
    xs, ys = load_dataset("digits", input_size=8, seed=0)
    for image, label in samples:
        hits = np.flatnonzero(np.all(xs == image, axis=(1, 2)))
        assert hits.size >= 1 and ys[hits[0]] == label
    with pytest.raises(ValueError, match="count must be at most"):
        sample_images("digits", count=1800)


def test_all_digits_bad_arguments() -> None:
    with pytest.raises(ValueError, match="n must be"):
        load_dataset("digits", n=1)
    with pytest.raises(ValueError, match="input_size"):
        load_dataset("digits", input_size=3)


def test_a_ten_unit_softmax_network_learns_all_digits() -> None:
    """conv 3x3 x4, ReLU, 2x2 max-pool, dense 10, softmax_ce at 8x8: well above chance
    (0.1) on held-out digits after five epochs of engine.train."""
    import engine
    from engine.datasets import split_dataset
    from engine.network import network

    net = network({"input": {"size": 8}, "layers": [
        {"type": "conv", "filters": 4, "kernel": 3}, {"type": "relu"},
        {"type": "maxpool", "size": 2}, {"type": "flatten"}, {"type": "dense", "units": 10}],
        "output": "softmax_ce"})
    xs, ys = load_dataset("digits", input_size=8, n=1000, seed=0)
    (train_x, train_y), (test_x, test_y) = split_dataset(xs, ys)
    result = engine.train(train_x, train_y, engine.init_params(net, 0), net, lr=0.5,
                          epochs=5, batch_size=16)
    assert result.loss[-1] < 0.5 * result.loss[0]
    assert result.accuracy[-1] > 0.7
    held_out = np.mean(engine.predict(test_x, result.params, net).argmax(axis=1) == test_y)
    assert held_out > 0.7
    untrained = engine.predict(test_x, engine.init_params(net, 0), net).argmax(axis=1)
    assert np.mean(untrained == test_y) < 0.4
