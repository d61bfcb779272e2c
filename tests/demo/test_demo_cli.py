"""``convlens demo``: the lesson is checked before anything starts, and the links printed
are the ones the server answers to."""

from __future__ import annotations

import re
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from app import cli
from app.demo import launch
from app.demo.lesson import DEFAULT_LESSON

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def served(monkeypatch):
    """app.serving.serve replaced by a recorder: what would have been served, and how."""
    from app import serving

    calls: list[tuple[object, dict]] = []
    monkeypatch.setattr(serving, "serve", lambda app, **kw: calls.append((app, kw)))
    return calls


def bad_lesson(tmp_path) -> Path:
    text = DEFAULT_LESSON.read_text(encoding="utf-8").replace('step = "dZ1"', 'step = "dZ3"')
    path = tmp_path / "broken.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_a_malformed_lesson_exits_2_before_anything_starts(tmp_path, served, capsys):
    path = bad_lesson(tmp_path)
    line = next(i for i, ln in enumerate(path.read_text().splitlines(), 1) if "dZ3" in ln)
    assert cli.main(["demo", "--script", str(path)]) == 2
    err = capsys.readouterr().err
    assert "was refused (1 problem); nothing was started" in err
    assert f"broken.toml:{line}: unknown step 'dZ3'" in err
    assert served == []


def test_the_real_command_refuses_a_malformed_lesson(tmp_path):
    path = bad_lesson(tmp_path)
    done = subprocess.run([sys.executable, "-m", "app.cli", "demo", "--script", str(path),
                           "--port", "1"], cwd=ROOT, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 2
    assert re.search(r"broken\.toml:\d+: unknown step 'dZ3'", done.stderr)
    assert done.stdout == ""


def test_the_links_printed_open_the_room_served(served, capsys):
    port = free_port()
    assert cli.main(["demo", "--port", str(port)]) == 0
    out = capsys.readouterr().out
    presenter = re.search(rf"presenter .*: (http://127\.0\.0\.1:{port}/demo\?key=(\S+))", out)
    audience = re.search(rf"audience: +(http://127\.0\.0\.1:{port}/follow/(\S+))", out)
    assert presenter and audience, out
    (app, options), = served
    assert options["host"] == "127.0.0.1" and options["port"] == port
    assert options["access_log"] is False  # the presenter link must not reach a log
    demo = app.state.demo
    assert demo.hub.check_key(presenter.group(2))
    assert demo.hub.primary == audience.group(2)
    assert demo.settings.public_url == f"http://127.0.0.1:{port}"
    assert "every network interface" not in out


def test_a_given_key_is_used_and_a_weak_one_refused(served, capsys):
    assert cli.main(["demo", "--key", "my-own-long-key-42", "--port", str(free_port())]) == 0
    assert "/demo?key=my-own-long-key-42" in capsys.readouterr().out
    assert served[0][0].state.demo.hub.check_key("my-own-long-key-42")
    assert cli.main(["demo", "--key", "short"]) == 2
    assert "at least 12" in capsys.readouterr().err
    assert len(served) == 1


def test_every_interface_is_said_out_loud(served, capsys, monkeypatch):
    monkeypatch.setattr(launch, "lan_address", lambda: "192.168.1.20")
    port = free_port()
    assert cli.main(["demo", "--host", "0.0.0.0", "--port", str(port)]) == 0
    out = capsys.readouterr().out
    assert f"http://192.168.1.20:{port}/follow/" in out
    assert "anyone on this network can open the pages" in out
    assert served[0][1]["host"] == "0.0.0.0"


def test_a_busy_port_is_refused_before_the_links(served, capsys):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert cli.main(["demo", "--port", str(port)]) == 2
    captured = capsys.readouterr()
    assert f"port {port} is already in use" in captured.err
    assert captured.out == "" and served == []


# --------------------------------------------------------------- keys, rooms, state
def test_the_key_comes_from_a_file_or_the_environment_not_only_the_command_line(
        tmp_path, served, capsys, monkeypatch):
    key_file = tmp_path / "presenter.key"
    key_file.write_text("key-from-a-file-123\n", encoding="utf-8")
    key_file.chmod(0o600)
    assert cli.main(["demo", "--key-file", str(key_file), "--port", str(free_port())]) == 0
    captured = capsys.readouterr()
    assert served[-1][0].state.demo.hub.check_key("key-from-a-file-123")
    assert "warning" not in captured.err
    key_file.chmod(0o644)
    assert cli.main(["demo", "--key-file", str(key_file), "--port", str(free_port())]) == 0
    assert "other users can read" in capsys.readouterr().err
    monkeypatch.setenv("CONVLENS_DEMO_KEY", "key-from-the-environment")
    assert cli.main(["demo", "--port", str(free_port())]) == 0
    assert served[-1][0].state.demo.hub.check_key("key-from-the-environment")
    assert cli.main(["demo", "--key-file", str(tmp_path / "missing"), "--port", "1"]) == 2
    assert "cannot read the key file" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:  # one source of the key at a time
        cli.main(["demo", "--key", "my-own-long-key-42", "--key-file", str(key_file)])
    assert info.value.code == 2
    assert len(served) == 3


def test_a_named_room_and_a_restart_with_the_same_key_land_in_the_same_room(
        tmp_path, served, capsys):
    state = tmp_path / "rooms.sqlite3"
    args = ["demo", "--key", "my-own-long-key-42", "--state", str(state)]
    assert cli.main([*args, "--room", "lecture-3", "--port", str(free_port())]) == 0
    assert "/follow/lecture-3" in capsys.readouterr().out
    hub = served[-1][0].state.demo.hub
    hub.move(hub.get("lecture-3"), 5)
    assert cli.main([*args, "--port", str(free_port())]) == 0  # no --room: the last one
    out = capsys.readouterr().out
    assert "/follow/lecture-3" in out and "carries on from slide" in out
    assert served[-1][0].state.demo.hub.get("lecture-3").beat == 5
    assert cli.main(["demo", "--room=a b", "--key", "my-own-long-key-42"]) == 2
    assert "--room must be 4 to 32" in capsys.readouterr().err
    assert cli.main(["demo", "--port", str(free_port())]) == 0  # a new key: a new short code
    out = capsys.readouterr().out
    assert re.search(r"/follow/[2-9a-z]{6}\s", out) and "--new-key starts afresh" in out


def test_check_reports_every_problem_and_starts_nothing(tmp_path, served, capsys):
    text = DEFAULT_LESSON.read_text(encoding="utf-8")
    text = text.replace('step = "dZ1"', 'step = "dZ3"').replace("y = 1", "y = 2", 1)
    text = text.replace('step = "db1"', 'step = "dW2"')  # a step twice
    path = tmp_path / "three.toml"
    path.write_text(text, encoding="utf-8")
    assert cli.main(["demo", "--check", str(path)]) == 2
    err = capsys.readouterr().err
    assert "has 3 problems" in err and "unknown step 'dZ3'" in err
    assert "Y must be 0 or 1" in err and "'dW2' appears twice" in err
    assert "out of order" not in err
    assert cli.main(["demo", "--check", str(DEFAULT_LESSON)]) == 0
    out = capsys.readouterr().out
    assert "is fine" in out
    assert "6 questions (dZ1 in two rounds); a concept check of 3 before and after" in out
    assert served == []


def test_the_environment_sets_demo_mode_for_uvicorn(tmp_path):
    from app.demo.mode import DemoSettings

    env = {"CONVLENS_DEMO_KEY": "env-presenter-key-1", "CONVLENS_DEMO_ROOM": "lecture-9",
           "CONVLENS_DEMO_STATE": str(tmp_path / "rooms.sqlite3"),
           "CONVLENS_DEMO_PER_CLIENT": "40", "CONVLENS_DEMO_URL": "http://10.0.0.5:8000/"}
    settings = DemoSettings.from_env(env)
    assert settings.state == tmp_path / "rooms.sqlite3" and settings.per_client == 40
    assert settings.public_url == "http://10.0.0.5:8000" and settings.room == "lecture-9"
    assert DemoSettings.from_env({}).state is None  # in memory unless a file is named
    with pytest.raises(ValueError, match="PER_CLIENT must be a whole number"):
        DemoSettings.from_env({**env, "CONVLENS_DEMO_PER_CLIENT": "many"})
    with pytest.raises(ValueError, match="from 1 to 10000"):
        DemoSettings.from_env({**env, "CONVLENS_DEMO_PER_CLIENT": "0"})
    with pytest.raises(ValueError, match="cannot keep the rooms"):
        from app.demo.mode import DemoMode
        DemoMode(DemoSettings(key="env-presenter-key-1", state=tmp_path))  # a directory


def test_results_go_to_the_file_given_or_the_default_one(tmp_path, served, capsys,
                                                         monkeypatch):
    results = tmp_path / "class" / "answers.sqlite3"
    args = ["demo", "--key", "my-own-long-key-42", "--state", str(tmp_path / "rooms.db")]
    assert cli.main([*args, "--results", str(results), "--port", str(free_port())]) == 0
    assert f"answers are kept in {results}" in capsys.readouterr().out
    assert results.exists() and served[-1][0].state.demo.answers.path == results
    monkeypatch.setenv("CONVLENS_DEMO_RESULTS", str(tmp_path / "env.sqlite3"))
    assert cli.main([*args, "--port", str(free_port())]) == 0
    assert (tmp_path / "env.sqlite3").exists()
    monkeypatch.delenv("CONVLENS_DEMO_RESULTS")
    assert cli.main([*args, "--port", str(free_port())]) == 0
    out = capsys.readouterr().out
    assert "xdg-state/convlens/demo-results.sqlite3" in out  # the default, under the test's XDG


def test_the_proxies_to_trust_reach_every_worker_through_the_environment(
        tmp_path, served, capsys, monkeypatch):
    """--forwarded-allow-ips on `demo` and `serve` goes where serve() and every worker
    read it (CONVLENS_FORWARDED_ALLOW_IPS); a malformed one stops before the links."""
    import os

    from app.settings import Settings

    variable = "CONVLENS_FORWARDED_ALLOW_IPS"
    monkeypatch.setenv(variable, "")  # (so that the test leaves it as it found it)
    monkeypatch.delenv(variable)
    args = ["demo", "--key", "my-own-long-key-42", "--state", str(tmp_path / "rooms.db")]
    assert cli.main([*args, "--port", str(free_port())]) == 0
    assert Settings.from_env().forwarded_allow_ips is None  # trusted from no one
    assert cli.main([*args, "--port", str(free_port()),
                     "--forwarded-allow-ips", "127.0.0.1, 10.0.0.0/8"]) == 0
    assert os.environ[variable] == "127.0.0.1,10.0.0.0/8"
    assert Settings.from_env().forwarded_allow_ips == ("127.0.0.1", "10.0.0.0/8")
    capsys.readouterr()
    calls = len(served)
    assert cli.main([*args, "--port", str(free_port()),
                     "--forwarded-allow-ips", "proxy.example"]) == 2
    out, err = capsys.readouterr()
    assert "--forwarded-allow-ips" in err and "proxy.example" in err
    assert "audience" not in out and len(served) == calls
    assert cli.main(["serve", "--port", str(free_port()), "--forwarded-allow-ips", "*"]) == 0
    assert os.environ[variable] == "*" and served[-1][1]["workers"] == 1
    monkeypatch.setenv(variable, "not-an-address")
    assert cli.main(["serve", "--port", str(free_port())]) == 2
    assert variable in capsys.readouterr().err
