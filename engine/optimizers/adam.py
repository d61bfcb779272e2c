"""Adam, as ``torch.optim.Adam`` (no weight decay, no amsgrad):

    m_P <- beta1 m_P + (1 - beta1) dP          the first moment: a running mean of dP
    s_P <- beta2 s_P + (1 - beta2) dP^2        the second moment: of dP squared
    m_hat = m_P / (1 - beta1^t)                bias correction: m and s start at 0, so
    s_hat = s_P / (1 - beta2^t)                early on they are too small by these factors
    P   <- P - eta m_hat / (sqrt(s_hat) + eps)

t is the 1-based count of updates. Each cell's step is about eta whatever its gradient's
size: the ratio m_hat / sqrt(s_hat) has no units of the gradient.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..misconceptions import Misconception
from ..notation import Formula, Step, num, squared, tex
from ._formula import count, first, grad_tex, state_name, state_tex, where
from ._option import Option

NAME = "adam"
TITLE = "Adam"
DESCRIPTION = ("Each parameter steps by a running mean of its gradient divided by the root "
               "of a running mean of its square, both corrected for starting at 0.")
OPTIONS = {
    "beta1": Option(0.9, 0.0, 1.0, hi_open=True, text="β₁: decay of the first moment m"),
    "beta2": Option(0.999, 0.0, 1.0, hi_open=True, text="β₂: decay of the second moment s"),
    "eps": Option(1e-8, 1e-12, 1e-2, text="ε: added to √ŝ so the step never divides by 0"),
}
STATE = ("m", "s")  # m_P and s_P, the first and second moments of parameter P
NONNEGATIVE = ("s",)  # a mean of squares: a negative one has no square root
# Practice's options: an ε as large as allowed, so that where it goes (under the root or
# beside it) changes the answer a student computes.
PRACTICE = {"beta1": 0.9, "beta2": 0.999, "eps": 1e-2}


def update(P: np.ndarray, g: np.ndarray, state: Mapping[str, np.ndarray], t: int, lr: float,
           *, beta1: float = 0.9, beta2: float = 0.999, eps: float = 1e-8
           ) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """One parameter's update: (new P, new state, the bias-corrected moments)."""
    m = beta1 * state["m"] + (1 - beta1) * g
    s = beta2 * state["s"] + (1 - beta2) * (g * g)
    m_hat = m / (1 - beta1**t)
    s_hat = s / (1 - beta2**t)
    return P - lr * m_hat / (np.sqrt(s_hat) + eps), {"m": m, "s": s}, {"m_hat": m_hat,
                                                                      "s_hat": s_hat}


def update_step(param: str, grad: str, text: str, *, beta1: float = 0.9,
                beta2: float = 0.999, eps: float = 1e-8) -> Step:
    name, m, s = tex(param), state_name("m", param), state_name("s", param)
    m_tex, s_tex = state_tex("m", param), state_tex("s", param)
    mh_tex, sh_tex = state_tex("m", param, hat=True), state_tex("s", param, hat=True)
    g_tex = grad_tex(grad)

    def new(tensors: Mapping[str, object], lr: float | None) -> tuple[np.ndarray, dict, dict]:
        P, g = np.asarray(tensors[param]), np.asarray(tensors[grad])
        state = {"m": np.asarray(tensors[m]), "s": np.asarray(tensors[s])}
        return update(P, g, state, count(tensors), 0.0 if lr is None else lr,
                      beta1=beta1, beta2=beta2, eps=eps)

    def at(tensors: Mapping[str, object]) -> str:
        return where(tensors[param])

    def first_moment(tensors: Mapping[str, object], lr: float | None) -> str | None:
        _, state, _ = new(tensors, lr)
        return (rf"{m_tex}{at(tensors)} \leftarrow {num(beta1)} \times"
                rf" {num(first(tensors, m), paren=True)} + {num(1 - beta1)} \times"
                rf" {num(first(tensors, grad), paren=True)} = {num(state['m'].flat[0])}")

    def second_moment(tensors: Mapping[str, object], lr: float | None) -> str | None:
        _, state, _ = new(tensors, lr)
        return (rf"{s_tex}{at(tensors)} \leftarrow {num(beta2)} \times"
                rf" {num(first(tensors, s))} + {num(1 - beta2)} \times"
                rf" {squared(first(tensors, grad))} = {num(state['s'].flat[0])}")

    def corrected(prefix: str, beta: float, hat_tex: str):
        def numbers(tensors: Mapping[str, object], lr: float | None) -> str | None:
            _, state, shown = new(tensors, lr)
            return (rf"{hat_tex}{at(tensors)} = \frac{{{num(state[prefix].flat[0])}}}"
                    rf"{{1 - {num(beta)}^{{{count(tensors)}}}}}"
                    rf" = {num(shown[prefix + '_hat'].flat[0])}")
        return numbers

    def numbers(tensors: Mapping[str, object], lr: float | None) -> str | None:
        if lr is None:
            return None
        out, _, shown = new(tensors, lr)
        return (rf"{name}{at(tensors)} \leftarrow {num(first(tensors, param))} - {num(lr)}"
                rf" \times \frac{{{num(shown['m_hat'].flat[0])}}}"
                rf"{{\sqrt{{{num(shown['s_hat'].flat[0])}}} + {num(eps)}}} = {num(out.flat[0])}")

    also = (
        Formula(m, rf"{m_tex} \leftarrow \beta_1 {m_tex} + (1 - \beta_1) {g_tex}", first_moment),
        Formula(s, rf"{s_tex} \leftarrow \beta_2 {s_tex} + (1 - \beta_2) \left({g_tex}\right)^2",
                second_moment),
        Formula(state_name("m_hat", param), rf"{mh_tex} = \frac{{{m_tex}}}{{1 - \beta_1^{{t}}}}",
                corrected("m", beta1, mh_tex)),
        Formula(state_name("s_hat", param), rf"{sh_tex} = \frac{{{s_tex}}}{{1 - \beta_2^{{t}}}}",
                corrected("s", beta2, sh_tex)),
    )
    return Step("update", param, (param, grad, m, s),
                rf"{name} \leftarrow {name} - \eta"
                rf" \frac{{{mh_tex}}}{{\sqrt{{{sh_tex}}} + \epsilon}}",
                text, numbers, also)


# --------------------------------------------------------------------- misconceptions
def _a(given: Mapping[str, object], name: str) -> np.ndarray:
    return np.asarray(given[name], dtype=np.float64)


def _moments(given: Mapping[str, object], param: str) -> tuple[np.ndarray, np.ndarray, dict]:
    """The new m and s from the givens, and the options (the givens' or the defaults)."""
    o = {key: float(np.asarray(given.get(key, opt.default))) for key, opt in OPTIONS.items()}
    g = _a(given, "d" + param)
    m = o["beta1"] * _a(given, state_name("m", param)) + (1 - o["beta1"]) * g
    s = o["beta2"] * _a(given, state_name("s", param)) + (1 - o["beta2"]) * (g * g)
    return m, s, o


def _t(given: Mapping[str, object]) -> int:
    return int(round(float(np.asarray(given["t"]))))


def _no_bias_correction(given: Mapping[str, object], param: str, lr: float | None
                        ) -> np.ndarray:
    m, s, o = _moments(given, param)
    return _a(given, param) - float(lr or 0.0) * m / (np.sqrt(s) + o["eps"])


def _eps_inside(given: Mapping[str, object], param: str, lr: float | None) -> np.ndarray:
    m, s, o = _moments(given, param)
    t = _t(given)
    m_hat, s_hat = m / (1 - o["beta1"]**t), s / (1 - o["beta2"]**t)
    return _a(given, param) - float(lr or 0.0) * m_hat / np.sqrt(s_hat + o["eps"])


def _no_root(given: Mapping[str, object], param: str, lr: float | None) -> np.ndarray:
    m, s, o = _moments(given, param)
    t = _t(given)
    m_hat, s_hat = m / (1 - o["beta1"]**t), s / (1 - o["beta2"]**t)
    return _a(given, param) - float(lr or 0.0) * m_hat / (s_hat + o["eps"])


# Templates: {P} the parameter, {g} its gradient, {m} {s} its moments; wrong(given, P, lr).
MISCONCEPTIONS = (
    Misconception("adam-no-bias-correction", "update", "Bias correction left out",
                  "{m} and {s} start at 0, so early on they are too small: divide them by "
                  "1 − β₁ᵗ and 1 − β₂ᵗ (m̂ and ŝ) before the step, "
                  "{P} − η·m̂ / (√ŝ + ε).", _no_bias_correction),
    Misconception("adam-eps-inside-root", "update", "ε inside the square root",
                  "ε is added after the root: η·m̂ / (√ŝ + ε), not η·m̂ / √(ŝ + ε).",
                  _eps_inside),
    Misconception("adam-no-root", "update", "The square root forgotten",
                  "The step divides by the root of the second moment, √ŝ + ε, not by ŝ "
                  "itself: it has the size of the gradient, as m̂ has.", _no_root),
)
