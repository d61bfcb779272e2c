"""Demo settings travel to worker processes through the environment unchanged, and the
room's follower cap is a setting."""

from __future__ import annotations

from pathlib import Path

import pytest

from app import cli
from app.demo.mode import DemoMode, DemoSettings


def test_settings_survive_the_trip_through_the_environment() -> None:
    given = DemoSettings(key="k" * 16, script=Path("lesson.toml"), room="abcd",
                         public_url="http://host:1", state=Path("/tmp/rooms"), per_client=5,
                         followers=1200, results=Path("/tmp/answers"))
    assert DemoSettings.from_env(given.environment()) == given
    assert DemoSettings.from_env(DemoSettings(key="k" * 16).environment()) == DemoSettings(
        key="k" * 16)


def test_the_follower_cap_reaches_the_rooms_and_is_checked() -> None:
    assert DemoMode(DemoSettings(key="k" * 16, followers=3)).hub.max_followers == 3
    with pytest.raises(ValueError, match="per room must be from 1 to 10000, got 0"):
        DemoSettings(key="k" * 16, followers=0)
    with pytest.raises(ValueError, match="CONVLENS_DEMO_FOLLOWERS must be a whole number"):
        DemoSettings.from_env({"CONVLENS_DEMO_KEY": "k" * 16,
                               "CONVLENS_DEMO_FOLLOWERS": "many"})


def test_the_command_refuses_a_follower_cap_out_of_range(capsys, monkeypatch) -> None:
    from app import serving

    monkeypatch.setattr(serving, "serve", lambda app, **kw: None)
    assert cli.main(["demo", "--followers", "20000", "--key", "a-presenter-key-1"]) == 2
    assert "per room must be from 1 to 10000, got 20000" in capsys.readouterr().err
