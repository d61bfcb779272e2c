"""Max-pooling: P_i[f, i, j] = the maximum of window (i, j) of its input; backward, each
window's gradient goes to its winner (the first maximum in row-major order, so that ties are
broken one way only; a cell a rounding residue short of the maximum counts as tied with it,
see _settle) and every other cell gets 0. Overlapping windows add up."""

from __future__ import annotations

import numpy as np

from ..notation import Step, d, idx, num, tex
from . import _pool, _settle

ROLE = "pool"
OPTIONS = _pool.OPTIONS
TITLE = "max-pool"

# What engine.compare says of this kind beside the one a switch trades it for
# (templates: {in} {out} {dout} {din} name the node's tensors).
CONTRAST = {"name": "max-pooling",
            "forward": "max-pooling keeps the largest {in} cell of each {p}×{p} window",
            "backward": "max-pooling sends all of {dout} to the window's winner (its first "
                        "largest cell) and 0 to the other {losers}"}

shapes = _pool.shapes


def label(layer) -> str:
    return _pool.label("max-pool", layer)


def forward(x: np.ndarray, params, layer) -> tuple[np.ndarray, tuple]:
    """x (N, C, H, W) -> P (N, C, Ho, Wo), Ho = floor((H - p) / s) + 1.

    Elementwise over the p² strided views of x (one per window cell (a, b), row-major),
    without copying the windows out: P is their maximum, in x's memory layout. The cache
    keeps, per cell, the mask of the windows whose first maximum it is (the winner: the
    first cell at or above _settle.floor(P); masks, not a branchy index, so that neither
    pass depends on the data's order)."""
    p, s = layer["size"], layer["stride"]
    cuts = _offsets(x.shape, p, s)
    if len(cuts) == 1:
        P = x[cuts[0]].copy(order="K")
    else:
        P = np.maximum(x[cuts[0]], x[cuts[1]])
        for cut in cuts[2:]:
            np.maximum(P, x[cut], out=P)
    least = _settle.floor(P)  # a cell at or above it is tied with the maximum
    masks, open_ = [], None  # open_: no earlier cell won yet
    for cut in cuts:
        won = x[cut] >= least
        if open_ is None:
            open_ = ~won
        else:
            won &= open_
            open_ ^= won  # won is within open_: this takes it out
        masks.append(won)
    return P, (x, p, s, masks)


def targets(shape: tuple[int, ...], p: int, s: int, winner: np.ndarray) -> np.ndarray:
    """The flat index, in the input, of every window's winner."""
    _N, C, H, W = shape
    _, _, _Ho, _Wo = winner.shape
    n, c, i, j = np.indices(winner.shape, sparse=True)
    rows, cols = i * s + winner // p, j * s + winner % p
    return ((n * C + c) * H + rows) * W + cols


def backward(dP: np.ndarray, cache: tuple) -> tuple[np.ndarray, dict]:
    """dP (N, C, Ho, Wo) -> dIN: each window's dP added at its winner (overlapping windows
    add up; a cell in no window, or a loser, gets 0). dIN has the input's memory layout."""
    x, p, s, masks = cache
    dx = np.zeros_like(x)
    for cut, won in zip(_offsets(x.shape, p, s), masks):
        if s >= p:  # windows apart: each cell in at most one, written once
            np.multiply(dP, won, out=dx[cut])
        else:
            dx[cut] += dP * won
    return dx, {}


def _offsets(shape: tuple[int, ...], p: int, s: int) -> list[tuple]:
    """For each cell (a, b) of a window, in row-major order, the strided slices of the
    input that hold that cell of every window."""
    Ho, Wo = (shape[-2] - p) // s + 1, (shape[-1] - p) // s + 1
    return [(..., slice(a, a + s * (Ho - 1) + 1, s), slice(b, b + s * (Wo - 1) + 1, s))
            for a in range(p) for b in range(p)]


def winners(t, node) -> np.ndarray:
    """(C, Ho, Wo, 3): for every cell of P, the input cell [f, r, c] that won its window."""
    p, s = node.layer["size"], node.layer["stride"]
    windows = _pool.windows(np.asarray(t[node.reads]), p, s)
    win = _settle.tied(windows, windows.max(axis=-1, keepdims=True)).argmax(axis=-1)
    f, i, j = np.indices(win.shape)
    return np.stack([f, i * s + win // p, j * s + win % p], axis=-1)


def featured(t, node) -> tuple[int, ...]:
    """The first window's winner: the cell the backward step writes out."""
    return tuple(int(v) for v in winners(t, node)[0, 0, 0])


def forward_steps(node, net) -> list[Step]:
    P, IN = tex(node.writes), tex(node.reads)
    p, s = node.layer["size"], node.layer["stride"]

    def numbers(t, lr):
        window = _pool.windows(np.asarray(t[node.reads]), p, s)[0, 0, 0]
        return (rf"{P}{idx((0, 0, 0))} = \max({', '.join(num(v) for v in window)})"
                rf" = {num(t[node.writes][0, 0, 0])}")

    text = f"Max-pooling keeps the largest value of each window of {node.reads}."
    if s != p:
        text += f" The window moves {s} cell{'s' if s > 1 else ''} at a time."
    return [Step("forward", node.writes, (node.reads,), rf"{P} = \mathrm{{MaxPool}}({IN})",
                 text, numbers)]


def backward_steps(node, net) -> list[Step]:
    P, IN = tex(node.writes), tex(node.reads)
    _p, _s = node.layer["size"], node.layer["stride"]

    def numbers(t, lr):
        cell = featured(t, node)
        win = winners(t, node)
        routed = int(np.count_nonzero(t["d" + node.reads]))
        sent = [tuple(int(v) for v in w) for w in np.argwhere((win == cell).all(axis=-1))]
        dP = np.asarray(t["d" + node.writes])
        local = rf" \times \frac{{\partial {P}}}{{\partial {IN}}}{idx(cell)}"
        if len(sent) == 1:
            lhs = rf"{d(P)}{idx(sent[0])}{local} = {num(dP[sent[0]], paren=True)} \times 1"
        else:
            lhs = " + ".join(rf"{d(P)}{idx(w)}" for w in sent) + " = " + " + ".join(
                num(dP[w], paren=True) for w in sent)
        return (rf"{d(IN)}{idx(cell)} = {lhs} = {num(t['d' + node.reads][cell])}"
                rf"\quad(\text{{{t['d' + node.reads].size - routed} other cells get }} 0)")

    text = (f"Max-pooling passes each window's gradient to the cell that won the window (the "
            f"first maximum, reading row by row); every other cell gets zero."
            f"{_pool.overlap_text(node.layer)}")
    return [Step("backward", "d" + node.reads, ("d" + node.writes, node.reads),
                 rf"{d(IN)}_{{mn}} = \begin{{cases}} {d(P)}_{{xy}}"
                 rf" & \text{{if }} {_sub(IN, 'mn')}"
                 r" \text{ is the max of its window} \\"
                 r" 0 & \text{otherwise} \end{cases}", text, numbers)]


def _sub(name: str, sub: str) -> str:
    """A_1 with a further subscript: A_{1,mn}; X -> X_{mn}."""
    letter, _, number = name.partition("_")
    return f"{letter}_{{{number},{sub}}}" if number else f"{letter}_{{{sub}}}"


def sources(node, net) -> dict:
    p, s = node.layer["size"], node.layer["stride"]
    IN = node.reads

    def fwd(t, index):
        f, i, j = index
        return {IN: [winners(t, node)[index].tolist()],
                "window": _pool.window_cells(f, i, j, p, s),
                "note": f"the maximum of its {IN} window (the first one, if tied)"}

    def bwd(t, index):
        f, r, c = index
        out = node.out_shape[-1]
        cover = _pool.covering(r, c, p, s, out)
        if not cover:
            return {"d" + node.writes: [], "note": "outside every pooling window: gets 0"}
        win = winners(t, node)
        won = [[f, i, j] for i, j in cover if win[f, i, j].tolist() == [f, r, c]]
        if won:
            note = ("the maximum of its window: gets that window's d" + node.writes
                    if len(won) == 1 else
                    f"the maximum of {len(won)} overlapping windows: gets the sum of their "
                    f"d{node.writes}")
            return {"d" + node.writes: won, "note": note}
        winner = win[f, cover[0][0], cover[0][1]].tolist()
        tied = bool(t[IN][f, r, c] == t[IN][tuple(winner)])
        note = ("tied with its window's maximum but lost the tie-break (the first maximum "
                "in row-major order wins): gets 0" if tied
                else "not the maximum of its window: gets 0")
        return {"d" + node.writes: [], IN: [winner], "note": note}

    return {node.writes: fwd, "d" + IN: bwd}


def marks(t, node) -> dict:
    """Windows and winners, drawn over the input at the pool's steps."""
    win = winners(t, node).tolist()
    m = {"pool": node.layer["size"], "stride": node.layer["stride"], "winners": win}
    return {node.reads: m, "d" + node.reads: m}


# ---------------------------------------------------------------- fit and misconceptions
from . import _wrong  # noqa: E402


def unfit(t, node) -> list[str]:
    """A window whose maximum is tied (but not at 0, where the tie rule is the lesson):
    two cells would have an equal claim to the gradient."""
    win = np.sort(_pool.windows(np.asarray(t[node.reads]), *_wrong.pool_sizes(node)), axis=-1)
    if win.shape[-1] < 2:
        return []
    top, second = win[..., -1], win[..., -2]
    if np.any((np.abs(top) > _wrong.EPS) & (top - second < _wrong.EPS)):
        return ["a pooling window's positive maximum is tied"]
    return []


def _p_average(g, node, lr):
    return _pool.windows(_wrong.a(g, node.reads), *_wrong.pool_sizes(node)).mean(axis=-1)


def _fill(g, node, values):
    """Each window's p*p cells set to ``values(dP, windows)`` (C, Ho, Wo, p*p)."""
    p, s = _wrong.pool_sizes(node)
    IN, dP = _wrong.a(g, node.reads), _wrong.a(g, "d" + node.writes)
    return IN, dP, p, s, _pool.windows(IN, p, s)


def _d_every_cell(g, node, lr):
    IN, dP, p, s, _ = _fill(g, node, None)
    return _wrong.spread(np.repeat(dP[..., None], p * p, axis=-1), IN.shape, p, s)


def _d_average(g, node, lr):
    IN, dP, p, s, _ = _fill(g, node, None)
    return _wrong.spread(np.repeat(dP[..., None], p * p, axis=-1) / (p * p), IN.shape, p, s)


def _d_top_left(g, node, lr):
    IN, dP, p, s, _ = _fill(g, node, None)
    fill = np.zeros((*dP.shape, p * p))
    fill[..., 0] = dP
    return _wrong.spread(fill, IN.shape, p, s)


def _d_last_max(g, node, lr):
    IN, dP, p, s, win = _fill(g, node, None)
    last = p * p - 1 - win[..., ::-1].argmax(axis=-1)
    return _wrong.spread((np.arange(p * p) == last[..., None]) * dP[..., None], IN.shape, p, s)


def _d_one_of_overlaps(g, node, lr):
    """A winner of several overlapping windows keeps only the last window's gradient."""
    IN, dP, p, s, win = _fill(g, node, None)
    if not _wrong.overlaps(node):
        raise ValueError("the windows do not overlap")
    first = win.argmax(axis=-1)
    out = np.zeros(IN.shape)
    C, Ho, Wo = dP.shape
    for f in range(C):
        for i in range(Ho):
            for j in range(Wo):
                w = int(first[f, i, j])
                out[f, s * i + w // p, s * j + w % p] = dP[f, i, j]
    return out


from ..misconceptions import Misconception  # noqa: E402  (the library reads this tuple)

MISCONCEPTIONS = (
    Misconception("average", "forward", "Average pooling instead of max",
       "Max-pooling keeps the largest value of each window; it does not average them.",
       _p_average),
    Misconception("every-cell", "backward", "Gradient sent to every cell of the window",
       "Only the window's maximum reached {out}, so only that cell gets the window's gradient; "
       "every other cell of {in} gets 0.", _d_every_cell),
    Misconception("average", "backward", "Gradient split evenly (average pooling)",
       "Splitting {dout} evenly over the window is the backward pass of average pooling. "
       "Max-pooling gives the whole gradient to the window's maximum and 0 to the rest.",
       _d_average),
    Misconception("top-left", "backward", "Gradient sent to the window's top-left cell",
       "The gradient goes to the cell that won the window (its largest {in} value), wherever "
       "in the window it is, not to a fixed position.", _d_top_left),
    Misconception("last-max", "backward", "Gradient sent to the wrong cell of a tie",
       "Where a window's cells tie (an all-zero window), the first maximum reading row by "
       "row, the top-left one, wins: that is the cell max-pooling took.", _d_last_max),
    Misconception("one-overlap", "backward", "Only one window's gradient kept",
       "The windows overlap: a cell that won several of them gets the sum of their "
       "gradients, one from each window, not only one.", _d_one_of_overlaps,
                  applies=_wrong.overlaps),
)
