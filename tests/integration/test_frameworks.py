"""A framework the integration tests need: skipped without it, a failure in CI."""

from __future__ import annotations

import pytest
from _frameworks import require


def test_a_missing_framework_skips_but_fails_in_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="pip install 'hyperknob-no-such'"):
        require("hyperknob_no_such_framework", "'hyperknob-no-such'")
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="CI=true but hyperknob_no_such_framework"):
        require("hyperknob_no_such_framework", "'hyperknob-no-such'")
