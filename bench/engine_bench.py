"""How fast the engine trains, against its targets.

Run from the repository root::

    python -m bench.engine_bench            # about 6 s
    python -m bench.engine_bench --quick    # under a second, noisier

BLAS is pinned to one thread before NumPy is imported (the network is far too small for
threads to help; they only add noise). Figures are medians of many timed repeats
(``time.perf_counter_ns``), with the spread beside them. On a shared 2-core machine another
busy process can slow everything here ~2x for seconds at a time; the last lines say how busy
the rest of the machine was and how long a trivial NumPy call took, so a slow run can be
told from a regression.

Figures (default network: 6x6 input, one 3x3 filter, 2x2 max-pool, 15 parameters):

1. one training step on one example (forward, backward and the SGD update): on the fast
   path (``engine.fast.Net.step_one``, what ``train`` runs at batch size 1), through
   ``fast.grad_step`` (parameters as a dict in and out), and on the readable path the
   step-by-step view shows (``model.trace`` + ``model.sgd_step``);
2. ``engine.model.train`` throughput, in examples per second, at batch sizes 1 to 4096;
3. the time of 1,000 SGD steps at batch size 32 on a built-in dataset, with its loss and
   accuracy before and after.
"""

from __future__ import annotations

import os

# Before NumPy loads BLAS: one thread (threadpoolctl below confirms or enforces it).
for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_var] = "1"

import argparse  # noqa: E402
import platform  # noqa: E402
import statistics  # noqa: E402
import time  # noqa: E402
from collections.abc import Callable  # noqa: E402

import numpy as np  # noqa: E402

from engine import fast, model  # noqa: E402
from engine.config import Config  # noqa: E402

TARGET_SINGLE_US = 15.0  # one-example step, fast path
TARGET_BATCH256 = 3.5e6  # examples/s at batch 256
TORCH_SINGLE = "PyTorch: 140-270 us"  # on this machine, for reference
TORCH_BATCH256 = "PyTorch: 0.5-0.7 M/s"


def pin_blas() -> str:
    """Limit BLAS to one thread and say how."""
    try:
        from threadpoolctl import threadpool_info, threadpool_limits
    except ImportError:
        return "BLAS threads: 1 via OPENBLAS/OMP/MKL_NUM_THREADS=1 (threadpoolctl not installed)"
    threadpool_limits(1)
    pools = [f"{p.get('internal_api')} {p.get('version')}: {p.get('num_threads')} thread(s)"
             for p in threadpool_info()]
    return ("BLAS pinned to 1 thread (OPENBLAS/OMP/MKL_NUM_THREADS=1 set before importing "
            "numpy, and threadpoolctl): " + ("; ".join(pools) or "no BLAS pool found"))


def cpu_busy() -> tuple[float, float] | None:
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat (Linux)."""
    try:
        with open("/proc/stat") as f:
            fields = [float(v) for v in f.readline().split()[1:]]
    except (OSError, ValueError):
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    idle = fields[3] + (fields[4] if len(fields) > 4 else 0.0)  # idle + iowait
    return (sum(fields) - idle) / ticks, sum(fields) / ticks


def data(n: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray, str]:
    """n examples of a built-in dataset, or random ones if the datasets are not there."""
    try:
        from engine.datasets import load_dataset
    except ImportError:
        load_dataset = None
    if load_dataset is not None:
        xs, ys = load_dataset("x_vs_o", input_size=6, n=n, seed=seed)
        return xs, ys, "x_vs_o"
    rng = np.random.default_rng(seed)
    return rng.random((n, 6, 6)), (rng.random(n) > 0.5).astype(float), "random"


def per_call_us(calls: list[Callable[[], object]], repeats: int) -> list[float]:
    """Times of single calls in microseconds, cycling through ``calls`` (different inputs)."""
    for f in calls[:50]:  # warm up
        f()
    clock, times = time.perf_counter_ns, []
    for i in range(repeats):
        f = calls[i % len(calls)]
        t0 = clock()
        f()
        times.append((clock() - t0) / 1000)
    return times


def summary(values: list[float]) -> tuple[float, float, float]:
    """Median, 10th and 90th percentile."""
    deciles = statistics.quantiles(values, n=10)
    return statistics.median(values), deciles[0], deciles[-1]


def single_step(xs: np.ndarray, ys: np.ndarray, repeats: int) -> dict[str, list[float]]:
    """Per-call microseconds of one example's training step, three ways."""
    config, lr = Config(), 0.5
    plan = fast.plan_for(config)
    labels = ys.tolist()

    net = fast.Net(plan, model.init_params(config))
    step_one = net.step_one
    Xa = fast.augment(xs.reshape(len(xs), -1))
    scales = net.scales(Xa).tolist()  # once per epoch in training, as Net.epoch does
    fast_calls = [lambda xa=xa, y=y, s=s: step_one(xa, y, lr, s)
                  for xa, y, s in zip(Xa, labels, scales)]

    params = model.init_params(config)
    dict_calls = [lambda x=x, y=np.array([y]): fast.grad_step(plan, x, y, params, lr)
                  for x, y in zip(xs.reshape(len(xs), 1, -1), labels)]

    state = {"params": model.init_params(config)}

    def readable(x: np.ndarray, y: float) -> None:
        t = model.trace(x, y, state["params"], config)
        state["params"] = model.sgd_step(state["params"], t, lr)

    readable_calls = [lambda x=x, y=y: readable(x, y) for x, y in zip(xs, labels)]
    return {"fast": per_call_us(fast_calls, repeats),
            "dict": per_call_us(dict_calls, repeats // 5),
            "readable": per_call_us(readable_calls, max(200, repeats // 25))}


def train_throughput(xs: np.ndarray, ys: np.ndarray, runs: dict[int, tuple[int, int]],
                     repeats: int) -> dict[int, list[float]]:
    """Examples/s of engine.model.train per batch size, the sizes interleaved run by run
    (so that a slow spell of the machine spreads over all of them)."""
    config = Config()
    params = model.init_params(config)
    for batch_size in runs:  # warm up
        model.train(xs[:64], ys[:64], params, config, lr=0.5, epochs=1, batch_size=batch_size)
    rates: dict[int, list[float]] = {batch_size: [] for batch_size in runs}
    for r in range(repeats):
        for batch_size, (n, epochs) in runs.items():
            t0 = time.perf_counter_ns()
            model.train(xs[:n], ys[:n], params, config, lr=0.5, epochs=epochs,
                        batch_size=batch_size, seed=r)
            rates[batch_size].append(n * epochs / ((time.perf_counter_ns() - t0) / 1e9))
    return rates


def thousand_steps(repeats: int) -> tuple[list[float], dict[str, float], str]:
    """Seconds for 1,000 steps at batch 32 (100 batches x 10 epochs), and the loss and
    accuracy on the whole set before and after."""
    xs, ys, name = data(3200, seed=1)
    config = Config()
    params = model.init_params(config)

    def measure(p: dict[str, np.ndarray]) -> tuple[float, float]:
        t = fast.trace_batch(xs, ys, p, config)
        return float(t["L"]), float(np.mean((t["A2"] > 0.5) == (ys == 1)))

    seconds = []
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        result = model.train(xs, ys, params, config, lr=0.5, epochs=10, batch_size=32)
        seconds.append((time.perf_counter_ns() - t0) / 1e9)
    (l0, a0), (l1, a1) = measure(params), measure(result.params)
    return (seconds,
            {"loss before": l0, "loss after": l1, "accuracy before": a0, "accuracy after": a1},
            name)


def calibration_us() -> float:
    """Median time of a trivial NumPy call (a + a on 4 numbers), in microseconds."""
    a = np.ones(4)
    times = []
    for _ in range(200):
        t0 = time.perf_counter_ns()
        for _ in range(100):
            a + a
        times.append((time.perf_counter_ns() - t0) / 100 / 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a short run (under a second)")
    quick = parser.parse_args().quick
    started, busy0, cpu0 = time.perf_counter(), cpu_busy(), time.process_time()

    print(pin_blas())
    print(f"numpy {np.__version__}, Python {platform.python_version()}, "
          f"{os.cpu_count()} CPUs, {platform.machine()}; mode: {'quick' if quick else 'full'}")
    xs, ys, name = data(4096)
    print(f"default network {Config()}; data: {name}, {len(xs)} examples\n")
    calibration = [calibration_us()]

    steps = single_step(xs, ys, 5000 if quick else 100_000)
    runs = {1: (2048, 1), 32: (4096, 4), 256: (4096, 16), 4096: (4096, 16)}
    if quick:
        runs = {1: (512, 1), 32: (4096, 1), 256: (4096, 4), 4096: (4096, 4)}
    rates = train_throughput(xs, ys, runs, 3 if quick else 21)
    seconds, quality, name_1000 = thousand_steps(1 if quick else 5)
    calibration.append(calibration_us())

    rows = []
    for key, label, target in (
        ("fast", "one-example step, fast path (Net.step_one)", f"<= {TARGET_SINGLE_US:.0f} us"),
        ("dict", "one-example step, fast.grad_step (dicts)", ""),
        ("readable", "one-example step, readable trace + sgd_step", TORCH_SINGLE),
    ):
        med, lo, hi = summary(steps[key])
        status = ("ok" if med <= TARGET_SINGLE_US else "MISSED") if key == "fast" else ""
        rows.append((label, f"{med:.1f} us", f"{lo:.1f}-{hi:.1f}", target, status))
    for batch_size, values in rates.items():
        target, status = "", ""
        if batch_size == 256:
            target = f">= {TARGET_BATCH256 / 1e6:.1f} M/s; {TORCH_BATCH256}"
            status = "ok" if statistics.median(values) >= TARGET_BATCH256 else "MISSED"
        rows.append((f"train() throughput, batch {batch_size}",
                     f"{statistics.median(values) / 1e6:.2f} M/s",
                     f"{min(values) / 1e6:.2f}-{max(values) / 1e6:.2f}", target, status))
    rows.append(("1,000 steps at batch 32, train()", f"{statistics.median(seconds) * 1e3:.0f} ms",
                 f"{min(seconds) * 1e3:.0f}-{max(seconds) * 1e3:.0f}", "", ""))

    width = max(len(r[0]) for r in rows)
    print(f"{'figure':<{width}}  {'median':>10}  {'spread':>11}  {'target / reference':<34}  ")
    print("-" * (width + 70))
    for label, value, spread, target, status in rows:
        print(f"{label:<{width}}  {value:>10}  {spread:>11}  {target:<34}  {status}")
    print("(spread: 10th-90th percentile of single calls; min-max over train() runs)\n")

    print(f"1,000 steps on {name_1000} (3200 examples, lr 0.5, 10 epochs x 100 batches of 32): "
          f"loss {quality['loss before']:.4f} -> {quality['loss after']:.4f}, "
          f"accuracy {quality['accuracy before']:.3f} -> {quality['accuracy after']:.3f}")
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
