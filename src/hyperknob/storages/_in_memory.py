"""In-memory storage: fast, for one process (worker processes reach it through a proxy)."""

from __future__ import annotations

import copy
import datetime
import json
import threading
from collections.abc import Container, Mapping, Sequence
from typing import Any

from hyperknob._direction import StudyDirection
from hyperknob.distributions import BaseDistribution
from hyperknob.exceptions import (
    DuplicatedStudyError,
    StudyNotFoundError,
    TrialNotFoundError,
    UpdateFinishedTrialError,
)
from hyperknob.storages._base import (
    BaseStorage,
    StudySummary,
    check_directions,
    heartbeat_time,
)
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


class _Record:
    """A trial as the storage keeps it: mutable while RUNNING, frozen on first read."""

    __slots__ = ("complete", "distributions", "frozen", "heartbeat", "intermediate", "number",
                 "params", "start", "state", "system_attrs", "trial_id", "user_attrs", "values")

    def __init__(self, trial: FrozenTrial) -> None:
        self.number = trial.number
        self.trial_id = trial.trial_id
        self.state = trial.state
        self.values = trial.values
        self.params = dict(trial.params)
        self.distributions = dict(trial.distributions)
        self.user_attrs = dict(trial.user_attrs)
        self.system_attrs = dict(trial.system_attrs)
        self.intermediate = dict(trial.intermediate_values)
        self.start = trial.datetime_start
        self.complete = trial.datetime_complete
        self.heartbeat: datetime.datetime | None = None
        self.frozen: FrozenTrial | None = None

    def freeze(self) -> FrozenTrial:
        if self.frozen is None:
            self.frozen = FrozenTrial.build(
                number=self.number, trial_id=self.trial_id, state=self.state, values=self.values,
                params=self.params, distributions=self.distributions,
                user_attrs=self.user_attrs, system_attrs=self.system_attrs,
                intermediate_values=self.intermediate, datetime_start=self.start,
                datetime_complete=self.complete,
            )
        return self.frozen


class _Study:
    __slots__ = ("best", "directions", "name", "started", "system_attrs", "trials",
                 "user_attrs", "waiting")

    def __init__(self, name: str, directions: list[StudyDirection]) -> None:
        self.name = name
        self.directions = directions
        self.trials: list[_Record] = []
        self.waiting: list[int] = []  # numbers of WAITING trials, oldest first
        self.user_attrs: dict[str, Any] = {}
        self.system_attrs: dict[str, Any] = {}
        self.best: _Record | None = None
        self.started = _now()


class InMemoryStorage(BaseStorage):
    """Keep studies in this process's memory.

    A trial is a mutable record while it runs; readers get an immutable
    :class:`FrozenTrial` built once per change, so nothing is ever deep-copied.

    Example:
        >>> import hyperknob
        >>> study = hyperknob.create_study(storage=InMemoryStorage())
    """

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._studies: dict[int, _Study] = {}
        self._where: dict[int, tuple[_Study, _Record]] = {}
        self._next_study_id = 0
        self._next_trial_id = 0

    # -- studies ---------------------------------------------------------------------------
    def create_new_study(self, study_name: str, directions: Sequence[StudyDirection]) -> int:
        checked = check_directions(directions)
        with self._lock:
            if any(s.name == study_name for s in self._studies.values()):
                raise DuplicatedStudyError(f"a study named {study_name!r} already exists")
            study_id = self._next_study_id
            self._next_study_id += 1
            self._studies[study_id] = _Study(study_name, checked)
            return study_id

    def delete_study(self, study_id: int) -> None:
        with self._lock:
            study = self._study(study_id)
            for record in study.trials:
                del self._where[record.trial_id]
            del self._studies[study_id]

    def get_study_id_from_name(self, study_name: str) -> int:
        with self._lock:
            for study_id, study in self._studies.items():
                if study.name == study_name:
                    return study_id
        raise StudyNotFoundError(f"no study named {study_name!r} in this storage")

    def get_study_name(self, study_id: int) -> str:
        return self._study(study_id).name

    def get_study_directions(self, study_id: int) -> list[StudyDirection]:
        return list(self._study(study_id).directions)

    def get_all_studies(self) -> list[StudySummary]:
        with self._lock:
            return [
                StudySummary(study_id, study.name, tuple(study.directions), len(study.trials),
                             None if study.best is None or study.best.values is None
                             else study.best.values[0], study.started)
                for study_id, study in self._studies.items()
            ]

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
            record = _Record(trial)
            record.frozen = trial
            study.trials.append(record)
            self._where[trial_id] = (study, record)
            if trial.state is TrialState.WAITING:
                study.waiting.append(number)
            elif trial.state is TrialState.COMPLETE:
                self._update_best(study, record)
            return trial

    def claim_waiting_trial(self, study_id: int) -> FrozenTrial | None:
        with self._lock:
            study = self._study(study_id)
            while study.waiting:
                record = study.trials[study.waiting.pop(0)]
                if record.state is TrialState.WAITING:
                    record.state, record.start, record.frozen = TrialState.RUNNING, _now(), None
                    return record.freeze()
        return None

    def set_trial_param(
        self, trial_id: int, name: str, internal_value: float, distribution: BaseDistribution
    ) -> None:
        with self._lock:
            record = self._running(trial_id)
            # In place: a FrozenTrial copies the mappings it is built from.
            record.params[name] = distribution.to_external(internal_value)
            record.distributions[name] = distribution
            record.frozen = None

    def set_trial_intermediate_value(self, trial_id: int, step: int, value: float) -> None:
        with self._lock:
            record = self._running(trial_id)
            record.intermediate[step] = float(value)
            record.frozen = None

    def set_trial_attr(self, trial_id: int, kind: str, key: str, value: Any) -> None:
        value = check_json(kind, key, value)
        with self._lock:
            record = self._running(trial_id)
            (record.user_attrs if kind == "user" else record.system_attrs)[key] = value
            record.frozen = None

    def finish_trial(
        self,
        trial_id: int,
        state: TrialState,
        values: Sequence[float] | None = None,
        system_attrs: Mapping[str, Any] | None = None,
    ) -> bool:
        checked = None if values is None else tuple(float(v) for v in values)
        attrs = {k: check_json("system", k, v) for k, v in (system_attrs or {}).items()}
        with self._lock:
            study, record = self._lookup(trial_id)
            if record.state.is_finished():
                return False
            record.state, record.values, record.complete = state, checked, _now()
            record.system_attrs.update(attrs)
            record.frozen = None
            if state is TrialState.COMPLETE:
                self._update_best(study, record)
            return True

    def get_trial(self, trial_id: int) -> FrozenTrial:
        with self._lock:
            return self._lookup(trial_id)[1].freeze()

    def get_trial_id_from_number(self, study_id: int, number: int) -> int:
        with self._lock:
            trials = self._study(study_id).trials
            if not 0 <= number < len(trials):
                raise TrialNotFoundError(f"no trial number {number} in study {study_id}")
            return trials[number].trial_id

    def get_all_trials(
        self, study_id: int, states: Container[TrialState] | None = None, *,
        from_number: int = 0,
    ) -> list[FrozenTrial]:
        with self._lock:
            records = self._study(study_id).trials  # trial n is records[n]
            if from_number > 0:
                records = records[from_number:]
            if states is None:
                return [r.freeze() for r in records]
            return [r.freeze() for r in records if r.state in states]

    def record_heartbeat(self, trial_id: int) -> None:
        with self._lock:
            self._running(trial_id).heartbeat = heartbeat_time()

    def get_stale_trial_ids(self, study_id: int, older_than: datetime.datetime) -> list[int]:
        with self._lock:
            return [r.trial_id for r in self._study(study_id).trials
                    if r.state is TrialState.RUNNING and r.heartbeat is not None
                    and r.heartbeat < older_than]

    def count_trials(self, study_id: int, states: Container[TrialState] | None = None) -> int:
        with self._lock:
            records = self._study(study_id).trials
            if states is None:
                return len(records)
            return sum(1 for r in records if r.state in states)

    def get_best_trial(self, study_id: int) -> FrozenTrial | None:
        with self._lock:
            study = self._study(study_id)
            if len(study.directions) > 1:
                raise RuntimeError("a study with several objectives has no single best trial")
            best = study.best
            return None if best is None else best.freeze()

    # -- helpers ---------------------------------------------------------------------------
    def _lookup(self, trial_id: int) -> tuple[_Study, _Record]:
        try:
            return self._where[trial_id]
        except KeyError:
            raise TrialNotFoundError(f"no trial with id {trial_id}") from None

    def _running(self, trial_id: int) -> _Record:
        record = self._lookup(trial_id)[1]
        if record.state is not TrialState.RUNNING:
            raise UpdateFinishedTrialError(
                f"trial {record.number} is {record.state.name}; only a RUNNING trial can change"
            )
        return record

    def _update_best(self, study: _Study, record: _Record) -> None:
        if len(study.directions) > 1:
            return  # several objectives: no single best
        assert record.values is not None
        best = study.best
        if best is None:
            study.best = record
            return
        assert best.values is not None
        value, best_value = record.values[0], best.values[0]
        if study.directions[0].better(value, best_value) or (
            value == best_value and record.number < best.number
        ):
            study.best = record
