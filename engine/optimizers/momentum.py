"""Gradient descent with momentum, as ``torch.optim.SGD(momentum=beta, dampening=0)``:

    v_P <- beta v_P + dP          the velocity: the gradients so far, each older one
                                  weighed beta times less
    P   <- P - eta v_P

v_P starts at 0, so the first update is plain gradient descent (v_P = dP).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..misconceptions import Misconception
from ..notation import Formula, Step, num, tex
from ._formula import first, grad_tex, state_name, state_tex, where
from ._option import Option

NAME = "momentum"
TITLE = "Momentum"
DESCRIPTION = ("Gradient descent on a velocity: each update adds the gradient to β times "
               "the last velocity, so steps keep going where the gradients agree.")
OPTIONS = {"beta": Option(0.9, 0.0, 1.0, hi_open=True,
                          text="β: how much of the last velocity is kept")}
STATE = ("v",)  # v_P, the velocity of parameter P
NONNEGATIVE: tuple[str, ...] = ()
PRACTICE = {"beta": 0.9}  # the options of Practice's exercises


def update(P: np.ndarray, g: np.ndarray, state: Mapping[str, np.ndarray], t: int, lr: float,
           *, beta: float = 0.9
           ) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """One parameter's update: (new P, new state, what else the page shows)."""
    v = beta * state["v"] + g
    return P - lr * v, {"v": v}, {}


def update_step(param: str, grad: str, text: str, *, beta: float = 0.9) -> Step:
    name, v = tex(param), state_name("v", param)
    v_tex = state_tex("v", param)

    def new(tensors: Mapping[str, object], lr: float) -> tuple[np.ndarray, dict]:
        P, g = np.asarray(tensors[param]), np.asarray(tensors[grad])
        out, state, _ = update(P, g, {"v": np.asarray(tensors[v])}, 1, lr, beta=beta)
        return out, state

    def velocity(tensors: Mapping[str, object], lr: float | None) -> str | None:
        _, state = new(tensors, 0.0 if lr is None else lr)
        return (rf"{v_tex}{where(tensors[param])} \leftarrow {num(beta)} \times"
                rf" {num(first(tensors, v), paren=True)} + {num(first(tensors, grad), paren=True)}"
                rf" = {num(state['v'].flat[0])}")

    def numbers(tensors: Mapping[str, object], lr: float | None) -> str | None:
        if lr is None:
            return None
        out, state = new(tensors, lr)
        return (rf"{name}{where(tensors[param])} \leftarrow {num(first(tensors, param))} -"
                rf" {num(lr)} \times {num(state['v'].flat[0], paren=True)} = {num(out.flat[0])}")

    also = (Formula(v, rf"{v_tex} \leftarrow \beta\, {v_tex} + {grad_tex(grad)}", velocity),)
    return Step("update", param, (param, grad, v),
                rf"{name} \leftarrow {name} - \eta\, {v_tex}", text, numbers, also)


# --------------------------------------------------------------------- misconceptions
def _a(given: Mapping[str, object], name: str) -> np.ndarray:
    return np.asarray(given[name], dtype=np.float64)


def _beta(given: Mapping[str, object]) -> float:
    return float(np.asarray(given.get("beta", OPTIONS["beta"].default)))


def _no_velocity(given: Mapping[str, object], param: str, lr: float | None) -> np.ndarray:
    return _a(given, param) - float(lr or 0.0) * _a(given, "d" + param)


def _no_decay(given: Mapping[str, object], param: str, lr: float | None) -> np.ndarray:
    v = _a(given, state_name("v", param)) + _a(given, "d" + param)
    return _a(given, param) - float(lr or 0.0) * v


def _stepped_up(given: Mapping[str, object], param: str, lr: float | None) -> np.ndarray:
    v = _beta(given) * _a(given, state_name("v", param)) + _a(given, "d" + param)
    return _a(given, param) + float(lr or 0.0) * v


# Templates: {P} the parameter, {g} its gradient, {v} its velocity; wrong(given, P, lr).
MISCONCEPTIONS = (
    Misconception("momentum-no-velocity", "update", "The velocity left out",
                  "Momentum steps along the velocity, not the gradient alone: first "
                  "{v} ← β·{v} + {g}, then {P} − η·{v}; {P} − η·{g} is plain gradient "
                  "descent.", _no_velocity),
    Misconception("momentum-no-decay", "update", "The old velocity not decayed",
                  "The old velocity is multiplied by β before the gradient is added: "
                  "{v} ← β·{v} + {g}, not {v} + {g}.", _no_decay),
    Misconception("momentum-sign", "update", "Stepped up the velocity",
                  "The step goes against the velocity: {P} − η·{v}, not plus.", _stepped_up),
)
