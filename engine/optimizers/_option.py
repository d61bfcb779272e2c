"""An optimizer's option: its default and the range it must lie in, checked and served in
one place (the API and ``GET /api/meta`` serve :meth:`Option.to_dict`)."""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Option:
    """A float option: ``lo <= value <= hi`` (``value < hi`` when ``hi_open``)."""

    default: float
    lo: float
    hi: float
    hi_open: bool = False
    text: str = ""

    def holds(self, value: object) -> bool:
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if not math.isfinite(value) or value < self.lo:
            return False
        return value < self.hi if self.hi_open else value <= self.hi

    def range_text(self) -> str:
        hi = f"{self.hi:g} ({self.hi:g} excluded)" if self.hi_open else f"{self.hi:g}"
        return f"from {self.lo:g} to {hi}"

    def to_dict(self) -> dict[str, object]:
        return {"default": self.default, "min": self.lo, "max": self.hi,
                "max_excluded": self.hi_open, "text": self.text}
