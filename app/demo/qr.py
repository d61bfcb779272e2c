"""The audience link as a QR code, drawn on the server (offline, by ``segno``) as inline SVG
for the presenter's page: the room scans the projector instead of typing the link."""

from __future__ import annotations

import functools

MAX_URL = 512  # a link longer than this is not worth a QR code on a projector


@functools.lru_cache(maxsize=64)
def qr_svg(url: str) -> str:
    """An SVG element (no size: it fills its box) encoding ``url``, or "" for a link too
    long to scan from the back of a room."""
    import segno

    if not url or len(url) > MAX_URL:
        return ""
    code = segno.make(url, error="m", micro=False)
    return str(code.svg_inline(omitsize=True, border=2, svgclass="join-qr-code",
                               dark="#111827", light="#ffffff"))
