"""A compare move beside a single walk's move, through the app (in process, memory store).

Run from the repository root::

    python -m bench.compare_bench            # about 15 s
    python -m bench.compare_bench --quick    # a few seconds, noisier

Each figure is the median of single timed requests (``time.perf_counter_ns`` around the
whole request: routing, the step, serialisation), over whole passes and into the next, the
two kinds of move taking turns in blocks of one pass so that a slow spell of the machine hits
both; the 10th-90th percentile beside it. Target: a compare move (``POST
/api/compare/{id}/next``: both walks, the cells that differ, the sentence) within twice a
single walk's move (``POST /api/sessions/{id}/next``).

A second table times the same moves without HTTP (``Session.next`` + ``move`` against
``Comparison.next`` + ``move``, serialisation included), where the request's fixed cost does
not hide the work.

Walks: the seed's network, and the two-conv 12x12 network against one conv (``two_conv``);
the compare moves are the ``pool`` switch (max against average pooling) on the seed's
network, ``two_conv``, ``batch`` (one example against four) and ``adam``.
"""

from __future__ import annotations

import os

for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_var, "1")

import argparse  # noqa: E402
import time  # noqa: E402
import warnings  # noqa: E402

import numpy as np  # noqa: E402

warnings.filterwarnings("ignore", message="Using `httpx`")
from fastapi.testclient import TestClient  # noqa: E402

from app.main import create_app  # noqa: E402
from app.settings import Settings  # noqa: E402

CASES = {  # name: (single walk body, compare body)
    "seed, pool": ({"seed": 0}, {"base": {"seed": 0}, "switch": "pool"}),
    "seed, two_conv": ({"seed": 0}, {"base": {"seed": 0}, "switch": "two_conv"}),
    "seed, batch": ({"seed": 0}, {"base": {"seed": 0}, "switch": "batch"}),
    "seed, adam": ({"seed": 0}, {"base": {"seed": 0}, "switch": "adam"}),
}


def _timed(client: TestClient, path: str) -> int:
    start = time.perf_counter_ns()
    r = client.post(path)
    took = time.perf_counter_ns() - start
    if r.status_code != 200:
        raise RuntimeError(f"{path}: {r.status_code} {r.text[:200]}")
    return took


def measure(client: TestClient, walk: dict, pair: dict, passes: int) -> tuple[list, list]:
    sid = client.post("/api/sessions", json=walk).json()
    cid = client.post("/api/compare", json=pair).json()
    walk_steps, pair_steps = len(sid["steps"]), len(cid["positions"])
    single, compared = [], []
    for _ in range(passes):
        single += [_timed(client, f"/api/sessions/{sid['id']}/next") for _ in range(walk_steps)]
        compared += [_timed(client, f"/api/compare/{cid['id']}/next")
                     for _ in range(pair_steps)]
    return single, compared


def measure_direct(walk: dict, pair: dict, passes: int) -> tuple[list, list]:
    from app import compare, schemas, serialize, sessions
    one = sessions.create(schemas.SessionCreate.model_validate(walk))
    two = compare.create(schemas.CompareCreate.model_validate(pair))
    single, compared = [], []
    for _ in range(passes):
        for _ in range(len(one.steps)):
            start = time.perf_counter_ns()
            one.next()
            serialize.json_response(one.move())
            single.append(time.perf_counter_ns() - start)
        for _ in range(len(two.positions)):
            start = time.perf_counter_ns()
            two.next()
            serialize.json_response(two.move())
            compared.append(time.perf_counter_ns() - start)
    return single, compared


def _ms(values: list[int]) -> str:
    v = np.asarray(values) / 1e6
    return (f"{np.median(v):6.2f} ms ({np.percentile(v, 10):.2f}–"
            f"{np.percentile(v, 90):.2f})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    passes = 2 if args.quick else 8
    with TestClient(create_app(Settings())) as client:
        client.headers["host"] = "localhost"
        print(f"{'case':<16} {'walk move':<24} {'compare move':<24} ratio  (target <= 2)")
        for name, (walk, pair) in CASES.items():
            single, compared = measure(client, walk, pair, passes)
            ratio = np.median(compared) / np.median(single)
            print(f"{name:<16} {_ms(single):<24} {_ms(compared):<24} {ratio:4.2f}"
                  f"  {'ok' if ratio <= 2 else 'MISSED'}")
    print("\nwithout HTTP (the step and its serialisation only)")
    for name, (walk, pair) in CASES.items():
        single, compared = measure_direct(walk, pair, passes)
        ratio = np.median(compared) / np.median(single)
        print(f"{name:<16} {_ms(single):<24} {_ms(compared):<24} {ratio:4.2f}"
              f"  {'ok' if ratio <= 2 else 'MISSED'}")


if __name__ == "__main__":
    main()
