"""The scale-out benchmark runs end to end, small (the full run is
``python -m bench.scale_bench``)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench import scale_bench

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # three servers, then two demo workers, on a Redis of its own
def test_a_small_run_measures_all_three_servers_and_both_demo_workers():
    done = subprocess.run([sys.executable, "-m", "bench.scale_bench", "--seconds", "1",
                           "--concurrency", "4", "--followers", "12", "--moves", "3",
                           "--pause", "0.05"],
                          cwd=ROOT, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    for label in ("1 worker, memory (default)", "1 worker, Redis", "2 workers, Redis"):
        assert re.search(rf"{re.escape(label)} +\d+ req/s", done.stdout), done.stdout
    assert "12 followers over 2 workers on one Redis" in done.stdout
    assert "missed: 0 of 36 deliveries" in done.stdout
    assert "counted 13 followers" in done.stdout  # both workers' followers, and the presenter


@pytest.mark.parametrize("args", [["--followers", "1"], ["--followers", "2001"],
                                  ["--moves", "0"], ["--concurrency", "0"],
                                  ["--seconds", "61"]])
def test_the_run_is_bounded(args):
    with pytest.raises(SystemExit):
        scale_bench.main(args)
