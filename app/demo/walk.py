"""A lesson as a walk over its network's steps (``engine.steps_for``), as on the explorer
page.

Each beat of a lesson stands at a *cursor*: the last step of the engine it has shown (-1
before the first). What a beat may show is what :func:`engine.known` says a walk has
revealed at that cursor — the one rule, kept in the engine; this module only places each
slide on the walk:

- a step slide answers at its own step and, when it asks first, asks one step before;
- an intro slide stands where the slide before it left the walk;
- a contrast slide stands where its left walk does at its step, asking and answering there
  (its answer beat shows labels, not numbers);
- the loss-after slide shows the second pass (the first one, and every update, done): it
  asks at the last step and answers at :func:`after` (:data:`AFTER` for the seed's).

The new parameter an update step writes is known from that step on; the second pass's
numbers from :func:`after`. Every function takes the network (the seed's by default).
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Protocol

import engine


def last(net: engine.Network = engine.SEED) -> int:
    """The cursor of the last step of the first pass."""
    return len(engine.steps_for(net)) - 1


def after(net: engine.Network = engine.SEED) -> int:
    """The cursor of the second pass: past every step of the first."""
    return last(net) + 1


LAST = last()  # the seed's network's
AFTER = after()


class _Slide(Protocol):
    kind: str
    step: int | None


@functools.cache
def first_known(name: str, net: engine.Network = engine.SEED) -> int:
    """The cursor from which a walk on ``net`` has revealed the trace tensor ``name``
    (-1: given before the first step)."""
    for cursor in range(-1, last(net) + 1):
        if name in engine.known(cursor, net):
            return cursor
    raise ValueError(f"no step of the engine reveals {name!r}")


def slide_cursors(slides: Iterable[_Slide], net: engine.Network = engine.SEED
                  ) -> list[tuple[int, int]]:
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
            cursor = after(net)
            out.append((last(net), cursor))
        elif slide.kind == "contrast":  # where its left walk stands at its step
            assert slide.step is not None
            cursor = slide.step
            out.append((cursor, cursor))
        else:
            out.append((cursor, cursor))
    return out
