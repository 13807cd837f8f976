"""Optimization direction."""

from __future__ import annotations

import enum


class StudyDirection(enum.IntEnum):
    """Whether the study minimizes or maximizes the objective."""

    MINIMIZE = 1
    MAXIMIZE = 2

    @classmethod
    def parse(cls, direction: str | StudyDirection) -> StudyDirection:
        """Return the direction for ``"minimize"``, ``"maximize"`` or a member."""
        if isinstance(direction, StudyDirection):
            return direction
        if isinstance(direction, str) and direction.lower() in ("minimize", "maximize"):
            return cls[direction.upper()]
        raise ValueError(f"direction must be 'minimize' or 'maximize', got {direction!r}")

    def better(self, a: float, b: float) -> bool:
        """Return whether value ``a`` is strictly better than ``b``."""
        return a < b if self is StudyDirection.MINIMIZE else a > b
