"""Storage URLs read without importing SQLAlchemy (the CLI starts fast)."""

from __future__ import annotations


def sqlite_path(url: str) -> str | None:
    """Return the file path of a ``sqlite:///PATH`` URL, or None for memory and other URLs."""
    if not url.startswith("sqlite:///"):
        return None
    path = url[len("sqlite:///"):].split("?", 1)[0]
    if not path or path == ":memory:" or path.startswith("file:"):
        return None
    return path
