"""convlens server: the engine over HTTP, the explorer page and the demo mode."""

from __future__ import annotations

from importlib import metadata


def version() -> str:
    """The installed distribution's version ("unknown" when run from a bare checkout)."""
    try:
        return metadata.version("convlens")
    except metadata.PackageNotFoundError:
        return "unknown"
