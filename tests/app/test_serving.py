"""``convlens serve`` on a real socket: the limits app/serving.py adds to uvicorn.

One server for the module, with short timeouts and small caps so that each defence shows
in a fraction of a second; every connection goes to 127.0.0.1 and is closed by the test.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time

import httpx
import pytest

from app import serving
from app.security import SECURITY_HEADERS
from tests.support.localserver import ROOT, LocalServer, free_port

ENV = {"CONVLENS_HEADER_TIMEOUT": "1", "CONVLENS_BODY_TIMEOUT": "1",
       "CONVLENS_MAX_CONNECTIONS_PER_CLIENT": "6", "CONVLENS_MAX_HEADER_BYTES": "8192",
       "CONVLENS_ALLOWED_HOSTS": "convlens.example"}


@pytest.fixture(scope="module")
def server():
    with LocalServer(["app.cli", "serve", "--port", "{port}"], env=ENV) as s:
        yield s


def connect(server, source: str = "127.0.0.1") -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10,
                                    source_address=(source, 0))
    return sock


def read_all(sock: socket.socket, limit: float = 10.0) -> bytes:
    """Everything until the server closes the connection (or ``limit`` seconds)."""
    sock.settimeout(limit)
    chunks = []
    with contextlib.suppress(OSError):
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def status_and_headers(raw: bytes) -> tuple[int, dict[str, str]]:
    head = raw.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
    headers = dict(line.split(": ", 1) for line in head[1:] if ": " in line)
    return int(head[0].split()[1]), {k.lower(): v for k, v in headers.items()}


def has_security_headers(headers: dict[str, str]) -> bool:
    return all(headers.get(name.decode()) == value.decode() for name, value in SECURITY_HEADERS)


def test_a_header_over_the_limit_is_cut_off_with_431(server):
    with connect(server) as sock:
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ")
        sent = 0
        with contextlib.suppress(OSError):
            for _ in range(64):  # up to 4 MB; the server stops reading at 8 kB
                sock.sendall(b"a" * 65536)
                sent += 65536
        status, headers = status_and_headers(read_all(sock))
    assert status == 431
    assert has_security_headers(headers)
    assert sent < 4 * 2**20  # it was cut off, not read to the end


def test_the_header_limit_holds_for_every_request_of_a_kept_alive_connection(server):
    with connect(server) as sock:
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        first = b""
        while b"\r\n\r\n" not in first or not first.rstrip().endswith(b"}"):
            first += sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200")
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
                     + b"a" * 20_000)  # in one piece, never finished
        status, _ = status_and_headers(read_all(sock))
    assert status == 431


def test_a_header_within_the_limit_is_served(server):
    r = httpx.get(server.url + "/api/health", headers={"X-Fine": "a" * 4000})
    assert r.status_code == 200


@pytest.mark.slow  # a real server and its real timeouts: a second or more
def test_incomplete_headers_are_dropped_with_408(server):
    with connect(server) as sock:
        sock.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finished
        raw = read_all(sock)
    status, headers = status_and_headers(raw)
    assert status == 408 and has_security_headers(headers)


@pytest.mark.slow  # a real server and its real timeouts: a second or more
def test_a_silent_connection_is_dropped(server):
    with connect(server) as sock:
        assert status_and_headers(read_all(sock))[0] == 408


@pytest.mark.slow  # a real server and its real timeouts: a second or more
def test_an_unfinished_body_is_dropped_with_408(server):
    with connect(server) as sock:
        sock.sendall(b"POST /api/forward HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"x\":")
        assert status_and_headers(read_all(sock))[0] == 408


def test_one_client_gets_a_bounded_number_of_connections(server):
    held = [connect(server) for _ in range(6)]
    try:
        with connect(server) as extra:
            status, headers = status_and_headers(read_all(extra))
        assert status == 503 and has_security_headers(headers)
        # another address (another student) still gets in
        with connect(server, source="127.0.0.2") as other:
            other.sendall(b"GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                          b"Connection: close\r\n\r\n")
            assert status_and_headers(read_all(other))[0] == 200
    finally:
        for sock in held:
            sock.close()


def test_a_malformed_request_gets_400_with_the_security_headers(server):
    with connect(server) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost 127.0.0.1\r\n\r\n")
        status, headers = status_and_headers(read_all(sock))
    assert status == 400 and has_security_headers(headers)


@pytest.mark.parametrize(("host", "status"), [
    ("evil.example", 400), ("evil.example:8000", 400), ("localhost:1", 200),
    ("127.0.0.1", 200), ("[::1]:80", 200), ("convlens.example", 200),
])
def test_the_host_header_must_name_this_server(server, host, status):
    r = httpx.get(server.url + "/api/health", headers={"Host": host})
    assert r.status_code == status
    assert has_security_headers({k.lower(): v for k, v in r.headers.items()})


def test_a_post_from_another_site_is_refused(server):
    r = httpx.post(server.url + "/api/sessions", json={},
                   headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    r = httpx.post(server.url + "/api/sessions", json={},
                   headers={"Origin": server.url})
    assert r.status_code == 201


def test_a_websocket_from_another_site_is_refused_with_the_headers(server):
    with connect(server) as sock:
        sock.sendall(b"GET /ws/anything HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                     b"Sec-WebSocket-Version: 13\r\nOrigin: http://evil.example\r\n\r\n")
        status, headers = status_and_headers(read_all(sock, 5))
    assert status == 403 and has_security_headers(headers)


@pytest.mark.slow
def test_the_compute_queue_answers_503_with_retry_after():
    env = {"CONVLENS_COMPUTE_WORKERS": "1", "CONVLENS_COMPUTE_QUEUE": "0"}
    config = {"input_size": 28, "kernel_size": 1, "filters": 8, "pool_size": 1}
    body = json.dumps({"config": config, "x": [[0.5] * 28] * 28, "y": 1}).encode()
    with LocalServer(["app.cli", "serve", "--port", "{port}"], env=env) as s, \
            connect(s) as first:
        first.sendall(b"POST /api/gradcheck HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                      b"Content-Type: application/json\r\nContent-Length: "
                      + str(len(body)).encode() + b"\r\n\r\n" + body)
        for _ in range(100):  # until the first one holds the worker (bounded)
            r = httpx.post(s.url + "/api/gradcheck", content=body,
                           headers={"content-type": "application/json"})
            if r.status_code == 503:
                break
            time.sleep(0.05)
        assert r.status_code == 503
        assert int(r.headers["retry-after"]) >= 1
        assert httpx.get(s.url + "/api/health").status_code == 200  # the rest still answers
        assert httpx.get(s.url + "/").status_code == 200


@pytest.mark.slow
def test_sigterm_under_load_stops_the_work_and_exits():
    config = {"input_size": 28, "kernel_size": 1, "filters": 8, "pool_size": 1}
    body = json.dumps({"config": config, "x": [[0.5] * 28] * 28, "y": 1}).encode()
    s = LocalServer(["app.cli", "serve", "--port", "{port}"]).start()
    socks = []
    try:
        for _ in range(6):
            sock = connect(s)
            sock.sendall(b"POST /api/gradcheck HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                         b"Content-Type: application/json\r\nContent-Length: "
                         + str(len(body)).encode() + b"\r\n\r\n" + body)
            socks.append(sock)
        time.sleep(0.5)
        s.proc.send_signal(signal.SIGTERM)
        s.proc.wait(timeout=30)  # a generous bound: it exits by itself (bench: the time)
        answers = [read_all(sock, 5) for sock in socks]
        # the running and waiting gradient checks were answered 503 (shutting down) or cut
        assert all(a == b"" or a.startswith(b"HTTP/1.1 503") for a in answers), answers
    finally:
        for sock in socks:
            sock.close()
        if s.proc is not None and s.proc.poll() is None:
            s.proc.kill()
        s.proc = None


def test_a_connection_cap_that_cannot_fit_the_file_limit_is_refused():
    import resource

    port = free_port()

    def low_limit() -> None:
        resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256))

    done = subprocess.run([sys.executable, "-m", "app.cli", "serve", "--port", str(port)],
                          cwd=ROOT, capture_output=True, text=True, timeout=60,
                          preexec_fn=low_limit,
                          env={**os.environ, "CONVLENS_MAX_CONNECTIONS": "5000"})
    assert done.returncode == 2
    assert "CONVLENS_MAX_CONNECTIONS=5000 needs" in done.stderr
    assert "serving on" not in done.stdout


def test_the_soft_file_limit_is_raised_toward_the_hard_one():
    limits = {"now": (1024, 4096)}

    def setrlimit(kind, value):
        limits["now"] = value

    fits, warning = serving.file_limit(2000, explicit=True,
                                       getrlimit=lambda kind: limits["now"],
                                       setrlimit=setrlimit)
    assert (fits, warning) == (2000, "")
    assert limits["now"] == (2000 + serving.FILES_RESERVE, 4096)
    # a default cap that cannot fit is lowered, and said so
    limits["now"] = (1024, 1024)
    fits, warning = serving.file_limit(2000, explicit=False,
                                       getrlimit=lambda kind: limits["now"],
                                       setrlimit=setrlimit)
    assert fits == 1024 - serving.FILES_RESERVE and "ulimit -n" in warning
    with pytest.raises(ValueError, match="CONVLENS_MAX_CONNECTIONS"):
        serving.file_limit(2000, explicit=True, getrlimit=lambda kind: (1024, 1024),
                           setrlimit=setrlimit)


# ------------------------------------------------------------------ forwarded headers
def _sessions_kept(url: str, body: dict, forged: list[str]) -> list[int]:
    """Make a walk from each forged address (X-Forwarded-For), then ask for each again."""
    ids = []
    for address in forged:
        r = httpx.post(url + "/api/sessions", json=body,
                       headers={"X-Forwarded-For": address, "X-Forwarded-Proto": "https"})
        assert r.status_code == 201, r.text
        ids.append(r.json()["id"])
    return [httpx.get(f"{url}/api/sessions/{sid}").status_code for sid in ids]


@pytest.mark.slow  # two real servers
def test_forwarded_for_is_believed_only_from_the_proxies_named(bodies):
    """Two walks per client address: three from forged addresses all count as 127.0.0.1's
    unless --forwarded-allow-ips names 127.0.0.1, so the first is dropped for the third;
    with it, three addresses keep one walk each."""
    env = {"CONVLENS_MAX_SESSIONS_PER_CLIENT": "2"}
    forged = ["1.2.3.1", "1.2.3.2", "1.2.3.3"]
    with LocalServer(["app.cli", "serve", "--port", "{port}"], env=env) as s:
        ignored = _sessions_kept(s.url, bodies.seed(), forged)
    with LocalServer(["app.cli", "serve", "--port", "{port}",
                      "--forwarded-allow-ips", "127.0.0.1"], env=env) as s:
        trusted = _sessions_kept(s.url, bodies.seed(), forged)
    assert ignored == [404, 200, 200]
    assert trusted == [200, 200, 200]


def test_uvicorn_is_told_to_ignore_forwarded_headers_unless_proxies_are_named(monkeypatch):
    from app.settings import Settings

    configs = []
    monkeypatch.setattr(serving.GuardedServer, "run", lambda self: configs.append(self.config))

    class Supervisor:  # --workers N: the config every worker process is started with
        def __init__(self, config, sockets):
            configs.append(config)
            for sock in sockets:
                sock.close()

        def run(self):
            pass

    monkeypatch.setattr(serving, "GuardedMultiprocess", Supervisor)
    interval = sys.getswitchinterval()
    try:
        serving.serve("app.main:app", host="127.0.0.1", port=free_port(), settings=Settings())
        trusted = Settings(forwarded_allow_ips=("127.0.0.1", "10.0.0.0/8"))
        serving.serve("app.main:app", host="127.0.0.1", port=free_port(), settings=trusted)
        serving.serve("app.main:app", host="127.0.0.1", port=free_port(), settings=trusted,
                      workers=2)
    finally:
        sys.setswitchinterval(interval)
    assert [c.proxy_headers for c in configs] == [False, True, True]
    assert configs[1].forwarded_allow_ips == configs[2].forwarded_allow_ips == [
        "127.0.0.1", "10.0.0.0/8"]
    with pytest.raises(TypeError, match="forwarded_allow_ips"):
        serving.serve("app.main:app", host="127.0.0.1", port=free_port(), proxy_headers=True)


def test_the_proxies_to_trust_come_from_the_environment_and_are_checked():
    from app.settings import Settings

    env = {"CONVLENS_FORWARDED_ALLOW_IPS": " 127.0.0.1, ::1,10.0.0.0/8 "}
    assert Settings.from_env(env).forwarded_allow_ips == ("127.0.0.1", "::1", "10.0.0.0/8")
    assert Settings.from_env({}).forwarded_allow_ips is None
    assert Settings.from_env({"CONVLENS_FORWARDED_ALLOW_IPS": ""}).forwarded_allow_ips is None
    assert Settings.from_env({"CONVLENS_FORWARDED_ALLOW_IPS": "*"}).forwarded_allow_ips == ("*",)
    with pytest.raises(ValueError, match="IP addresses or networks"):
        Settings.from_env({"CONVLENS_FORWARDED_ALLOW_IPS": "proxy.example"})
