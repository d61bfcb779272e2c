"""Tiny image data sets for the convlens teaching model.

Every data set in `DATASETS`, and every digit pair, is a binary classification
task on square grey-scale images; ``"digits"`` is a ten-class one.
`load_dataset` returns

* ``xs``: float64 array of shape ``(N, input_size, input_size)``, values in [0, 1];
* ``ys``: float64 array of shape ``(N,)``, ``0.0`` for the first class and
  ``1.0`` for the second (see ``DatasetInfo.classes``); for ``"digits"`` the
  digit itself, ``0.0`` to ``9.0``.

``input_size`` can be any whole number from 4 to 28.

Generated tasks
---------------
``"strokes"``, ``"x_vs_o"`` and ``"plus_vs_cross"`` are drawn on the fly at
the requested size with ``numpy.random.default_rng(seed)``. Each image holds one
shape at a random position and size (and, on canvases above 6x6, a random stroke
thickness), scaled by a random brightness in [0.6, 1], overlaid with Gaussian
noise (standard deviation 0.1) and clipped to [0, 1]. The classes are balanced
(``n // 2`` of class 1) and shuffled. They differ in what a 3x3 window sees
(stroke direction, corners versus crossings), so one 3x3 filter can tell them
apart wherever the shape sits, while no single pixel can.

* ``strokes``: a vertical or horizontal line of random length, kept inside the
  canvas's one-pixel frame. The two classes are transposes of each other in
  distribution, so a linear model on raw pixels stays near chance. Only the
  convolution solves this task.
* ``x_vs_o``: two diagonals or a ring in the same random odd-sided box.
* ``plus_vs_cross``: the same four arms, upright or turned 45 degrees.

Shapes are rasterised from line segments (or a circle) measured to pixel
centres. A pixel is fully lit within ``thickness / 2 - 0.25`` of the line and
dark beyond ``thickness / 2 + 0.25``, with a linear ramp in between. At 4x4 the
shapes are tiny but still distinguishable: a two-pixel line in the central 2x2,
or a 3x3 box holding an X (five pixels), an O (a ring of eight, dimmer corners),
a plus or a diagonal cross.

Digit pairs
-----------
``"digits_A_B"`` (any two different digits A, B in 0..9) uses every image of
digits A and B in the 1,797-image test set of the UCI "Optical Recognition of
Handwritten Digits" data (see ``data/DIGITS_ATTRIBUTION.md``). Digit A is
class 0 and digit B class 1. The source images are 8x8 with whole-number values
0..16; they are divided by 16 and resized to ``input_size`` with area
averaging:

    image_out = R @ image_in @ R.T

where ``R`` has shape ``(input_size, 8)``. Output pixel ``i`` covers the source
interval ``[i * 8 / s, (i + 1) * 8 / s)`` (``s = input_size``) and
``R[i, j]`` is the length of its overlap with source pixel ``[j, j + 1)``,
divided by the interval length ``8 / s``. Each row of ``R`` sums to 1 and each
column to ``s / 8``, so:

* ``s == 8`` gives back the image exactly (``R`` is the identity);
* upsampling by a whole factor repeats each pixel in a block and downsampling by
  a whole factor averages blocks (other sizes blend neighbouring pixels);
* the mean intensity of the image is preserved at every size.

All ten digits
--------------
``"digits"`` is the same 1,797 images, resized the same way, as a ten-class
task: the label is the digit (0.0 to 9.0), for a ``softmax_ce`` network with 10
units. With ``n`` it is a class-balanced subset: ``n // 10`` or ``n // 10 + 1``
images of each digit (as the data allows). It is not listed in `DATASETS`,
whose entries are the two-class tasks any network (the seed's included) can
learn; `dataset_info` and `load_dataset` accept it.
"""

from __future__ import annotations

import functools
import operator
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np

__all__ = ["ALL_DIGITS", "DATASETS", "DatasetInfo", "dataset_info", "load_dataset", "sample_images"]

MIN_INPUT_SIZE = 4
MAX_INPUT_SIZE = 28
DEFAULT_N = 400

_DIGITS_PATH = Path(__file__).resolve().parent / "data" / "digits.npz"
_DIGITS_SIZE = 8
_DIGITS_MAX_VALUE = 16.0
_DIGITS_NAME = re.compile(r"digits_([0-9])_([0-9])")

_Segment = tuple[tuple[float, float], tuple[float, float]]  # ((row, col), (row, col))

# Generation parameters shared by every generated task.
_BRIGHTNESS_RANGE = (0.6, 1.0)  # the shape's peak intensity is drawn from this range
_NOISE_STD = 0.1  # standard deviation of the additive Gaussian pixel noise
_EDGE_RAMP = 0.5  # width (in pixels) of the soft edge of a drawn stroke


@dataclass(frozen=True)
class DatasetInfo:
    """Short description of one data set.

    Attributes
    ----------
    name : str
        Key accepted by `load_dataset`.
    title : str
        Human-readable title.
    description : str
        One or two sentences for the UI.
    classes : tuple of str
        Names of class 0, class 1, ... in that order: two for every data set
        but ``"digits"``, which has ten ("0" to "9").
    """

    name: str
    title: str
    description: str
    classes: tuple[str, ...]


def _digits_info(a: int, b: int) -> DatasetInfo:
    return DatasetInfo(
        name=f"digits_{a}_{b}",
        title=f"Handwritten {a} vs {b}",
        description=(
            f"Real handwritten digits {a} and {b} from the UCI optical digits test set "
            "(8x8 originals, resized by area averaging)."
        ),
        classes=(str(a), str(b)),
    )


ALL_DIGITS = "digits"  # the ten-class task (not in DATASETS: see the module's docstring)
_ALL_DIGITS_INFO = DatasetInfo(
    name=ALL_DIGITS,
    title="Handwritten digits 0-9",
    description=(
        "All ten handwritten digits from the UCI optical digits test set (8x8 originals, "
        "resized by area averaging): which digit is it?"
    ),
    classes=tuple(str(d) for d in range(10)),
)

DATASETS: Mapping[str, DatasetInfo] = MappingProxyType(
    {
        "strokes": DatasetInfo(
            name="strokes",
            title="Vertical vs horizontal stroke",
            description=(
                "One straight line of random length and position: is it vertical or horizontal?"
            ),
            classes=("vertical", "horizontal"),
        ),
        "x_vs_o": DatasetInfo(
            name="x_vs_o",
            title="X vs O",
            description="A cross made of two diagonals or a ring, at a random size and position.",
            classes=("X", "O"),
        ),
        "plus_vs_cross": DatasetInfo(
            name="plus_vs_cross",
            title="Plus vs diagonal cross",
            description=(
                "The same four arms, either upright (+) or turned 45 degrees (x): "
                "only the stroke direction differs."
            ),
            classes=("plus", "cross"),
        ),
        "digits_0_1": _digits_info(0, 1),
        "digits_3_8": _digits_info(3, 8),
    }
)


# ---------------------------------------------------------------------------
# Argument checking


def _check_input_size(input_size: int) -> int:
    try:
        if isinstance(input_size, bool):
            raise TypeError
        size = operator.index(input_size)
    except TypeError:
        size = None
    if size is None or not MIN_INPUT_SIZE <= size <= MAX_INPUT_SIZE:
        raise ValueError(
            f"input_size must be a whole number from {MIN_INPUT_SIZE} to {MAX_INPUT_SIZE}, "
            f"got {input_size!r}"
        )
    return size


def _check_count(value: int | None, what: str, minimum: int) -> int | None:
    if value is None:
        return None
    try:
        if isinstance(value, bool):
            raise TypeError
        count = operator.index(value)
    except TypeError:
        count = None
    if count is None or count < minimum:
        raise ValueError(f"{what} must be a whole number >= {minimum}, got {value!r}")
    return count


def _parse_digits(name: str) -> tuple[int, int] | None:
    match = _DIGITS_NAME.fullmatch(name)
    if match is None:
        return None
    a, b = int(match.group(1)), int(match.group(2))
    if a == b:
        raise ValueError(f"digit pair {name!r} must name two different digits, got {a} twice")
    return a, b


def _unknown_name(name: object) -> ValueError:
    names = ", ".join(repr(k) for k in DATASETS)
    return ValueError(
        f"unknown dataset {name!r}; valid names are {names}, "
        "or 'digits_A_B' for any two different digits A and B from 0 to 9"
    )


def dataset_info(name: str) -> DatasetInfo:
    """Return the `DatasetInfo` for `name`, including any ``"digits_A_B"`` pair.

    Parameters
    ----------
    name : str
        A key of `DATASETS`, ``"digits_A_B"`` with digits ``A != B``, or
        ``"digits"`` (all ten).

    Returns
    -------
    DatasetInfo

    Raises
    ------
    ValueError
        If `name` is not a known data set.
    """
    if not isinstance(name, str):
        raise _unknown_name(name)
    if name in DATASETS:
        return DATASETS[name]
    if name == ALL_DIGITS:
        return _ALL_DIGITS_INFO
    pair = _parse_digits(name)
    if pair is None:
        raise _unknown_name(name)
    return _digits_info(*pair)


# ---------------------------------------------------------------------------
# Drawing primitives (pixel centres sit at integer coordinates (row, col))


@functools.cache
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column coordinates of the pixel centres, each of shape (size, size), read-only."""
    rows, cols = np.meshgrid(
        np.arange(size, dtype=np.float64), np.arange(size, dtype=np.float64), indexing="ij"
    )
    rows.setflags(write=False)
    cols.setflags(write=False)
    return rows, cols


def _segment_distance(size: int, p: tuple[float, float], q: tuple[float, float]) -> np.ndarray:
    """Distance from every pixel centre to the segment p-q, shape (size, size)."""
    rows, cols = _grid(size)
    pr, pc = p
    dr, dc = q[0] - pr, q[1] - pc
    length2 = dr * dr + dc * dc
    if length2 == 0.0:
        t = np.zeros_like(rows)
    else:
        t = np.clip(((rows - pr) * dr + (cols - pc) * dc) / length2, 0.0, 1.0)
    return np.hypot(rows - (pr + t * dr), cols - (pc + t * dc))


def _ink(distance: np.ndarray, thickness: float) -> np.ndarray:
    """Turn a distance map into stroke intensity in [0, 1] for a stroke of `thickness`."""
    half = thickness / 2.0
    return np.clip((half + _EDGE_RAMP / 2.0 - distance) / _EDGE_RAMP, 0.0, 1.0)


def _segments(size: int, segments: list[_Segment], thickness: float) -> np.ndarray:
    distance = np.min([_segment_distance(size, p, q) for p, q in segments], axis=0)
    return _ink(distance, thickness)


def _ring(size: int, centre: tuple[float, float], radius: float, thickness: float) -> np.ndarray:
    rows, cols = _grid(size)
    distance = np.abs(np.hypot(rows - centre[0], cols - centre[1]) - radius)
    return _ink(distance, thickness)


def _thickness(size: int, rng: np.random.Generator) -> float:
    """Random stroke thickness: 1 pixel up to size 6, growing to about 3.5 at size 28."""
    top = 1.0 + max(0, size - 6) / 9.0
    return float(rng.uniform(1.0, top)) if top > 1.0 else 1.0


def _box(size: int, rng: np.random.Generator, *, odd: bool) -> tuple[int, int, int]:
    """A random square box (top, left, side) inside the canvas; side >= 3."""
    low = max(3, -(-size // 3))
    side = int(rng.integers(low, size + 1))
    if odd and side % 2 == 0:
        side -= 1
    top = int(rng.integers(0, size - side + 1))
    left = int(rng.integers(0, size - side + 1))
    return top, left, side


def _draw_stroke(size: int, label: int, rng: np.random.Generator) -> np.ndarray:
    """Class 0: vertical line, class 1: horizontal line.

    The line stays inside the one-pixel frame of the canvas, on every side and for
    both classes, so that (a) a 3x3 window without padding can be centred on any
    part of it and (b) the border pixels carry no hint of the class. Vertical and
    horizontal lines are then exact transposes of each other in distribution, so
    a linear model on raw pixels cannot separate them; a convolution can.
    """
    inner = size - 2
    length = int(rng.integers(max(2, -(-inner // 2)), inner + 1))
    width = min(inner - 1, int(round(_thickness(size, rng))))
    along = int(rng.integers(1, size - length))
    across = int(rng.integers(1, size - width))
    middle = across + (width - 1) / 2.0
    p, q = (along, middle), (along + length - 1, middle)
    if label == 1:
        p, q = (p[1], p[0]), (q[1], q[0])
    return _segments(size, [(p, q)], float(width))


def _diagonals(top: int, left: int, side: int) -> list[_Segment]:
    far = side - 1
    return [((top, left), (top + far, left + far)), ((top, left + far), (top + far, left))]


def _draw_x_or_o(size: int, label: int, rng: np.random.Generator) -> np.ndarray:
    """Class 0: X (two diagonals), class 1: O (a ring)."""
    top, left, side = _box(size, rng, odd=True)
    thickness = _thickness(size, rng)
    if label == 0:
        return _segments(size, _diagonals(top, left, side), thickness)
    radius = (side - 1) / 2.0
    return _ring(size, (top + radius, left + radius), radius, thickness)


def _draw_plus_or_cross(size: int, label: int, rng: np.random.Generator) -> np.ndarray:
    """Class 0: upright plus, class 1: diagonal cross, in the same odd-sided box."""
    top, left, side = _box(size, rng, odd=True)
    thickness = _thickness(size, rng)
    if label == 1:
        return _segments(size, _diagonals(top, left, side), thickness)
    mid, far = (side - 1) // 2, side - 1
    arms = [
        ((top + mid, left), (top + mid, left + far)),  # horizontal arm
        ((top, left + mid), (top + far, left + mid)),  # vertical arm
    ]
    return _segments(size, arms, thickness)


_GENERATORS: dict[str, Callable[[int, int, np.random.Generator], np.ndarray]] = {
    "strokes": _draw_stroke,
    "x_vs_o": _draw_x_or_o,
    "plus_vs_cross": _draw_plus_or_cross,
}


def _generate(name: str, size: int, n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    draw = _GENERATORS[name]
    labels = np.arange(n) % 2  # n // 2 of class 1, the rest class 0
    labels = labels[rng.permutation(n)]
    xs = np.empty((n, size, size), dtype=np.float64)
    for k, label in enumerate(labels):
        shape = draw(size, int(label), rng)
        brightness = rng.uniform(*_BRIGHTNESS_RANGE)
        noise = rng.normal(0.0, _NOISE_STD, size=(size, size))
        xs[k] = np.clip(brightness * shape + noise, 0.0, 1.0)
    return xs, labels.astype(np.float64)


# ---------------------------------------------------------------------------
# Digits


@functools.lru_cache(maxsize=1)
def _digits_raw() -> tuple[np.ndarray, np.ndarray]:
    """The bundled digits: images uint8 (1797, 8, 8) and labels uint8 (1797,), read-only."""
    with np.load(_DIGITS_PATH) as data:
        images = np.array(data["images"], dtype=np.uint8)
        labels = np.array(data["labels"], dtype=np.uint8)
    images.setflags(write=False)
    labels.setflags(write=False)
    return images, labels


@functools.cache
def _area_matrix(size: int, source: int = _DIGITS_SIZE) -> np.ndarray:
    """Area-averaging resample matrix R of shape (size, source), read-only.

    Output pixel ``i`` covers ``[i * source / size, (i + 1) * source / size)``;
    ``R[i, j]`` is its overlap with source pixel ``[j, j + 1)`` divided by the
    length ``source / size`` of that interval.
    """
    edges = np.arange(size + 1, dtype=np.float64) * source / size
    lo, hi = edges[:-1, None], edges[1:, None]
    j = np.arange(source, dtype=np.float64)[None, :]
    overlap = np.clip(np.minimum(hi, j + 1.0) - np.maximum(lo, j), 0.0, None)
    matrix = overlap * size / source
    matrix.setflags(write=False)
    return matrix


def _resize(images: np.ndarray, size: int) -> np.ndarray:
    """Area-resample images of shape (N, 8, 8) to (N, size, size)."""
    r = _area_matrix(size, images.shape[-1])
    return np.clip(r @ images @ r.T, 0.0, 1.0)


def _load_digits(
    a: int, b: int, size: int, n: int | None, seed: int
) -> tuple[np.ndarray, np.ndarray]:
    images, labels = _digits_raw()
    rng = np.random.default_rng(seed)
    idx_a = np.flatnonzero(labels == a)
    idx_b = np.flatnonzero(labels == b)
    if n is not None and n < idx_a.size + idx_b.size:
        # Keep the classes as balanced as the data allows.
        take_b = min(idx_b.size, n // 2)
        take_a = min(idx_a.size, n - take_b)
        take_b = n - take_a
        idx_a = np.sort(rng.choice(idx_a, size=take_a, replace=False))
        idx_b = np.sort(rng.choice(idx_b, size=take_b, replace=False))
    index = np.concatenate([idx_a, idx_b])
    ys = np.concatenate([np.zeros(idx_a.size), np.ones(idx_b.size)])
    order = rng.permutation(index.size)
    index, ys = index[order], ys[order]
    xs = _resize(images[index].astype(np.float64) / _DIGITS_MAX_VALUE, size)
    return xs, ys


def _balanced_counts(available: np.ndarray, n: int) -> np.ndarray:
    """How many of each class to take for ``n`` in all: as equal as ``available`` allows.

    Classes are filled from the scarcest up, each taking its share of what is left
    (rounded up), so no class gets more than one above another unless it ran out.
    """
    take = np.zeros(available.size, dtype=np.int64)
    left = n
    order = np.argsort(available, kind="stable")
    for i, c in enumerate(order):
        share = -(-left // (available.size - i))
        take[c] = min(int(available[c]), share)
        left -= int(take[c])
    return take


def _load_all_digits(size: int, n: int | None, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Every digit 0..9, labelled by itself; a class-balanced subset of ``n`` if given."""
    images, labels = _digits_raw()
    rng = np.random.default_rng(seed)
    by_digit = [np.flatnonzero(labels == d) for d in range(10)]
    if n is not None and n < labels.size:
        take = _balanced_counts(np.array([idx.size for idx in by_digit]), n)
        by_digit = [np.sort(rng.choice(idx, size=int(k), replace=False))
                    for idx, k in zip(by_digit, take)]
    index = np.concatenate(by_digit)
    ys = np.concatenate([np.full(idx.size, float(d)) for d, idx in enumerate(by_digit)])
    order = rng.permutation(index.size)
    index, ys = index[order], ys[order]
    xs = _resize(images[index].astype(np.float64) / _DIGITS_MAX_VALUE, size)
    return xs, ys


# ---------------------------------------------------------------------------
# Public API


def load_dataset(
    name: str, *, input_size: int = 6, n: int | None = None, seed: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Load or generate an image data set.

    Parameters
    ----------
    name : str
        A key of `DATASETS` (``"strokes"``, ``"x_vs_o"``, ``"plus_vs_cross"``,
        ``"digits_0_1"``, ``"digits_3_8"``), ``"digits_A_B"`` for any two
        different digits A and B, or ``"digits"`` for all ten (labels 0..9).
    input_size : int, default 6
        Side length of the returned images, from 4 to 28.
    n : int or None, default None
        Number of examples. Generated tasks make `n` examples (400 if None).
        Digit pairs (and ``"digits"``) return every image of their digits, or, if
        there are more than `n`, a random subset of `n` that is as balanced as the
        data allows.
    seed : int, default 0
        Seed for ``numpy.random.default_rng``; the result is fully determined by
        ``(name, input_size, n, seed)``.

    Returns
    -------
    xs : np.ndarray
        float64, shape ``(N, input_size, input_size)``, values in [0, 1].
    ys : np.ndarray
        float64, shape ``(N,)``, 0.0 for ``classes[0]``, 1.0 for ``classes[1]``
        (and so on to 9.0 for ``"digits"``).

    Raises
    ------
    ValueError
        For an unknown `name`, an `input_size` outside 4..28 or an `n` below 2.
    """
    info = dataset_info(name)
    size = _check_input_size(input_size)
    count = _check_count(n, "n", 2)
    if info.name in _GENERATORS:
        return _generate(info.name, size, DEFAULT_N if count is None else count, seed)
    if info.name == ALL_DIGITS:
        return _load_all_digits(size, count, seed)
    a, b = (int(c) for c in info.classes)
    return _load_digits(a, b, size, count, seed)


def sample_images(
    name: str, *, input_size: int = 6, count: int = 4, seed: int = 0
) -> list[tuple[np.ndarray, float]]:
    """Pick a few examples of a data set, cycling through its classes.

    Parameters
    ----------
    name : str
        Any name accepted by `load_dataset`.
    input_size : int, default 6
        Side length of the images, from 4 to 28.
    count : int, default 4
        Number of examples, at least 2.
    seed : int, default 0
        Seed passed to `load_dataset`.

    Returns
    -------
    list of (np.ndarray, float)
        `count` pairs ``(image, label)``: image float64 of shape
        ``(input_size, input_size)`` in [0, 1], label 0.0 or 1.0 (0.0 to 9.0
        for ``"digits"``). Labels cycle 0, 1, 0, 1, ... (0, 1, ..., 9, 0, ...
        for ``"digits"``). The images are the first examples of each class in
        ``load_dataset(name, input_size=input_size, seed=seed)`` (default `n`).

    Raises
    ------
    ValueError
        As `load_dataset`, or if `count` is below 2 or exceeds the examples
        available.
    """
    wanted = _check_count(count, "count", 2)
    assert wanted is not None
    classes = len(dataset_info(name).classes)
    xs, ys = load_dataset(name, input_size=input_size, seed=seed)
    by_class = [np.flatnonzero(ys == float(c)) for c in range(classes)]
    needed = [(wanted + classes - 1 - c) // classes for c in range(classes)]
    if any(idx.size < k for idx, k in zip(by_class, needed)):
        most = classes * min(i.size for i in by_class)
        raise ValueError(f"count must be at most {most}, got {count}")
    return [(xs[by_class[k % classes][k // classes]].copy(), float(k % classes))
            for k in range(wanted)]


HELD_OUT_EVERY = 5  # every fifth example is held out for testing


def split_dataset(xs: np.ndarray, ys: np.ndarray, *, every: int = HELD_OUT_EVERY
                  ) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """((train xs, train ys), (test xs, test ys)): example i is held out for testing
    when i % every == every - 1 (one in ``every``; the data sets are shuffled, so both
    parts keep both classes). Deterministic, so a test accuracy can be compared run to run.
    """
    if every < 2:
        raise ValueError(f"every must be at least 2, got {every}")
    held = np.arange(len(xs)) % every == every - 1
    return (xs[~held], ys[~held]), (xs[held], ys[held])
