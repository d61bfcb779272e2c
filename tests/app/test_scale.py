"""``--workers N --redis URL`` on ``convlens serve`` and ``convlens demo``: several workers
only with a Redis that answers, checked before anything is printed; the URL reaches every
worker; a real two-worker server shares one Redis."""

from __future__ import annotations

import time

import httpx
import pytest
import redis

from app import cli, scale
from tests.support.localserver import LocalServer, free_port


@pytest.fixture
def served(monkeypatch):
    """app.serving.serve replaced by a recorder; no Redis URL in the environment."""
    from app import serving

    # set, then deleted: teardown then removes whatever the command put there (a bare
    # delenv of a missing variable records nothing to undo)
    monkeypatch.setenv(scale.REDIS_ENV, "unset")
    monkeypatch.delenv(scale.REDIS_ENV)
    monkeypatch.setattr(cli, "bind_problem", lambda host, port: "")
    calls: list[tuple[object, dict]] = []
    monkeypatch.setattr(serving, "serve", lambda app, **kw: calls.append((app, kw)))
    return calls


@pytest.mark.parametrize("command", ["serve", "demo"])
def test_several_workers_without_redis_are_refused_before_the_banner(served, capsys,
                                                                      command):
    assert cli.main([command, "--workers", "2"]) == 2
    out = capsys.readouterr()
    assert "--workers 2 needs --redis URL (or CONVLENS_REDIS_URL)" in out.err
    assert out.out == "" and served == []


@pytest.mark.parametrize("args, says", [
    (["--workers", "0"], "--workers must be from 1 to 64, got 0"),
    (["--redis", "http://127.0.0.1:6379"], "redis_url must start with redis://"),
    (["--redis", f"redis://127.0.0.1:{free_port()}/0"], "cannot reach Redis at redis://"),
])
def test_a_bad_worker_count_or_redis_url_says_which(served, capsys, args, says):
    assert cli.main(["serve", *args]) == 2
    out = capsys.readouterr()
    assert says in out.err
    assert out.out == "" and served == []


def test_serve_hands_every_worker_the_redis_url(served, capsys, redis_url):
    import os

    assert cli.main(["serve", "--workers", "3", "--redis", redis_url]) == 0
    target, kw = served[0]
    assert target == "app.main:app" and kw["workers"] == 3
    assert os.environ[scale.REDIS_ENV] == redis_url  # what each worker's Settings read
    assert "3 workers, walks and rooms in Redis" in capsys.readouterr().out


def test_demo_with_workers_puts_its_room_and_key_where_every_worker_reads_them(
        served, capsys, redis_url, tmp_path, monkeypatch):
    import os

    from app.demo.mode import DemoSettings

    for name in ("KEY", "ROOM", "STATE", "RESULTS", "SCRIPT", "URL", "PER_CLIENT",
                 "FOLLOWERS"):
        monkeypatch.setenv(f"CONVLENS_DEMO_{name}", "unset")
        monkeypatch.delenv(f"CONVLENS_DEMO_{name}")
    assert cli.main(["demo", "--workers", "2", "--redis", redis_url, "--key",
                     "a-presenter-key-1", "--state", str(tmp_path / "rooms.sqlite3"),
                     "--results", str(tmp_path / "answers.sqlite3")]) == 0
    target, kw = served[0]
    assert target == "app.main:app" and kw["workers"] == 2
    printed = capsys.readouterr().out
    settings = DemoSettings.from_env(os.environ)
    assert settings.key == "a-presenter-key-1"
    assert f"/follow/{settings.room}\n" in printed  # the room every worker opens
    assert settings.results == tmp_path / "answers.sqlite3"
    assert "2 workers share the room through Redis" in printed


@pytest.mark.slow
def test_a_real_two_worker_server_runs_both_workers_on_one_redis(redis_url):
    client = redis.Redis.from_url(redis_url)
    server = LocalServer(["app.cli", "serve", "--port", "{port}", "--workers", "2",
                          "--redis", redis_url])
    with server:
        deadline = time.monotonic() + 15
        while len(client.keys("convlens:worker:*")) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(client.keys("convlens:worker:*")) == 2  # each worker's heartbeat
        assert httpx.get(server.url + "/api/health").json()["status"] == "ok"
    deadline = time.monotonic() + 10
    while client.keys("convlens:worker:*") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert client.keys("convlens:worker:*") == []  # a worker that stops says so
    client.close()


def test_a_redis_password_is_never_printed(served, capsys):
    url = f"redis://worker:s3cret-pass@127.0.0.1:{free_port()}/0"
    assert cli.main(["serve", "--redis", url]) == 2
    err = capsys.readouterr().err
    assert "cannot reach Redis at redis://worker:***@127.0.0.1:" in err
    assert "s3cret-pass" not in err
