"""The softmax output with cross-entropy over C classes: A = softmax(Z), L = -log A[Y], and
dZ = A - onehot(Y) (softmax's Jacobian cancels the 1/A of the loss, as the sigmoid's does
for binary cross-entropy). Y is a class 0 ... C-1.

L is computed as logsumexp(Z) - Z[Y], finite when A[Y] rounds to 0; dA[Y] = -1/A[Y] as
-sum_c e^(Z[c] - Z[Y]), exact where A[Y] itself rounds.
"""

from __future__ import annotations

import numpy as np

from ..notation import FIT, Step, d, idx, num, tex

ROLE = "output"
OPTIONS: dict = {}
TITLE = "softmax, the prediction"
LOGIT_TITLE = "logits"

# What engine.compare says of this kind beside the one a switch trades it for
# (templates: {in} {out} {dout} {din} name the node's tensors).
CONTRAST = {"name": "softmax",
            "forward": "softmax turns the {classes} logits of {in} into {classes} probabilities, "
                       "one per class, that add up to 1",
            "loss": "cross-entropy is −log {out}[Y], the probability given to the true class",
            "backward": "cross-entropy's gradient is −1/{out}[Y] at the true class and 0 at the "
                        "other {others}",
            "error": "softmax with cross-entropy gives {din} = {out} − onehot(Y), one error "
                     "per class"}


def label(layer) -> str:
    return "softmax + CE"


def check_y(y: object, classes: int) -> float:
    value = y.item() if isinstance(y, np.ndarray) and y.shape == () else y
    if isinstance(value, int | float | np.integer | np.floating) and not isinstance(value, bool):
        if float(value) == int(value) and 0 <= int(value) < classes:
            return float(value)
    raise ValueError(f"Y must be a class from 0 to {classes - 1}, got {y!r}")


def forward(z: np.ndarray, y: np.ndarray) -> tuple[tuple[np.ndarray, np.ndarray], tuple]:
    """z (N, C), y (N,) of classes -> A (N, C), L (N,)."""
    shifted = z - z.max(axis=1, keepdims=True)
    e = np.exp(shifted)
    total = e.sum(axis=1, keepdims=True)
    A = e / total
    rows = np.arange(z.shape[0])
    labels = y.astype(np.intp)
    L = np.log(total[:, 0]) - shifted[rows, labels]
    return (A, L), (z, A, labels)


def backward(cache: tuple) -> tuple[np.ndarray, np.ndarray]:
    """-> dA (N, C) (0 but at the label), dZ (N, C) = (A - onehot) / N."""
    z, A, labels = cache
    N = z.shape[0]
    rows = np.arange(N)
    onehot = np.zeros_like(A)
    onehot[rows, labels] = 1.0
    with np.errstate(over="ignore"):
        inverse = np.exp(z - z[rows, labels][:, None]).sum(axis=1)  # 1 / A[Y]
    dA = np.zeros_like(A)
    dA[rows, labels] = -inverse
    return dA / N, (A - onehot) / N


def predicted(A: np.ndarray) -> np.ndarray:
    return A.argmax(axis=1).astype(np.float64)


def forward_steps(node, net) -> list[Step]:
    A, Z = tex(node.writes), tex(node.reads)
    An, Zn = node.writes, node.reads

    def a_numbers(t, lr):
        y = int(t["Y"])
        z = np.asarray(t[Zn])
        if z.size <= FIT:
            below = " + ".join(rf"e^{{{num(v)}}}" for v in z)
        else:
            below = rf"\sum_c e^{{{Z}[c]}}"
        return (rf"{A}{idx((y,))} = \frac{{e^{{{num(z[y])}}}}}{{{below}}}"
                rf" = {num(t[An][y])}")

    def l_numbers(t, lr):
        y = int(t["Y"])
        return rf"L = -\log {A}{idx((y,))} = -\log {num(t[An][y])} = {num(t['L'])}"

    return [
        Step("forward", An, (Zn,),
             rf"{A}[c] = \mathrm{{softmax}}({Z})[c]"
             rf" = \frac{{e^{{{Z}[c]}}}}{{\sum_{{c'}} e^{{{Z}[c']}}}}",
             "Softmax turns the logits into probabilities, one per class, that add up to 1.",
             a_numbers),
        Step("forward", "L", (An, "Y"), rf"L = -\log {A}[Y]",
             "Cross-entropy: minus the log of the probability given to the true class Y; "
             "small when that class is confidently chosen.", l_numbers),
    ]


def backward_steps(node, net) -> list[Step]:
    A, Z = tex(node.writes), tex(node.reads)
    An, Zn = node.writes, node.reads
    C = node.in_shape[0]

    def da_numbers(t, lr):
        y = int(t["Y"])
        value = t["d" + An][y]
        shown = r"-\infty \text{ (beyond float64)}" if not np.isfinite(value) else num(value)
        return (rf"{d(A)}{idx((y,))} = -\frac{{1}}{{{num(t[An][y])}}} = {shown}"
                rf"\quad(\text{{the other {C - 1} get }} 0)")

    def dz_numbers(t, lr):
        y = int(t["Y"])
        return (rf"{d(Z)}{idx((y,))} = {A}{idx((y,))} - 1 = {num(t[An][y])} - 1"
                rf" = {num(t['d' + Zn][y])}")

    return [
        Step("backward", "d" + An, (An, "Y"),
             rf"{d(A)}[c] = -\frac{{[c = Y]}}{{{A}[c]}}",
             "Only the true class's probability is in the loss: its gradient is -1 over it, "
             "every other class's is 0.", da_numbers),
        Step("backward", "d" + Zn, ("d" + An, An, "Y"),
             rf"{d(Z)}[c] = \sum_{{c'}} {d(A)}[c']\,\frac{{\partial {A}[c']}}{{\partial {Z}[c]}}"
             rf" = {A}[c] - [c = Y]",
             f"Softmax's Jacobian cancels the 1/{An}[Y]: the error at each logit is {An} "
             "minus the one-hot label, just as σ with binary cross-entropy gives A - Y.",
             dz_numbers),
    ]


def sources(node, net) -> dict:
    return {}


def marks(t, node) -> dict:
    return {}


# ---------------------------------------------------------------- fit and misconceptions
from ..misconceptions import Misconception  # noqa: E402
from . import _wrong  # noqa: E402

FIT_MARGIN = 0.01  # a drawn example keeps every probability this far from 0 and 1


def unfit(t, node) -> list[str]:
    A = np.asarray(t[node.writes])
    if A.min() < FIT_MARGIN or A.max() > 1 - FIT_MARGIN:
        return [f"{node.writes} is saturated"]
    return []


def _onehot(g, node) -> np.ndarray:
    A = _wrong.a(g, node.writes)
    out = np.zeros_like(A)
    out[int(_wrong.a(g, "Y"))] = 1.0
    return out


def _a_no_softmax(g, node, lr):
    return _wrong.a(g, node.reads).copy()


def _a_no_normalising(g, node, lr):
    return np.exp(_wrong.a(g, node.reads))


def _l_no_minus(g, node, lr):
    A = _wrong.a(g, node.writes)
    return np.asarray(np.log(A[int(_wrong.a(g, "Y"))]))


def _da_every_class(g, node, lr):
    return -1.0 / _wrong.a(g, node.writes)


def _dz_p(g, node, lr):
    return _wrong.a(g, node.writes).copy()


def _dz_sign(g, node, lr):
    return _onehot(g, node) - _wrong.a(g, node.writes)


MISCONCEPTIONS = (
    Misconception("no-softmax", "forward", "Softmax left out",
       "{out} holds probabilities: e^{in}[c] divided by the sum of e^{in} over every class, so "
       "they are positive and add up to 1. {in} itself is the logits.", _a_no_softmax),
    Misconception("not-normalised", "forward", "Not divided by the sum",
       "Softmax divides each e^{in}[c] by the sum of e^{in} over all classes, so that the "
       "probabilities add up to 1.", _a_no_normalising),
    Misconception("no-minus", "loss", "Minus sign dropped",
       "The log of a probability is negative; cross-entropy puts a minus in front so the "
       "loss is positive: L = −log {out}[Y].", _l_no_minus),
    Misconception("every-class", "dA", "−1/{out} for every class",
       "Only the true class's probability is in the loss: dL/d{out}[Y] = −1/{out}[Y], and "
       "every other class's gradient is 0.", _da_every_class),
    Misconception("p-only", "backward", "The probabilities alone (onehot forgotten)",
       "dL/d{in} = {out} − onehot(Y): take 1 away from the true class's probability; the "
       "other classes keep theirs.", _dz_p),
    Misconception("sign", "backward", "Sign flipped (onehot − {out})",
       "dL/d{in} = {out} − onehot(Y): the true class's logit gets a negative gradient, so "
       "gradient descent raises it.", _dz_sign),
)
