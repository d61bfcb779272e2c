"""Plain ``convlens demo`` keeps its key beside the rooms, owner-only, so that a restart after
a kill -9 finds the room and the audience's link keeps working; ``--new-key`` starts
afresh. Given keys (``--key``, ``--key-file``, ``CONVLENS_DEMO_KEY``) come first."""

from __future__ import annotations

import os
import re
import stat

import httpx
import pytest

from app import cli
from app.demo.store import default_path
from tests.support.localserver import LocalServer, free_port

LINKS = re.compile(r"presenter .*: http://127\.0\.0\.1:\d+/demo\?key=(\S+)\n"
                   r"\s+audience: +http://127\.0\.0\.1:\d+/follow/(\S+)\n")


def kept_key_path(state):
    from app.demo.launch import kept_key_path as where  # (new: imported where it is used)

    return where(state)


def start_plain(port: int, *options: str) -> tuple[LocalServer, str, str, str]:
    """``convlens demo`` with no key given, as a subprocess: the server, its key, its room
    and everything it printed."""
    server = LocalServer(["app.cli", "demo", "--port", "{port}", *options], port=port)
    server.start()
    assert server.proc is not None and server.proc.stdout is not None
    printed = ""
    while "Ctrl+C stops" not in printed:  # the banner is printed before it serves
        line = server.proc.stdout.readline().decode()
        assert line, printed
        printed += line
    found = LINKS.search(printed)
    assert found, printed
    return server, found.group(1), found.group(2), printed


def kill(server: LocalServer) -> None:
    assert server.proc is not None
    server.proc.kill()  # kill -9: no shutdown, no last word
    server.proc.wait(timeout=10)
    server.proc = None


def test_a_plain_restart_after_kill_9_keeps_the_key_and_the_room_and_new_key_starts_afresh():
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    server, key, room, printed = start_plain(port)
    try:
        moved = httpx.post(f"{url}/api/demo/{room}/goto", json={"beat": 3},
                           headers={"X-Demo-Key": key}, timeout=5)
        assert moved.status_code == 200, moved.text
        kill(server)

        server, again, same_room, printed = start_plain(port)  # plain, as before
        assert (again, same_room) == (key, room)
        kept = kept_key_path(default_path())
        assert str(kept) in printed and "--new-key starts afresh" in printed
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
        assert kept.read_text(encoding="utf-8").strip() == key
        assert "carries on from slide" in printed
        page = httpx.get(f"{url}/follow/{room}", timeout=5)
        assert page.status_code == 200 and "There is no such room" not in page.text
        state = httpx.get(f"{url}/api/demo/{room}", timeout=5)
        assert state.status_code == 200 and state.json()["beat"] == 3
        moved = httpx.post(f"{url}/api/demo/{room}/goto", json={"beat": 4},
                           headers={"X-Demo-Key": key}, timeout=5)
        assert moved.status_code == 200, moved.text
        kill(server)

        server, fresh, new_room, printed = start_plain(port, "--new-key")
        assert fresh != key and new_room != room
        assert kept.read_text(encoding="utf-8").strip() == fresh
        assert stat.S_IMODE(kept.stat().st_mode) == 0o600
        refused = httpx.post(f"{url}/api/demo/{new_room}/goto", json={"beat": 1},
                             headers={"X-Demo-Key": key}, timeout=5)
        assert refused.status_code == 403
        assert httpx.get(f"{url}/demo", params={"key": key}, timeout=5).status_code == 403
        assert httpx.get(f"{url}/follow/{room}", timeout=5).status_code == 404
        moved = httpx.post(f"{url}/api/demo/{new_room}/goto", json={"beat": 1},
                           headers={"X-Demo-Key": fresh}, timeout=5)
        assert moved.status_code == 200, moved.text
    finally:
        server.stop()


@pytest.fixture
def served(monkeypatch):
    from app import serving

    calls: list[tuple[object, dict]] = []
    monkeypatch.setattr(serving, "serve", lambda app, **kw: calls.append((app, kw)))
    return calls


def test_the_kept_key_sits_beside_the_state_file_given(tmp_path, served, capsys):
    state = tmp_path / "lecture" / "rooms.sqlite3"
    assert cli.main(["demo", "--state", str(state), "--port", str(free_port())]) == 0
    kept = tmp_path / "lecture" / "rooms.key"
    assert kept.exists() and stat.S_IMODE(kept.stat().st_mode) == 0o600
    assert stat.S_IMODE(kept.parent.stat().st_mode) == 0o700
    key = kept.read_text(encoding="utf-8").strip()
    assert served[-1][0].state.demo.hub.check_key(key)
    assert cli.main(["demo", "--state", str(state), "--port", str(free_port())]) == 0
    assert served[-1][0].state.demo.hub.check_key(key)
    assert f"/demo?key={key}" in capsys.readouterr().out


def test_a_kept_key_others_can_read_is_refused_with_a_clear_message(tmp_path, served, capsys):
    state = tmp_path / "rooms.sqlite3"
    assert cli.main(["demo", "--state", str(state), "--port", str(free_port())]) == 0
    kept = kept_key_path(state)
    capsys.readouterr()
    kept.chmod(0o644)
    assert cli.main(["demo", "--state", str(state), "--port", str(free_port())]) == 2
    err = capsys.readouterr().err
    assert f"the kept presenter key {kept} can be read by other users" in err
    assert f"chmod 600 {kept}" in err and "--new-key" in err
    assert len(served) == 1  # nothing was started
    # --new-key replaces it with an owner-only file
    assert cli.main(["demo", "--state", str(state), "--new-key",
                     "--port", str(free_port())]) == 0
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
    kept.write_text("short\n", encoding="utf-8")
    assert cli.main(["demo", "--state", str(state), "--port", str(free_port())]) == 2
    assert "is not a key convlens made" in capsys.readouterr().err
    kept.unlink()
    os.symlink(tmp_path / "elsewhere", kept)
    assert cli.main(["demo", "--state", str(state), "--port", str(free_port())]) == 2
    assert "cannot read the kept presenter key" in capsys.readouterr().err


def test_a_given_key_comes_first_and_leaves_the_kept_one_alone(tmp_path, served, capsys,
                                                               monkeypatch):
    state = tmp_path / "rooms.sqlite3"
    kept = kept_key_path(state)
    assert cli.main(["demo", "--state", str(state), "--key", "my-own-long-key-42",
                     "--port", str(free_port())]) == 0
    assert served[-1][0].state.demo.hub.check_key("my-own-long-key-42")
    assert not kept.exists()
    monkeypatch.setenv("CONVLENS_DEMO_KEY", "key-from-the-environment")
    assert cli.main(["demo", "--state", str(state), "--port", str(free_port())]) == 0
    assert served[-1][0].state.demo.hub.check_key("key-from-the-environment")
    assert not kept.exists()
    capsys.readouterr()
    assert cli.main(["demo", "--state", str(state), "--new-key", "--port", "1"]) == 2
    assert "--new-key makes a new key, but CONVLENS_DEMO_KEY gives one" in (
        capsys.readouterr().err)
    with pytest.raises(SystemExit):  # --new-key and a given key exclude each other
        cli.main(["demo", "--new-key", "--key", "my-own-long-key-42"])


def test_a_start_refused_keeps_no_key(tmp_path, served, capsys):
    state = tmp_path / "rooms.sqlite3"
    assert cli.main(["demo", "--state", str(state), "--workers", "2"]) == 2  # no Redis
    assert cli.main(["demo", "--state", str(state), "--room", "a b"]) == 2
    assert not kept_key_path(state).exists()


def test_the_kept_key_is_never_the_rooms_file_itself(tmp_path):
    from app.demo.launch import kept_key_path

    rooms = tmp_path / "rooms.key"
    assert kept_key_path(rooms) != rooms
    assert kept_key_path(tmp_path / "rooms.sqlite3") == tmp_path / "rooms.key"


@pytest.mark.parametrize("kind", ["fifo", "directory"])
def test_a_kept_key_that_is_no_file_is_refused_at_once(tmp_path, kind):
    from app.demo.launch import _load_kept

    path = tmp_path / "demo-rooms.key"
    if kind == "fifo":
        os.mkfifo(path, 0o600)
    else:
        path.mkdir(mode=0o700)
    with pytest.raises(ValueError, match="not a regular file"):
        _load_kept(path)  # a FIFO would block a plain open for ever
