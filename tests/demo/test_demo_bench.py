"""The broadcast benchmark runs end to end on a small room (the full run is
``python -m bench.demo_bench``)."""

from __future__ import annotations

import pytest

from bench import demo_bench


def test_a_small_room_gets_every_move(capsys):
    assert demo_bench.main(["--followers", "5", "--moves", "3", "--pause", "0",
                            "--seconds", "60"]) == 0
    out = capsys.readouterr().out
    assert "missed: 0 of 15 deliveries" in out
    assert "each follower : p50" in out


@pytest.mark.parametrize("args", [["--followers", "0"], ["--followers", "501"],
                                  ["--moves", "0"], ["--seconds", "0"]])
def test_the_run_is_bounded(args):
    with pytest.raises(SystemExit):
        demo_bench.main(args)
