"""In-memory storage: fast, for one process (worker processes reach it through a proxy)."""

from __future__ import annotations

import copy
import datetime
import json
import threading
from collections.abc import Container, Mapping
from typing import Any

from hyperknob._direction import StudyDirection
from hyperknob.distributions import BaseDistribution
from hyperknob.exceptions import (
    DuplicatedStudyError,
    StudyNotFoundError,
    TrialNotFoundError,
    UpdateFinishedTrialError,
)
from hyperknob.storages._base import BaseStorage, StudySummary
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState


def _now() -> datetime.datetime:
    return datetime.datetime.now()


def check_json(kind: str, key: str, value: Any) -> Any:
    """Return a private copy of a JSON-serializable value or raise a clear ``TypeError``."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError) as error:
        raise TypeError(
            f"{kind} attribute {key!r} must be JSON-serializable, got {value!r} "
            f"of type {type(value).__name__}"
        ) from error


class _Study:
    __slots__ = ("best_id", "direction", "name", "started", "system_attrs", "trials",
                 "user_attrs")

    def __init__(self, name: str, direction: StudyDirection) -> None:
        self.name = name
        self.direction = direction
        self.trials: list[FrozenTrial] = []
        self.user_attrs: dict[str, Any] = {}
        self.system_attrs: dict[str, Any] = {}
        self.best_id: int | None = None
        self.started = _now()


class InMemoryStorage(BaseStorage):
    """Keep studies in this process's memory. Records are copy-on-write, never deep-copied.

    Example:
        >>> import hyperknob
        >>> study = hyperknob.create_study(storage=InMemoryStorage())
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._studies: dict[int, _Study] = {}
        self._where: dict[int, tuple[int, int]] = {}  # trial_id -> (study_id, index)
        self._next_study_id = 0
        self._next_trial_id = 0

    # -- studies ---------------------------------------------------------------------------
    def create_new_study(self, study_name: str, direction: StudyDirection) -> int:
        with self._lock:
            if any(s.name == study_name for s in self._studies.values()):
                raise DuplicatedStudyError(f"a study named {study_name!r} already exists")
            study_id = self._next_study_id
            self._next_study_id += 1
            self._studies[study_id] = _Study(study_name, direction)
            return study_id

    def delete_study(self, study_id: int) -> None:
        with self._lock:
            study = self._study(study_id)
            for trial in study.trials:
                del self._where[trial.trial_id]
            del self._studies[study_id]

    def get_study_id_from_name(self, study_name: str) -> int:
        with self._lock:
            for study_id, study in self._studies.items():
                if study.name == study_name:
                    return study_id
        raise StudyNotFoundError(f"no study named {study_name!r} in this storage")

    def get_study_name(self, study_id: int) -> str:
        return self._study(study_id).name

    def get_study_direction(self, study_id: int) -> StudyDirection:
        return self._study(study_id).direction

    def get_all_studies(self) -> list[StudySummary]:
        with self._lock:
            summaries = []
            for study_id, study in self._studies.items():
                best = self.get_best_trial(study_id)
                summaries.append(StudySummary(
                    study_id, study.name, study.direction, len(study.trials),
                    None if best is None else best.value, study.started,
                ))
            return summaries

    def set_study_attr(self, study_id: int, kind: str, key: str, value: Any) -> None:
        value = check_json(kind, key, value)
        with self._lock:
            study = self._study(study_id)
            (study.user_attrs if kind == "user" else study.system_attrs)[key] = value

    def get_study_attrs(self, study_id: int, kind: str) -> dict[str, Any]:
        with self._lock:
            study = self._study(study_id)
            return copy.deepcopy(study.user_attrs if kind == "user" else study.system_attrs)

    def _study(self, study_id: int) -> _Study:
        try:
            return self._studies[study_id]
        except KeyError:
            raise StudyNotFoundError(f"no study with id {study_id} in this storage") from None

    # -- trials ----------------------------------------------------------------------------
    def create_new_trial(self, study_id: int, template: FrozenTrial | None = None) -> FrozenTrial:
        with self._lock:
            study = self._study(study_id)
            trial_id = self._next_trial_id
            self._next_trial_id += 1
            number = len(study.trials)
            if template is None:
                trial = FrozenTrial(number, trial_id, TrialState.RUNNING, datetime_start=_now())
            else:
                start = template.datetime_start
                if start is None and template.state is not TrialState.WAITING:
                    start = _now()
                trial = template.replace(number=number, trial_id=trial_id, datetime_start=start)
            study.trials.append(trial)
            self._where[trial_id] = (study_id, number)
            if trial.state is TrialState.COMPLETE:
                self._update_best(study, trial)
            return trial

    def claim_waiting_trial(self, study_id: int) -> FrozenTrial | None:
        with self._lock:
            for trial in self._study(study_id).trials:
                if trial.state is TrialState.WAITING:
                    return self._put(trial.replace(state=TrialState.RUNNING,
                                                   datetime_start=_now()))
        return None

    def set_trial_param(
        self, trial_id: int, name: str, internal_value: float, distribution: BaseDistribution
    ) -> None:
        with self._lock:
            trial = self._running(trial_id)
            self._put(trial.replace(
                params={**trial.params, name: distribution.to_external(internal_value)},
                distributions={**trial.distributions, name: distribution},
            ))

    def set_trial_intermediate_value(self, trial_id: int, step: int, value: float) -> None:
        with self._lock:
            trial = self._running(trial_id)
            self._put(trial.replace(
                intermediate_values={**trial.intermediate_values, step: float(value)}
            ))

    def set_trial_attr(self, trial_id: int, kind: str, key: str, value: Any) -> None:
        value = check_json(kind, key, value)
        with self._lock:
            trial = self._running(trial_id)
            field = "user_attrs" if kind == "user" else "system_attrs"
            self._put(trial.replace(**{field: {**getattr(trial, field), key: value}}))

    def finish_trial(
        self,
        trial_id: int,
        state: TrialState,
        value: float | None = None,
        system_attrs: Mapping[str, Any] | None = None,
    ) -> bool:
        attrs = {k: check_json("system", k, v) for k, v in (system_attrs or {}).items()}
        with self._lock:
            trial = self._get(trial_id)
            if trial.state.is_finished():
                return False
            finished = self._put(trial.replace(
                state=state, value=value, datetime_complete=_now(),
                system_attrs={**trial.system_attrs, **attrs},
            ))
            if state is TrialState.COMPLETE:
                self._update_best(self._studies[self._where[trial_id][0]], finished)
            return True

    def get_trial(self, trial_id: int) -> FrozenTrial:
        with self._lock:
            return self._get(trial_id)

    def get_trial_id_from_number(self, study_id: int, number: int) -> int:
        with self._lock:
            trials = self._study(study_id).trials
            if not 0 <= number < len(trials):
                raise TrialNotFoundError(f"no trial number {number} in study {study_id}")
            return trials[number].trial_id

    def get_all_trials(
        self, study_id: int, states: Container[TrialState] | None = None
    ) -> list[FrozenTrial]:
        with self._lock:
            trials = self._study(study_id).trials
            if states is None:
                return list(trials)
            return [t for t in trials if t.state in states]

    def count_trials(self, study_id: int, states: Container[TrialState] | None = None) -> int:
        with self._lock:
            trials = self._study(study_id).trials
            if states is None:
                return len(trials)
            return sum(1 for t in trials if t.state in states)

    def get_best_trial(self, study_id: int) -> FrozenTrial | None:
        with self._lock:
            study = self._study(study_id)
            return None if study.best_id is None else self._get(study.best_id)

    # -- helpers ---------------------------------------------------------------------------
    def _get(self, trial_id: int) -> FrozenTrial:
        try:
            study_id, index = self._where[trial_id]
        except KeyError:
            raise TrialNotFoundError(f"no trial with id {trial_id}") from None
        return self._studies[study_id].trials[index]

    def _running(self, trial_id: int) -> FrozenTrial:
        trial = self._get(trial_id)
        if trial.state is not TrialState.RUNNING:
            raise UpdateFinishedTrialError(
                f"trial {trial.number} is {trial.state.name}; only a RUNNING trial can change"
            )
        return trial

    def _put(self, trial: FrozenTrial) -> FrozenTrial:
        study_id, index = self._where[trial.trial_id]
        self._studies[study_id].trials[index] = trial
        return trial

    def _update_best(self, study: _Study, trial: FrozenTrial) -> None:
        assert trial.value is not None
        if study.best_id is None:
            study.best_id = trial.trial_id
            return
        best = self._get(study.best_id)
        if study.direction.better(trial.value, best.value):  # type: ignore[arg-type]
            study.best_id = trial.trial_id
