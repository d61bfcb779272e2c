"""The pages a browser opens: the explorer at ``/``, practice and compare mode.

Templates and static files are found from the package (:mod:`app.paths`), whatever the
working directory.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates

from .paths import STATIC, TEMPLATES


def _static_url(path: str) -> str:
    """URL of a static file, with its modification time so browsers refetch changed files."""
    version = int((STATIC / path).stat().st_mtime) if (STATIC / path).exists() else 0
    return f"/static/{path}?v={version}"


templates = Jinja2Templates(directory=str(TEMPLATES))
templates.env.globals["static"] = _static_url

router = APIRouter(include_in_schema=False)


@router.get("/", response_class=HTMLResponse)
def explorer(request: Request) -> HTMLResponse:
    return templates.TemplateResponse(request, "index.html")


@router.get("/practice", response_class=HTMLResponse)
def practice(request: Request) -> HTMLResponse:
    """Practice: compute a step by hand (``?step=dA1``) or the whole pass (``?chain=1``)."""
    return templates.TemplateResponse(request, "practice.html")


@router.get("/compare", response_class=HTMLResponse)
def compare(request: Request) -> HTMLResponse:
    """Compare mode: two walks side by side (``?switch=pool&base=<JSON>`` or ``?a=&b=``)."""
    return templates.TemplateResponse(request, "compare.html")
