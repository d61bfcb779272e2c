"""Security headers on every response; third-party files served locally; /docs offline."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from app import assets, security
from app.main import create_app
from app.settings import Settings

HEADERS = {
    "content-security-policy": security.CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}
REMOTE = re.compile(rb"""(?:src|href)\s*=\s*["']?(?:https?:)?//""", re.IGNORECASE)


def check_headers(r) -> None:
    for name, value in HEADERS.items():
        assert r.headers.get(name) == value, (r.request.url, name)


@pytest.mark.parametrize(("method", "path", "body"), [
    ("GET", "/", None), ("GET", "/docs", None), ("GET", "/docs/swagger-init.js", None),
    ("GET", "/openapi.json", None), ("GET", "/api/health", None), ("GET", "/api/meta", None),
    ("GET", "/vendor/plotly.min.js", None), ("GET", "/vendor/swagger-ui/swagger-ui.css", None),
    ("GET", "/nowhere", None), ("GET", "/api/sessions/unknown", None),
    ("POST", "/api/forward", {"x": "no"}), ("GET", "/api/backward", None),
])
def test_every_response_carries_the_security_headers(client, method, path, body):
    r = client.request(method, path, json=body)
    check_headers(r)


def test_413_and_server_errors_carry_the_headers_too():
    app = create_app(Settings(max_body_bytes=2048))

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("boom")

    from fastapi.testclient import TestClient

    with TestClient(app, raise_server_exceptions=False) as client:
        r = client.post("/api/forward", content=b"[" + b"0," * 2000 + b"0]",
                        headers={"content-type": "application/json"})
        assert r.status_code == 413
        check_headers(r)
        r = client.get("/boom")
        assert r.status_code == 500
        check_headers(r)


def test_the_policy_names_no_remote_origin():
    policy = security.CONTENT_SECURITY_POLICY
    assert "http" not in policy and "*" not in policy
    directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
    assert directives["script-src"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"


def test_plotly_is_served_from_the_installed_package(client):
    r = client.get("/vendor/plotly.min.js")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/javascript")
    assert "max-age=" in r.headers["cache-control"]
    assert r.content == assets.plotly_js().read_bytes()
    assert b"plotly.js" in r.content[:200]


def test_docs_load_nothing_remote_and_have_no_inline_script(client):
    r = client.get("/docs")
    assert r.status_code == 200
    html = r.content
    assert not REMOTE.search(html), html
    assert b"<script>" not in html
    scripts = re.findall(rb'<script src="([^"]+)"', html)
    styles = re.findall(rb'<link[^>]+href="([^"]+)"', html)
    assert scripts and styles
    for url in scripts + styles:
        asset = client.get(url.decode())
        assert asset.status_code == 200, url
    init = client.get(assets.DOCS_INIT).text
    assert "SwaggerUIBundle" in init and "/openapi.json" in init
    assert "validatorUrl" in init


def test_swagger_ui_reads_openapi_3_1():
    version = re.search(r"swagger-ui-(\d+)\.", assets.swagger_dir().name)
    assert version and int(version.group(1)) >= 5
    assert (assets.swagger_dir() / "swagger-ui-bundle.js").is_file()


def test_only_the_listed_swagger_files_are_served(client):
    assert client.get("/vendor/swagger-ui/index.html").status_code == 404
    assert client.get("/vendor/swagger-ui/..%2F..%2F__init__.py").status_code == 404


def test_the_default_docs_pages_are_off(client):
    assert client.get("/redoc").status_code == 404
    assert client.get("/docs/oauth2-redirect").status_code == 404


def test_the_root_serves_a_page(client):
    r = client.get("/")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/html")


def test_paths_do_not_depend_on_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    from fastapi.testclient import TestClient

    with TestClient(create_app(Settings())) as client:
        assert client.get("/vendor/plotly.min.js").status_code == 200
        assert client.get("/docs").status_code == 200
        assert client.get("/api/datasets").status_code == 200
    assert Path.cwd() == tmp_path


def test_every_page_names_its_language_and_labelled_boxes_have_a_role(client):
    import re

    docs = client.get("/docs")
    assert docs.status_code == 200 and '<html lang="en">' in docs.text
    for path, ids in (("/", ("pipeline", "train-chart")), ("/practice", ("givens",))):
        page = client.get(path)
        assert page.status_code == 200 and re.search(r"<html[^>]* lang=", page.text), path
        for box in ids:  # aria-label on a div with no role is ignored (and invalid HTML)
            tag = re.search(rf'<div[^>]*id="{box}"[^>]*>', page.text)
            assert tag is not None and "aria-label" in tag[0], box
            assert re.search(r'role="(group|figure|img|region|toolbar)"', tag[0]), tag[0]
