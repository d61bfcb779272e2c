"""``convlens serve``: binds localhost unless told otherwise, and prints its URL."""

from __future__ import annotations

from app import cli


def test_serve_binds_localhost_by_default_and_prints_the_url(monkeypatch, capsys):
    calls = []
    from app import serving

    monkeypatch.setattr(serving, "serve", lambda target, **kw: calls.append((target, kw)))
    monkeypatch.setattr(cli, "bind_problem", lambda host, port: "")  # whatever runs here
    assert cli.main(["serve"]) == 0
    target, kw = calls[0]
    assert target == "app.main:app"
    assert (kw["host"], kw["port"], kw["reload"]) == ("127.0.0.1", 8000, False)
    assert "http://127.0.0.1:8000/" in capsys.readouterr().out
    assert cli.main(["serve", "--host", "0.0.0.0", "--port", "9001", "--reload"]) == 0
    assert (calls[1][1]["host"], calls[1][1]["port"], calls[1][1]["reload"]) == (
        "0.0.0.0", 9001, True)


def test_serve_says_when_the_port_is_taken_before_claiming_to_serve(capsys):
    import socket

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert cli.main(["serve", "--port", str(port)]) == 2
    out = capsys.readouterr()
    assert f"port {port} is already in use: try --port {port + 1}" in out.err
    assert "serving on" not in out.out


def test_trace_checks_the_learning_rate_before_printing(capsys):
    assert cli.main(["trace", "--lr", "0"]) == 2
    out = capsys.readouterr()
    assert out.out == ""
    assert "lr must be > 0" in out.err
