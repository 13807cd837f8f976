"""Plot data: small JSON-ready records computed from a study's trials, apart from drawing.

Nothing here imports plotly. Every function takes a :class:`~hyperknob.study.Study` or a
sequence of :class:`~hyperknob.trial.FrozenTrial`, reads the trials once, and returns a frozen
dataclass whose ``to_dict()`` is JSON-ready (states as names, datetimes as ISO strings,
missing or non-finite numbers as ``None``). The figure functions in ``_figures`` draw these
records; a dashboard or a report can serve them as JSON instead.
"""

from __future__ import annotations

import dataclasses
import datetime
import enum
import heapq
import math
from collections.abc import Sequence
from typing import Any, Union

import numpy as np

from hyperknob._direction import StudyDirection
from hyperknob.analysis import Importance
from hyperknob.study import Study
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState

StudyOrTrials = Union[Study, Sequence[FrozenTrial]]  # noqa: UP007 - a runtime alias


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(key): _jsonable(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(item) for item in value]
    if isinstance(value, datetime.datetime):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.name
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


class _Record:
    """Mixin for the plot-data dataclasses: a JSON-ready ``to_dict``."""

    def to_dict(self) -> dict[str, Any]:
        """Return the record as plain JSON-ready data (lists, dicts, str, numbers, None)."""
        data: dict[str, Any] = _jsonable(dataclasses.asdict(self))  # type: ignore[call-overload]
        return data


def trials_of(source: StudyOrTrials) -> list[FrozenTrial]:
    """Return the trials of a study, or a copy of a sequence of trials, ordered by number.

    A study with several objectives is seen on its first one (its front:
    :func:`~hyperknob.viz.pareto_data`).
    """
    if isinstance(source, Study):
        if source.is_multi_objective():
            from hyperknob._losses import objective_trials

            return objective_trials(source.trials, 0)
        return source.trials
    if isinstance(source, (str, bytes)) or not isinstance(source, Sequence):
        raise TypeError(f"expected a Study or a sequence of FrozenTrial, got {source!r}")
    trials = list(source)
    for trial in trials:
        if not isinstance(trial, FrozenTrial):
            raise TypeError(f"expected a sequence of FrozenTrial, got an item {trial!r}")
    return sorted(trials, key=lambda t: t.number)


def direction_of(
    source: StudyOrTrials, direction: str | StudyDirection | None = None
) -> StudyDirection:
    """Return ``direction`` if given, else the study's, else MINIMIZE (for bare trials)."""
    if direction is not None:
        return StudyDirection.parse(direction)
    if isinstance(source, Study):
        return source.directions[0]
    return StudyDirection.MINIMIZE


def finite_value(trial: FrozenTrial) -> float | None:
    """Return the value of a COMPLETE trial if it is a finite number, else None."""
    if trial.state is not TrialState.COMPLETE or trial.value is None:
        return None
    value = float(trial.value)
    return value if math.isfinite(value) else None


def complete_trials(trials: Sequence[FrozenTrial]) -> list[FrozenTrial]:
    """Return the COMPLETE trials with a finite value."""
    return [t for t in trials if finite_value(t) is not None]


def _count(trials: Sequence[FrozenTrial], state: TrialState) -> int:
    return sum(1 for t in trials if t.state is state)


# -- optimization history ------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class HistoryData(_Record):
    """The value of every COMPLETE trial by number, and the best value so far.

    Attributes:
        direction: ``"minimize"`` or ``"maximize"``.
        numbers: Trial numbers of the COMPLETE trials, ascending.
        values: Their values.
        best_values: The best value among the COMPLETE trials up to each one.
        best_number: The number of the best trial, or None.
        n_pruned, n_failed, n_running, n_waiting: Trials in those states (no value to plot).
    """

    direction: str
    numbers: list[int]
    values: list[float]
    best_values: list[float]
    best_number: int | None
    n_pruned: int
    n_failed: int
    n_running: int
    n_waiting: int


def history_data(
    source: StudyOrTrials, direction: str | StudyDirection | None = None
) -> HistoryData:
    """Return the optimization history: values, best-so-far line, trials without a value.

    Example:
        >>> import hyperknob
        >>> study = hyperknob.create_study(seed=0)
        >>> study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=5)
        >>> data = history_data(study)
        >>> data.best_values[-1] == min(data.values)
        True
    """
    trials = trials_of(source)
    sense = direction_of(source, direction)
    complete = complete_trials(trials)
    values = np.array([finite_value(t) for t in complete], dtype=float)
    if sense is StudyDirection.MINIMIZE:
        best = np.minimum.accumulate(values) if len(values) else values
        best_index = int(np.argmin(values)) if len(values) else None
    else:
        best = np.maximum.accumulate(values) if len(values) else values
        best_index = int(np.argmax(values)) if len(values) else None
    return HistoryData(
        direction=sense.name.lower(),
        numbers=[t.number for t in complete],
        values=values.tolist(),
        best_values=best.tolist(),
        best_number=None if best_index is None else complete[best_index].number,
        n_pruned=_count(trials, TrialState.PRUNED),
        n_failed=_count(trials, TrialState.FAIL),
        n_running=_count(trials, TrialState.RUNNING),
        n_waiting=_count(trials, TrialState.WAITING),
    )


# -- empirical distribution function -------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class EdfData(_Record):
    """The empirical distribution function of the COMPLETE values.

    Attributes:
        values: The values, ascending.
        probabilities: ``probabilities[i]`` = share of values <= ``values[i]``, i.e.
            ``(i + 1) / n`` (ties: the last of equal values reaches the full share).
        direction: ``"minimize"`` or ``"maximize"``.
    """

    values: list[float]
    probabilities: list[float]
    direction: str


def edf_data(
    source: StudyOrTrials, direction: str | StudyDirection | None = None
) -> EdfData:
    """Return the empirical distribution function of the COMPLETE trials' values."""
    trials = trials_of(source)
    values = np.sort(np.array([finite_value(t) for t in complete_trials(trials)], dtype=float))
    n = len(values)
    probabilities = np.arange(1, n + 1, dtype=float) / n if n else values
    return EdfData(values=values.tolist(), probabilities=probabilities.tolist(),
                   direction=direction_of(source, direction).name.lower())


# -- importance ----------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class ImportanceData(_Record):
    """Bars of hyperparameter importance, largest first.

    Attributes:
        names: Parameter names.
        importances: Normalized importances (sum 1 when any is non-zero).
        spreads: fANOVA: the standard deviation of each share over the trees; PED-ANOVA:
            None for each.
        evaluator: ``"fanova"`` or ``"ped_anova"``.
        n_trials: The COMPLETE trials the importance was computed from.
        explained: fANOVA: the share of the variance all main effects explain; else None.
    """

    names: list[str]
    importances: list[float]
    spreads: list[float | None]
    evaluator: str
    n_trials: int
    explained: float | None


def importance_data(importance: Importance) -> ImportanceData:
    """Return the bars of an :class:`~hyperknob.analysis.Importance`, largest first."""
    if not isinstance(importance, Importance):
        raise TypeError(f"importance must be an Importance (from param_importances), "
                        f"got {importance!r}")
    names = sorted(importance.importances, key=lambda n: (-importance.importances[n], n))
    return ImportanceData(
        names=names,
        importances=[float(importance.importances[n]) for n in names],
        spreads=[importance.spread.get(n) for n in names],
        evaluator=importance.evaluator, n_trials=importance.n_trials,
        explained=importance.explained)


# -- timeline ------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class TimelineData(_Record):
    """When each started trial ran, and on which lane.

    No storage records which worker ran a trial, so lanes are derived from the times: trials
    are taken by start time and each goes to the lowest-numbered lane whose previous trial had
    ended by its start (a trial ending exactly when another starts frees its lane). The number
    of lanes is then the largest number of trials that overlapped in time -- with ``n_jobs=k``
    workers at most ``k`` -- but a lane is a slot, not a particular worker process.

    Attributes:
        numbers, states: Each started trial, ordered by start time (then number).
        starts, ends: Its start, and its completion (``now`` for a RUNNING trial; the start
            for a finished trial with no completion time recorded).
        lanes: Its lane, from 0.
        n_lanes: The number of lanes.
        n_not_started: Trials with no start time (WAITING ones), left out.
        now: The time used as the end of RUNNING trials.
    """

    numbers: list[int]
    states: list[str]
    starts: list[datetime.datetime]
    ends: list[datetime.datetime]
    lanes: list[int]
    n_lanes: int
    n_not_started: int
    now: datetime.datetime


def assign_lanes(intervals: Sequence[tuple[float, float]]) -> list[int]:
    """Return a lane for each ``(start, end)``: the lowest lane free at its start.

    ``intervals`` must be ordered by start. Greedy interval partitioning, O(n log n); it uses
    as many lanes as the most intervals overlapping at one time.
    """
    free: list[int] = []  # heap of free lane indices
    busy: list[tuple[float, int]] = []  # heap of (end, lane)
    lanes: list[int] = []
    n_lanes = 0
    for start, end in intervals:
        while busy and busy[0][0] <= start:
            heapq.heappush(free, heapq.heappop(busy)[1])
        if free:
            lane = heapq.heappop(free)
        else:
            lane, n_lanes = n_lanes, n_lanes + 1
        heapq.heappush(busy, (end, lane))
        lanes.append(lane)
    return lanes


def timeline_data(
    source: StudyOrTrials, *, now: datetime.datetime | None = None
) -> TimelineData:
    """Return each started trial's start, end, state and lane (see :class:`TimelineData`)."""
    trials = trials_of(source)
    started = [t for t in trials if t.datetime_start is not None]
    if now is None:  # as aware or naive as the stored times, to subtract from them
        first = started[0].datetime_start if started else None
        now = datetime.datetime.now(first.tzinfo if first is not None else None)
    rows = []
    for trial in started:
        start = trial.datetime_start
        assert start is not None
        if trial.state is TrialState.RUNNING:
            end = max(now, start)
        else:
            end = trial.datetime_complete or start
        rows.append((start, end, trial))
    rows.sort(key=lambda row: (row[0], row[2].number))
    origin = rows[0][0] if rows else now
    lanes = assign_lanes([((s - origin).total_seconds(), (e - origin).total_seconds())
                          for s, e, _ in rows])
    return TimelineData(
        numbers=[t.number for _, _, t in rows], states=[t.state.name for _, _, t in rows],
        starts=[s for s, _, _ in rows], ends=[e for _, e, _ in rows], lanes=lanes,
        n_lanes=max(lanes) + 1 if lanes else 0, n_not_started=len(trials) - len(started),
        now=now)
