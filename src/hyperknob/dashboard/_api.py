"""The dashboard's JSON: pure functions from a storage to small records (no HTTP here).

Sized for big studies: a study's summary carries every COMPLETE value as two flat arrays (10,000
trials is ~150 kB of JSON) for the history plot, downsampled past ``MAX_POINTS``; the trial
table comes a page at a time.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from typing import Any

from hyperknob._direction import StudyDirection
from hyperknob.storages._base import BaseStorage
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState

#: History points sent at most (an even sample keeping every new best).
MAX_POINTS = 5000
#: Largest trial page.
MAX_PAGE = 500


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def studies(storage: BaseStorage) -> list[dict[str, Any]]:
    """Return every study: name, direction, trials, best value."""
    out = []
    for summary in storage.get_all_studies():
        out.append({"name": summary.study_name, "direction": _directions(summary.directions),
                    "n_trials": summary.n_trials, "best_value": _finite(summary.best_value)})
    return out


def _trial_row(trial: FrozenTrial) -> dict[str, Any]:
    duration = None
    if trial.datetime_start is not None and trial.datetime_complete is not None:
        duration = (trial.datetime_complete - trial.datetime_start).total_seconds()
    reason = trial.system_attrs.get("prune_reason") or trial.system_attrs.get("fail_reason")
    values = [_finite(v) for v in trial.values] if trial.values is not None else None
    return {"number": trial.number, "state": trial.state.name,
            "value": None if values is None or len(values) > 1 else values[0],
            "values": values,
            "params": dict(trial.params), "duration_s": duration,
            "reason": reason, "last_step": max(trial.intermediate_values)
            if trial.intermediate_values else None}


def summary(storage: BaseStorage, name: str) -> dict[str, Any]:
    """Return a study's counts by state, its best trial and its optimization history."""
    study_id = storage.get_study_id_from_name(name)
    directions = storage.get_study_directions(study_id)
    trials = storage.get_all_trials(study_id)
    states = Counter(t.state.name for t in trials)
    if len(directions) > 1:
        return _multi_summary(storage, name, study_id, directions, trials, states)
    direction = directions[0]
    best = storage.get_best_trial(study_id)
    points = [(t.number, t.value) for t in trials
              if t.state.name == "COMPLETE" and _finite(t.value) is not None]
    sign = 1.0 if direction.name == "MINIMIZE" else -1.0
    kept: list[tuple[int, float, float]] = []
    best_value = math.inf
    stride = max(1, math.ceil(len(points) / MAX_POINTS))
    for index, (number, value) in enumerate(points):
        assert value is not None
        is_best = sign * value < best_value
        best_value = min(best_value, sign * value)
        if is_best or index % stride == 0 or index == len(points) - 1:
            kept.append((number, value, sign * best_value))
    return {
        "name": name, "direction": direction.name.lower(), "n_trials": len(trials),
        "states": dict(sorted(states.items())),
        "best": None if best is None else _trial_row(best),
        "user_attrs": storage.get_study_attrs(study_id, "user"),
        "history": {"number": [p[0] for p in kept], "value": [p[1] for p in kept],
                    "best": [p[2] for p in kept], "n_points": len(points),
                    "downsampled": stride > 1},
        "version": version(storage, name),
    }


def _directions(directions: Sequence[StudyDirection]) -> str:
    return ", ".join(d.name.lower() for d in directions)


def _multi_summary(storage: BaseStorage, name: str, study_id: int,
                   directions: Sequence[StudyDirection], trials: list[FrozenTrial],
                   states: Counter[str]) -> dict[str, Any]:
    """The summary of a study with several objectives: its Pareto front instead of a best
    trial and a history."""
    from hyperknob._losses import signed_losses
    from hyperknob._pareto import nondominated_mask
    from hyperknob.samplers._constraints import is_feasible

    complete = [t for t in trials if t.state is TrialState.COMPLETE and is_feasible(t)]
    mask = nondominated_mask(signed_losses(complete, directions))
    front = [t for t, keep in zip(complete, mask, strict=True) if keep][:MAX_POINTS]
    return {
        "name": name, "direction": _directions(directions), "n_trials": len(trials),
        "states": dict(sorted(states.items())), "best": None,
        "user_attrs": storage.get_study_attrs(study_id, "user"),
        "metric_names": storage.get_study_attrs(study_id, "system").get("metric_names"),
        "pareto": {"number": [t.number for t in front],
                   "values": [list(t.values or ()) for t in front]},
        "history": {"number": [], "value": [], "best": [], "n_points": len(complete),
                    "downsampled": False},
        "version": version(storage, name),
    }


def trials_page(storage: BaseStorage, name: str, offset: int = 0,
                limit: int = 100) -> dict[str, Any]:
    """Return trials ``offset .. offset + limit`` (newest first) and the total."""
    if offset < 0 or not 1 <= limit <= MAX_PAGE:
        raise ValueError(f"need offset >= 0 and 1 <= limit <= {MAX_PAGE}, got offset="
                         f"{offset}, limit={limit}")
    study_id = storage.get_study_id_from_name(name)
    trials = storage.get_all_trials(study_id)
    newest = trials[::-1][offset:offset + limit]
    return {"name": name, "total": len(trials), "offset": offset, "limit": limit,
            "trials": [_trial_row(t) for t in newest]}


def version(storage: BaseStorage, name: str) -> str:
    """Return a token that changes whenever a trial of the study is added or finishes."""
    study_id = storage.get_study_id_from_name(name)
    n = storage.count_trials(study_id)
    finished = storage.count_trials(study_id, (TrialState.COMPLETE, TrialState.PRUNED,
                                              TrialState.FAIL))
    return f"{n}:{finished}"
