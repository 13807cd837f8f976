"""Flat records of trials, shared by ``trials_dataframe()`` and the CLI."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from hyperknob.trial._frozen import FrozenTrial


def value_columns(n_objectives: int, metric_names: Sequence[str] | None = None) -> list[str]:
    """Return the names of the value columns: ``value``, or with several objectives
    ``values_0``, ``values_1``, ... (``values_<name>`` when the objectives are named)."""
    if n_objectives == 1:
        return ["value"]
    if metric_names is not None:
        return [f"values_{name}" for name in metric_names]
    return [f"values_{k}" for k in range(n_objectives)]


def trial_records(trials: Iterable[FrozenTrial], *, n_objectives: int = 1,
                  metric_names: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Return one flat dict per trial: number, the value columns (:func:`value_columns`),
    state, times, params_*, user_attrs_*, and a failed trial's reason."""
    columns = value_columns(n_objectives, metric_names)
    records = []
    for trial in trials:
        duration = trial.duration
        values = trial.values or (None,) * n_objectives
        record: dict[str, Any] = {"number": trial.number}
        record.update(zip(columns, values, strict=False))
        record.update({
            "state": trial.state.name,
            "datetime_start": trial.datetime_start,
            "datetime_complete": trial.datetime_complete,
            "duration_s": None if duration is None else duration.total_seconds(),
        })
        record.update({f"params_{k}": v for k, v in sorted(trial.params.items())})
        record.update({f"user_attrs_{k}": v for k, v in sorted(trial.user_attrs.items())})
        if "fail_reason" in trial.system_attrs:
            record["fail_reason"] = trial.system_attrs["fail_reason"]
        records.append(record)
    return records
