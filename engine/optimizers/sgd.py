"""Plain gradient descent: P <- P - eta dP. It keeps no state.

The same numbers as :func:`engine.sgd_step`, and its update step is the walk's update
step as it was before optimizers had a choice (the same LaTeX and the same numbers). Its
two misconceptions (stepped up the gradient; the learning rate forgotten) are the seed
library's and stay in :mod:`engine.misconceptions`, where their ids and order are kept.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..notation import Step, num, tex
from ._formula import first, grad_tex, where
from ._option import Option

NAME = "sgd"
TITLE = "Gradient descent"
DESCRIPTION = "Each parameter steps against its gradient, scaled by the learning rate η."
OPTIONS: dict[str, Option] = {}
STATE: tuple[str, ...] = ()
NONNEGATIVE: tuple[str, ...] = ()
PRACTICE: dict[str, float] = {}
MISCONCEPTIONS: tuple = ()  # see the module's docstring


def update(P: np.ndarray, g: np.ndarray, state: Mapping[str, np.ndarray], t: int, lr: float
           ) -> tuple[np.ndarray, dict[str, np.ndarray], dict[str, np.ndarray]]:
    """One parameter's update: (new P, new state, what else the page shows)."""
    return P - lr * g, {}, {}


def update_step(param: str, grad: str, text: str) -> Step:
    name = tex(param)

    def numbers(tensors: Mapping[str, object], lr: float | None) -> str | None:
        if lr is None:
            return None
        old, g = first(tensors, param), first(tensors, grad)
        new = float(update(np.asarray(tensors[param]), np.asarray(tensors[grad]), {}, 1,
                           lr)[0].flat[0])
        return (rf"{name}{where(tensors[param])} \leftarrow {num(old)} - {num(lr)} \times"
                rf" {num(g, paren=True)} = {num(new)}")

    return Step("update", param, (param, grad),
                rf"{name} \leftarrow {name} - \eta {grad_tex(grad)}", text, numbers)
