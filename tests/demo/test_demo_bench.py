"""The broadcast benchmark runs end to end on a small room (the full run is
``python -m bench.demo_bench``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench import demo_bench

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow  # a real server and its real timeouts: a second or more
def test_a_small_room_gets_every_move():
    done = subprocess.run([sys.executable, "-m", "bench.demo_bench", "--followers", "5",
                           "--moves", "3", "--pause", "0", "--seconds", "60"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "missed: 0 of 15 deliveries" in done.stdout
    assert "each follower : p50" in done.stdout


@pytest.mark.parametrize("args", [["--followers", "0"], ["--followers", "501"],
                                  ["--moves", "0"], ["--seconds", "0"]])
def test_the_run_is_bounded(args):
    with pytest.raises(SystemExit):
        demo_bench.main(args)
