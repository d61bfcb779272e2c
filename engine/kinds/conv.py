"""Convolution: Z_i = Conv(IN, W_i) + b_i, a cross-correlation with stride s and zero padding.

Shapes (one example): IN (C, H, W), or X (n, n) for the first layer (one channel);
W_i (K, C, k, k), or (K, k, k) on X; b_i (K,); Z_i (K, Ho, Wo) with
Ho = floor((H + 2 pad - k) / s) + 1 (a remainder that fills no window is dropped).

Z[f, i, j]  = sum_{c,a,b} INpad[c, s i + a, s j + b] W[f, c, a, b] + b[f]
dW[f,c,a,b] = sum_{i,j} INpad[c, s i + a, s j + b] dZ[f, i, j]
db[f]       = sum_{i,j} dZ[f, i, j]
dIN[c,r,q]  = sum_{f,a,b: r + pad = s i + a, q + pad = s j + b} W[f, c, a, b] dZ[f, i, j]
"""

from __future__ import annotations

import math

import numpy as np

from ..notation import FIT, Formula, Step, d, idx, num, tex
from . import _settle

ROLE = "conv"
OPTIONS = {"filters": (1, 1, 16, int), "kernel": (3, 1, 7, int), "stride": (1, 1, 3, int),
           "padding": (0, 0, 3, int)}
TITLE = "conv"


def label(layer) -> str:
    k, s, p = layer["kernel"], layer["stride"], layer["padding"]
    extra = (f", stride {s}" if s != 1 else "") + (f", pad {p}" if p else "")
    return f"conv {k}×{k} ×{layer['filters']}{extra}"


def shapes(layer, in_shape, *, first: bool, scalar: bool):
    K, k, s, pad = layer["filters"], layer["kernel"], layer["stride"], layer["padding"]
    C, H = (1, in_shape[0]) if first else (in_shape[0], in_shape[1])
    if k > H + 2 * pad:
        raise ValueError(f"kernel {k} is larger than its input ({H}×{H}"
                         f"{f' padded by {pad}' if pad else ''})")
    if pad >= k:
        raise ValueError(f"padding {pad} must be smaller than the kernel {k}")
    out = (H + 2 * pad - k) // s + 1
    W = (K, k, k) if first else (K, C, k, k)
    return (K, out, out), {"W": W, "b": (K,)}


def init(rng: np.random.Generator, layer, node) -> dict[str, np.ndarray]:
    """W ~ U(-1/sqrt(fan-in), 1/sqrt(fan-in)) with fan-in C k k; b = 0.1 (a bright input
    starts in ReLU's active region). The seed's W1 ~ U(-1/k, 1/k) is this rule for C = 1."""
    shape = node.param_shapes[node.params["W"]]
    fan_in = math.prod(shape[1:])
    bound = 1 / math.sqrt(fan_in)
    return {"W": rng.uniform(-bound, bound, size=shape), "b": np.full(shape[0], 0.1)}


# ------------------------------------------------------------------ forward / backward
def _four(x: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """x as (N, C, H, W) and W as (K, C, k, k): X (N, n, n) is one channel."""
    return (x[:, None] if x.ndim == 3 else x), (W[:, None] if W.ndim == 3 else W)


BLOCK_BYTES = 1 << 18  # a block of cols that stays in cache while BLAS reads it


def _blocks(cols: np.ndarray) -> list[slice]:
    """cols' columns in blocks of about BLOCK_BYTES (products over them are faster than one
    product over all columns, whose operands do not fit in cache)."""
    width = max(4096, BLOCK_BYTES // (8 * cols.shape[0]))
    return [slice(j, j + width) for j in range(0, cols.shape[1], width)]


def forward(x: np.ndarray, params: dict[str, np.ndarray], layer) -> tuple[np.ndarray, tuple]:
    """x (N, C, H, W) or (N, n, n) -> Z (N, K, Ho, Wo), by im2col and one matrix product for
    the whole batch, the batch axis innermost in memory (channels first, batch last):
    cols (C k k + 1, Ho Wo N) holds each window as a column, row (c, a, b) the copy of
    INpad[c, a:, b:] at stride s, and a last row of ones that meets b, so that
    Z^T = [W (K, C k k) | b] cols (K, Ho Wo N) adds the bias in the product. Z is that array
    seen as (N, K, Ho, Wo) (a transposed view, no copy); a conv reading it, a ReLU or a pool
    keep its layout, so no pass of the network transposes it back."""
    s, pad = layer["stride"], layer["padding"]
    x4, W4 = _four(x, params["W"])
    K, C, k, _ = W4.shape
    N, _, H, Wd = x4.shape
    xT = x4.transpose(1, 2, 3, 0)  # (C, H, W, N): free for a Z or pooled map, a copy of X
    if pad:
        xp = np.zeros((C, H + 2 * pad, Wd + 2 * pad, N))
        xp[:, pad:pad + H, pad:pad + Wd] = xT
    else:
        xp = np.ascontiguousarray(xT)
    Ho, Wo = (xp.shape[1] - k) // s + 1, (xp.shape[2] - k) // s + 1
    cols = np.empty((C * k * k + 1, Ho * Wo * N))
    cols[-1] = 1.0
    windows = cols[:-1].reshape(C, k, k, Ho, Wo, N)
    for a in range(k):
        for b in range(k):
            windows[:, a, b] = xp[:, a:a + s * (Ho - 1) + 1:s, b:b + s * (Wo - 1) + 1:s]
    W2 = W4.reshape(K, C * k * k)
    Wb = np.concatenate([W2, params["b"][:, None]], axis=1)
    ZT = np.empty((K, cols.shape[1]))
    for cut in _blocks(cols):
        np.matmul(Wb, cols[:, cut], out=ZT[:, cut])
    # rounding residues of an exact 0 become 0, so every path decides kinks alike
    xmax = np.abs(xp).max(axis=(0, 1, 2))
    bound = _settle.limit(xmax, W2, params["b"])  # (N, K)
    _settle.settle(ZT.reshape(K, Ho * Wo, N), bound.T[:, None, :])
    Z = ZT.reshape(K, Ho, Wo, N).transpose(3, 0, 1, 2)
    return Z, (x.shape, params["W"].shape, W2, cols, xp.shape, s, pad, k)


def backward(dZ: np.ndarray, cache: tuple, *, input_grad: bool = True
             ) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
    """dZ (N, K, Ho, Wo) -> dIN (the input's shape), {"W": dW, "b": db}.

    With dZ^T (K, Ho Wo N) (free when dZ has a conv's layout), [dW | db] = dZ^T cols^T in
    one product (db against the row of ones); dIN by col2im, batch last: dcols = W^T dZ^T
    (C k k, Ho Wo N), each of the k k window offsets (a, b) adds its slice into the padded
    input's gradient (C, Hp, Wp, N), whose border is then cut; dIN is returned as a
    transposed view of it. ``input_grad=False`` (training, on the layer that reads X)
    skips dIN and returns None for it."""
    x_shape, w_shape, W2, cols, xp_shape, s, pad, k = cache
    N, K, Ho, Wo = dZ.shape
    C, Hp, Wp, _ = xp_shape
    dZT = np.ascontiguousarray(dZ.transpose(1, 2, 3, 0)).reshape(K, Ho * Wo * N)
    dWb = sum(dZT[:, cut] @ cols[:, cut].T for cut in _blocks(cols))
    dW, db = dWb[:, :-1].reshape(w_shape), dWb[:, -1].copy()
    if not input_grad:
        return None, {"W": dW, "b": db}
    dcols = (W2.T @ dZT).reshape(C, k, k, Ho, Wo, N)
    dxp = np.zeros(xp_shape)
    for a in range(k):
        for b in range(k):
            dxp[:, a:a + s * (Ho - 1) + 1:s, b:b + s * (Wo - 1) + 1:s] += dcols[:, a, b]
    dx = dxp[:, pad:Hp - pad, pad:Wp - pad].transpose(3, 0, 1, 2)
    return (dx[:, 0] if len(x_shape) == 3 else dx), {"W": dW, "b": db}


# ------------------------------------------------------------------------------ views
def _channels(t, name: str) -> np.ndarray:
    """A trace's tensor as (C, H, W): X is one channel."""
    v = np.asarray(t[name])
    return v[None] if v.ndim == 2 else v


def _w4(t, node) -> np.ndarray:
    W = np.asarray(t[node.params["W"]])
    return W[:, None] if W.ndim == 3 else W


def _padded(t, node) -> np.ndarray:
    pad = node.layer["padding"]
    v = _channels(t, node.reads)
    return np.pad(v, ((0, 0), (pad, pad), (pad, pad))) if pad else v


def _input_tex(node) -> str:
    name = tex(node.reads)
    return rf"\mathrm{{pad}}({name})" if node.layer["padding"] else name


def _wi(node, cell: str) -> str:
    """W_i's index in a sum: [a,b] on X with one filter, [0,a,b] with more, [0,c,a,b]."""
    W = tex(node.params["W"])
    K = node.out_shape[0]
    if node.first:
        return f"{W}[0,a,b]" if K > 1 else f"{W}[a,b]"
    return f"{W}[{cell},c,a,b]"


def _conv_tex(node) -> str:
    s, pad = node.layer["stride"], node.layer["padding"]
    sub = []
    if s != 1:
        sub.append(rf"\text{{stride }}{s}")
    if pad:
        sub.append(rf"\text{{pad }}{pad}")
    return r"\mathrm{Conv}" + (r"_{" + r",\ ".join(sub) + "}" if sub else "")


# ------------------------------------------------------------------------------ steps
def forward_steps(node, net) -> list[Step]:
    Z, W, b, IN = (tex(node.writes), tex(node.params["W"]), tex(node.params["b"]),
                   tex(node.reads))
    s, pad = node.layer["stride"], node.layer["padding"]
    how = ""
    if s != 1:
        how += f" The window moves {s} cells at a time, so Z has fewer positions."
    if pad:
        how += f" {IN} gets a border of {pad} zero{'s' if pad > 1 else ''} first."
    filt = "the filter" if node.first else "each filter"
    text = (f"Slide {filt} {node.params['W']} over {node.reads}: each cell of {node.writes} is "
            f"the sum of one window of {node.reads} times {node.params['W']}, plus the bias "
            f"{node.params['b']}.{how}")

    def numbers(t, lr):
        window = _padded(t, node)[:, :node.layer["kernel"], :node.layer["kernel"]]
        total = float(np.sum(window * _w4(t, node)[0]))
        sums = r"\sum_{a,b}" if node.first else r"\sum_{c,a,b}"
        src = f"{_input_tex(node)}[a,b]" if node.first else f"{_input_tex(node)}[c,a,b]"
        cell = (0,) * len(node.out_shape)
        return (rf"{Z}{idx(cell)} = {sums} {src}\,{_wi(node, '0')} + {b}"
                rf" = {num(total)} + {num(t[node.params['b']][0], paren=True)}"
                rf" = {num(t[node.writes][cell])}")

    return [Step("forward", node.writes, (node.reads, node.params["W"], node.params["b"]),
                 rf"{Z} = {_conv_tex(node)}({_input_tex(node) if pad else IN}, {W}) + {b}",
                 text, numbers)]


def backward_steps(node, net) -> list[Step]:
    Z, W, b, IN = (tex(node.writes), tex(node.params["W"]), tex(node.params["b"]),
                   tex(node.reads))
    dIN = "d" + node.reads
    s, pad = node.layer["stride"], node.layer["padding"]
    if node.first:
        also_text = ("The same backward pass gives dX, the gradient with respect to the input "
                     "(a saliency map): the full convolution of dZ1 with the flipped filter, so "
                     "each input cell collects, from every position whose window covered it, "
                     "that position's gradient times the weight it met.")
        also_text = also_text.replace("dZ1", "d" + node.writes)
    else:
        also_text = (f"The same backward pass gives {dIN}, the gradient that flows on to the "
                     f"layer before: each cell of {node.reads} collects, from every position "
                     f"whose window covered it, that position's gradient times the weight it met.")
    if s != 1:
        also_text += f" With stride {s}, only the positions the window visited count."
    if pad:
        also_text += " The padded border's gradients are dropped: it is not part of the input."
    text = (f"Each filter weight's gradient sums, over every position, the {node.reads} value "
            f"it touched times that position's gradient in d{node.writes}. {also_text}")
    if node.first:
        also_latex = (rf"{d('X')}[i,j] = \sum_f \sum_{{a,b}} {d(Z)}[f,i-a,j-b]\,{W}[f,a,b]"
                      rf" = \mathrm{{FullConv}}\left({d(Z)}, \mathrm{{flip}}({W})\right)[i,j]")
        if s != 1 or pad:
            also_latex = (rf"{d('X')}[r,q] = \sum_f \sum_{{a,b}} {d(Z)}[f,i,j]\,{W}[f,a,b]"
                          rf"\quad(r + {pad} = {s}i + a,\ q + {pad} = {s}j + b)")
    else:
        also_latex = (rf"{d(IN)}[c,r,q] = \sum_f \sum_{{a,b}} {d(Z)}[f,i,j]\,{W}[f,c,a,b]"
                      rf"\quad(r + {pad} = {s}i + a,\ q + {pad} = {s}j + b)")

    def dw_numbers(t, lr):
        dz = np.asarray(t["d" + node.writes])[0]
        Ho, Wo = dz.shape
        window = _padded(t, node)[0, 0:s * (Ho - 1) + 1:s, 0:s * (Wo - 1) + 1:s]
        used = np.flatnonzero(dz)
        if 0 < used.size <= FIT:
            terms = " + ".join(
                f"{num(window.flat[i], paren=True)} \\times {num(dz.flat[i], paren=True)}"
                for i in used)
        else:
            src = f"{_input_tex(node)}[i,j]" if node.first else f"{_input_tex(node)}[0,i,j]"
            if s != 1:
                src = src.replace("[i,j]", f"[{s}i,{s}j]").replace("[0,i,j]", f"[0,{s}i,{s}j]")
            terms = rf"\sum_{{i,j}} {src}\,{d(Z)}[i,j]"
        cell = (0,) * np.ndim(t[node.params["W"]])
        return rf"{d(W)}{idx(cell)} = {terms} = {num(t['d' + node.params['W']][cell])}"

    def din_numbers(t, lr):
        g = np.asarray(t[dIN])
        cell = tuple(int(i) for i in np.unravel_index(int(np.argmax(np.abs(g))), g.shape))
        feeding = provenance_din(t, node, cell)
        terms = [(gz, w) for w, gz in feeding["factors"] if gz != 0]
        if 0 < len(terms) <= FIT:
            sums = " + ".join(f"{num(gz, paren=True)} \\times {num(w, paren=True)}"
                              for gz, w in terms)
        elif node.first and s == 1 and not pad:
            i, j = cell
            sums = rf"\sum_f \sum_{{a,b}} {d(Z)}[f,{i}-a,{j}-b]\,{W}[f,a,b]"
        else:
            sums = rf"\sum_f \sum_{{a,b}} {d(Z)}[f,i,j]\,{W}[f,{'' if node.first else 'c,'}a,b]"
        return rf"{d(IN)}{idx(cell)} = {sums} = {num(g[cell])}"

    def db_numbers(t, lr):
        dz = np.asarray(t["d" + node.writes])[0]
        used = dz[dz != 0]
        terms = " + ".join(num(v, paren=True) for v in used) if 0 < used.size <= FIT else (
            rf"\sum_{{i,j}} {d(Z)}[i,j]")
        K = node.out_shape[0]
        where = idx((0,)) if K > 1 else ""
        return rf"{d(b)}{where} = {terms} = {num(t['d' + node.params['b']][0])}"

    dZ = "d" + node.writes
    return [
        Step("backward", "d" + node.params["W"], (dZ, node.reads),
             rf"{d(W)} = {d(Z)} \times \frac{{\partial {Z}}}{{\partial {W}}}"
             rf" = {_conv_tex(node)}\left({IN}, {d(Z)}\right)", text, dw_numbers,
             also=(Formula(dIN, also_latex, din_numbers),)),
        Step("backward", "d" + node.params["b"], (dZ,), rf"{d(b)} = \sum_{{i,j}} {d(Z)}[i,j]",
             f"The conv bias is added at every position, so its gradient is the sum of {dZ}.",
             db_numbers),
    ]


UPDATE_TEXT = {"W": "Gradient descent moves every filter weight a small step against its "
                    "gradient.",
               "b": "The conv bias takes the same kind of step."}


# ------------------------------------------------------------------------- provenance
def provenance_z(t, node, index) -> dict:
    f, i, j = index
    k, s, pad = node.layer["kernel"], node.layer["stride"], node.layer["padding"]
    v = _channels(t, node.reads)
    W4 = _w4(t, node)
    C, H, Wd = v.shape
    x_cells, w_cells, factors = [], [], []
    for c in range(C):
        for a in range(k):
            for b in range(k):
                r, q = s * i + a - pad, s * j + b - pad
                if 0 <= r < H and 0 <= q < Wd:
                    x_cells.append([r, q] if node.first else [c, r, q])
                    w_cells.append([f, a, b] if node.first else [f, c, a, b])
                    factors.append([float(v[c, r, q]), float(W4[f, c, a, b])])
    note = f"the {node.reads} window times {node.params['W']}, summed, plus {node.params['b']}"
    if pad:
        note += " (cells of the zero border add nothing)"
    return {node.reads: x_cells, node.params["W"]: w_cells, node.params["b"]: [[f]],
            "factors": factors, "terms": [a * b for a, b in factors],
            "bias": float(t[node.params["b"]][f]), "note": note}


def provenance_dw(t, node, index) -> dict:
    f, c, a, b = (index[0], 0, index[1], index[2]) if node.first else index
    s, pad = node.layer["stride"], node.layer["padding"]
    v = _channels(t, node.reads)
    dZ = np.asarray(t["d" + node.writes])
    _, Ho, Wo = dZ.shape
    H, Wd = v.shape[1:]
    z_cells, x_cells, factors = [], [], []
    for i in range(Ho):
        for j in range(Wo):
            r, q = s * i + a - pad, s * j + b - pad
            if 0 <= r < H and 0 <= q < Wd:
                z_cells.append([f, i, j])
                x_cells.append([r, q] if node.first else [c, r, q])
                factors.append([float(v[c, r, q]), float(dZ[f, i, j])])
    return {node.reads: x_cells, "d" + node.writes: z_cells, "factors": factors,
            "terms": [x * g for x, g in factors],
            "note": f"each {node.reads} value this weight touched times the d{node.writes} of "
                    "that position"}


def provenance_db(t, node, index) -> dict:
    dZ = np.asarray(t["d" + node.writes])
    _, Ho, Wo = dZ.shape
    cells = [[index[0], i, j] for i in range(Ho) for j in range(Wo)]
    return {"d" + node.writes: cells, "terms": [float(dZ[tuple(c)]) for c in cells],
            "note": f"the sum of d{node.writes} over every position"}


def provenance_din(t, node, index) -> dict:
    r, q = (index if node.first else index[1:])
    cs = [0] if node.first else [index[0]]
    k, s, pad = node.layer["kernel"], node.layer["stride"], node.layer["padding"]
    W4 = _w4(t, node)
    dZ = np.asarray(t["d" + node.writes])
    K, Ho, Wo = dZ.shape
    z_cells, w_cells, factors = [], [], []
    for c in cs:
        for f in range(K):
            for a in range(k):
                for b in range(k):
                    ii, jj = r + pad - a, q + pad - b
                    if ii % s or jj % s:
                        continue
                    i, j = ii // s, jj // s
                    if 0 <= i < Ho and 0 <= j < Wo:
                        z_cells.append([f, i, j])
                        w_cells.append([f, a, b] if node.first else [f, c, a, b])
                        factors.append([float(W4[f, c, a, b]), float(dZ[f, i, j])])
    what = "pixel" if node.first else "cell"
    return {"d" + node.writes: z_cells, node.params["W"]: w_cells, "factors": factors,
            "terms": [w * g for w, g in factors],
            "note": f"every position whose window covers this {what}: "
                    f"{node.params['W']} times d{node.writes}"}


def sources(node, net) -> dict:
    def bind(fn):
        return lambda t, index: fn(t, node, index)
    return {node.writes: bind(provenance_z), "d" + node.params["W"]: bind(provenance_dw),
            "d" + node.params["b"]: bind(provenance_db), "d" + node.reads: bind(provenance_din)}


def marks(t, node) -> dict:
    """The padded border and the stride's positions, where the layer has them."""
    out = {}
    s, pad = node.layer["stride"], node.layer["padding"]
    if pad or s != 1:
        out[node.reads] = {"padding": pad, "stride": s, "kernel": node.layer["kernel"]}
    return out


# ---------------------------------------------------------------- fit and misconceptions
from ..misconceptions import Misconception  # noqa: E402
from . import _wrong  # noqa: E402


def unfit(t, node) -> list[str]:
    return []


def _z(g, node, W, b):
    x = _wrong.a(g, node.reads)
    return forward(x[None], {"W": W, "b": b}, node.layer)[0][0]


def _z_no_bias(g, node, lr):
    W = _wrong.a(g, node.params["W"])
    return _z(g, node, W, np.zeros(W.shape[0]))


def _z_flipped(g, node, lr):
    W = _wrong.a(g, node.params["W"])
    return _z(g, node, W[..., ::-1, ::-1], _wrong.a(g, node.params["b"]))


def _z_transposed(g, node, lr):
    W = _wrong.a(g, node.params["W"])
    return _z(g, node, np.swapaxes(W, -1, -2), _wrong.a(g, node.params["b"]))


def _padded_input(g, node) -> np.ndarray:
    v = _wrong.a(g, node.reads)
    v = v[None] if v.ndim == 2 else v
    pad = node.layer["padding"]
    return np.pad(v, ((0, 0), (pad, pad), (pad, pad))) if pad else v


def _dw(xp: np.ndarray, dZ: np.ndarray, k: int, s: int, node) -> np.ndarray:
    """dW[f, c, a, b] = Σ_ij xp[c, s i + a, s j + b] dZ[f, i, j], in W's shape."""
    K, Ho, Wo = dZ.shape
    out = np.zeros((K, xp.shape[0], k, k))
    for i in range(Ho):
        for j in range(Wo):
            window = xp[:, s * i:s * i + k, s * j:s * j + k]
            out += dZ[:, i, j][:, None, None, None] * window[None]
    return out.reshape(node.param_shapes[node.params["W"]])


def _dz(g, node) -> np.ndarray:
    return _wrong.a(g, "d" + node.writes)


def _dw_one_position(g, node, lr):
    xp, dZ, k, s = _padded_input(g, node), _dz(g, node), node.layer["kernel"], node.layer["stride"]
    out = np.zeros((dZ.shape[0], xp.shape[0], k, k))
    for f in range(dZ.shape[0]):
        used = np.flatnonzero(dZ[f])
        if used.size:
            i, j = divmod(int(used[0]), dZ.shape[-1])
            out[f] = xp[:, s * i:s * i + k, s * j:s * j + k] * dZ[f, i, j]
    return out.reshape(node.param_shapes[node.params["W"]])


def _dw_averaged(g, node, lr):
    dZ = _dz(g, node)
    true = _dw(_padded_input(g, node), dZ, node.layer["kernel"], node.layer["stride"], node)
    return true / (dZ.shape[-1] * dZ.shape[-2])


def _dw_flipped(g, node, lr):
    return _dw(_padded_input(g, node), _dz(g, node)[:, ::-1, ::-1], node.layer["kernel"],
               node.layer["stride"], node)


def _dw_transposed(g, node, lr):
    true = _dw(_padded_input(g, node), _dz(g, node), node.layer["kernel"],
               node.layer["stride"], node)
    return np.swapaxes(true, -1, -2)


def _dw_no_stride(g, node, lr):
    if node.layer["stride"] == 1:
        raise ValueError("stride 1: nothing to ignore")
    return _dw(_padded_input(g, node), _dz(g, node), node.layer["kernel"], 1, node)


def _db_averaged(g, node, lr):
    return _dz(g, node).mean(axis=(1, 2))


def _din_padded(g, node, W: np.ndarray) -> np.ndarray:
    """The gradient of the padded input: every position's dZ times the weights it met."""
    W4 = W[:, None] if W.ndim == 3 else W
    dZ = _dz(g, node)
    k, s, pad = node.layer["kernel"], node.layer["stride"], node.layer["padding"]
    C, H = W4.shape[1], node.in_shape[-1]
    out = np.zeros((C, H + 2 * pad, H + 2 * pad))
    _, Ho, Wo = dZ.shape
    for i in range(Ho):
        for j in range(Wo):
            out[:, s * i:s * i + k, s * j:s * j + k] += np.tensordot(dZ[:, i, j], W4, axes=1)
    return out


def _shaped(node, v: np.ndarray) -> np.ndarray:
    return v.reshape(node.in_shape)


def _din_not_flipped(g, node, lr):
    W = _wrong.a(g, node.params["W"])
    full = _din_padded(g, node, W[..., ::-1, ::-1])
    pad, H = node.layer["padding"], node.in_shape[-1]
    return _shaped(node, full[:, pad:pad + H, pad:pad + H])


def _din_corner(g, node, lr):
    pad, H = node.layer["padding"], node.in_shape[-1]
    if not pad:
        raise ValueError("no padding")
    full = _din_padded(g, node, _wrong.a(g, node.params["W"]))
    return _shaped(node, full[:, :H, :H])


MISCONCEPTIONS = (
    Misconception("no-bias", "forward", "Bias left out",
       "Every cell of {out} is the window's sum of products plus the bias {b}: add {b} to each "
       "cell.", _z_no_bias),
    Misconception("flipped-kernel", "forward", "Kernel flipped (true convolution)",
       "A CNN's Conv is a cross-correlation: {W}[0,0] multiplies the window's top-left {in} "
       "value, without flipping the kernel.", _z_flipped),
    Misconception("transposed-kernel", "forward", "Kernel transposed",
       "{W}[a,b] multiplies the window's {in} value at row a and column b: {W}[0,1] is the top "
       "row's second weight, not the left column's second.", _z_transposed),
    Misconception("one-position", "dW", "Only one position used",
       "Each weight touched an {in} value at every position of the sliding window: {dW} sums "
       "{in}-window × {dout} over all positions, not only one.", _dw_one_position),
    Misconception("averaged", "dW", "Averaged instead of summed",
       "The weight was used at every position and each use adds its own gradient: sum the "
       "products over positions, do not divide by their number.", _dw_averaged),
    Misconception("flipped", "dW", "{dout} flipped (true convolution)",
       "{dW}[a,b] = Σ {in}[i+a, j+b]·{dout}[i,j]: slide {dout} over {in} as it is, as in the "
       "forward cross-correlation, without flipping it.", _dw_flipped),
    Misconception("transposed", "dW", "Rows and columns swapped",
       "{dW}[a,b] = Σ {in}[i+a, j+b]·{dout}[i,j]: a is the row of the weight, b its column, "
       "as in {W}; the result is not transposed.", _dw_transposed),
    Misconception("no-stride", "dW", "Stride ignored",
       "The window moved {stride} cells at a time: position (i, j) of {dout} met the {in} "
       "window starting at ({stride}i, {stride}j), not at (i, j).", _dw_no_stride,
                  applies=lambda node: node.layer["stride"] != 1),
    Misconception("averaged", "db", "Averaged instead of summed",
       "{b} is added at every position of {out}, so its gradient is the sum of {dout}, not the "
       "mean.", _db_averaged),
    Misconception("not-flipped", "dinput", "Filter not flipped",
       "Sending the gradient back to {in} turns the filter round: {din} is the full "
       "convolution of {dout} with the flipped filter, so a weight's top-left corner carries "
       "a position's gradient to the window's top-left cell.", _din_not_flipped),
    Misconception("pad-corner", "dinput", "Padded border cut on one side only",
       "The padded input has a border of {padding} zero cells on every side: its gradient "
       "keeps only the inner cells, dropping {padding} rows and columns at the top, bottom, "
       "left and right.", _din_corner,
                  applies=lambda node: node.layer["padding"] > 0),
)
