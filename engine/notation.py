"""How the engine writes numbers and names in formulas: one rule for every number the page
prints (cells, cards, formulas, hover), kept in step with static/js/common/format.js.

Round to 4 significant digits; write it plainly when 0.001 <= |rounded value| < 100000, else
as a power of ten; drop trailing zeros. A heatmap cell rounds the same value to fewer
significant digits when the cell is too narrow.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

DIGITS = 4
FIT = 4  # a vector of at most this many numbers is written out on one line


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


def squared(value: float) -> str:
    """A number raised to the power 2 in a formula: in parentheses when it is negative or
    written with a power of ten (``(2.5 \\times 10^{-4})^2``, never a double superscript)."""
    text = num(value)
    return f"({text})^2" if float(value) < 0 or r"\times" in text else f"{text}^2"


def vec(values: np.ndarray) -> str:
    return r"\left[" + ",\\ ".join(map(num, np.ravel(values).tolist())) + r"\right]"


def idx(index: tuple[int, ...], filters: int = 1) -> str:
    """A cell's subscript: its full index in the tensor's shape, filter axis first, written
    as the page writes it everywhere else (``dA1[0,0,1]``)."""
    return "[" + ",".join(str(int(i)) for i in index) + "]"


_NAME = re.compile(r"^(d?)([A-Za-z])(\d*)$")


def tex(name: str) -> str:
    """A tensor's name in LaTeX: Z1 -> Z_1, X -> X (without the d of a gradient)."""
    match = _NAME.match(name)
    if not match:
        return name
    _, letter, number = match.groups()
    return f"{letter}_{number}" if number else letter


def d(name: str) -> str:
    """dL/d(name) in LaTeX; ``name`` is a LaTeX name (``Z_1``) or a tensor's (``Z1``)."""
    latex = tex(name) if _NAME.match(name) else name
    return rf"\frac{{\partial L}}{{\partial {latex}}}"


Numbers = Callable[[object, "float | None"], "str | None"]


@dataclass(frozen=True)
class Formula:
    """A second tensor a step computes beside the one it writes (the conv's backward gives
    dX with dW1), with its own formula and the same with the live numbers."""

    writes: str
    latex: str
    numbers: Numbers


@dataclass(frozen=True)
class Step:
    phase: str  # "forward", "backward" or "update"
    writes: str
    reads: tuple[str, ...]
    latex: str
    text: str
    numbers: Numbers
    also: tuple[Formula, ...] = ()

    @property
    def reveals(self) -> tuple[str, ...]:
        """The trace's tensors this step makes known: what it writes, and what it computes
        beside it (dX beside dW1: the conv's backward gives both). An update step reveals a
        new parameter, not a tensor of this pass's trace: nothing here."""
        if self.phase == "update":
            return ()
        return (self.writes, *(f.writes for f in self.also))
