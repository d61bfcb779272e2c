"""What every optimizer's update step writes alike: a state tensor's LaTeX name, the
gradient's (a mini-batch's mean has a bar), and the cell [0, ...] whose numbers a formula
shows."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..notation import d, tex

MEAN = "mean_"  # a mini-batch's mean gradient: mean_dW1


def state_name(prefix: str, param: str) -> str:
    """The state an optimizer keeps for ``param``: v_W1, m_W1, s_W1."""
    return f"{prefix}_{param}"


def state_tex(prefix: str, param: str, *, hat: bool = False) -> str:
    """v_W1 -> v_{W_1}; with ``hat`` m -> \\hat{m}_{W_1}."""
    letter = rf"\hat{{{prefix}}}" if hat else prefix
    return f"{letter}_{{{tex(param)}}}"


def grad_tex(grad: str) -> str:
    """dW1 -> dL/dW_1; mean_dW1 -> the same with a bar (the mean over the mini-batch)."""
    if grad.startswith(MEAN + "d"):
        return rf"\overline{{{d(grad[len(MEAN) + 1:])}}}"
    return d(grad[1:])


def where(array: np.ndarray) -> str:
    """The subscript of the cell a formula's numbers are of: '' for a single number, else
    [0,0,...]."""
    array = np.asarray(array)
    return "" if array.size == 1 else "[" + ",".join("0" * array.ndim) + "]"


def first(tensors: Mapping[str, object], name: str) -> float:
    return float(np.asarray(tensors[name]).flat[0])


def count(tensors: Mapping[str, object]) -> int:
    """The 1-based update count t the step's mapping holds (a 0-d array)."""
    return int(round(float(np.asarray(tensors["t"]))))
