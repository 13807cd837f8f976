"""The storage interface. Only :class:`~hyperknob.Study` calls the writing methods."""

from __future__ import annotations

import abc
import dataclasses
import datetime
from collections.abc import Container, Mapping, Sequence
from typing import Any

from hyperknob._direction import StudyDirection
from hyperknob.distributions import BaseDistribution
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState

#: 1: the first schema. 2: several objectives per study (hk_study_directions,
#: hk_trial_values); a version-1 file is upgraded when first opened.
SCHEMA_VERSION = 2


def heartbeat_time() -> datetime.datetime:
    """Return now in UTC, without a time zone: the clock heartbeats are recorded and judged
    by. Local time would let machines in different time zones, or one clock stepping at a
    daylight-saving change, see a live trial as an hour (or hours) silent."""
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def check_directions(directions: Sequence[StudyDirection]) -> list[StudyDirection]:
    """Return ``directions`` as a list, or raise naming what is wrong: a storage's check of
    ``create_new_study``'s argument."""
    if isinstance(directions, (str, bytes)) or not isinstance(directions, Sequence) or not (
            directions) or not all(isinstance(d, StudyDirection)
                                   and d is not StudyDirection.NOT_SET for d in directions):
        raise ValueError(f"directions must be a non-empty list of StudyDirection.MINIMIZE / "
                         f"MAXIMIZE, got directions={directions!r}")
    return list(directions)


@dataclasses.dataclass(frozen=True)
class StudySummary:
    """One line about a study, as listed by :func:`hyperknob.get_all_study_summaries`."""

    study_id: int
    study_name: str
    directions: tuple[StudyDirection, ...]
    n_trials: int
    #: The best value of a one-objective study (None: no COMPLETE trial, or several
    #: objectives, where no single trial is best).
    best_value: float | None
    datetime_start: datetime.datetime | None

    @property
    def direction(self) -> StudyDirection:
        """Return the direction of a one-objective study.

        Raises:
            RuntimeError: The study has several objectives (read ``directions``).
        """
        if len(self.directions) > 1:
            raise RuntimeError(f"study {self.study_name!r} has {len(self.directions)} "
                               "objectives: read StudySummary.directions")
        return self.directions[0]


class BaseStorage(abc.ABC):
    """Where studies and their trials live.

    Implementations must be safe for several threads; SQL storages must also be safe for several
    processes and machines. Returned :class:`FrozenTrial` records are immutable, so a storage may
    hand out the same record twice.
    """

    #: The heartbeat studies opened on this storage use unless given their own:
    #: ``(interval, grace_period, max_retries)`` of a :class:`~hyperknob.HeartbeatPolicy`, or
    #: None (no heartbeat). Set by :class:`~hyperknob.storages.RDBStorage`.
    heartbeat_defaults: tuple[float, float | None, int] | None = None

    # -- studies ---------------------------------------------------------------------------
    @abc.abstractmethod
    def create_new_study(self, study_name: str, directions: Sequence[StudyDirection]) -> int:
        """Create a study with one direction per objective and return its id; raise
        ``DuplicatedStudyError`` if the name exists."""

    @abc.abstractmethod
    def delete_study(self, study_id: int) -> None:
        """Delete a study and all its trials."""

    @abc.abstractmethod
    def get_study_id_from_name(self, study_name: str) -> int:
        """Return the id of a study; raise ``StudyNotFoundError`` if there is none."""

    @abc.abstractmethod
    def get_study_name(self, study_id: int) -> str:
        """Return the name of a study."""

    @abc.abstractmethod
    def get_study_directions(self, study_id: int) -> list[StudyDirection]:
        """Return the directions of a study, one per objective."""

    @abc.abstractmethod
    def get_all_studies(self) -> list[StudySummary]:
        """Return a summary of every study, oldest first."""

    @abc.abstractmethod
    def set_study_attr(self, study_id: int, kind: str, key: str, value: Any) -> None:
        """Set a JSON-serializable ``user`` or ``system`` attribute of a study."""

    @abc.abstractmethod
    def get_study_attrs(self, study_id: int, kind: str) -> dict[str, Any]:
        """Return the ``user`` or ``system`` attributes of a study."""

    # -- trials ----------------------------------------------------------------------------
    @abc.abstractmethod
    def create_new_trial(self, study_id: int, template: FrozenTrial | None = None) -> FrozenTrial:
        """Create a trial with the next free number, RUNNING or as ``template`` says."""

    @abc.abstractmethod
    def claim_waiting_trial(self, study_id: int) -> FrozenTrial | None:
        """Atomically move the oldest WAITING trial to RUNNING and return it, or None."""

    @abc.abstractmethod
    def set_trial_param(
        self, trial_id: int, name: str, internal_value: float, distribution: BaseDistribution
    ) -> None:
        """Record a parameter of a RUNNING trial."""

    @abc.abstractmethod
    def set_trial_intermediate_value(self, trial_id: int, step: int, value: float) -> None:
        """Record (or overwrite) the value reported at ``step`` by a RUNNING trial."""

    @abc.abstractmethod
    def set_trial_attr(self, trial_id: int, kind: str, key: str, value: Any) -> None:
        """Set a JSON-serializable ``user`` or ``system`` attribute of a RUNNING trial."""

    @abc.abstractmethod
    def finish_trial(
        self,
        trial_id: int,
        state: TrialState,
        values: Sequence[float] | None = None,
        system_attrs: Mapping[str, Any] | None = None,
    ) -> bool:
        """Move a RUNNING trial to a finished state in one transaction, with one value per
        objective (COMPLETE) or none.

        Returns False, changing nothing, if the trial had already finished (e.g. it was reaped
        as stale by another worker).
        """

    @abc.abstractmethod
    def get_trial(self, trial_id: int) -> FrozenTrial:
        """Return a trial by id; raise ``TrialNotFoundError`` if there is none."""

    @abc.abstractmethod
    def get_trial_id_from_number(self, study_id: int, number: int) -> int:
        """Return the id of the trial with this number in the study."""

    @abc.abstractmethod
    def get_all_trials(
        self, study_id: int, states: Container[TrialState] | None = None, *,
        from_number: int = 0,
    ) -> list[FrozenTrial]:
        """Return the study's trials ordered by number, optionally only those in ``states``
        and only those numbered ``from_number`` or higher (for readers that remember the
        finished trials below a watermark: finished trials never change)."""

    def record_heartbeat(self, trial_id: int) -> None:
        """Mark a RUNNING trial as alive now (its worker is still working on it), by
        :func:`heartbeat_time` (UTC)."""
        raise NotImplementedError(f"{type(self).__name__} does not record heartbeats")

    def get_stale_trial_ids(self, study_id: int, older_than: datetime.datetime) -> list[int]:
        """Return the RUNNING trials whose last heartbeat is older than ``older_than``, a
        :func:`heartbeat_time` (UTC; trials that never beat are never stale: they run
        without heartbeats)."""
        raise NotImplementedError(f"{type(self).__name__} does not record heartbeats")

    def count_trials(self, study_id: int, states: Container[TrialState] | None = None) -> int:
        """Return how many trials the study has, optionally only those in ``states``."""
        return len(self.get_all_trials(study_id, states))

    def get_best_trial(self, study_id: int) -> FrozenTrial | None:
        """Return the best COMPLETE trial of a one-objective study (the lowest number among
        ties), or None."""
        directions = self.get_study_directions(study_id)
        if len(directions) > 1:
            raise RuntimeError("a study with several objectives has no single best trial")
        direction = directions[0]
        best: FrozenTrial | None = None
        for trial in self.get_all_trials(study_id, (TrialState.COMPLETE,)):
            assert trial.value is not None
            if best is None or direction.better(trial.value, best.value):  # type: ignore[arg-type]
                best = trial
        return best

    def close(self) -> None:
        """Release connections. The storage must not be used afterwards."""
