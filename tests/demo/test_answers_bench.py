"""The answers benchmark runs end to end on a few phones (the full run is
``python -m bench.answers_bench``)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from bench import answers_bench

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_a_few_phones_answer_and_every_answer_is_stored():
    done = subprocess.run([sys.executable, "-m", "bench.answers_bench", "--phones", "6",
                           "--spread", "1", "--seconds", "60"],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "stored: 6 of 6 answers in the results file" in done.stdout
    assert "presenter live view: p50" in done.stdout and "missing 0" in done.stdout


@pytest.mark.parametrize("args", [["--phones", "0"], ["--phones", "501"],
                                  ["--spread", "11"], ["--seconds", "0"]])
def test_the_run_is_bounded(args):
    with pytest.raises(SystemExit):
        answers_bench.main(args)
