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


TWO_CONV = {"input": {"size": 8}, "layers": [
    {"type": "conv", "filters": 2, "kernel": 3}, {"type": "relu"},
    {"type": "avgpool", "size": 2}, {"type": "conv", "filters": 2, "kernel": 2},
    {"type": "relu"}, {"type": "flatten"}, {"type": "dense", "units": 3}],
    "output": "softmax_ce"}


def test_trace_prints_every_step_of_a_network_from_a_file(tmp_path, capsys):
    import json

    import engine

    path = tmp_path / "net.json"
    path.write_text(json.dumps(TWO_CONV))
    assert cli.main(["trace", "--network", str(path)]) == 0
    out = capsys.readouterr().out
    net = engine.network(TWO_CONV)
    assert str(net) in out.splitlines()[0]
    for step in engine.steps_for(net):
        assert f": {step.text}" in out, step.writes
    x, y, params = engine.seed_example(net)
    t = engine.trace(x, y, params, net)
    assert f"L = {float(t['L']):.6g}" in out


def test_trace_reads_a_network_table_from_toml(tmp_path, capsys):
    path = tmp_path / "net.toml"
    path.write_text('[network]\noutput = "sigmoid_bce"\ninput = { size = 5 }\n'
                    'layers = [{ type = "flatten" }, { type = "dense", units = 2 },\n'
                    '          { type = "tanh" }, { type = "dense", units = 1 }]\n')
    assert cli.main(["trace", "--network", str(path)]) == 0
    out = capsys.readouterr().out
    assert "5×5 → flatten → dense 2 → tanh → dense 1 → sigmoid_bce" in out
    assert "dA2" in out and "dZ1" in out


def test_trace_names_every_problem_of_a_network_that_does_not_fit(tmp_path, capsys):
    import json

    path = tmp_path / "bad.json"
    path.write_text(json.dumps({"input": {"size": 4}, "layers": [
        {"type": "conv", "kernel": 3}, {"type": "flatten"}, {"type": "flatten"},
        {"type": "dense", "units": 2}]}))
    assert cli.main(["trace", "--network", str(path)]) == 2
    err = capsys.readouterr().err
    assert "layers[2]: a second flatten" in err
    assert "layers[3].units: sigmoid_bce needs a last dense layer of 1 unit" in err
    (tmp_path / "junk.json").write_text("{not json")
    assert cli.main(["trace", "--network", str(tmp_path / "junk.json")]) == 2
    assert "not readable as JSON" in capsys.readouterr().err
