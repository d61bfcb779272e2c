"""The step formulas as MathML, which browsers render natively and offline.

latex2mathml turns a formula into MathML in about half a millisecond, too slow to convert
the ~20 formulas with live numbers on every request (it would be most of a request's time).
A formula with numbers differs from the same formula with other numbers only in its number
literals, so :func:`to_mathml` converts each *skeleton* once — the formula with its i-th
number replaced by a marker that names i — caches it, and puts the numbers back into the
cached MathML. The result is the converter's own output, character for character (tested
on every step of many random traces); if the markers do not all come back exactly once, the
formula is converted directly.
"""

from __future__ import annotations

import functools
import re

from latex2mathml.converter import convert

# A number literal, except a digit right after _ or ^ (an unbraced script is one character:
# Z_1 stays in the skeleton).
_NUMBER = re.compile(r"(?<![_^])(\d+(?:\.\d+)?)")
# The i-th number of a formula becomes 9<iii>.77777: a 9-significant-digit literal that the
# step formulas never contain (their numbers have at most 4 significant digits).
_MARKER = re.compile(r"9(\d{3})\.77777")
_MARKS = tuple(f"9{i:03d}.77777" for i in range(1000))


def convert_block(latex: str) -> str:
    """latex2mathml's conversion of a display formula."""
    return convert(latex, display="block")


@functools.lru_cache(maxsize=256)
def static_mathml(latex: str) -> str:
    """The MathML of a formula without live numbers (a handful of them, converted once)."""
    return convert_block(latex)


@functools.lru_cache(maxsize=4096)
def _plan(skeleton: str, count: int) -> tuple[tuple[str, ...], tuple[int, ...]] | None:
    """The skeleton's MathML cut at its markers: the pieces between them, and which number
    goes into each gap. None unless every marker comes back exactly once."""
    parts = _MARKER.split(convert_block(skeleton))
    order = tuple(int(i) for i in parts[1::2])
    return (tuple(parts[0::2]), order) if sorted(order) == list(range(count)) else None


def to_mathml(latex: str) -> str:
    """MathML for ``latex``, identical to ``convert(latex, display="block")``."""
    return via_skeleton(latex) or convert_block(latex)


def via_skeleton(latex: str) -> str | None:
    """The cached skeleton's MathML with this formula's numbers put back; None where that
    cannot be done (then the formula must be converted directly)."""
    parts = _NUMBER.split(latex)
    numbers = parts[1::2]
    if len(numbers) > len(_MARKS):
        return None
    parts[1::2] = _MARKS[: len(numbers)]
    plan = _plan("".join(parts), len(numbers))
    if plan is None:
        return None
    pieces, order = plan
    out = [pieces[0]]
    for i, piece in zip(order, pieces[1:]):
        out.append(numbers[i])
        out.append(piece)
    return "".join(out)
