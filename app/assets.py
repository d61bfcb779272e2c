"""Third-party browser files served from installed Python packages: no CDN, works offline.

- ``/vendor/plotly.min.js``: plotly.js as the ``plotly`` package ships it.
- ``/docs``: Swagger UI from the ``swagger-ui-bundle-v2`` package (Swagger UI 5, which reads
  the OpenAPI 3.1 schema FastAPI writes). FastAPI's ``get_swagger_ui_html`` builds the page;
  its inline start-up script is moved to ``/docs/swagger-init.js`` so that the page runs
  under the same ``script-src 'self'`` policy as everything else.

Each file is gzipped once for the clients that ask for it (:mod:`app.compression`).
"""

from __future__ import annotations

import functools
import re
from importlib import resources
from pathlib import Path

import swagger_ui_bundle
from fastapi import APIRouter, HTTPException, Request
from fastapi.openapi.docs import get_swagger_ui_html
from starlette.responses import FileResponse, HTMLResponse, Response

from . import compression

CACHE = {"Cache-Control": "public, max-age=604800"}  # a week; ETag and Last-Modified too
SWAGGER_FILES = {"swagger-ui-bundle.js": "application/javascript",
                 "swagger-ui.css": "text/css",
                 "favicon-32x32.png": "image/png"}
DOCS_INIT = "/docs/swagger-init.js"
_INLINE_SCRIPT = re.compile(r"<script>(.*?)</script>", re.DOTALL)


def plotly_js() -> Path:
    return Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))


def swagger_dir() -> Path:
    return Path(str(swagger_ui_bundle.swagger_ui_path))


@functools.lru_cache(maxsize=8)
def docs_page(openapi_url: str, title: str) -> tuple[str, str]:
    """The Swagger UI page with its start-up script moved out: (html, script)."""
    html = get_swagger_ui_html(
        openapi_url=openapi_url, title=title,
        swagger_js_url="/vendor/swagger-ui/swagger-ui-bundle.js",
        swagger_css_url="/vendor/swagger-ui/swagger-ui.css",
        swagger_favicon_url="/vendor/swagger-ui/favicon-32x32.png",
        oauth2_redirect_url=None,
        swagger_ui_parameters={"validatorUrl": None, "tryItOutEnabled": True},
    ).body.decode()
    scripts = _INLINE_SCRIPT.findall(html)
    if len(scripts) != 1:
        raise RuntimeError(f"expected one inline script in the Swagger UI page, "
                           f"found {len(scripts)}")
    html = _INLINE_SCRIPT.sub(f'<script src="{DOCS_INIT}"></script>', html)
    html = html.replace("<html>", '<html lang="en">', 1)  # the page's language, for readers
    return html, scripts[0]


def _file(request: Request, path: Path, media_type: str) -> Response:
    """The file, cached for a week, gzipped once for the clients that ask for it."""
    stat = path.stat()
    plain = FileResponse(path, media_type=media_type, headers=CACHE, stat_result=stat)
    return compression.file_response(request.scope, plain, path, stat)


def router(openapi_url: str, title: str) -> APIRouter:
    r = APIRouter(include_in_schema=False)
    html, script = docs_page(openapi_url, title)

    @r.get("/vendor/plotly.min.js")
    async def plotly(request: Request) -> Response:
        return _file(request, plotly_js(), "application/javascript")

    @r.get("/vendor/swagger-ui/{name}")
    async def swagger_asset(request: Request, name: str) -> Response:
        if name not in SWAGGER_FILES:
            raise HTTPException(404, detail=f"no such file: {name}")
        return _file(request, swagger_dir() / name, SWAGGER_FILES[name])

    @r.get("/docs")
    async def docs() -> HTMLResponse:
        return HTMLResponse(html)

    @r.get(DOCS_INIT)
    async def docs_init() -> Response:
        return Response(script, media_type="application/javascript")

    return r
