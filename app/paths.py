"""Where the browser's files are: found from this package, never from the working directory.

In a checkout (and an editable install) ``templates/`` and ``static/`` sit at the top of the
tree, beside ``app/``. A built wheel carries them inside the package, as ``app/templates``
and ``app/static`` (``pyproject.toml`` maps them there), since a wheel may not put folders
with such common names at the top of site-packages.
"""

from __future__ import annotations

from pathlib import Path

PACKAGE = Path(__file__).resolve().parent


def _find(name: str) -> Path:
    for place in (PACKAGE / name, PACKAGE.parent / name):
        if place.is_dir():
            return place
    raise RuntimeError(f"convlens is installed without its {name}/ folder "
                       f"(looked in {PACKAGE} and {PACKAGE.parent})")


TEMPLATES = _find("templates")
STATIC = _find("static")
