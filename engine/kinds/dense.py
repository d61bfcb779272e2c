"""Dense: Z_i = IN W_i^T + b_i, IN (D,), W_i (U, D), b_i (U,) -> Z_i (U,); the last dense
layer of a sigmoid_bce network writes a scalar Z (W (1, D), b (1,)).

dW_i = dZ_i^T IN (an outer product), db_i = dZ_i, dIN = dZ_i W_i.
"""

from __future__ import annotations

import math

import numpy as np

from ..notation import FIT, Step, d, idx, num, tex, vec
from . import _settle

ROLE = "dense"
OPTIONS = {"units": (1, 1, 64, int)}
TITLE = "dense"


def label(layer) -> str:
    return f"dense {layer['units']}"


def shapes(layer, in_shape, *, first: bool, scalar: bool):
    if len(in_shape) != 1:
        raise ValueError("dense needs a flatten before it")
    U = layer["units"]
    return (() if scalar else (U,)), {"W": (U, in_shape[0]), "b": (U,)}


def init(rng: np.random.Generator, layer, node) -> dict[str, np.ndarray]:
    """W ~ U(-1/sqrt(D), 1/sqrt(D)), b = 0."""
    U, D = node.param_shapes[node.params["W"]]
    return {"W": rng.uniform(-1 / math.sqrt(D), 1 / math.sqrt(D), size=(U, D)),
            "b": np.zeros(U)}


def forward(x: np.ndarray, params: dict[str, np.ndarray], layer) -> tuple[np.ndarray, tuple]:
    """x (N, D) -> Z (N, U); a rounding residue of an exact 0 becomes 0 (see _settle)."""
    Z = x @ params["W"].T + params["b"]
    _settle.settle(Z, _settle.limit(np.abs(x).max(axis=1), params["W"], params["b"]))
    return Z, (x, params["W"])


def backward(dZ: np.ndarray, cache: tuple) -> tuple[np.ndarray, dict]:
    x, W = cache
    return dZ @ W, {"W": dZ.T @ x, "b": dZ.sum(axis=0)}


def _last(node, net) -> bool:
    return node.position == net.weighted[-1].position


def _error(node, net) -> str:
    """What dZ is in words of the math: A - Y at the output, else dL/dZ."""
    if _last(node, net):
        A = tex(net.last)
        return rf"({A} - Y)" if net.output == "sigmoid_bce" else rf"({A} - \mathbf{{y}})"
    return d(tex(node.writes))


def forward_steps(node, net) -> list[Step]:
    Z, W, b, IN = (tex(node.writes), tex(node.params["W"]), tex(node.params["b"]),
                   tex(node.reads))
    scalar = node.out_shape == ()
    if scalar:
        what = "one number, the logit"
    elif _last(node, net):
        what = "one logit per class"
    else:
        what = f"{node.out_shape[0]} numbers, one per unit"
    feature = "feature" if node.reads == "F" else f"cell of {node.reads}"

    def numbers(t, lr):
        x, Wv, bv = np.asarray(t[node.reads]), np.asarray(t[node.params["W"]]), t[node.params["b"]]
        if x.size <= FIT:
            terms = " + ".join(f"{num(f, paren=True)} \\times {num(w, paren=True)}"
                              for f, w in zip(x, Wv[0]))
        else:
            terms = num(float(x @ Wv[0]))
        cell = "" if scalar else idx((0,))
        value = t[node.writes] if scalar else t[node.writes][0]
        return rf"{Z}{cell} = {terms} + {num(bv[0], paren=True)} = {num(value)}"

    return [Step("forward", node.writes, (node.reads, node.params["W"], node.params["b"]),
                 rf"{Z} = {IN}\,{{{W}}}^{{T}} + {b}",
                 f"The dense layer weighs every {feature} by {node.params['W']} and adds "
                 f"{node.params['b']}: {what}.", numbers)]


def backward_steps(node, net) -> list[Step]:
    Z, W, b, IN = (tex(node.writes), tex(node.params["W"]), tex(node.params["b"]),
                   tex(node.reads))
    dZ = "d" + node.writes
    err = _error(node, net)
    scalar = node.out_shape == ()
    feature = "feature" if node.reads == "F" else f"cell of {node.reads}"

    def dw_numbers(t, lr):
        x = np.asarray(t[node.reads])
        if scalar:
            if x.size > FIT:
                return None
            return (rf"{d(W)} = {d(Z)}\,{IN}^T = {num(t[dZ], paren=True)}\,{vec(x)}"
                    rf" = {vec(t['d' + node.params['W']])}")
        g = float(t[dZ][0])
        if x.size <= FIT:
            return (rf"{d(W)}[0] = {d(Z)}[0]\,{IN}^T = {num(g, paren=True)}\,{vec(x)}"
                    rf" = {vec(t['d' + node.params['W']][0])}")
        return (rf"{d(W)}[0,0] = {d(Z)}[0]\,{IN}[0] = {num(g, paren=True)} \times"
                rf" {num(x[0], paren=True)} = {num(t['d' + node.params['W']][0, 0])}")

    def db_numbers(t, lr):
        g = t[dZ] if scalar else t[dZ][0]
        cell = "" if scalar else idx((0,))
        return (rf"{d(b)}{cell} = {d(Z)}{cell} \times \frac{{\partial {Z}}}{{\partial {b}}}"
                rf" = {num(g, paren=True)} \times 1 = {num(t['d' + node.params['b']][0])}")

    def din_numbers(t, lr):
        Wv = np.asarray(t[node.params["W"]])
        if scalar:
            if t[node.reads].size > FIT:
                return None
            return (rf"{d(IN)} = {d(Z)}\,{W} = {num(t[dZ], paren=True)}\,{vec(Wv)}"
                    rf" = {vec(t['d' + node.reads])}")
        g = np.asarray(t[dZ])
        if g.size <= FIT:
            terms = " + ".join(f"{num(a, paren=True)} \\times {num(w, paren=True)}"
                              for a, w in zip(g, Wv[:, 0]))
        else:
            terms = rf"\sum_u {d(Z)}[u]\,{W}[u,0]"
        return rf"{d(IN)}[0] = {terms} = {num(t['d' + node.reads][0])}"

    return [
        Step("backward", "d" + node.params["W"], (dZ, node.reads),
             rf"{d(W)} = {d(Z)} \times \frac{{\partial {Z}}}{{\partial {W}}} = {err} {IN}^T",
             f"Each dense weight's gradient is the error times the {feature} it multiplies.",
             dw_numbers),
        Step("backward", "d" + node.params["b"], (dZ,),
             rf"{d(b)} = {d(Z)} \times \frac{{\partial {Z}}}{{\partial {b}}} = {err} \times 1",
             f"The bias adds 1 times itself to {node.writes}, so its gradient is the error "
             "itself.", db_numbers),
        Step("backward", "d" + node.reads, (dZ, node.params["W"]),
             rf"{d(IN)} = {d(Z)} \times \frac{{\partial {Z}}}{{\partial {IN}}} = {err} {W}",
             f"The error flows back to each {feature} through the weight that "
             f"{'feature' if node.reads == 'F' else 'cell'} met.", din_numbers),
    ]


UPDATE_TEXT = {"W": "Every dense weight steps against its gradient.",
               "b": "The dense bias takes the same kind of step."}


def sources(node, net) -> dict:
    IN, dZ, W = node.reads, "d" + node.writes, node.params["W"]
    scalar = node.out_shape == ()

    def z_cell(u):
        return [] if scalar else [u]

    def dw(t, index):
        u, i = index
        g = float(t[dZ] if scalar else t[dZ][u])
        return {dZ: [z_cell(u)], IN: [[i]], "factors": [[g, float(t[IN][i])]],
                "terms": [g * float(t[IN][i])],
                "note": f"{dZ} times the {'feature' if IN == 'F' else 'value'} this weight "
                        "multiplies"}

    def db(t, index):
        return {dZ: [z_cell(index[0])],
                "note": f"equal to {dZ}: the bias adds 1 times itself to {node.writes}"}

    def din(t, index):
        i = index[0]
        U = t[W].shape[0]
        factors = [[float(t[dZ] if scalar else t[dZ][u]), float(t[W][u, i])] for u in range(U)]
        return {dZ: [z_cell(u) for u in range(U)], W: [[u, i] for u in range(U)],
                "factors": factors, "terms": [a * b for a, b in factors],
                "note": f"{dZ} times the weight of this {'feature' if IN == 'F' else 'cell'}"}

    out = {"d" + W: dw, "d" + node.params["b"]: db, "d" + IN: din}
    if not scalar:
        def z(t, index):
            u = index[0]
            factors = [[float(t[IN][i]), float(t[W][u, i])] for i in range(t[IN].size)]
            return {IN: [[i] for i in range(t[IN].size)], W: [[u, i] for i in range(t[IN].size)],
                    node.params["b"]: [[u]], "factors": factors,
                    "terms": [a * b for a, b in factors], "bias": float(t[node.params["b"]][u]),
                    "note": f"{IN} times row {u} of {W}, summed, plus {node.params['b']}"}
        out[node.writes] = z
    return out


def marks(t, node) -> dict:
    return {}


# ---------------------------------------------------------------- fit and misconceptions
from ..misconceptions import Misconception  # noqa: E402
from . import _wrong  # noqa: E402


def unfit(t, node) -> list[str]:
    return []


def _no_bias(g, node, lr):
    Z = _wrong.a(g, node.params["W"]) @ _wrong.a(g, node.reads)
    return Z.reshape(node.out_shape)


def _dw_no_upstream(g, node, lr):
    U = node.param_shapes[node.params["W"]][0]
    return np.ones((U, 1)) * _wrong.a(g, node.reads)[None, :]


def _db_sign(g, node, lr):
    return -_wrong.a(g, "d" + node.writes).reshape(node.param_shapes[node.params["b"]])


def _din_no_upstream(g, node, lr):
    return _wrong.a(g, node.params["W"]).sum(axis=0)


MISCONCEPTIONS = (
    Misconception("no-bias", "forward", "Bias left out",
       "{out} = Σ {in}·{W} + {b}: the dense bias is added after the sum.", _no_bias),
    Misconception("no-upstream", "dW", "Upstream gradient left out",
       "dL/d{W} = dL/d{out} × {in}: each feature is multiplied by the error at {logit}, "
       "{err}.", _dw_no_upstream),
    Misconception("sign", "db", "Sign flipped",
       "{db} = {err}: the bias is added to {logit} with weight 1, so its gradient is "
       "{logits} own, sign and all.", _db_sign),
    Misconception("no-upstream", "dinput", "Upstream gradient left out",
       "dL/d{in} = dL/d{out} × {W}: each weight is multiplied by the error at {logit}, "
       "{err}.", _din_no_upstream),
)
