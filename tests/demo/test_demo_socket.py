"""The room socket and the demo API, through Starlette's TestClient: only the key holder
moves the lesson, late joiners get the current state, bad messages harm nothing."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient
from starlette.testclient import WebSocketDenialResponse
from starlette.websockets import WebSocketDisconnect

from app.demo.routes import MAX_MESSAGE_BYTES, MAX_STRIKES
from app.main import create_app
from app.settings import Settings

KEY = "test-presenter-key-0123"  # as in conftest.py, which a test module cannot import
ROOM = "testroom"
SOCKET = f"/ws/follow/{ROOM}"
KEYED = {"X-Demo-Key": KEY}


@pytest.fixture(autouse=True)
def _same_key_as_the_fixtures(demo):
    assert (demo.key, demo.room) == (KEY, ROOM)


def state_of(client) -> dict:
    response = client.get(f"/api/demo/{ROOM}")
    assert response.status_code == 200
    return response.json()


def presenter(ws) -> None:
    """Authenticate a connection that has read its first state."""
    ws.send_json({"type": "auth", "key": KEY})
    messages = [ws.receive_json() for _ in range(3)]
    assert {"type": "auth", "ok": True} in messages, messages


def until(ws, kind: str) -> dict:
    for _ in range(20):
        message = ws.receive_json()
        if message["type"] == kind:
            return message
    raise AssertionError(f"no {kind} message")


# ---------------------------------------------------------------------------- socket
def test_a_connection_gets_the_state_at_once(client):
    with client.websocket_connect(SOCKET) as ws:
        first = ws.receive_json()
    assert first["type"] == "state" and first["beat"] == 0 and first["step"] == "intro"
    assert first["followers"] == 1


def test_the_presenter_moves_everyone_and_a_late_joiner_lands_on_the_current_step(client):
    with client.websocket_connect(SOCKET) as a, client.websocket_connect(SOCKET) as p:
        a.receive_json()
        p.receive_json()
        presenter(p)
        p.send_json({"type": "goto", "beat": 5})
        moved = until(a, "state")
        assert moved["beat"] == 5 and moved["seq"] == 1
        assert until(p, "state")["beat"] == 5
        with client.websocket_connect(SOCKET) as late:
            joined = late.receive_json()
        assert joined["beat"] == 5 and joined["step"] == moved["step"]
    assert state_of(client)["beat"] == 5


def test_the_audience_cannot_move_the_lesson(client):
    with client.websocket_connect(SOCKET) as ws:
        ws.receive_json()
        ws.send_json({"type": "goto", "beat": 3})
        assert ws.receive_json() == {"type": "refused",
                                     "detail": "only the presenter moves the lesson"}
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}  # still connected
    assert state_of(client)["beat"] == 0 and state_of(client)["seq"] == 0


def test_a_wrong_key_is_refused_and_three_close_the_connection(client):
    with client.websocket_connect(SOCKET) as ws:
        ws.receive_json()
        for _ in range(2):
            ws.send_json({"type": "auth", "key": KEY + "x"})
            assert ws.receive_json() == {"type": "auth", "ok": False, "detail": "wrong key"}
        ws.send_json({"type": "goto", "beat": 2})
        assert ws.receive_json()["type"] == "refused"
        ws.send_json({"type": "auth", "key": "guess"})
        assert ws.receive_json()["ok"] is False
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_json()
        assert info.value.code == 1008
    assert state_of(client)["beat"] == 0


@pytest.mark.parametrize("message", [
    "not json", "[1, 2]", '"auth"', "{}", '{"type": "dance"}', '{"type": 5}',
    '{"type": "auth"}', '{"type": "auth", "key": 7}',
])
def test_malformed_and_unknown_messages_are_dropped_without_harm(client, message):
    with client.websocket_connect(SOCKET) as ws:
        ws.receive_json()
        ws.send_text(message)
        reply = ws.receive_json()
        assert reply["type"] in ("dropped", "auth")
        ws.send_json({"type": "ping"})
        assert ws.receive_json() == {"type": "pong"}
    assert state_of(client)["beat"] == 0


def test_a_presenters_bad_moves_are_dropped(client):
    with client.websocket_connect(SOCKET) as p:
        p.receive_json()
        presenter(p)
        for bad in (-1, 10_000, "3", None, 2.5, True):
            p.send_json({"type": "goto", "beat": bad})
            assert until(p, "dropped")["detail"].startswith("beat must be an integer")
        p.send_json({"type": "goto", "beat": 2, "by": "tab1-1"})
        moved = until(p, "state")
        assert (moved["beat"], moved["by"]) == (2, "tab1-1")
        p.send_json({"type": "goto", "beat": 3, "by": "not a mark"})
        assert until(p, "dropped")["detail"].startswith("by must be")


def test_binary_frames_are_dropped(client):
    with client.websocket_connect(SOCKET) as ws:
        ws.receive_json()
        ws.send_bytes(b'{"type": "goto", "beat": 1}')
        assert ws.receive_json() == {"type": "dropped", "detail": "messages are JSON text"}


def test_an_oversized_message_closes_the_connection_and_the_room_carries_on(client):
    with client.websocket_connect(SOCKET) as other:
        other.receive_json()
        with client.websocket_connect(SOCKET) as ws:
            ws.receive_json()
            ws.send_text('{"type": "ping", "pad": "' + "x" * MAX_MESSAGE_BYTES + '"}')
            with pytest.raises(WebSocketDisconnect) as info:
                ws.receive_json()
            assert info.value.code == 1009
        other.send_json({"type": "ping"})
        assert other.receive_json() == {"type": "pong"}
    assert state_of(client)["followers"] == 0


def test_too_many_bad_messages_close_the_connection(client):
    with client.websocket_connect(SOCKET) as ws:
        ws.receive_json()
        for _ in range(MAX_STRIKES):
            ws.send_text("nonsense")
            assert ws.receive_json()["type"] == "dropped"
        ws.send_text("nonsense")
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_json()
        assert info.value.code == 1008


def test_an_unknown_room_closes_with_4404(client):
    with client.websocket_connect("/ws/follow/nosuchroom") as ws, \
            pytest.raises(WebSocketDisconnect) as info:
        ws.receive_json()
    assert info.value.code == 4404


def test_a_socket_from_another_origin_is_refused(client):
    # refused before it opens, with an HTTP 403 that carries the security headers
    with pytest.raises(WebSocketDenialResponse) as info, client.websocket_connect(
            SOCKET, headers={"Origin": "http://evil.example"}):
        pass
    assert info.value.status_code == 403
    assert info.value.headers["x-frame-options"] == "DENY"
    with client.websocket_connect(SOCKET, headers={"Origin": "http://testserver"}) as ws:
        assert ws.receive_json()["type"] == "state"


@pytest.mark.slow  # a real server and its real timeouts: a second or more
def test_the_room_caps_its_followers(demo):
    with demo.client() as client:
        client.app.state.demo.hub.max_followers = 2
        with client.websocket_connect(SOCKET) as a, client.websocket_connect(SOCKET) as b:
            a.receive_json()
            b.receive_json()
            with client.websocket_connect(SOCKET) as c, \
                    pytest.raises(WebSocketDisconnect) as info:
                c.receive_json()
            assert info.value.code == 1013
            a.send_json({"type": "ping"})
            assert a.receive_json() == {"type": "pong"}


def test_followers_are_counted_for_the_presenter(client):
    with client.websocket_connect(SOCKET) as p:
        p.receive_json()
        presenter(p)
        with client.websocket_connect(SOCKET) as a:
            a.receive_json()
            assert until(p, "followers")["count"] == 1
        assert until(p, "followers")["count"] == 0


# ---------------------------------------------------------------------------------- API
def test_goto_needs_the_key(client):
    response = client.post(f"/api/demo/{ROOM}/goto", json={"beat": 4})
    assert response.status_code == 403
    assert response.json() == {"detail": "the presenter key is missing or wrong"}
    response = client.post(f"/api/demo/{ROOM}/goto", json={"beat": 4},
                           headers={"X-Demo-Key": "wrong-key-wrong"})
    assert response.status_code == 403
    assert state_of(client)["beat"] == 0
    response = client.post(f"/api/demo/{ROOM}/goto", json={"beat": 4, "by": "tab-1"},
                           headers=KEYED)
    assert response.status_code == 200
    assert response.json()["beat"] == 4 and state_of(client)["beat"] == 4
    assert state_of(client)["by"] == "tab-1"


def test_goto_reaches_the_sockets(client):
    with client.websocket_connect(SOCKET) as ws:
        ws.receive_json()
        assert client.post(f"/api/demo/{ROOM}/goto", json={"beat": 7},
                           headers=KEYED).status_code == 200
        assert ws.receive_json()["beat"] == 7


@pytest.mark.parametrize("body", [{"beat": -1}, {"beat": 999}, {"beat": "2"}, {},
                                  {"beat": 1, "x": 1}, {"beat": 1, "by": "two words"}])
def test_goto_refuses_beats_outside_the_lesson(client, body):
    response = client.post(f"/api/demo/{ROOM}/goto", json=body, headers=KEYED)
    assert response.status_code == 422
    assert state_of(client)["beat"] == 0


def test_unknown_rooms_are_404(client):
    assert client.get("/api/demo/nosuchroom").status_code == 404
    response = client.post("/api/demo/nosuchroom/goto", json={"beat": 1}, headers=KEYED)
    assert response.status_code == 404


def test_opening_rooms_needs_the_key(client):
    assert client.post("/api/demo/rooms", json={}).status_code == 403
    response = client.post("/api/demo/rooms", json={}, headers=KEYED)
    assert response.status_code == 200
    body = response.json()
    assert body["created"] and body["follow"] == f"/follow/{body['room']}"
    again = client.post("/api/demo/rooms", json={"room": ROOM}, headers=KEYED)
    assert again.status_code == 200 and again.json()["created"] is False


def test_the_lesson_has_speaker_notes_only_for_the_key(client):
    public = client.get("/api/demo/lesson")
    assert public.status_code == 200
    assert "views" not in public.json() and "notes" not in public.text
    assert public.json()["beats"] == state_of(client)["beats"]
    keyed = client.get("/api/demo/lesson", headers=KEYED)
    assert any(view["notes"] for view in keyed.json()["views"])
    assert len(keyed.json()["views"]) == state_of(client)["beats"]


def test_without_demo_mode_everything_says_so():
    with TestClient(create_app(Settings())) as client:
        response = client.get("/api/demo/lesson")
        assert response.status_code == 404 and "convlens demo" in response.json()["detail"]
        assert client.get(f"/api/demo/{ROOM}").status_code == 404
        page = client.get("/demo")
        assert page.status_code == 404 and "Demo mode is off" in page.text
        assert client.get(f"/follow/{ROOM}").status_code == 404
        with client.websocket_connect(SOCKET) as ws, pytest.raises(WebSocketDisconnect) as info:
            ws.receive_json()
        assert info.value.code == 4404


# -------------------------------------------------------------------------------- pages
def test_the_presenter_page_refuses_a_wrong_key(client):
    page = client.get("/demo?key=not-the-key-at-all")
    assert page.status_code == 403 and "key is wrong" in page.text
    assert "demo.js" not in page.text


def test_the_pages_carry_their_room_and_no_inline_script(client):
    for path in (f"/demo?key={KEY}", "/demo", f"/follow/{ROOM}"):
        page = client.get(path)
        assert page.status_code == 200
        assert f'data-room="{ROOM}"' in page.text
        assert KEY not in page.text  # the key is never written into a page
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page.text)
        assert not re.search(r"\son[a-z]+=", page.text)
        assert "script-src 'self'" in page.headers["content-security-policy"]
    assert client.get("/follow/bad%20room").status_code == 404


# ------------------------------------------------------------------------ wrong keys
def test_wrong_keys_are_throttled_per_address_across_rest_sockets_and_the_link(client):
    from app.demo.guard import CLOSE_THROTTLED, KEY_BURST

    wrong = {"X-Demo-Key": "not-the-key-at-all"}
    for i in range(KEY_BURST):
        where = ("/api/demo/rooms", f"/api/demo/{ROOM}/goto")[i % 2]
        response = client.post(where, json={"beat": 1} if "goto" in where else {},
                               headers=wrong)
        assert response.status_code == 403, response.text
    for method, path, body in (("POST", f"/api/demo/{ROOM}/goto", {"beat": 1}),
                               ("POST", "/api/demo/rooms", {}),
                               ("GET", "/api/demo/lesson", None)):
        for headers in (wrong, KEYED):  # not even the right key is tried now
            response = client.request(method, path, json=body, headers=headers)
            assert response.status_code == 429, (path, response.text)
            assert 1 <= int(response.headers["Retry-After"]) <= 60
            assert "too many wrong presenter keys" in response.json()["detail"]
    page = client.get(f"/demo?key={KEY}")
    assert page.status_code == 429 and "Too many wrong keys" in page.text
    assert page.headers["Retry-After"]
    with client.websocket_connect(SOCKET) as ws:  # a new socket is the same address
        ws.receive_json()
        ws.send_json({"type": "auth", "key": KEY})
        with pytest.raises(WebSocketDisconnect) as info:
            for _ in range(5):
                ws.receive_json()
    assert info.value.code == CLOSE_THROTTLED
    assert state_of(client)["beat"] == 0 and state_of(client)["seq"] == 0
    assert client.get("/api/demo/lesson").status_code == 200  # following needs no key


def test_a_connection_without_a_seat_gets_in_with_the_key_and_only_with_it(demo):
    from app.demo.rooms import CLOSE_TRY_LATER

    with demo.client(per_client=2) as client, \
            client.websocket_connect(SOCKET) as a, client.websocket_connect(SOCKET) as b:
        a.receive_json()
        b.receive_json()
        with client.websocket_connect(SOCKET) as third:  # no seat, and no key
            third.send_json({"type": "ping"})
            with pytest.raises(WebSocketDisconnect) as info:
                third.receive_json()
        assert info.value.code == CLOSE_TRY_LATER and "one address" in info.value.reason
        with client.websocket_connect(SOCKET) as p:  # no seat, but the key
            p.send_json({"type": "auth", "key": KEY})
            assert until(p, "auth") == {"type": "auth", "ok": True}
            assert until(p, "state")["beat"] == 0
            p.send_json({"type": "goto", "beat": 3})
            assert until(a, "state")["beat"] == 3
            assert until(p, "state")["followers"] == 2


def test_the_presenter_page_carries_the_audience_link_as_a_qr_code(demo):
    import segno

    with demo.client(public_url="http://192.168.1.20:8000") as client:
        page = client.get("/demo")
        assert page.status_code == 200
        url = f"http://192.168.1.20:8000/follow/{ROOM}"
        assert f'data-join-url="{url}"' in page.text
        svg = re.search(r'<svg viewBox="0 0 (\d+) \d+" class="join-qr-code">.*?</svg>',
                        page.text)
        assert svg, "no QR code on the page"
        # The code's size is that of the link's QR code (with a border of 2 on each side).
        assert int(svg.group(1)) == len(segno.make(url, error="m").matrix) + 4
        other = client.get("/demo?room=another-room").text
        assert "/follow/another-room" in other and svg.group(0) not in other


def test_a_room_code_typed_in_capitals_still_finds_the_room(demo):
    with demo.client(room="k7m4pq") as client:
        moved = client.get("/follow/K7M4PQ", follow_redirects=False)
        assert moved.status_code == 307 and moved.headers["location"] == "/follow/k7m4pq"
        assert client.get("/follow/K7M4PQ").status_code == 200
        missing = client.get("/follow/k7m4pz")
        assert missing.status_code == 404 and "There is no such room." in missing.text
