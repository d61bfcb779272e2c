"""Practice: examples a student can compute by hand, every step as an exercise, grading.

    variant(seed, config) -> Variant          numbers with one or two decimals, checked
    given_variant(x, y, params, lr, config)   a walk's own example, as it is
    exercise(step, variant) -> Exercise       the step's givens (exactly what it reads) and
                                              its true result
    grade(step, answer, truth, given) -> Grade   cell by cell, with the misconception that
                                              explains the wrong cells, if one does
    hint(step, level, cell, given) -> Hint    which cells feed a cell; then its formula with
                                              the numbers (but not the result)

Tolerance (:func:`tolerance`): a cell is right when it is within 0.6 units of the third
significant digit of the true value, or within 0.05% of the tensor's largest magnitude,
whichever is larger. An answer rounded to three significant digits is always accepted; a
cell off by one in its second significant digit is refused whenever its true value is at
least 5% of the tensor's largest magnitude (a cell that is nearly 0 beside large ones may be
answered 0).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from .config import Config
from .layers import pool_windows
from .misconceptions import Misconception, Sizes, for_step
from .model import Trace, trace
from .steps import STEPS, step_value

STEP_NAMES: tuple[str, ...] = tuple(s.writes for s in STEPS)
INDEX: dict[str, int] = {name: i for i, name in enumerate(STEP_NAMES)}
LR = 0.1  # the variants' learning rate: one decimal, like every other number
SIGNIFICANT = 3  # an answer rounded to this many significant digits is accepted
SLACK = 0.6  # ... within this many units of that digit
FLOOR = 5e-4  # ... or this share of the tensor's largest magnitude
_ORDINAL = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth"}
_NUMBER = {1: "one", 2: "two", 3: "three", 4: "four", 5: "five"}
TOLERANCE_TEXT = (  # the rule above, in words, for the page
    f"A cell is right when it is within {SLACK:g} units of the {_ORDINAL[SIGNIFICANT]} "
    f"significant digit of the true value, or within {FLOOR * 100:g}% of the tensor's largest "
    "magnitude, whichever is larger: an answer rounded to "
    f"{_NUMBER[SIGNIFICANT]} significant digits is accepted; one off by one in its "
    f"{_ORDINAL[SIGNIFICANT - 1]} significant digit is not.")
EXPLAINS = 0.75  # a misconception explains an answer that matches it on this share of its
#                   wrong cells (a slip elsewhere is forgiven)
HINT_CELLS = 12  # cells a hint names of one tensor; it says how many more there are
EPS = 1e-9  # values this close count as equal (the variants' numbers are exact decimals)


def check_step(step: str) -> int:
    if step not in INDEX:
        raise ValueError(f"step must be one of {', '.join(STEP_NAMES)}, got {step!r}")
    return INDEX[step]


# ----------------------------------------------------------------------------- variants
@dataclass(frozen=True)
class Variant:
    """One example to compute by hand: x, y, params, lr and the whole trace."""

    seed: int | None  # None: an example given as it is (given_variant), not drawn
    config: Config
    x: np.ndarray
    y: float
    params: dict[str, np.ndarray]
    lr: float
    trace: Trace = field(repr=False)
    decimals: int  # of x and W1


def _draw(rng: np.random.Generator, config: Config, decimals: int
          ) -> tuple[np.ndarray, float, dict[str, np.ndarray]]:
    n, k, K, D = config.input_size, config.kernel_size, config.filters, config.features
    scale = 10**decimals
    x = rng.integers(0, scale + 1, size=(n, n)) / scale
    x[rng.random((n, n)) < 0.3] = 0.0  # a few zeros make the arithmetic lighter
    W1 = rng.integers(-9 * scale // 10, 9 * scale // 10 + 1, size=(K, k, k)) / scale
    b1 = rng.integers(-3, 4, size=K) / 10
    W2 = rng.choice([-1, 1], size=(1, D)) * rng.integers(1, 10, size=(1, D)) / 10
    b2 = rng.integers(-3, 4, size=1) / 10
    y = float(rng.integers(0, 2))
    return x, y, {"W1": W1, "b1": b1, "W2": W2, "b2": b2}


def ties_or_zeros(t: Trace) -> list[str]:
    """What makes a trace unfit for hand computation: a Z1 exactly 0, or a tie among the
    positive maxima of a pooling window. Empty when it is fit."""
    problems = []
    if np.any(np.abs(t["Z1"]) < EPS):
        problems.append("a Z1 cell is 0")
    windows = np.sort(pool_windows(t["A1"], t.config.pool_size), axis=-1)
    if windows.shape[-1] > 1:
        top, second = windows[..., -1], windows[..., -2]
        if np.any((top > EPS) & (top - second < EPS)):
            problems.append("a pooling window's positive maximum is tied")
    return problems


def features(t: Trace) -> dict[str, bool]:
    """What a variant shows when it can: a positive window loser (max-pool routes past it),
    a blocked window (every cell <= 0: the tie rule picks its top-left cell, and the ReLU
    mask blocks the gradient routed there), a window with a positive winner, and an A2 far
    enough from 0 and 1 to compute."""
    p = t.config.pool_size
    windows = pool_windows(t["Z1"], p)  # (K, q, q, p*p)
    top = windows.max(axis=-1)
    positive_losers = (windows > EPS).sum(axis=-1) >= 2
    return {
        "loser": bool(np.any(positive_losers)) or p == 1,
        "blocked": bool(np.any(top < -EPS)),
        "active": bool(np.any(top > EPS)),
        "moderate": 0.05 < float(t["A2"]) < 0.95,
    }


@functools.lru_cache(maxsize=256)
def variant(seed: int, config: Config = Config()) -> Variant:
    """A hand-computable example, deterministic for ``seed`` and ``config``.

    X in [0, 1] and W1 in [-0.9, 0.9] with one decimal (two, then three, for configs so big
    that one decimal cannot avoid ties), b1 and b2 in [-0.3, 0.3], W2 in ±[0.1, 0.9], all
    with one decimal; Y 0 or 1; lr 0.1. Never a Z1 exactly 0 nor a tie among the positive
    maxima of a pooling window. Drawn until it also has everything of :func:`features`
    (within a budget of draws; a variant that cannot have a blocked window and an active
    one, e.g. with a single window, goes without).
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    rng = np.random.default_rng([seed, 7_212_025])
    fallback = None
    for decimals, tries in ((1, 300), (2, 200), (3, 200), (4, 1000)):
        for _ in range(tries):
            x, y, params = _draw(rng, config, decimals)
            t = trace(x, y, params, config)
            if ties_or_zeros(t):
                continue
            if all(features(t).values()):
                return _frozen(Variant(seed, config, x, y, params, LR, t, decimals))
            if fallback is None:
                fallback = Variant(seed, config, x, y, params, LR, t, decimals)
        if fallback is not None:
            return _frozen(fallback)
    raise ValueError(f"no hand-computable example found for seed {seed} and {config}")


def given_variant(x: np.ndarray, y: float, params: Mapping[str, np.ndarray], lr: float,
                  config: Config = Config()) -> Variant:
    """An example given as it is (the explorer's walk, a notebook's numbers) to compute by
    hand: no seed, no check that it is fit. Its ties and all-zero windows are named in the
    dA1 prompt (:func:`tie_note`), and the grading's tolerance holds for any numbers."""
    x = np.array(x, dtype=np.float64)
    params = {name: np.array(value, dtype=np.float64) for name, value in params.items()}
    t = trace(x, float(y), params, config)
    return _frozen(Variant(None, config, x, float(y), params, float(lr), t, decimals=0))


def _frozen(v: Variant) -> Variant:
    """The variant with every array read-only: it is cached and shared between callers."""
    for array in (v.x, *v.params.values(), *v.trace.values()):
        if isinstance(array, np.ndarray):
            array.flags.writeable = False
    return v


# ---------------------------------------------------------------------------- exercises
@dataclass(frozen=True)
class Exercise:
    step: str
    index: int
    given: dict[str, np.ndarray]  # exactly STEPS[index].reads
    truth: np.ndarray
    lr: float | None  # for the update steps
    config: Config
    prompt: str
    latex: str

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.truth.shape)


def _shape_text(shape: tuple[int, ...]) -> str:
    if not shape:
        return "one number"
    if len(shape) == 1:
        return f"{shape[0]} numbers in a row"
    if len(shape) == 3 and shape[0] == 1:
        return f"a {shape[1]}×{shape[2]} grid"
    return "a " + "×".join(map(str, shape)) + " array"


TIE_RULE = ("A window whose cells are all 0 (every Z1 there ≤ 0) still has a maximum: the "
            "first one reading row by row, its top-left cell.")

PROMPTS: dict[str, str] = {
    "Z1": "Slide W1 over X: each cell is the window's sum of X × W1, plus b1.",
    "A1": "Apply ReLU to every cell of Z1.",
    "P1": "Max-pool A1: keep the largest value of each {p}×{p} window.",
    "F": "Flatten P1 into one row, filter by filter, row by row.",
    "Z2": "The dense layer: Σ F × W2, plus b2.",
    "A2": "The sigmoid of Z2.",
    "L": "The binary cross-entropy of A2 against the label Y (natural logarithm).",
    "dA2": "How the loss changes with A2.",
    "dZ2": "The gradient at the logit Z2.",
    "dW2": "The gradient of each dense weight.",
    "db2": "The gradient of the dense bias.",
    "dF": "The gradient of each feature.",
    "dP1": "Put dF back into P1's shape.",
    "dA1": "Route each window's gradient dP1 through max-pooling. " + TIE_RULE,
    "dZ1": "Pass dA1 back through ReLU.",
    "dW1": "The gradient of each filter weight: Σ over positions of the X window × dZ1.",
    "db1": "The gradient of the conv bias.",
}


def prompt(step: str, config: Config, lr: float | None) -> str:
    shape = config.shapes()["d" + step if STEPS[INDEX[step]].phase == "update" else step]
    if STEPS[INDEX[step]].phase == "update":
        text = f"One step of gradient descent on {step} with η = {lr:g}."
    else:
        text = PROMPTS[step].format(p=config.pool_size)
    return f"{text} Your answer: {_shape_text(shape)}."


def tie_note(A1: np.ndarray, pool_size: int, *, at_most: int = 3) -> str:
    """Which cell the tie rule picks in the windows of A1 whose maximum is tied: all 0 (a
    drawn variant has no other tie) or, in an example given as it is, a positive tie."""
    p = pool_size
    windows = pool_windows(A1, p)
    tied = np.zeros(windows.shape[:-1], dtype=bool)
    if windows.shape[-1] > 1:
        ordered = np.sort(windows, axis=-1)
        tied = ordered[..., -1] - ordered[..., -2] < EPS
    zero = windows.max(axis=-1) <= 0
    notes = []
    if np.any(zero):
        cells = [f"A1[{f},{r * p},{c * p}]" for f, r, c in np.argwhere(zero)[:at_most]]
        count = int(zero.sum())
        more = f" and {count - at_most} more" if count > at_most else ""
        notes.append(
            f"In this example the window starting at {cells[0]} is all 0: its gradient "
            f"goes to {cells[0]}." if count == 1 else
            f"In this example the windows starting at {', '.join(cells)}{more} are all 0: "
            "each one's gradient goes to that first cell.")
    positive = tied & ~zero
    if np.any(positive):
        winners = windows.argmax(axis=-1)  # the first maximum, reading row by row
        cells = [f"A1[{f},{r * p + winners[f, r, c] // p},{c * p + winners[f, r, c] % p}]"
                 for f, r, c in np.argwhere(positive)[:at_most]]
        count = int(positive.sum())
        more = f" and {count - at_most} more" if count > at_most else ""
        where = "one window" if count == 1 else f"{count} windows"
        notes.append(
            f"In {where} two or more cells share the maximum: the first one reading row by "
            f"row takes the gradient ({', '.join(cells)}{more}).")
    return " ".join(notes)


def exercise(step: str, var: Variant) -> Exercise:
    """Step ``step`` of ``var`` as an exercise: its givens are the tensors the step reads,
    taken from the variant's true trace."""
    i = check_step(step)
    s = STEPS[i]
    given = {name: np.asarray(var.trace[name]) for name in s.reads}
    lr = var.lr if s.phase == "update" else None
    truth = np.asarray(step_value(var.trace, i, var.lr))
    text = prompt(step, var.config, lr)
    if step == "dA1" and (note := tie_note(given["A1"], var.config.pool_size)):
        task, answer = text.split(" Your answer:")
        text = f"{task} {note} Your answer:{answer}"
    return Exercise(step, i, given, truth, lr, var.config, text, s.latex)


# ------------------------------------------------------------------------------ grading
def tolerance(truth: np.ndarray) -> np.ndarray:
    """Each cell's tolerance: SLACK units of its third significant digit, or FLOOR of the
    tensor's largest magnitude, whichever is larger (see the module docstring)."""
    t = np.abs(np.asarray(truth, dtype=np.float64))
    largest = float(t.max()) if t.size else 0.0
    with np.errstate(divide="ignore"):
        exponent = np.floor(np.log10(np.where(t > 0, t, 1.0)))
    digit = SLACK * 10.0 ** (exponent - (SIGNIFICANT - 1))
    return np.maximum(np.where(t > 0, digit, 0.0), max(FLOOR * largest, 1e-12))


def right_cells(answer: np.ndarray, truth: np.ndarray) -> np.ndarray:
    return np.abs(np.asarray(answer) - np.asarray(truth)) <= tolerance(truth)


@dataclass(frozen=True)
class Grade:
    correct: bool
    score: float  # share of right cells
    cells: np.ndarray  # bool, the answer's shape: True where right
    misconception: Misconception | None


def sizes_of(step: str, given: Mapping[str, np.ndarray], truth: np.ndarray
             ) -> tuple[Sizes, ...]:
    """The sizes that matter to a step's misconceptions, read off its tensors: every pool
    size that fits, where more than one does (A1 4×4 pools to 1×1 with p = 3 or 4)."""
    if step in ("P1", "dA1"):
        m = np.shape(given["A1"])[-1]
        q = truth.shape[-1] if step == "P1" else np.shape(given["dP1"])[-1]
        return tuple(Sizes(pool_size=p) for p in range(1, m + 1) if m // p == q)
    if step == "dW1":
        return (Sizes(kernel_size=truth.shape[-1], filters=truth.shape[0]),)
    if step == "dP1":
        return (Sizes(filters=truth.shape[0], pooled_size=truth.shape[-1]),)
    return (Sizes(),)


def check_answer(answer: object, shape: tuple[int, ...], name: str = "answer") -> np.ndarray:
    """The answer as a float64 array of ``shape``, or a ValueError saying what is wrong."""
    try:
        array = np.array(answer, dtype=np.float64)
    except (TypeError, ValueError):
        raise ValueError(f"{name} must be numbers in the shape {shape}") from None
    if array.shape != shape:
        raise ValueError(f"{name} must have shape {shape}, got {array.shape}")
    if not np.isfinite(array).all():
        raise ValueError(f"{name} must be finite numbers, got NaN or infinity")
    return array


def grade(step: str, answer: object, truth: object, given: Mapping[str, object], *,
          config: Config | None = None, lr: float | None = None) -> Grade:
    """Mark ``answer`` cell by cell against ``truth`` and name the misconception that
    explains its wrong cells, when one does.

    ``given`` holds what the step reads. ``config`` (for the pooling steps' window size and
    the misconceptions that need sizes) is read off the tensors when not given; ``lr`` is
    needed for the update steps' misconceptions. A misconception is reported only when its
    tensor differs from the truth, and the answer matches it on at least EXPLAINS of the
    answer's wrong cells; the one matching most wrong cells (then most cells) wins.
    """
    check_step(step)
    truth = np.asarray(truth, dtype=np.float64)
    answer = check_answer(answer, truth.shape)
    g = {name: np.asarray(value, dtype=np.float64) for name, value in given.items()}
    right = right_cells(answer, truth)
    score = float(right.mean()) if right.size else 1.0
    found = None
    if not right.all():
        options = (Sizes.of(config),) if config is not None else sizes_of(step, g, truth)
        found = _explain(step, answer, truth, right, g, options, lr)
    return Grade(bool(right.all()), score, right, found)


def _explain(step: str, answer: np.ndarray, truth: np.ndarray, right: np.ndarray,
             given: Mapping[str, np.ndarray], options: tuple[Sizes, ...], lr: float | None
             ) -> Misconception | None:
    wrong_cells = ~right
    best, best_key = None, (0.0, 0.0)
    for m, sizes in ((m, sizes) for m in for_step(step) for sizes in options):
        try:
            tensor = np.asarray(m.wrong(given, sizes, lr), dtype=np.float64)
        except (ValueError, IndexError, KeyError, ArithmeticError):  # 1 / (A2(1 − A2)) at 0
            continue
        if tensor.shape != truth.shape or not np.isfinite(tensor).all():
            continue
        if right_cells(tensor, truth).all():
            continue  # coincides with the right answer here: it explains nothing
        agrees = right_cells(answer, tensor)
        share = float(agrees[wrong_cells].mean())
        key = (share, float(agrees.mean()))
        if share >= EXPLAINS and key > best_key:
            best, best_key = m, key
    return best


# -------------------------------------------------------------------------------- hints
@dataclass(frozen=True)
class Hint:
    level: int  # 1: the cells that feed the cell; 2: its formula with the numbers
    cell: tuple[int, ...]
    text: str
    feeds: dict[str, list[tuple[int, ...]]]


def _n(value: float) -> str:
    value = float(value)
    text = f"{value:.4g}"
    return f"({text})" if value < 0 else text


def _name(name: str, index: tuple[int, ...]) -> str:
    return f"{name}[{','.join(map(str, index))}]" if index else name


def _winner(A1: np.ndarray, f: int, r: int, c: int, p: int) -> tuple[int, int, int]:
    window = A1[f, r * p : (r + 1) * p, c * p : (c + 1) * p]
    w = int(window.argmax())
    return f, r * p + w // p, c * p + w % p


def _feeds(step: str, cell: tuple[int, ...], g: Mapping[str, np.ndarray], config: Config
           ) -> dict[str, list[tuple[int, ...]]]:
    """The given cells a step's result cell is computed from."""
    def all_of(name: str) -> list[tuple[int, ...]]:
        return [tuple(int(i) for i in ix) for ix in np.ndindex(np.shape(g[name]))]

    p = config.pool_size
    if step == "Z1":
        f, i, j = cell
        k = np.shape(g["W1"])[-1]
        return {"X": [(i + a, j + b) for a in range(k) for b in range(k)],
                "W1": [(f, a, b) for a in range(k) for b in range(k)], "b1": [(f,)]}
    if step == "A1":
        return {"Z1": [cell]}
    if step == "P1":
        f, i, j = cell
        return {"A1": [(f, i * p + a, j * p + b) for a in range(p) for b in range(p)]}
    if step == "F":
        return {"P1": [tuple(int(v) for v in np.unravel_index(cell[0], np.shape(g["P1"])))]}
    if step == "dP1":
        return {"dF": [(int(np.ravel_multi_index(cell, config.shapes()["P1"])),)]}
    if step == "dA1":
        f, i, j = cell
        q = np.shape(g["dP1"])[-1]
        if i // p >= q or j // p >= q:
            return {}
        r, c = i // p, j // p
        return {"A1": [(f, r * p + a, c * p + b) for a in range(p) for b in range(p)],
                "dP1": [(f, r, c)]}
    if step == "dZ1":
        return {"dA1": [cell], "Z1": [cell]}
    if step == "dW1":
        f, a, b = cell
        m = np.shape(g["dZ1"])[-1]
        return {"X": [(i + a, j + b) for i in range(m) for j in range(m)],
                "dZ1": [(f, i, j) for i in range(m) for j in range(m)]}
    if step == "db1":
        m = np.shape(g["dZ1"])[-1]
        return {"dZ1": [(cell[0], i, j) for i in range(m) for j in range(m)]}
    if step == "dW2":
        return {"dZ2": [()], "F": [(cell[1],)]}
    if step == "dF":
        return {"dZ2": [()], "W2": [(0, cell[0])]}
    if STEPS[INDEX[step]].phase == "update":
        return {step: [cell], "d" + step: [cell]}
    return {name: all_of(name) for name in g}  # the scalar steps read every given


def _formula(step: str, cell: tuple[int, ...], g: Mapping[str, np.ndarray], config: Config,
             lr: float | None) -> str:
    """The cell's formula with the given numbers filled in, ending in '= ?'."""
    v = {name: np.asarray(value) for name, value in g.items()}
    target = _name(step, cell)
    p = config.pool_size
    if step == "Z1":
        f, i, j = cell
        k = v["W1"].shape[-1]
        terms = " + ".join(f"{_n(v['X'][i + a, j + b])}×{_n(v['W1'][f, a, b])}"
                           for a in range(k) for b in range(k))
        return f"{target} = {terms} + {_n(v['b1'][f])} = ?"
    if step == "A1":
        return f"{target} = max({_n(v['Z1'][cell])}, 0) = ?"
    if step == "P1":
        f, i, j = cell
        cells = v["A1"][f, i * p : (i + 1) * p, j * p : (j + 1) * p].ravel()
        return f"{target} = max({', '.join(_n(c) for c in cells)}) = ?"
    if step == "F":
        source = _feeds(step, cell, v, config)["P1"][0]
        return f"{target} = {_name('P1', source)} (row by row, filter by filter) = ?"
    if step == "Z2":
        F, W2 = v["F"], v["W2"][0]
        terms = " + ".join(f"{_n(a)}×{_n(b)}" for a, b in zip(F, W2))
        return f"Z2 = {terms} + {_n(v['b2'][0])} = ?"
    if step == "A2":
        return f"A2 = 1 / (1 + e^−{_n(v['Z2'])}) = ?"
    if step == "L":
        y, a = _n(v["Y"]), _n(v["A2"])
        return f"L = −{y}·ln {a} − (1 − {y})·ln(1 − {a}) = ?"
    if step == "dA2":
        y, a = _n(v["Y"]), _n(v["A2"])
        return f"dA2 = ({a} − {y}) / ({a}·(1 − {a})) = ?"
    if step == "dZ2":
        return f"dZ2 = dA2 × A2(1 − A2) = A2 − Y = {_n(v['A2'])} − {_n(v['Y'])} = ?"
    if step == "dW2":
        return f"{target} = dZ2 × F[{cell[1]}] = {_n(v['dZ2'])}×{_n(v['F'][cell[1]])} = ?"
    if step == "db2":
        return f"db2[0] = dZ2 × 1 = {_n(v['dZ2'])} × 1 = ?"
    if step == "dF":
        return f"{target} = dZ2 × W2[0,{cell[0]}] = {_n(v['dZ2'])}×{_n(v['W2'][0, cell[0]])} = ?"
    if step == "dP1":
        source = _feeds(step, cell, v, config)["dF"][0]
        return f"{target} = {_name('dF', source)} = ?"
    if step == "dA1":
        f, i, j = cell
        q = v["dP1"].shape[-1]
        if i // p >= q or j // p >= q:
            return (f"{target} is outside every pooling window, so no gradient reaches it: "
                    f"{target} = ?")
        r, c = i // p, j // p
        window = v["A1"][f, r * p : (r + 1) * p, c * p : (c + 1) * p].ravel()
        first = _name("A1", _winner(v["A1"], f, r, c, p))
        return (f"Its window of A1 is ({', '.join(_n(x) for x in window)}), whose first "
                f"maximum is {first}. {target} = {_name('dP1', (f, r, c))} = "
                f"{_n(v['dP1'][f, r, c])} if {_name('A1', cell)} is that maximum, else 0 = ?")
    if step == "dZ1":
        gate = "1" if v["Z1"][cell] > 0 else "0"
        return (f"{target} = dA1 × [Z1 > 0] = {_n(v['dA1'][cell])} × [{_n(v['Z1'][cell])} > 0]"
                f" = {_n(v['dA1'][cell])} × {gate} = ?")
    if step == "dW1":
        f, a, b = cell
        m = v["dZ1"].shape[-1]
        terms = [f"{_n(v['X'][i + a, j + b])}×{_n(v['dZ1'][f, i, j])}"
                 for i in range(m) for j in range(m) if v["dZ1"][f, i, j] != 0]
        return f"{target} = Σ X[i+{a},j+{b}]·dZ1[i,j] = {' + '.join(terms) or '0'} = ?"
    if step == "db1":
        used = [_n(x) for x in v["dZ1"][cell[0]].ravel() if x != 0]
        return f"{target} = Σ dZ1 = {' + '.join(used) or '0'} = ?"
    # an update step
    old, grad = v[step][cell], v["d" + step][cell]
    return f"{target} ← {_n(old)} − {lr if lr is not None else 'η'}×{_n(grad)} = ?"


def hint(step: str, level: int, cell: tuple[int, ...], given: Mapping[str, object], *,
         config: Config, lr: float | None = None) -> Hint:
    """Hint ``level`` (1 or 2) about result cell ``cell``: the given cells it is computed
    from; then also its formula with the numbers filled in, without the result."""
    check_step(step)
    if level not in (1, 2):
        raise ValueError(f"level must be 1 or 2, got {level}")
    g = {name: np.asarray(value, dtype=np.float64) for name, value in given.items()}
    cell = tuple(int(i) for i in cell)
    feeds = _feeds(step, cell, g, config)
    listed = "; ".join(
        name if cells == [()] else
        f"{name} " + ", ".join(_name("", ix) for ix in cells[:HINT_CELLS])
        + (f" and {len(cells) - HINT_CELLS} more of its cells" if len(cells) > HINT_CELLS
           else "") for name, cells in feeds.items())
    text = (f"{_name(step, cell)} is wrong. It is computed from {listed}."
            if listed else f"{_name(step, cell)} is wrong.")
    if level == 2:
        text += " " + _formula(step, cell, g, config, lr)
    return Hint(level, cell, text, feeds)
