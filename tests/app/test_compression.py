"""gzip on the wire, against ``convlens demo`` run for real: only for a client that asks
for it, the body decompressing to the very bytes a plain client gets, smaller; the
room's socket, small answers and the join (a token beside the request's own text) as they
were; the CSV exports unchanged."""

from __future__ import annotations

import csv
import gzip
import io
import re

import httpx
import pytest

from app.compression import accepts_gzip
from tests.demo.conftest import KEY, ROOM, DemoServer
from tests.support.localserver import free_port

GZIP = {"Accept-Encoding": "gzip"}
PLAIN = {"Accept-Encoding": "identity"}


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("compression")
    demo = DemoServer(port=free_port(), state=folder / "rooms.sqlite3",
                      options=("--results", str(folder / "results.sqlite3")))
    demo.start()
    yield demo
    demo.stop()


def raw(server, path: str, headers: dict, method: str = "GET", **kw) -> tuple[httpx.Response,
                                                                                bytes]:
    """The response and its body as it came over the wire (not decoded)."""
    with httpx.stream(method, server.url + path, headers=headers, timeout=10, **kw) as r:
        return r, b"".join(r.iter_raw())


def pair(server, path: str, headers: dict | None = None, **kw
         ) -> tuple[bytes, bytes, httpx.Response]:
    """The plain body, the gzip body decompressed, and the gzip response."""
    plain_r, plain = raw(server, path, {**PLAIN, **(headers or {})}, **kw)
    gz_r, gz = raw(server, path, {**GZIP, **(headers or {})}, **kw)
    assert plain_r.status_code == gz_r.status_code and gz_r.status_code in (200, 201), path
    assert "content-encoding" not in plain_r.headers, path
    assert gz_r.headers.get("content-encoding") == "gzip", path
    assert "Accept-Encoding" in gz_r.headers.get("vary", "")
    assert "Accept-Encoding" in plain_r.headers.get("vary", "")
    for r in (gz_r, plain_r):  # said once
        assert r.headers.get("vary", "").count("Accept-Encoding") == 1, r.headers
    assert len(gz) < len(plain) * 0.6, (path, len(plain), len(gz))
    return plain, gzip.decompress(gz), gz_r


def static_files(html: str) -> list[str]:
    return [p.split("?")[0] for p in re.findall(r'(?:src|href)="(/static/[^"]+\.(?:js|css))',
                                                html)]


def test_pages_and_their_files_are_gzipped_to_the_same_bytes(server):
    for page in ("/", f"/follow/{ROOM}", "/practice"):
        plain, unzipped, _ = pair(server, page)
        html = plain.decode()
        for path in static_files(html):
            if len(raw(server, path, PLAIN)[1]) < 1024:  # too small to be worth it
                assert "content-encoding" not in raw(server, path, GZIP)[0].headers, path
                continue
            file_plain, file_unzipped, response = pair(server, path)
            assert file_unzipped == file_plain, path
            assert response.headers["etag"].startswith('W/"')  # not the plain file's
            assert int(response.headers["content-length"]) < len(file_plain)
        # a page is rendered per request: compare what does not vary
        assert unzipped.decode().split("<body")[0] == html.split("<body")[0], page
    for path in ("/vendor/plotly.min.js", "/openapi.json", "/api/meta"):
        plain, unzipped, _ = pair(server, path)
        assert unzipped == plain, path


def test_large_json_is_gzipped_and_small_answers_are_not(server):
    plain, unzipped, _ = pair(server, "/api/sessions", method="POST", json={})
    assert plain.startswith(b"{") and unzipped.startswith(b"{")
    r, body = raw(server, f"/api/demo/{ROOM}", GZIP)  # the room's state: as it is, or gzip
    assert r.status_code == 200
    assert len(body) < 1024 or r.headers.get("content-encoding") == "gzip"
    r, body = raw(server, "/api/health", GZIP)
    assert r.status_code == 200 and "content-encoding" not in r.headers


@pytest.mark.parametrize("accept", [None, "", "identity", "gzip;q=0", "br", "*", "deflate"])
def test_never_gzip_for_a_client_that_does_not_ask(server, accept):
    headers = {"Accept-Encoding": accept} if accept is not None else {}
    with httpx.Client(headers={}) as client:  # httpx itself would ask for gzip
        client.headers.pop("accept-encoding", None)
        for path in ("/", "/static/css/convlens.css", "/vendor/plotly.min.js", "/api/meta"):
            r = client.get(server.url + path, headers=headers, timeout=10)
            assert r.status_code == 200
            assert "content-encoding" not in r.headers, (accept, path)
            # ... and a cache is told that another client may get it gzipped
            assert "Accept-Encoding" in r.headers.get("vary", ""), (accept, path)


def test_accept_encoding_is_read_with_its_q_values():
    assert accepts_gzip("gzip") and accepts_gzip("br, gzip;q=0.5") and accepts_gzip("GZIP")
    assert accepts_gzip("x-gzip")
    for value in ("", "identity", "gzip;q=0", "gzip; q=0.000", "*", "deflate, br",
                  "gzip;q=nonsense", "gzipx"):
        assert not accepts_gzip(value), value


def test_a_conditional_request_for_the_gzipped_file_is_not_modified(server):
    r, _ = raw(server, "/static/css/convlens.css", GZIP)
    assert r.headers["etag"].startswith('W/"')  # the gzip bytes are not the file's
    again = httpx.get(server.url + "/static/css/convlens.css",
                      headers={**GZIP, "If-None-Match": r.headers["etag"]}, timeout=10)
    assert again.status_code == 304
    ranged = httpx.get(server.url + "/static/css/convlens.css",
                       headers={**GZIP, "Range": "bytes=0-9"}, timeout=10)
    assert ranged.status_code == 206 and "content-encoding" not in ranged.headers
    assert len(ranged.content) == 10


def test_the_join_path_is_never_compressed_however_long_its_answer():
    """The join answers a token beside the request's own text: a BREACH target. Its answer
    is under MINIMUM_SIZE today, so the middleware is tried on a 2 KB answer at its path."""
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route
    from starlette.testclient import TestClient

    from app.compression import CompressionMiddleware

    def long(request):
        return PlainTextResponse("token " * 400)

    inner = Starlette(routes=[Route("/api/demo/room1/join", long, methods=["POST"]),
                              Route("/api/demo/room1/state", long, methods=["POST"])])
    with TestClient(CompressionMiddleware(inner)) as client:
        joined = client.post("/api/demo/room1/join", headers=GZIP)
        other = client.post("/api/demo/room1/state", headers=GZIP)
    assert "content-encoding" not in joined.headers and joined.text == "token " * 400
    assert other.headers["content-encoding"] == "gzip" and other.text == "token " * 400


def test_the_join_holding_a_token_is_never_compressed_and_the_csv_stays_right(server):
    server.goto(0)
    name = "A" * 600
    joined, body = raw(server, f"/api/demo/{ROOM}/join", GZIP, method="POST",
                       json={"name": "x" * 40, "student_id": "s-1" + "0" * 20})
    assert joined.status_code == 201 and "content-encoding" not in joined.headers
    assert b'"token"' in body
    for i in range(40):  # enough rows for the CSV to be compressed
        r = httpx.post(f"{server.url}/api/demo/{ROOM}/join", timeout=10,
                       json={"name": f"=Student {i} {name[:20]}", "student_id": f"s-{i}"})
        assert r.status_code in (201, 429), r.text
    plain, unzipped, response = pair(server, f"/api/demo/{ROOM}/results.csv?layout=canvas",
                                     headers={"X-Demo-Key": KEY})
    assert unzipped == plain
    assert response.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(unzipped.decode("utf-8-sig"))))
    assert rows[0][:3] == ["Student", "ID", "SIS User ID"] and rows[1][0] == "Points Possible"
    assert all(row[0].startswith("'=") for row in rows[3:])  # formula escaping as before


def test_the_room_socket_is_untouched(server):
    from websockets.sync.client import connect

    page, _ = raw(server, f"/follow/{ROOM}", GZIP)  # the page this client opens: gzipped
    assert page.headers.get("content-encoding") == "gzip"

    with connect(f"ws://127.0.0.1:{server.port}/ws/follow/{ROOM}",
                 additional_headers=GZIP) as ws:
        frame = ws.recv(timeout=5)
        assert isinstance(frame, str) and '"type":"state"' in frame.replace(" ", "")
        assert ws.response.headers.get("Content-Encoding") is None


def test_no_secret_is_compressed_beside_the_request_s_text(server):
    """BREACH needs a secret in a compressed body that also reflects the request: the
    presenter's page reflects ``room`` but holds no key; the key is in no body."""
    r, body = raw(server, f"/demo?key={KEY}&room={ROOM}", GZIP)
    assert r.status_code == 200
    page = gzip.decompress(body) if r.headers.get("content-encoding") == "gzip" else body
    assert KEY.encode() not in page
    keyed, body = raw(server, "/api/demo/lesson", {**GZIP, "X-Demo-Key": KEY})
    assert keyed.headers.get("content-encoding") == "gzip"  # every beat, notes, answers
    lesson = gzip.decompress(body)
    assert b'"views"' in lesson and KEY.encode() not in lesson
