"""The ordered steps of one training iteration: the one source of truth for the sequence.

The server serves this list and the page renders from it. Each step names the tensor it
writes, the tensors it reads, its formula in the seed's notation (LaTeX), one plain sentence,
and a function that substitutes the live numbers of a trace into the formula.

Order: forward  Z1 A1 P1 F Z2 A2 L;
       backward dA2 dZ2 dW2 db2 dF dP1 dA1 dZ1 dW1 db1 (the seed's order);
       update   W1 b1 W2 b2.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from .layers import pool_windows
from .model import Trace
from .provenance import provenance

Tensors = Trace  # a trace: every tensor by name, and its config


@dataclass(frozen=True)
class Formula:
    """A second tensor a step computes beside the one it writes (the conv's backward gives
    dX with dW1), with its own formula and the same with the live numbers."""

    writes: str
    latex: str
    numbers: Callable[[Tensors, float | None], str | None]


@dataclass(frozen=True)
class Step:
    phase: str  # "forward", "backward" or "update"
    writes: str
    reads: tuple[str, ...]
    latex: str
    text: str
    numbers: Callable[[Tensors, float | None], str | None]
    also: tuple[Formula, ...] = ()

    @property
    def reveals(self) -> tuple[str, ...]:
        """The trace's tensors this step makes known: what it writes, and what it computes
        beside it (dX beside dW1: the conv's backward gives both). An update step reveals a
        new parameter, not a tensor of this pass's trace: nothing here."""
        if self.phase == "update":
            return ()
        return (self.writes, *(f.writes for f in self.also))


# ------------------------------------------------------------------- number formatting
# One rule for every number the page prints (cells, cards, formulas, hover), kept in step
# with static/js/common/format.js: round to 4 significant digits; write it plainly when
# 0.001 <= |rounded value| < 100000, else as a power of ten; drop trailing zeros. A heatmap cell
# rounds the same value to fewer significant digits when the cell is too narrow.
DIGITS = 4


def _plain(value: float) -> str:
    return str(int(value)) if value == int(value) else repr(value)


def num_parts(value: float, digits: int = DIGITS) -> tuple[str, int | None]:
    """The rule's mantissa and exponent (None when written plainly)."""
    value = float(value)
    if value == 0:
        return "0", None
    rounded = float(f"{value:.{digits}g}")
    if 1e-3 <= abs(rounded) < 1e5:
        return _plain(rounded), None
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    return _plain(float(mantissa)), int(exponent)


def num_text(value: float, digits: int = DIGITS) -> str:
    """The rule as plain text: ``0.7311``, ``-2.576e-4``."""
    mantissa, exponent = num_parts(value, digits)
    return mantissa if exponent is None else f"{mantissa}e{exponent}"


def num(value: float, *, paren: bool = False) -> str:
    """A number for a formula, by the rule above, with LaTeX powers of ten and optional
    parentheses around a negative value (for products)."""
    value = float(value)
    mantissa, exponent = num_parts(value)
    text = mantissa if exponent is None else rf"{mantissa} \times 10^{{{exponent}}}"
    return f"({text})" if paren and value < 0 else text


def vec(values: np.ndarray) -> str:
    return r"\left[" + ",\\ ".join(map(num, np.ravel(values).tolist())) + r"\right]"


def idx(index: tuple[int, ...], filters: int) -> str:
    """A cell's subscript: its full index in the tensor's shape, filter axis first, written
    as the page writes it everywhere else (``dA1[0,0,1]``)."""
    return "[" + ",".join(str(i) for i in index) + "]"


FIT = 4  # a vector of at most this many numbers is written out on one line


def _d(name: str) -> str:
    return rf"\frac{{\partial L}}{{\partial {name}}}"


# ---------------------------------------------------------- live numbers of each step
def _z1(t: Tensors, lr: float | None) -> str:
    K, k = t["W1"].shape[0], t["W1"].shape[-1]
    s = float(np.sum(t["X"][:k, :k] * t["W1"][0]))
    w = "W_1[0,a,b]" if K > 1 else "W_1[a,b]"
    return (rf"Z_1{idx((0, 0, 0), K)} = \sum_{{a,b}} X[a,b]\,{w} + b_1"
            rf" = {num(s)} + {num(t['b1'][0], paren=True)} = {num(t['Z1'][0, 0, 0])}")


def _a1(t: Tensors, lr: float | None) -> str:
    K = t["W1"].shape[0]
    z = t["Z1"][0, 0, 0]
    active = int(np.count_nonzero(t["Z1"] > 0))
    return (rf"A_1{idx((0, 0, 0), K)} = \max({num(z)}, 0) = {num(t['A1'][0, 0, 0])}"
            rf"\quad({active} \text{{ of }} {t['Z1'].size} \text{{ cells pass}})")


def _p1(t: Tensors, lr: float | None) -> str:
    K, p = t["W1"].shape[0], t.config.pool_size
    window = pool_windows(t["A1"], p)[0, 0, 0]
    return (rf"P_1{idx((0, 0, 0), K)} = \max({', '.join(num(v) for v in window)})"
            rf" = {num(t['P1'][0, 0, 0])}")


def _f(t: Tensors, lr: float | None) -> str | None:
    return rf"F = {vec(t['F'])}" if t["F"].size <= 2 * FIT else None


def _z2(t: Tensors, lr: float | None) -> str:
    F, W2, b2 = t["F"], t["W2"][0], t["b2"][0]
    if F.size <= FIT:
        terms = " + ".join(f"{num(f, paren=True)} \\times {num(w, paren=True)}"
                          for f, w in zip(F, W2))
    else:
        terms = num(float(F @ W2))
    return rf"Z_2 = {terms} + {num(b2, paren=True)} = {num(t['Z2'])}"


def _a2(t: Tensors, lr: float | None) -> str:
    return rf"A_2 = \frac{{1}}{{1 + e^{{-{num(t['Z2'], paren=True)}}}}} = {num(t['A2'])}"


SATURATED = 1e-4  # an A2 this close to 0 or 1 prints as 0 or 1: show the logit instead


def _saturated(t: Tensors) -> bool:
    a = float(t["A2"])
    return min(a, 1.0 - a) < SATURATED


def _l(t: Tensors, lr: float | None) -> str:
    y, a, z = float(t["Y"]), float(t["A2"]), float(t["Z2"])
    if _saturated(t):  # log(1 - A2) of a rounded A2 would read log 0
        return (rf"L = \log(1 + e^{{Z_2}}) - Y Z_2 = \log(1 + e^{{{num(z)}}})"
                rf" - {num(y)} \times {num(z, paren=True)} = {num(t['L'])}")
    return (rf"L = -{num(y)}\,\log\,{num(a)} - (1 - {num(y)})\,\log(1 - {num(a)})"
            rf" = {num(t['L'])}")


def _da2(t: Tensors, lr: float | None) -> str:
    y, a, z = float(t["Y"]), float(t["A2"]), float(t["Z2"])
    value = r"\infty \text{ (beyond float64)}" if not np.isfinite(t["dA2"]) else num(t["dA2"])
    if _saturated(t) or not np.isfinite(t["dA2"]):
        # 1/A2 = 1 + e^-Z2 and 1/(1 - A2) = 1 + e^Z2: exact where A2 itself rounds
        term = (rf"-(1 + e^{{{num(-z, paren=True)}}})" if y == 1
                else rf"1 + e^{{{num(z, paren=True)}}}")
        form = r"-(1 + e^{-Z_2})" if y == 1 else r"1 + e^{Z_2}"
        return rf"{_d('A_2')} = {form} = {term} = {value}"
    return (rf"{_d('A_2')} = \frac{{{num(a)} - {num(y)}}}{{{num(a)}\,(1 - {num(a)})}}"
            rf" = {value}")


def _dz2(t: Tensors, lr: float | None) -> str:
    a, y = float(t["A2"]), float(t["Y"])
    tail = rf"A_2 - Y = {num(a)} - {num(y)} = {num(t['dZ2'])}"
    if _saturated(t) or not np.isfinite(t["dA2"]):  # dA2 x a(1 - a) would read inf x 0
        return rf"{_d('Z_2')} = {tail}"
    # The chain rule in one line: both factors with their numbers, so a(1 - a) is seen.
    return (rf"{_d('Z_2')} = {_d('A_2')} \times A_2(1 - A_2) = {num(t['dA2'], paren=True)}"
            rf" \times {num(a)}\,(1 - {num(a)}) = {tail}")


def _dw2(t: Tensors, lr: float | None) -> str | None:
    if t["F"].size > FIT:
        return None
    return (rf"{_d('W_2')} = {_d('Z_2')}\,F^T = {num(t['dZ2'], paren=True)}\,{vec(t['F'])}"
            rf" = {vec(t['dW2'])}")


def _db2(t: Tensors, lr: float | None) -> str:
    return (rf"{_d('b_2')} = {_d('Z_2')} \times \frac{{\partial Z_2}}{{\partial b_2}}"
            rf" = {num(t['dZ2'], paren=True)} \times 1 = {num(t['db2'][0])}")


def _df(t: Tensors, lr: float | None) -> str | None:
    if t["F"].size > FIT:
        return None
    return (rf"{_d('F')} = {_d('Z_2')}\,W_2 = {num(t['dZ2'], paren=True)}\,{vec(t['W2'])}"
            rf" = {vec(t['dF'])}")


def _dp1(t: Tensors, lr: float | None) -> str | None:
    q = t["P1"].shape[-1]
    if t["F"].size > FIT:
        return None
    return rf"{_d('P_1')} = \mathrm{{reshape}}({vec(t['dF'])}, {q}\times{q})"


def _first_route(t: Tensors) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """The first pooling window's winner in A1, and that window's P1 cell."""
    p = t.config.pool_size
    win = int(pool_windows(t["A1"], p)[0, 0, 0].argmax())
    return (0, win // p, win % p), (0, 0, 0)


def _da1(t: Tensors, lr: float | None) -> str:
    K = t["W1"].shape[0]
    cell, pooled = _first_route(t)
    routed = int(np.count_nonzero(t["dA1"]))
    # The chain rule in one line: dP1 times the pool's local derivative, 1 for the winner.
    return (rf"{_d('A_1')}{idx(cell, K)} = {_d('P_1')}{idx(pooled, K)} \times"
            rf" \frac{{\partial P_1}}{{\partial A_1}}{idx(cell, K)}"
            rf" = {num(t['dP1'][pooled], paren=True)} \times 1 = {num(t['dA1'][cell])}"
            rf"\quad(\text{{{t['dA1'].size - routed} other cells get }} 0)")


def _dz1(t: Tensors, lr: float | None) -> str:
    K = t["W1"].shape[0]
    cell, _ = _first_route(t)
    gate = 1 if t["Z1"][cell] > 0 else 0
    return (rf"{_d('Z_1')}{idx(cell, K)} = {_d('A_1')}{idx(cell, K)} \times"
            rf" \frac{{\partial A_1}}{{\partial Z_1}}{idx(cell, K)}"
            rf" = {num(t['dA1'][cell], paren=True)} \times {gate}"
            rf" = {num(t['dZ1'][cell])}")


def _dw1(t: Tensors, lr: float | None) -> str:
    K, m = t["W1"].shape[0], t["Z1"].shape[-1]
    dz, window = t["dZ1"][0], t["X"][:m, :m]
    used = np.flatnonzero(dz)
    if 0 < used.size <= FIT:
        terms = " + ".join(
            f"{num(window.flat[i], paren=True)} \\times {num(dz.flat[i], paren=True)}"
            for i in used)
    else:
        terms = rf"\sum_{{i,j}} X[i,j]\,{_d('Z_1')}[i,j]"
    return rf"{_d('W_1')}{idx((0, 0, 0), K)} = {terms} = {num(t['dW1'][0, 0, 0])}"


def _dx(t: Tensors, lr: float | None) -> str:
    """One cell of the full convolution: the cell of dX largest in size (the saliency
    map's peak), its terms written out when there are at most FIT that are not 0."""
    dX = t["dX"]
    i, j = np.unravel_index(int(np.argmax(np.abs(dX))), dX.shape)
    # the cells that feed it are provenance's: every position whose window covers (i, j)
    feeding = provenance(t, "dX", (int(i), int(j)))
    terms = [(g, w) for w, g in feeding["factors"] if g != 0]
    if 0 < len(terms) <= FIT:
        sums = " + ".join(f"{num(g, paren=True)} \\times {num(w, paren=True)}"
                          for g, w in terms)
    else:
        sums = rf"\sum_f \sum_{{a,b}} {_d('Z_1')}[f,{i}-a,{j}-b]\,W_1[f,a,b]"
    return rf"{_d('X')}{idx((int(i), int(j)), 1)} = {sums} = {num(dX[i, j])}"


def _db1(t: Tensors, lr: float | None) -> str:
    K = t["W1"].shape[0]
    used = t["dZ1"][0][t["dZ1"][0] != 0]
    terms = " + ".join(num(v, paren=True) for v in used) if 0 < used.size <= FIT else (
        rf"\sum_{{i,j}} {_d('Z_1')}[i,j]")
    return rf"{_d('b_1')}{idx((0,), K) if K > 1 else ''} = {terms} = {num(t['db1'][0])}"


def _update(name: str, latex_name: str) -> Callable[[Tensors, float | None], str | None]:
    def numbers(t: Tensors, lr: float | None) -> str | None:
        if lr is None:
            return None
        old, grad = t[name].flat[0], t["d" + name].flat[0]
        shape = np.shape(t[name])
        where = "" if t[name].size == 1 else "[" + ",".join("0" * len(shape)) + "]"
        return (rf"{latex_name}{where} \leftarrow {num(old)} - {num(lr)} \times"
                rf" {num(grad, paren=True)} = {num(old - lr * grad)}")
    return numbers


STEPS: tuple[Step, ...] = (
    Step("forward", "Z1", ("X", "W1", "b1"), r"Z_1 = \mathrm{Conv}(X, W_1) + b_1",
         "Slide the filter W1 over X: each cell of Z1 is the sum of one window of X times "
         "W1, plus the bias b1.", _z1),
    Step("forward", "A1", ("Z1",), r"A_1 = \mathrm{ReLU}(Z_1) = \max(Z_1, 0)",
         "ReLU keeps the positive cells of Z1 and sets every negative one to zero.", _a1),
    Step("forward", "P1", ("A1",), r"P_1 = \mathrm{MaxPool}(A_1)",
         "Max-pooling keeps the largest value of each window of A1.", _p1),
    Step("forward", "F", ("P1",), r"F = \mathrm{Flatten}(P_1)",
         "Flatten lays the pooled cells out in one row, filter by filter, row by row.", _f),
    Step("forward", "Z2", ("F", "W2", "b2"), r"Z_2 = F\,{W_2}^{T} + b_2",
         "The dense layer weighs every feature by W2 and adds b2: one number, the logit.", _z2),
    Step("forward", "A2", ("Z2",), r"A_2 = \sigma(Z_2) = \frac{1}{1 + e^{-Z_2}}",
         "The sigmoid squashes the logit into a probability that the label is 1.", _a2),
    Step("forward", "L", ("A2", "Y"), r"L = -Y\,\log\,A_2 - (1 - Y)\,\log(1 - A_2)",
         "Binary cross-entropy: small when A2 is close to the label Y, large when it is "
         "confidently wrong.", _l),
    Step("backward", "dA2", ("A2", "Y"),
         rf"{_d('A_2')} = -\frac{{Y}}{{A_2}} + \frac{{1 - Y}}{{1 - A_2}}"
         r" = \frac{A_2 - Y}{A_2 (1 - A_2)}",
         "How the loss changes with the predicted probability.", _da2),
    Step("backward", "dZ2", ("dA2", "A2", "Y"),
         rf"{_d('Z_2')} = {_d('A_2')} \times \frac{{\partial A_2}}{{\partial Z_2}}"
         r" = \frac{A_2 - Y}{A_2 (1 - A_2)} \times A_2 (1 - A_2) = A_2 - Y",
         "The sigmoid's derivative A2(1 - A2) cancels the denominator: the error at the "
         "logit is simply A2 - Y.", _dz2),
    Step("backward", "dW2", ("dZ2", "F"),
         rf"{_d('W_2')} = {_d('Z_2')} \times \frac{{\partial Z_2}}{{\partial W_2}}"
         r" = (A_2 - Y) F^T",
         "Each dense weight's gradient is the error times the feature it multiplies.", _dw2),
    Step("backward", "db2", ("dZ2",),
         rf"{_d('b_2')} = {_d('Z_2')} \times \frac{{\partial Z_2}}{{\partial b_2}}"
         r" = (A_2 - Y) \times 1",
         "The bias adds 1 times itself to Z2, so its gradient is the error itself.", _db2),
    Step("backward", "dF", ("dZ2", "W2"),
         rf"{_d('F')} = {_d('Z_2')} \times \frac{{\partial Z_2}}{{\partial F}}"
         r" = (A_2 - Y) W_2",
         "The error flows back to each feature through the weight that feature met.", _df),
    Step("backward", "dP1", ("dF",),
         rf"{_d('P_1')} = {_d('F')} \times \frac{{\partial F}}{{\partial P_1}}"
         rf" = \mathrm{{reshape}}\left({_d('F')}, P_1.\mathrm{{shape}}\right)",
         "Flatten only moved numbers around, so its gradient is the same numbers put back "
         "in the pooled grid.", _dp1),
    Step("backward", "dA1", ("dP1", "A1"),
         rf"{_d('A_1')}_{{mn}} = \begin{{cases}} {_d('P_1')}_{{xy}}"
         r" & \text{if } A_{1,mn} \text{ is the max of its window} \\"
         r" 0 & \text{otherwise} \end{cases}",
         "Max-pooling passes each window's gradient to the cell that won the window (the "
         "first maximum, reading row by row); every other cell gets zero.", _da1),
    Step("backward", "dZ1", ("dA1", "Z1"),
         rf"{_d('Z_1')} = {_d('A_1')} \odot \frac{{\partial A_1}}{{\partial Z_1}},\quad"
         r" \frac{\partial A_1}{\partial Z_1} = \begin{cases} 1 & Z_1 > 0 \\"
         r" 0 & Z_1 \le 0 \end{cases}",
         "ReLU lets the gradient through where Z1 was positive and blocks it elsewhere.",
         _dz1),
    Step("backward", "dW1", ("dZ1", "X"),
         rf"{_d('W_1')} = {_d('Z_1')} \times \frac{{\partial Z_1}}{{\partial W_1}}"
         rf" = \mathrm{{Conv}}\left(X, {_d('Z_1')}\right)",
         "Each filter weight's gradient sums, over every position, the X value it touched "
         "times that position's gradient in dZ1. The same backward pass gives dX, the "
         "gradient with respect to the input (a saliency map): the full convolution of dZ1 "
         "with the flipped filter, so each input cell collects, from every position whose "
         "window covered it, that position's gradient times the weight it met.", _dw1,
         also=(Formula(
             "dX",
             rf"{_d('X')}[i,j] = \sum_f \sum_{{a,b}} {_d('Z_1')}[f,i-a,j-b]\,W_1[f,a,b]"
             rf" = \mathrm{{FullConv}}\left({_d('Z_1')}, \mathrm{{flip}}(W_1)\right)[i,j]",
             _dx),)),
    Step("backward", "db1", ("dZ1",),
         rf"{_d('b_1')} = \sum_{{i,j}} {_d('Z_1')}[i,j]",
         "The conv bias is added at every position, so its gradient is the sum of dZ1.",
         _db1),
    Step("update", "W1", ("W1", "dW1"), rf"W_1 \leftarrow W_1 - \eta {_d('W_1')}",
         "Gradient descent moves every filter weight a small step against its gradient.",
         _update("W1", "W_1")),
    Step("update", "b1", ("b1", "db1"), rf"b_1 \leftarrow b_1 - \eta {_d('b_1')}",
         "The conv bias takes the same kind of step.", _update("b1", "b_1")),
    Step("update", "W2", ("W2", "dW2"), rf"W_2 \leftarrow W_2 - \eta {_d('W_2')}",
         "Every dense weight steps against its gradient.", _update("W2", "W_2")),
    Step("update", "b2", ("b2", "db2"), rf"b_2 \leftarrow b_2 - \eta {_d('b_2')}",
         "Last, the dense bias: after this the next forward pass uses the new parameters.",
         _update("b2", "b_2")),
)

PHASES = ("forward", "backward", "update")
# Every tensor of a pass in the order of the math, with a short title for its heatmap.
TITLES = {
    "X": "input", "Y": "label", "W1": "filter", "b1": "conv bias", "Z1": "conv",
    "A1": "ReLU", "P1": "max-pool", "F": "flatten", "W2": "dense weights", "b2": "dense bias",
    "Z2": "logit", "A2": "σ, the prediction", "L": "loss",
    "dA2": "∂L/∂A2", "dZ2": "∂L/∂Z2", "dW2": "∂L/∂W2", "db2": "∂L/∂b2", "dF": "∂L/∂F",
    "dP1": "∂L/∂P1", "dA1": "∂L/∂A1", "dZ1": "∂L/∂Z1", "dW1": "∂L/∂W1", "db1": "∂L/∂b1",
    "dX": "saliency",
}
GIVEN = ("X", "Y", "W1", "b1", "W2", "b2")  # known before the first step of a pass


def known(cursor: int) -> tuple[str, ...]:
    """The trace's tensors a walk has shown once step ``cursor`` is done (-1: before the
    first step): the given ones, then what each step up to the cursor reveals. The one
    rule for what a walk may send; everything else stays on the server."""
    if not -1 <= cursor < len(STEPS):
        raise ValueError(f"cursor must be in [-1, {len(STEPS) - 1}], got {cursor}")
    return GIVEN + tuple(name for step in STEPS[:cursor + 1] for name in step.reveals)


def step_records(tensors: Tensors, lr: float | None = None) -> list[dict[str, object]]:
    """Every step as a plain record with the live numbers of a trace substituted.

    ``{index, phase, writes, reads, latex, latex_numbers, text, reveals, also}``;
    ``latex_numbers`` is None where the numbers do not fit on a line (or, for the update,
    when no lr is given); ``also`` lists the formulas of what the step computes beside what
    it writes, each ``{writes, latex, latex_numbers}``.
    """
    return [
        {"index": i, "phase": s.phase, "writes": s.writes, "reads": list(s.reads),
         "latex": s.latex, "latex_numbers": s.numbers(tensors, lr), "text": s.text,
         "reveals": list(s.reveals),
         "also": [{"writes": f.writes, "latex": f.latex, "latex_numbers": f.numbers(tensors, lr)}
                  for f in s.also]}
        for i, s in enumerate(STEPS)
    ]


def step_value(tensors: Tensors, index: int, lr: float) -> np.ndarray:
    """The value step ``index`` writes: a trace's tensor, or for an update step the new
    parameter P - lr * dP."""
    step = STEPS[index]
    if step.phase == "update":
        return tensors[step.writes] - lr * tensors["d" + step.writes]
    return tensors[step.writes]
