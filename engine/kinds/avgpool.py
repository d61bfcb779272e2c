"""Average pooling: P_i[f, i, j] = the mean of window (i, j); backward, each window sends
its gradient divided by p² to every cell of the window. Overlapping windows add up."""

from __future__ import annotations

import numpy as np

from ..notation import Step, d, idx, num, tex
from . import _pool

ROLE = "pool"
OPTIONS = _pool.OPTIONS
TITLE = "average pool"

# What engine.compare says of this kind beside the one a switch trades it for
# (templates: {in} {out} {dout} {din} name the node's tensors).
CONTRAST = {"name": "average-pooling",
            "forward": "average pooling keeps the mean of the {cells} {in} cells of each window",
            "backward": "average pooling sends {dout} / {cells} to every cell of its window"}

shapes = _pool.shapes


def label(layer) -> str:
    return _pool.label("avg-pool", layer)


def forward(x: np.ndarray, params, layer) -> tuple[np.ndarray, tuple]:
    p, s = layer["size"], layer["stride"]
    P = _pool.windows(x, p, s).mean(axis=-1)
    return P, (x.shape, p, s)


def backward(dP: np.ndarray, cache: tuple) -> tuple[np.ndarray, dict]:
    shape, p, s = cache
    _, _, Ho, Wo = dP.shape
    dx = np.zeros(shape)
    share = dP / (p * p)
    for a in range(p):
        for b in range(p):
            dx[:, :, a:a + s * (Ho - 1) + 1:s, b:b + s * (Wo - 1) + 1:s] += share
    return dx, {}


def forward_steps(node, net) -> list[Step]:
    P, IN = tex(node.writes), tex(node.reads)
    p, s = node.layer["size"], node.layer["stride"]

    def numbers(t, lr):
        window = _pool.windows(np.asarray(t[node.reads]), p, s)[0, 0, 0]
        return (rf"{P}{idx((0, 0, 0))} = \frac{{{' + '.join(num(v, paren=True) for v in window)}}}"
                rf"{{{p * p}}} = {num(t[node.writes][0, 0, 0])}")

    text = f"Average pooling keeps the mean of each {p}×{p} window of {node.reads}."
    if s != p:
        text += f" The window moves {s} cell{'s' if s > 1 else ''} at a time."
    return [Step("forward", node.writes, (node.reads,),
                 rf"{P}[f,i,j] = \frac{{1}}{{{p * p}}} \sum_{{a,b}} {IN}[f,{s}i+a,{s}j+b]",
                 text, numbers)]


def backward_steps(node, net) -> list[Step]:
    P, IN = tex(node.writes), tex(node.reads)
    p, s = node.layer["size"], node.layer["stride"]
    out = node.out_shape[-1]

    def numbers(t, lr):
        cell = (0, 0, 0)
        cover = [(0, i, j) for i, j in _pool.covering(0, 0, p, s, out)]
        dP = np.asarray(t["d" + node.writes])
        terms = " + ".join(rf"\frac{{{num(dP[w])}}}{{{p * p}}}" for w in cover) or "0"
        return rf"{d(IN)}{idx(cell)} = {terms} = {num(t['d' + node.reads][cell])}"

    text = (f"Average pooling spreads each window's gradient evenly: every one of its {p * p} "
            f"cells gets d{node.writes} / {p * p}, whatever its value was."
            f"{_pool.overlap_text(node.layer)}")
    return [Step("backward", "d" + node.reads, ("d" + node.writes,),
                 rf"{d(IN)}[f,r,c] = \sum_{{(i,j) \ni (r,c)}} \frac{{1}}{{{p * p}}}\,{d(P)}[f,i,j]",
                 text, numbers)]


def sources(node, net) -> dict:
    p, s = node.layer["size"], node.layer["stride"]
    IN = node.reads

    def fwd(t, index):
        f, i, j = index
        cells = _pool.window_cells(f, i, j, p, s)
        return {IN: cells, "window": cells,
                "terms": [float(t[IN][tuple(c)]) / (p * p) for c in cells],
                "note": f"the mean of its {IN} window"}

    def bwd(t, index):
        f, r, c = index
        cover = [[f, i, j] for i, j in _pool.covering(r, c, p, s, node.out_shape[-1])]
        if not cover:
            return {"d" + node.writes: [], "note": "outside every pooling window: gets 0"}
        dP = np.asarray(t["d" + node.writes])
        return {"d" + node.writes: cover,
                "terms": [float(dP[tuple(w)]) / (p * p) for w in cover],
                "note": f"d{node.writes} / {p * p} from each window that holds it"}

    return {node.writes: fwd, "d" + IN: bwd}


def marks(t, node) -> dict:
    m = {"pool": node.layer["size"], "stride": node.layer["stride"]}
    return {node.reads: m, "d" + node.reads: m}


# ---------------------------------------------------------------- fit and misconceptions
from ..misconceptions import Misconception  # noqa: E402
from . import _wrong  # noqa: E402


def unfit(t, node) -> list[str]:
    return []  # a mean has no kink and no tie


def _p_max(g, node, lr):
    return _pool.windows(_wrong.a(g, node.reads), *_wrong.pool_sizes(node)).max(axis=-1)


def _d_not_divided(g, node, lr):
    p, s = _wrong.pool_sizes(node)
    dP = _wrong.a(g, "d" + node.writes)
    return _wrong.spread(np.repeat(dP[..., None], p * p, axis=-1), node.in_shape, p, s)


def _d_one_of_overlaps(g, node, lr):
    if not _wrong.overlaps(node):
        raise ValueError("the windows do not overlap")
    p, s = _wrong.pool_sizes(node)
    dP = _wrong.a(g, "d" + node.writes)
    fill = np.repeat(dP[..., None], p * p, axis=-1) / (p * p)
    return _wrong.spread(fill, node.in_shape, p, s, add=False)


MISCONCEPTIONS = (
    Misconception("max", "forward", "Max-pooling instead of the average",
       "Average pooling keeps the mean of each window: add its cells up and divide by how "
       "many there are.", _p_max),
    Misconception("not-divided", "backward", "Gradient not divided by the window's size",
       "Each cell of a window gave 1/(number of cells) of the mean, so it gets {dout} divided "
       "by the window's number of cells, not the whole of it.", _d_not_divided),
    Misconception("one-overlap", "backward", "Only one window's share kept",
       "The windows overlap: a cell in several of them collects a share from each window "
       "that holds it; add the shares up.", _d_one_of_overlaps,
                  applies=_wrong.overlaps),
)
