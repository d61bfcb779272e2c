"""A lesson as a walk over :data:`engine.STEPS`, as on the explorer page.

Each beat of a lesson stands at a *cursor*: the last step of the engine it has shown (-1
before the first). What a beat may show is what :func:`engine.known` says a walk has
revealed at that cursor — the one rule, kept in the engine; this module only places each
slide on the walk:

- a step slide answers at its own step and, when it asks first, asks one step before;
- an intro slide stands where the slide before it left the walk;
- the loss-after slide shows the second pass (the first one, and every update, done): it
  asks at the last step and answers at :data:`AFTER`.

The new parameter an update step writes is known from that step on; the second pass's
numbers from :data:`AFTER`.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Protocol

import engine

LAST = len(engine.STEPS) - 1
AFTER = LAST + 1  # the second pass: past every step of the first


class _Slide(Protocol):
    kind: str
    step: int | None


@functools.cache
def first_known(name: str) -> int:
    """The cursor from which a walk has revealed the trace tensor ``name``
    (-1: given before the first step)."""
    for cursor in range(-1, LAST + 1):
        if name in engine.known(cursor):
            return cursor
    raise ValueError(f"no step of the engine reveals {name!r}")


def slide_cursors(slides: Iterable[_Slide]) -> list[tuple[int, int]]:
    """For each slide, the cursor of its question beat and of its answer beat (the same
    for a slide that asks nothing)."""
    out: list[tuple[int, int]] = []
    cursor = -1
    for slide in slides:
        if slide.kind == "step":
            assert slide.step is not None
            cursor = slide.step
            out.append((slide.step - 1, slide.step))
        elif slide.kind == "loss-after":
            cursor = AFTER
            out.append((LAST, AFTER))
        else:
            out.append((cursor, cursor))
    return out
