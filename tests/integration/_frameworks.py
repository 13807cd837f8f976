"""Import a training framework for a test: skip without it, but fail in CI (CI=true), where
the dev extra installs every framework the integrations support."""

from __future__ import annotations

import os
from types import ModuleType

import pytest


def require(module: str, install: str) -> ModuleType:
    """Import ``module``; skip the test without it, fail without it in CI."""
    try:
        return pytest.importorskip(module, reason=f"{module} is not installed: pip install "
                                                  f"{install}")
    except pytest.skip.Exception:
        if os.environ.get("CI") == "true":
            pytest.fail(f"CI=true but {module} is not installed (the dev extra has it: "
                        f"pip install {install})")
        raise
