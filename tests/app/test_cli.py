"""``convlens serve``: binds localhost unless told otherwise, and prints its URL."""

from __future__ import annotations

from app import cli


def test_serve_binds_localhost_by_default_and_prints_the_url(monkeypatch, capsys):
    calls = []
    import uvicorn

    monkeypatch.setattr(uvicorn, "run", lambda target, **kw: calls.append((target, kw)))
    assert cli.main(["serve"]) == 0
    target, kw = calls[0]
    assert target == "app.main:app"
    assert (kw["host"], kw["port"], kw["reload"]) == ("127.0.0.1", 8000, False)
    assert "http://127.0.0.1:8000/" in capsys.readouterr().out
    assert cli.main(["serve", "--host", "0.0.0.0", "--port", "9001", "--reload"]) == 0
    assert (calls[1][1]["host"], calls[1][1]["port"], calls[1][1]["reload"]) == (
        "0.0.0.0", 9001, True)
