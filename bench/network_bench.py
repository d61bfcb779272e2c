"""The engine beside PyTorch (CPU, float64) on the same networks, in one run.

Run from the repository root::

    python -m bench.network_bench            # about 20 s
    python -m bench.network_bench --quick    # a few seconds, noisier

Threads: BLAS is pinned to one thread before NumPy is imported (as in
:mod:`bench.engine_bench`), and ``torch.set_num_threads(1)`` gives PyTorch the same one
thread for its intra-op work, so neither side gets a second core the other lacks (these
networks are too small for threads to pay off; on this shared 2-core machine they only
add noise). Both sides compute in float64 and do the same work per step: forward, backward
and the SGD update of every parameter. Each figure is the median of single timed calls
(``time.perf_counter_ns``), engine and PyTorch taking turns in blocks of 32 calls so that a
slow spell of the machine hits both, with the 10th-90th percentile beside it.

Figures:

a. the seed's network (6x6, one 3x3 filter, 2x2 max-pool, dense 1, sigmoid_bce), one SGD
   step on one example: ``engine.fast.Net.step_one`` (what ``engine.train`` runs at batch
   size 1) against PyTorch's step; target: the engine at least 20x faster. The readable
   path (``engine.trace`` + ``engine.sgd_step``) is shown beside it for reference;
b. the seed's network, one SGD step on a batch of 256 (``fast.Net.step_batch``); target
   at least 4x faster than PyTorch;
c. NET_C (28x28 input; conv 3x3 x8, ReLU, 2x2 max-pool, conv 3x3 x16, ReLU, 2x2 max-pool,
   flatten, dense 10, softmax_ce), one SGD step on a batch of 64 on the layer kinds'
   batched path (``engine.model._Batched``, what ``engine.train`` runs for it); target:
   at least as fast as PyTorch. The network list allows 8 layers and a dense weight of at
   most 16,384 cells, so each conv has its pool: with one pool after both convs the
   dense weight would be 10 x 2,304 = 23,040 cells and ``engine.network`` refuses it;
d. ``engine.trace`` + ``engine.step_records`` on NET_C for one example (every tensor, and
   every step's formula with its numbers, as the step-by-step page asks for them);
   target 2 ms.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

import engine  # noqa: E402
from bench.engine_bench import calibration_us, cpu_busy, pin_blas, summary  # noqa: E402
from engine import fast  # noqa: E402
from engine.model import _Batched  # noqa: E402
from engine.network import SEED, Network, network  # noqa: E402
from engine.steps import step_records  # noqa: E402

TARGET_SINGLE_X = 20.0  # (a) torch time / engine time
TARGET_BATCH256_X = 4.0  # (b)
TARGET_C_X = 1.0  # (c)
TARGET_D_MS = 2.0  # (d)
LR = 0.1

NET_C: Network = network({"input": {"size": 28}, "layers": [
    {"type": "conv", "filters": 8, "kernel": 3}, {"type": "relu"},
    {"type": "maxpool", "size": 2},
    {"type": "conv", "filters": 16, "kernel": 3}, {"type": "relu"},
    {"type": "maxpool", "size": 2},
    {"type": "flatten"}, {"type": "dense", "units": 10}], "output": "softmax_ce"})


# ------------------------------------------------------------------------- PyTorch
def torch_step(torch, net: Network, params: dict[str, np.ndarray]) -> Callable:
    """step(X, Y) -> loss: one SGD step of ``net`` in PyTorch (functional ops, autograd,
    then p -= lr * p.grad), on X (N, 1, n, n) and Y as torch tensors."""
    F = torch.nn.functional
    p = {name: torch.tensor(value, dtype=torch.float64, requires_grad=True)
         for name, value in params.items()}
    ops = []
    for node in net.nodes[:-1]:
        kind, layer = node.layer.type, node.layer
        if kind == "conv":
            W, b = p[node.params["W"]], p[node.params["b"]]
            first, s, pad = node.first, layer["stride"], layer["padding"]
            ops.append(lambda h, W=W, b=b, first=first, s=s, pad=pad: F.conv2d(
                h, W[:, None] if first else W, b, stride=s, padding=pad))
        elif kind == "relu":
            ops.append(F.relu)
        elif kind == "maxpool":
            ops.append(lambda h, k=layer["size"], s=layer["stride"]: F.max_pool2d(h, k, s))
        elif kind == "flatten":
            ops.append(lambda h: h.reshape(h.shape[0], -1))
        elif kind == "dense":
            W, b = p[node.params["W"]], p[node.params["b"]]
            ops.append(lambda h, W=W, b=b: F.linear(h, W, b))
        else:
            raise ValueError(f"no PyTorch op here for {kind}")
    if net.output == "sigmoid_bce":
        def loss(z, Y):
            return F.binary_cross_entropy_with_logits(z[:, 0], Y)
    else:
        def loss(z, Y):
            return F.cross_entropy(z, Y)
    values = list(p.values())

    def step(X, Y) -> float:
        h = X
        for op in ops:
            h = op(h)
        L = loss(h, Y)
        L.backward()
        with torch.no_grad():
            for v in values:
                v -= LR * v.grad
                v.grad = None
        return L.item()

    return step


def torch_batches(torch, net: Network, X: np.ndarray, Y: np.ndarray, size: int) -> list:
    Xt = torch.tensor(X, dtype=torch.float64)[:, None]
    Yt = (torch.tensor(Y, dtype=torch.float64) if net.output == "sigmoid_bce"
          else torch.tensor(Y, dtype=torch.int64))
    return [(Xt[i:i + size], Yt[i:i + size]) for i in range(0, len(X) - size + 1, size)]


# --------------------------------------------------------------------------- timing
BLOCK = 32  # consecutive calls of one entry before the next entry's turn


def paired_us(calls: dict[str, list[Callable[[], object]]], repeats: int,
              warm: int = 20) -> dict[str, list[float]]:
    """Per-call microseconds of each entry, each cycling through its own list of calls
    (different inputs). The entries take turns in blocks of BLOCK consecutive calls, each
    call timed alone: a slow spell of the machine hits them all, and a step runs after a
    step of its own, as in training (one call of a few microseconds right after a PyTorch
    call of a hundred would be timed with the caches PyTorch left it: twice as slow)."""
    for fs in calls.values():
        for f in (fs * warm)[:warm]:
            f()
    clock = time.perf_counter_ns
    times: dict[str, list[float]] = {key: [] for key in calls}
    for start in range(0, repeats, BLOCK):
        for key, fs in calls.items():
            for i in range(start, min(start + BLOCK, repeats)):
                f = fs[i % len(fs)]
                t0 = clock()
                f()
                times[key].append((clock() - t0) / 1000)
    return times


def data(net: Network, N: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = net.input_size
    return rng.random((N, n, n)), rng.integers(0, net.classes, size=N).astype(np.float64)


def figure_a(torch, repeats: int) -> dict[str, list[float]]:
    X, Y = data(SEED, 256)
    net = fast.Net(fast.plan_for(SEED.config), engine.init_params(SEED))
    Xa = fast.augment(X.reshape(len(X), -1))
    labels = Y.tolist()
    scales = net.scales(Xa).tolist()  # once per epoch in training, as Net.epoch does
    engine_calls = [lambda xa=xa, y=y, s=s: net.step_one(xa, y, LR, s)
                    for xa, y, s in zip(Xa, labels, scales)]
    tstep = torch_step(torch, SEED, engine.init_params(SEED))
    torch_calls = [lambda b=b: tstep(*b) for b in torch_batches(torch, SEED, X, Y, 1)]
    state = {"p": engine.init_params(SEED)}

    def readable(x, y):
        state["p"] = engine.sgd_step(state["p"], engine.trace(x, y, state["p"], SEED), LR)

    readable_calls = [lambda x=x, y=y: readable(x, y) for x, y in zip(X, labels)]
    times = paired_us({"engine": engine_calls, "torch": torch_calls}, repeats)
    times["readable"] = paired_us({"r": readable_calls}, max(200, repeats // 10))["r"]
    return times


def figure_b(torch, repeats: int) -> dict[str, list[float]]:
    X, Y = data(SEED, 256 * 8, seed=1)
    net = fast.Net(fast.plan_for(SEED.config), engine.init_params(SEED))
    Xa = fast.augment(X.reshape(len(X), -1))
    engine_calls = [lambda i=i: net.step_batch(Xa[i:i + 256], Y[i:i + 256], LR)
                    for i in range(0, len(X), 256)]
    tstep = torch_step(torch, SEED, engine.init_params(SEED))
    torch_calls = [lambda b=b: tstep(*b) for b in torch_batches(torch, SEED, X, Y, 256)]
    return paired_us({"engine": engine_calls, "torch": torch_calls}, repeats)


def figure_c(torch, repeats: int) -> dict[str, list[float]]:
    X, Y = data(NET_C, 64 * 4, seed=2)
    model = _Batched(NET_C, engine.init_params(NET_C))
    engine_calls = [lambda i=i: model.step(X[i:i + 64], Y[i:i + 64], LR)
                    for i in range(0, len(X), 64)]
    tstep = torch_step(torch, NET_C, engine.init_params(NET_C))
    torch_calls = [lambda b=b: tstep(*b) for b in torch_batches(torch, NET_C, X, Y, 64)]
    return paired_us({"engine": engine_calls, "torch": torch_calls}, repeats, warm=5)


def figure_d(repeats: int) -> dict[str, list[float]]:
    X, Y = data(NET_C, 16, seed=3)
    params = engine.init_params(NET_C)

    def both(x, y):
        step_records(engine.trace(x, y, params, NET_C), LR)

    calls = {"trace": [lambda x=x, y=y: engine.trace(x, y, params, NET_C)
                       for x, y in zip(X, Y)],
             "both": [lambda x=x, y=y: both(x, y) for x, y in zip(X, Y)]}
    return paired_us(calls, repeats, warm=5)


# ----------------------------------------------------------------------------- main
def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (a few seconds)")
    quick = parser.parse_args().quick
    import torch

    torch.set_num_threads(1)
    started, busy0, cpu0 = time.perf_counter(), cpu_busy(), time.process_time()
    print(pin_blas())
    print(f"PyTorch {torch.__version__}: torch.set_num_threads(1) (intra-op threads: "
          f"{torch.get_num_threads()}), float64 tensors, CPU")
    print(f"numpy {np.__version__}, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, {platform.machine()}; mode: {'quick' if quick else 'full'}")
    print(f"(a), (b): {SEED}\n(c), (d): {NET_C}, {NET_C.n_params} parameters\n")
    calibration = [calibration_us()]
    scale = 5 if quick else 1
    a = figure_a(torch, 20_000 // scale)
    b = figure_b(torch, 2_000 // scale)
    c = figure_c(torch, 200 // scale)
    d = figure_d(1_000 // scale)
    calibration.append(calibration_us())

    rows = []

    def ratio_row(label, times, target):
        (e, elo, ehi), t = summary(times["engine"]), summary(times["torch"])[0]
        x = t / e
        rows.append((label, f"{e:,.1f} us", f"{elo:,.1f}-{ehi:,.1f}", f"{t:,.1f} us",
                     f"{x:.1f}x", f">= {target:g}x", "ok" if x >= target else "MISSED"))

    ratio_row("(a) seed, one-example SGD step", a, TARGET_SINGLE_X)
    r, rlo, rhi = summary(a["readable"])
    rows.append(("    readable path: trace + sgd_step", f"{r:,.1f} us", f"{rlo:,.1f}-{rhi:,.1f}",
                 "", f"{summary(a['torch'])[0] / r:.1f}x", "(reference)", ""))
    ratio_row("(b) seed, batch-256 SGD step", b, TARGET_BATCH256_X)
    ratio_row("(c) NET_C, batch-64 SGD step", c, TARGET_C_X)
    for key, label in (("trace", "    engine.trace alone"),
                       ("both", "(d) NET_C, trace + step_records")):
        m, lo, hi = summary(d[key])
        target = f"<= {TARGET_D_MS:g} ms" if key == "both" else ""
        status = ("ok" if m <= TARGET_D_MS * 1000 else "MISSED") if key == "both" else ""
        rows.append((label, f"{m / 1000:.2f} ms", f"{lo / 1000:.2f}-{hi / 1000:.2f}", "", "",
                     target, status))

    width = max(len(row[0]) for row in rows)
    head = ("figure", "engine", "spread", "PyTorch", "speed-up", "target", "")
    print(f"{head[0]:<{width}}  {head[1]:>11}  {head[2]:>17}  {head[3]:>11}  {head[4]:>8}  "
          f"{head[5]:<12}")
    print("-" * (width + 72))
    for label, value, spread, ref, x, target, status in rows:
        print(f"{label:<{width}}  {value:>11}  {spread:>17}  {ref:>11}  {x:>8}  {target:<12}"
              f"  {status}")
    print("(median of single calls, engine and PyTorch in turns of 32 calls; spread: the "
          "engine's 10th-90th percentile; speed-up: PyTorch's median / the engine's)\n")
    elapsed = time.perf_counter() - started
    busy1 = cpu_busy()
    if busy0 is not None and busy1 is not None:
        others = max(0.0, (busy1[0] - busy0[0]) - (time.process_time() - cpu0))
        print(f"other processes kept {others / elapsed:.2f} of a CPU busy during the run "
              f"(0 = a quiet machine)")
    print(f"a + a on 4 numbers: {calibration[0]:.2f} us before, {calibration[1]:.2f} us after "
          f"(~0.4 us on a quiet machine)")
    print(f"total benchmark time {elapsed:.1f} s")


if __name__ == "__main__":
    main()
