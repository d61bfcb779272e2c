"""What every elementwise activation shares: A_i = f(Z_i) forward, dZ_i = dA_i ⊙ f'(Z_i)
backward, their steps and provenance. Each activation's own module gives f, f', the
formulas and its misconceptions; this is the scaffolding they are written into."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..notation import Step, d, idx, num, tex


def featured(t, node, net) -> tuple[int, ...]:
    """The cell an activation's backward step writes out: the one the layer after it sends
    the first gradient to (a max-pool's first winner), else the first cell with a gradient."""
    after = next((n for n in net.nodes if n.reads == node.writes), None)
    if after is not None and hasattr(after.kind, "featured"):
        return after.kind.featured(t, after)
    g = np.asarray(t["d" + node.writes])
    nonzero = np.flatnonzero(g)
    flat = int(nonzero[0]) if nonzero.size else 0
    return tuple(int(i) for i in np.unravel_index(flat, g.shape)) if g.ndim else ()


def shapes(layer, in_shape, *, first: bool, scalar: bool):
    """Elementwise: the output has the input's shape, and there are no parameters."""
    return in_shape, {}


def split(build: Callable) -> tuple[Callable, Callable]:
    """A kind's ``forward_steps`` and ``backward_steps`` from its one ``build(node, net) ->
    (forward, backward)`` (the two share their formulas' pieces)."""
    return (lambda node, net: build(node, net)[0]), (lambda node, net: build(node, net)[1])


def first_cell(node) -> tuple[int, ...]:
    return (0,) * len(node.out_shape)


def steps(node, net, *, forward_latex: str, forward_text: str,
          forward_numbers: Callable, backward_latex: str, backward_text: str,
          backward_reads: tuple[str, ...], local: Callable) -> tuple[list[Step], list[Step]]:
    """The forward and backward step of an activation.

    ``local(t, cell) -> (latex of the local derivative's value, its value)``: the factor
    the backward step's numbers multiply dA by at the featured cell."""
    A, Z = tex(node.writes), tex(node.reads)

    def backward_numbers(t, lr):
        cell = featured(t, node, net)
        factor_tex, _ = local(t, cell)
        g = t["d" + node.writes][cell]
        return (rf"{d(Z)}{idx(cell)} = {d(A)}{idx(cell)} \times"
                rf" \frac{{\partial {A}}}{{\partial {Z}}}{idx(cell)}"
                rf" = {num(g, paren=True)} \times {factor_tex}"
                rf" = {num(t['d' + node.reads][cell])}")

    forward = Step("forward", node.writes, (node.reads,), forward_latex, forward_text,
                   forward_numbers)
    backward = Step("backward", "d" + node.reads, ("d" + node.writes, *backward_reads),
                    backward_latex, backward_text, backward_numbers)
    return [forward], [backward]


def sources(node, net, *, forward_note: Callable, backward_note: Callable,
            backward_reads: tuple[str, ...]) -> dict:
    def fwd(t, index):
        return {node.reads: [list(index)], "note": forward_note(t, index)}

    def bwd(t, index):
        return {"d" + node.writes: [list(index)], **{r: [list(index)] for r in backward_reads},
                "note": backward_note(t, index)}

    return {node.writes: fwd, "d" + node.reads: bwd}
