"""gzip for the clients that ask for it: the pages, the static and vendored files, and the
large JSON and CSV responses.

- Only a request whose ``Accept-Encoding`` names ``gzip`` (with a q above 0) gets a gzip
  body; every other client gets the bytes as they are. A response that could be compressed
  says ``Vary: Accept-Encoding`` either way, so a cache keeps the two apart, and a
  compressed one's ETag is weak (``W/"…"``): the bytes differ from the plain file's.
- Responses under MINIMUM_SIZE bytes, images and fonts (compressed already) and
  ``text/event-stream`` are sent as they are; a streamed body is compressed chunk by chunk,
  each flushed as it is sent (Starlette's :class:`GZipMiddleware`, which this wraps).
  WebSockets (the room's socket) never pass through it.
- Files (``/static``, ``/vendor``) are compressed once per version of the file and kept in
  memory (:func:`gzipped`), not at every request: plotly.js alone
  takes a tenth of a second to compress. A Range request gets the plain file.
- BREACH: a compressed body that holds a secret beside text the request chose leaks the
  secret through its length. The presenter key is in no response body (the presenter's
  page reads it from its own address); the student's token is only in the answer to a
  join, beside the name and ID the request sent: that route is never compressed
  (EXCLUDED). No other response holds a secret of the requester's.
"""

from __future__ import annotations

import functools
import gzip
import os
import re
from pathlib import Path

import starlette.staticfiles
from starlette.datastructures import Headers, MutableHeaders
from starlette.middleware.gzip import GZipMiddleware, GZipResponder, IdentityResponder
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

MINIMUM_SIZE = 1024  # bytes: below this gzip saves too little to be worth its header
LEVEL = 6  # zlib's default: within 1% of level 9 on our files, a third faster
EXCLUDED = re.compile(r"^/api/demo/[^/]+/join$")  # a token beside the request's own text
COMPRESSIBLE = re.compile(r"^(text/|application/(javascript|json|xml)|image/svg\+xml)")


def accepts_gzip(accept_encoding: str) -> bool:
    """Whether an ``Accept-Encoding`` value names gzip with a q above 0 (``gzip;q=0``
    refuses it, and ``*`` alone is not taken as asking for it)."""
    for item in accept_encoding.split(","):
        name, _, params = item.strip().partition(";")
        if name.strip().lower() not in ("gzip", "x-gzip"):
            continue
        q = 1.0
        for param in params.split(";"):
            key, _, value = param.strip().partition("=")
            if key.strip().lower() == "q":
                try:
                    q = float(value)
                except ValueError:
                    q = 0.0
        return q > 0
    return False


def compressible(media_type: str) -> bool:
    return bool(COMPRESSIBLE.match(media_type.lower()))


def _weak(etag: str) -> str:
    return etag if etag.startswith("W/") else f"W/{etag}"


class CompressionMiddleware(GZipMiddleware):
    """Starlette's GZipMiddleware, told gzip only by a q above 0, leaving EXCLUDED paths
    alone, and weakening the ETag of what it compresses."""

    def __init__(self, app: ASGIApp, minimum_size: int = MINIMUM_SIZE,
                 compresslevel: int = LEVEL) -> None:
        super().__init__(app, minimum_size=minimum_size, compresslevel=compresslevel)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or EXCLUDED.match(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        responder: ASGIApp
        if accepts_gzip(Headers(scope=scope).get("accept-encoding", "")):
            responder = GZipResponder(self.app, self.minimum_size,
                                      compresslevel=self.compresslevel,
                                      thread_minimum_size=self.thread_minimum_size,
                                      exclude_content_types=self.exclude_content_types)
        else:
            responder = IdentityResponder(self.app, self.minimum_size,
                                          exclude_content_types=self.exclude_content_types)

        async def weakened(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                if headers.get("content-encoding") == "gzip" and "etag" in headers:
                    headers["etag"] = _weak(headers["etag"])
            await send(message)

        await responder(scope, receive, weakened)


@functools.lru_cache(maxsize=128)  # this app's files are a few dozen, plotly.js the largest
def _gzipped(path: str, mtime_ns: int, size: int) -> bytes:
    del mtime_ns, size  # the key: a changed file is compressed again
    return gzip.compress(Path(path).read_bytes(), LEVEL, mtime=0)


def gzipped(path: str | os.PathLike[str], stat: os.stat_result) -> bytes:
    """The file compressed, from memory after the first time (per version of the file)."""
    return _gzipped(os.fspath(path), stat.st_mtime_ns, stat.st_size)


def file_response(scope: Scope, plain: Response, path: str | os.PathLike[str],
                  stat: os.stat_result) -> Response:
    """``plain`` (a FileResponse) as gzip when the request asks for it and the file is
    worth it; ``plain`` itself otherwise (a 304 too)."""
    media_type = plain.headers.get("content-type", "")
    if plain.status_code != 200 or not compressible(media_type) or stat.st_size < MINIMUM_SIZE:
        return plain
    headers = Headers(scope=scope)  # Vary: Accept-Encoding is the middleware's to add
    if not accepts_gzip(headers.get("accept-encoding", "")) or "range" in headers:
        return plain
    out = Response(gzipped(path, stat))
    for name in ("content-type", "last-modified", "cache-control"):
        if name in plain.headers:
            out.headers[name] = plain.headers[name]
    out.headers["etag"] = _weak(plain.headers["etag"])
    out.headers["content-encoding"] = "gzip"
    out.headers["vary"] = "Accept-Encoding"
    return out


class StaticFiles(starlette.staticfiles.StaticFiles):
    """Starlette's StaticFiles, each file gzipped once for the clients that ask for it."""

    def file_response(self, full_path: str | os.PathLike[str], stat_result: os.stat_result,
                      scope: Scope, status_code: int = 200) -> Response:
        plain = super().file_response(full_path, stat_result, scope, status_code)
        return file_response(scope, plain, full_path, stat_result)
