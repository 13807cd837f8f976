"""What every benchmark script does with its results: a hash of the code measured, and the
JSON written atomically with its tables next to it."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def source_sha256(root: Path = ROOT) -> str:
    """Return the first 16 hex digits of the SHA-256 of ``root/src/hyperknob``'s Python files
    (read in sorted path order): which code a result measured."""
    digest = hashlib.sha256()
    for path in sorted((root / "src" / "hyperknob").rglob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def save(path: Path, data: dict[str, Any], tables: str) -> None:
    """Write ``data`` as JSON at ``path`` (atomically: a run killed mid-write leaves the
    previous file) and ``tables`` beside it as ``.txt``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data))
    tmp.replace(path)
    path.with_suffix(".txt").write_text(tables + "\n")
