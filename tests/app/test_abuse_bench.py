"""The abuse benchmark runs end to end on its two quickest attacks (the full run is
``python -m bench.abuse_bench``): the 50 MB header is cut off, SIGTERM ends the server."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

from app.demo import answering
from tests.support.localserver import ROOT


@pytest.mark.slow
def test_the_header_and_sigterm_attacks_run_and_are_held():
    done = subprocess.run([sys.executable, "-m", "bench.abuse_bench", "--quick", "--only",
                           "header", "sigterm"], cwd=ROOT, capture_output=True, text=True,
                          timeout=180)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"50 MB header cut off after", done.stdout), done.stdout
    took = re.search(r"exit after SIGTERM ([0-9.]+) s", done.stdout)
    assert took is not None, done.stdout  # it exited by itself (the time is the bench's)


@pytest.mark.slow
def test_the_room_filling_and_late_answer_attacks_run_and_are_held():
    done = subprocess.run([sys.executable, "-m", "bench.abuse_bench", "--quick", "--only",
                           "fill", "late"], cwd=ROOT, capture_output=True, text=True,
                          timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr
    admitted = re.search(r"joins admitted (\d+) of (\d+)", done.stdout)
    cap = answering.MAX_JOINS_PER_CLIENT
    assert admitted is not None and int(admitted[1]) <= cap < int(admitted[2]), done.stdout
    assert "honest student 201" in done.stdout
    assert "gradebook rows left 1" in done.stdout
    late = re.search(r"answers scored after their result was shown (\d+) of (\d+)",
                     done.stdout)
    assert late is not None and late[1] == "0" and int(late[2]) >= 10, done.stdout
