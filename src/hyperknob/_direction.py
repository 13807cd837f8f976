"""Optimization direction, one per objective."""

from __future__ import annotations

import enum
from collections.abc import Sequence


class StudyDirection(enum.IntEnum):
    """Whether the study minimizes or maximizes an objective.

    ``NOT_SET`` exists for Optuna's scripts that name it; no study has it.
    """

    NOT_SET = 0
    MINIMIZE = 1
    MAXIMIZE = 2

    @classmethod
    def parse(cls, direction: str | StudyDirection) -> StudyDirection:
        """Return the direction for ``"minimize"``, ``"maximize"`` or a member."""
        if isinstance(direction, StudyDirection) and direction is not cls.NOT_SET:
            return direction
        if isinstance(direction, str) and direction.lower() in ("minimize", "maximize"):
            return cls[direction.upper()]
        raise ValueError(f"direction must be 'minimize' or 'maximize', got {direction!r}")

    def better(self, a: float, b: float) -> bool:
        """Return whether value ``a`` is strictly better than ``b``."""
        return a < b if self is StudyDirection.MINIMIZE else a > b


def parse_directions(
    direction: str | StudyDirection | None,
    directions: Sequence[str | StudyDirection] | None,
) -> list[StudyDirection]:
    """Return the study's directions from ``create_study``'s two arguments (at most one given;
    neither: one objective, minimized)."""
    if direction is not None and directions is not None:
        raise ValueError(
            f"give direction or directions, not both; got direction={direction!r} and "
            f"directions={directions!r}")
    if directions is None:
        return [StudyDirection.parse("minimize" if direction is None else direction)]
    if isinstance(directions, (str, bytes)) or not isinstance(directions, Sequence):
        raise TypeError(
            f"directions must be a list of 'minimize' / 'maximize', got directions={directions!r}")
    if not directions:
        raise ValueError("directions must name at least one objective, got directions=[]")
    return [StudyDirection.parse(d) for d in directions]
