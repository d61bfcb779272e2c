"""Security headers, the request body limits, and the Host and Origin checks.

One pure ASGI middleware, wrapped around the whole app (error pages included):

- every response gets a Content-Security-Policy with no remote origin (inline styles are
  allowed because Plotly sets them; inline scripts are not, and nothing served has one),
  ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY`` and
  ``Referrer-Policy: no-referrer``, unless the response set its own;
- a body over ``max_body_bytes`` is refused with 413, whether its Content-Length says so or
  it streams more bytes than that. The body is read before the app runs (it is small), so
  the app never sees a partial one;
- a JSON body is checked for its shape before anything validates it (:func:`json_problem`):
  at most MAX_KEYS keys per object, keys of at most MAX_KEY_LENGTH characters, at most
  MAX_ITEMS elements per list and MAX_DEPTH levels of nesting. Past any of these it is a
  422 naming where, at once: no request of this API comes near them, and validating a
  body of 125,000 unknown keys would cost seconds and an error per key. Before it is even
  parsed, a body with more than MAX_COLONS ``:`` or MAX_COMMAS ``,`` bytes (counted in
  C, in well under a millisecond per megabyte) is refused the same way;
- a Host header that is not one of the server's own names is refused with 400 (against DNS
  rebinding, as Jupyter does): ``allowed_hosts`` lists the names; any IP address is
  allowed (a rebinding attack always comes under a name); None turns the check off;
- a request with an ``Origin`` from another site is refused with 403, for every method but
  GET, HEAD and OPTIONS and for every WebSocket (browsers send Origin with these; a script
  that sends none is not a browser and has no cookies or page to abuse). WebSockets are
  refused with an HTTP 403 that carries the security headers, where the server can send one.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

import orjson

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data: blob:; font-src 'self' data:; connect-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; object-src 'none'; form-action 'self'"
)
SECURITY_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
)


MAX_KEYS = 64  # keys in one JSON object
MAX_KEY_LENGTH = 64  # characters in one key
MAX_ITEMS = 16_384  # elements in one JSON list: the cells of the largest tensor a network may have
MAX_DEPTH = 12  # levels of nesting
# Counted in the raw bytes before parsing (a colon or comma inside a string counts too, so
# these bound from above): the largest body this API takes has ~20 keys and ~7,100 numbers.
MAX_COLONS = 1024
MAX_COMMAS = 32768
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def json_problem(value: object) -> dict[str, object] | None:
    """The first place where a parsed JSON document breaks the shape limits, as an error in
    the API's shape (``loc`` from ``"body"``), or None."""
    stack: list[tuple[object, tuple[str | int, ...]]] = [(value, ("body",))]
    while stack:
        node, loc = stack.pop()
        if len(loc) > MAX_DEPTH:
            return {"loc": list(loc[:MAX_DEPTH]), "type": "too_deep",
                    "msg": f"nested more than {MAX_DEPTH - 1} levels deep"}
        if isinstance(node, dict):
            if len(node) > MAX_KEYS:
                return {"loc": list(loc), "type": "too_many_keys",
                        "msg": f"an object with {len(node)} keys: at most {MAX_KEYS} allowed "
                               "(this API's objects have far fewer)"}
            for key, child in node.items():
                if len(key) > MAX_KEY_LENGTH:
                    return {"loc": list(loc), "type": "key_too_long",
                            "msg": f"a key of {len(key)} characters: at most "
                                   f"{MAX_KEY_LENGTH} allowed"}
                if isinstance(child, dict | list):
                    stack.append((child, (*loc, key)))
        elif isinstance(node, list):
            if len(node) > MAX_ITEMS:
                return {"loc": list(loc), "type": "too_many_items",
                        "msg": f"a list of {len(node)} elements: at most {MAX_ITEMS} allowed"}
            stack.extend((child, (*loc, i)) for i, child in enumerate(node)
                         if isinstance(child, dict | list))
    return None


def host_allowed(host: str, allowed: Iterable[str]) -> bool:
    """Whether a Host header (``name[:port]``) names this server: an IP address, or one of
    ``allowed`` (compared without case; ``*`` allows any)."""
    name = host.strip().lower()
    if name.startswith("["):  # [IPv6]:port
        name = name[1:].partition("]")[0]
    elif name.count(":") == 1:
        name = name.partition(":")[0]
    name = name.rstrip(".")
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        pass
    names = {a.strip().lower().rstrip(".") for a in allowed}
    return "*" in names or (bool(name) and name in names)


def same_origin(origin: str, host: str) -> bool:
    """Whether an Origin header names the site that Host names (scheme aside)."""
    return urlsplit(origin).netloc.lower() == host.strip().lower() != ""


class SecurityMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int,
                 allowed_hosts: Iterable[str] | None = None) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.allowed_hosts = None if allowed_hosts is None else tuple(allowed_hosts)

    def _refusal(self, scope: Scope) -> tuple[int, str] | None:
        headers = dict(scope.get("headers", ()))
        host = headers.get(b"host", b"").decode("latin-1")
        if self.allowed_hosts is not None and not host_allowed(host, self.allowed_hosts):
            return 400, ("this server does not answer to the name in the Host header; "
                         "set CONVLENS_ALLOWED_HOSTS to serve it under that name")
        origin = headers.get(b"origin")
        if origin is not None and (scope["type"] == "websocket"
                                   or scope.get("method") not in SAFE_METHODS):
            if not same_origin(origin.decode("latin-1"), host):
                return 403, "refused: the request comes from a page of another site"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "websocket":
            refusal = self._refusal(scope)
            if refusal is None:
                await self.app(scope, receive, send)
            else:
                await _refuse_websocket(scope, receive, send, *refusal)
            return
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in present)
                message = {**message, "headers": headers}
            await send(message)

        refusal = self._refusal(scope)
        if refusal is not None:
            await _json_response(send_with_headers, refusal[0], {"detail": refusal[1]})
            return

        length, chunked = None, False
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                length = value
            elif name == b"transfer-encoding":
                chunked = b"chunked" in value.lower()
        if length is not None:
            try:
                declared = int(length)
            except ValueError:
                declared = self.max_body_bytes + 1
            if declared > self.max_body_bytes:
                await self._too_large(send_with_headers)
                return
            if declared == 0 and not chunked:
                await self.app(scope, receive, send_with_headers)
                return
        elif not chunked:
            await self.app(scope, receive, send_with_headers)
            return

        chunks, total = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # the client went away
                await self.app(scope, _replay([message], receive), send_with_headers)
                return
            body = message.get("body", b"")
            total += len(body)
            if total > self.max_body_bytes:
                await self._too_large(send_with_headers)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        whole = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        problem = _body_problem(scope, whole["body"])
        if problem is not None:
            await _json_response(send_with_headers, 422, {"detail": [problem]})
            return
        await self.app(scope, _replay([whole], receive), send_with_headers)

    async def _too_large(self, send: Send) -> None:
        await _json_response(send, 413, {"detail": f"the request body is over the limit of "
                                                   f"{self.max_body_bytes} bytes"},
                             close=True)


def _body_problem(scope: Scope, body: bytes) -> dict[str, object] | None:
    """The shape limits of a JSON body (as FastAPI reads one: a JSON content type, or
    none); a body that is not JSON at all is left to the app's own error."""
    if not body:
        return None
    content_type = b""
    for name, value in scope.get("headers", ()):
        if name == b"content-type":
            content_type = value.lower()
    if content_type and b"json" not in content_type:
        return None
    colons, commas = body.count(b":"), body.count(b",")
    if colons > MAX_COLONS:
        return {"loc": ["body"], "type": "too_many_keys",
                "msg": f"{colons} ':' in the body: at most {MAX_COLONS} keys (or colons) "
                       "allowed in one request"}
    if commas > MAX_COMMAS:
        return {"loc": ["body"], "type": "too_many_items",
                "msg": f"{commas} ',' in the body: at most {MAX_COMMAS} elements (or commas) "
                       "allowed in one request"}
    try:
        document = orjson.loads(body)
    except orjson.JSONDecodeError:
        return None
    return json_problem(document)


async def _json_response(send: Send, status: int, content: object, *,
                         close: bool = False) -> None:
    body = orjson.dumps(content)
    headers = [(b"content-type", b"application/json"),
               (b"content-length", str(len(body)).encode())]
    if close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _refuse_websocket(scope: Scope, receive: Receive, send: Send, status: int,
                            reason: str) -> None:
    """Refuse a WebSocket before it opens: an HTTP response with the security headers where
    the server offers the denial-response extension, a close (HTTP 403) where not."""
    message = await receive()
    if message["type"] != "websocket.connect":
        return
    if "websocket.http.response" in scope.get("extensions", {}):
        body = orjson.dumps({"detail": reason})
        await send({"type": "websocket.http.response.start", "status": status,
                    "headers": [(b"content-type", b"application/json"),
                                (b"content-length", str(len(body)).encode()),
                                *SECURITY_HEADERS]})
        await send({"type": "websocket.http.response.body", "body": body})
    else:
        await send({"type": "websocket.close", "code": 1008, "reason": reason[:120]})


def _replay(messages: list[Message], receive: Receive) -> Receive:
    """A receive that first returns ``messages``, then defers to ``receive``."""
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay
