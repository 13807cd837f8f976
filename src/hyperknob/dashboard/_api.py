"""The dashboard's JSON: pure functions from a storage to small records (no HTTP here).

Sized for big studies: a study's summary carries every COMPLETE value as two flat arrays (10,000
trials is ~150 kB of JSON) for the history plot, downsampled past ``MAX_POINTS``; the trial
table comes a page at a time.
"""

from __future__ import annotations

import math
from collections import Counter
from typing import Any

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
        out.append({"name": summary.study_name, "direction": summary.direction.name.lower(),
                    "n_trials": summary.n_trials, "best_value": _finite(summary.best_value)})
    return out


def _trial_row(trial: FrozenTrial) -> dict[str, Any]:
    duration = None
    if trial.datetime_start is not None and trial.datetime_complete is not None:
        duration = (trial.datetime_complete - trial.datetime_start).total_seconds()
    reason = trial.system_attrs.get("prune_reason") or trial.system_attrs.get("fail_reason")
    return {"number": trial.number, "state": trial.state.name, "value": _finite(trial.value),
            "params": dict(trial.params), "duration_s": duration,
            "reason": reason, "last_step": max(trial.intermediate_values)
            if trial.intermediate_values else None}


def summary(storage: BaseStorage, name: str) -> dict[str, Any]:
    """Return a study's counts by state, its best trial and its optimization history."""
    study_id = storage.get_study_id_from_name(name)
    direction = storage.get_study_direction(study_id)
    trials = storage.get_all_trials(study_id)
    states = Counter(t.state.name for t in trials)
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
