"""StudyView: what samplers and pruners may see of a study. It has no method that writes."""

from __future__ import annotations

from collections.abc import Container, Sequence

from hyperknob._direction import StudyDirection
from hyperknob.storages._base import BaseStorage
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState


def single_direction(directions: Sequence[StudyDirection], who: str, *,
                     read: str = ".directions (one per objective) instead of .direction"
                     ) -> StudyDirection:
    """Return the one direction of a one-objective study; raise naming ``who`` asked and
    what to ``read`` instead."""
    if len(directions) > 1:
        raise RuntimeError(
            f"{who} has {len(directions)} objectives, so no single direction: read {read}")
    return directions[0]


class StudyView:
    """A read-only window onto a study's stored trials."""

    __slots__ = ("__weakref__", "_directions", "_storage", "_study_id", "_study_name")

    def __init__(self, storage: BaseStorage, study_id: int, study_name: str,
                 directions: Sequence[StudyDirection]) -> None:
        self._storage = storage
        self._study_id = study_id
        self._study_name = study_name
        self._directions = tuple(directions)

    @property
    def study_name(self) -> str:
        """Return the name of the study."""
        return self._study_name

    @property
    def directions(self) -> tuple[StudyDirection, ...]:
        """Return whether the study minimizes or maximizes each objective."""
        return self._directions

    @property
    def direction(self) -> StudyDirection:
        """Return whether a one-objective study minimizes or maximizes.

        Raises:
            RuntimeError: The study has several objectives.
        """
        return single_direction(self._directions, f"study {self._study_name!r}")

    @property
    def n_objectives(self) -> int:
        """Return how many objectives the study has."""
        return len(self._directions)

    def get_trials(
        self, states: Container[TrialState] | None = None, *, from_number: int = 0
    ) -> list[FrozenTrial]:
        """Return the study's trials ordered by number, optionally only those in ``states``
        and numbered ``from_number`` or higher."""
        return self._storage.get_all_trials(self._study_id, states, from_number=from_number)

    def count_trials(self, states: Container[TrialState] | None = None) -> int:
        """Return how many trials the study has, optionally only those in ``states``."""
        return self._storage.count_trials(self._study_id, states)

    @property
    def best_trial(self) -> FrozenTrial | None:
        """Return the best COMPLETE trial of a one-objective study, or None before the first
        one (constraints are not considered: see ``Study.best_trial``)."""
        return self._storage.get_best_trial(self._study_id)
