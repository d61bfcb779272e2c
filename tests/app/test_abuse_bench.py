"""The abuse benchmark runs end to end on its two quickest attacks (the full run is
``python -m bench.abuse_bench``): the 50 MB header is cut off, SIGTERM ends the server."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest

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
