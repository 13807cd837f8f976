"""StudyView: what samplers and pruners may see of a study. It has no method that writes."""

from __future__ import annotations

from collections.abc import Container

from hyperknob._direction import StudyDirection
from hyperknob.storages._base import BaseStorage
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState


class StudyView:
    """A read-only window onto a study's stored trials."""

    __slots__ = ("__weakref__", "_direction", "_storage", "_study_id", "_study_name")

    def __init__(self, storage: BaseStorage, study_id: int, study_name: str,
                 direction: StudyDirection) -> None:
        self._storage = storage
        self._study_id = study_id
        self._study_name = study_name
        self._direction = direction

    @property
    def study_name(self) -> str:
        """Return the name of the study."""
        return self._study_name

    @property
    def direction(self) -> StudyDirection:
        """Return whether the study minimizes or maximizes."""
        return self._direction

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
        """Return the best COMPLETE trial, or None before the first one."""
        return self._storage.get_best_trial(self._study_id)
