"""The sigmoid output with binary cross-entropy: A = σ(Z), L = -Y log A - (1 - Y) log(1 - A),
and dZ = A - Y (the sigmoid's derivative cancels the loss's denominator). Y is 0 or 1.

L is computed from the logit as softplus(Z) - Y Z, the same value, which stays finite when A
rounds to exactly 0 or 1; dA is computed from the logit too (1/A = 1 + e^-Z,
1/(1 - A) = 1 + e^Z), so it is infinite only where the true value overflows float64.
"""

from __future__ import annotations

import numpy as np

from ..notation import Step, d, num, tex
from .sigmoid import sigma

ROLE = "output"
OPTIONS: dict = {}
TITLE = "σ, the prediction"
LOGIT_TITLE = "logit"
SATURATED = 1e-4  # an A this close to 0 or 1 prints as 0 or 1: show the logit instead

# What engine.compare says of this kind beside the one a switch trades it for
# (templates: {in} {out} {dout} {din} name the node's tensors).
CONTRAST = {"name": "sigmoid",
            "forward": "σ turns the single logit {in} into one probability, that the label is 1",
            "loss": "binary cross-entropy is −log {out} when Y = 1 and −log(1 − {out}) when "
                    "Y = 0",
            "backward": "binary cross-entropy's gradient is one number, −1/{out} or "
                        "1/(1 − {out})",
            "error": "σ with binary cross-entropy gives {din} = {out} − Y, one error"}


def label(layer) -> str:
    return "σ + BCE"


def check_y(y: object, classes: int) -> float:
    if isinstance(y, int | float | np.integer | np.floating) and not isinstance(y, bool):
        if float(y) in (0.0, 1.0):
            return float(y)
    if isinstance(y, np.ndarray) and y.shape == () and y.dtype.kind in "iuf":
        return check_y(y.item(), classes)
    raise ValueError(f"Y must be 0 or 1, got {y!r}")


def forward(z: np.ndarray, y: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], tuple]:
    """z (N, 1), y (N,) of 0/1 -> A (N, 1), L (N,)."""
    zz = z[:, 0]
    A = sigma(zz)
    L = np.logaddexp(0.0, zz) - y * zz
    return (A[:, None], L), (zz, A, y)


def backward(cache: tuple) -> tuple[np.ndarray, np.ndarray]:
    """-> dA (N, 1), dZ (N, 1) of the batch's mean loss."""
    z, A, y = cache
    N = z.shape[0]
    with np.errstate(over="ignore"):
        dA = np.where(y == 1, -(1.0 + np.exp(-z)), 1.0 + np.exp(z))
    return (dA / N)[:, None], ((A - y) / N)[:, None]


def predicted(A: np.ndarray) -> np.ndarray:
    """The class each example is given: A > 0.5."""
    return (A[:, 0] > 0.5).astype(np.float64)


def _saturated(t, A: str) -> bool:
    a = float(t[A])
    return min(a, 1.0 - a) < SATURATED


def forward_steps(node, net) -> list[Step]:
    A, Z = tex(node.writes), tex(node.reads)
    An, Zn = node.writes, node.reads

    def a_numbers(t, lr):
        return rf"{A} = \frac{{1}}{{1 + e^{{-{num(t[Zn], paren=True)}}}}} = {num(t[An])}"

    def l_numbers(t, lr):
        y, a, z = float(t["Y"]), float(t[An]), float(t[Zn])
        if _saturated(t, An):  # log(1 - A) of a rounded A would read log 0
            return (rf"L = \log(1 + e^{{{Z}}}) - Y {Z} = \log(1 + e^{{{num(z)}}})"
                    rf" - {num(y)} \times {num(z, paren=True)} = {num(t['L'])}")
        return (rf"L = -{num(y)}\,\log\,{num(a)} - (1 - {num(y)})\,\log(1 - {num(a)})"
                rf" = {num(t['L'])}")

    return [
        Step("forward", An, (Zn,), rf"{A} = \sigma({Z}) = \frac{{1}}{{1 + e^{{-{Z}}}}}",
             "The sigmoid squashes the logit into a probability that the label is 1.",
             a_numbers),
        Step("forward", "L", (An, "Y"), rf"L = -Y\,\log\,{A} - (1 - Y)\,\log(1 - {A})",
             f"Binary cross-entropy: small when {An} is close to the label Y, large when it "
             "is confidently wrong.", l_numbers),
    ]


def backward_steps(node, net) -> list[Step]:
    A, Z = tex(node.writes), tex(node.reads)
    An, Zn = node.writes, node.reads

    def da_numbers(t, lr):
        y, a, z = float(t["Y"]), float(t[An]), float(t[Zn])
        value = (r"\infty \text{ (beyond float64)}" if not np.isfinite(t["d" + An])
                 else num(t["d" + An]))
        if _saturated(t, An) or not np.isfinite(t["d" + An]):
            term = (rf"-(1 + e^{{{num(-z, paren=True)}}})" if y == 1
                    else rf"1 + e^{{{num(z, paren=True)}}}")
            form = rf"-(1 + e^{{-{Z}}})" if y == 1 else rf"1 + e^{{{Z}}}"
            return rf"{d(A)} = {form} = {term} = {value}"
        return (rf"{d(A)} = \frac{{{num(a)} - {num(y)}}}{{{num(a)}\,(1 - {num(a)})}}"
                rf" = {value}")

    def dz_numbers(t, lr):
        a, y = float(t[An]), float(t["Y"])
        tail = rf"{A} - Y = {num(a)} - {num(y)} = {num(t['d' + Zn])}"
        if _saturated(t, An) or not np.isfinite(t["d" + An]):
            return rf"{d(Z)} = {tail}"
        return (rf"{d(Z)} = {d(A)} \times {A}(1 - {A}) = {num(t['d' + An], paren=True)}"
                rf" \times {num(a)}\,(1 - {num(a)}) = {tail}")

    return [
        Step("backward", "d" + An, (An, "Y"),
             rf"{d(A)} = -\frac{{Y}}{{{A}}} + \frac{{1 - Y}}{{1 - {A}}}"
             rf" = \frac{{{A} - Y}}{{{A} (1 - {A})}}",
             "How the loss changes with the predicted probability.", da_numbers),
        Step("backward", "d" + Zn, ("d" + An, An, "Y"),
             rf"{d(Z)} = {d(A)} \times \frac{{\partial {A}}}{{\partial {Z}}}"
             rf" = \frac{{{A} - Y}}{{{A} (1 - {A})}} \times {A} (1 - {A}) = {A} - Y",
             f"The sigmoid's derivative {An}(1 - {An}) cancels the denominator: the error at "
             f"the logit is simply {An} - Y.", dz_numbers),
    ]


def sources(node, net) -> dict:
    return {}


def marks(t, node) -> dict:
    return {}


# ---------------------------------------------------------------- fit and misconceptions
from ..misconceptions import Misconception  # noqa: E402
from . import _wrong  # noqa: E402

FIT_MARGIN = 0.01  # a drawn example keeps A this far from 0 and 1: logs a student can take


def unfit(t, node) -> list[str]:
    a = float(t[node.writes])
    return [f"{node.writes} is saturated"] if min(a, 1 - a) < FIT_MARGIN else []


def _y(g):
    return float(_wrong.a(g, "Y"))


def _a_no_sigmoid(g, node, lr):
    return _wrong.a(g, node.reads).copy()


def _l_no_minus(g, node, lr):
    y, a = _y(g), float(_wrong.a(g, node.writes))
    return np.asarray(y * np.log(a) + (1 - y) * np.log(1 - a))


def _da_no_denominator(g, node, lr):
    return np.asarray(float(_wrong.a(g, node.writes)) - _y(g))


def _da_sign(g, node, lr):
    a, y = float(_wrong.a(g, node.writes)), _y(g)
    return np.asarray((y - a) / (a * (1 - a)))


def _dz_divided(g, node, lr):
    a, y = float(_wrong.a(g, node.writes)), _y(g)
    return np.asarray((a - y) / (a * (1 - a)))


def _dz_sign(g, node, lr):
    return np.asarray(_y(g) - float(_wrong.a(g, node.writes)))


def _dz_times_derivative(g, node, lr):
    a, y = float(_wrong.a(g, node.writes)), _y(g)
    return np.asarray((a - y) * a * (1 - a))


MISCONCEPTIONS = (
    Misconception("no-sigmoid", "forward", "Sigmoid left out",
       "{out} is the probability σ({in}) = 1 / (1 + e^(−{in})), between 0 and 1; {in} itself is "
       "the logit before the sigmoid.", _a_no_sigmoid),
    Misconception("no-minus", "loss", "Minus sign dropped",
       "The log of a probability is negative; cross-entropy puts a minus in front so the "
       "loss is positive: L = −Y log {out} − (1 − Y) log(1 − {out}).", _l_no_minus),
    Misconception("no-denominator", "dA", "Denominator left out",
       "dL/d{out} = ({out} − Y) / ({out} (1 − {out})). {out} − Y alone is dL/d{in}, after the "
       "sigmoid's derivative has cancelled the denominator.", _da_no_denominator),
    Misconception("sign", "dA", "Sign flipped",
       "dL/d{out} = ({out} − Y) / ({out} (1 − {out})): with Y = 1 and {out} below 1 it is "
       "negative, since raising {out} towards the label lowers the loss.", _da_sign),
    Misconception("divided", "backward", "Divided by {out}(1 − {out})",
       "dL/d{in} = dL/d{out} × {out}(1 − {out}): the sigmoid's derivative multiplies, and "
       "cancels the denominator of dL/d{out}, leaving {out} − Y. Dividing again gives dL/d{out} "
       "back.", _dz_divided),
    Misconception("sign", "backward", "Sign flipped (Y − {out})",
       "dL/d{in} = {out} − Y: when the prediction is above the label the gradient is "
       "positive, so gradient descent pushes {in} down.", _dz_sign),
    Misconception("times-derivative", "backward", "Multiplied by {out}(1 − {out}) again",
       "{out}(1 − {out}) is the sigmoid's derivative, and it already cancelled the denominator "
       "of dL/d{out}: dL/d{in} = {out} − Y with nothing more.", _dz_times_derivative),
)
