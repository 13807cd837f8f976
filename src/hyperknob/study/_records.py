"""Flat records of trials, shared by ``trials_dataframe()`` and the CLI."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from hyperknob.trial._frozen import FrozenTrial


def trial_records(trials: Iterable[FrozenTrial]) -> list[dict[str, Any]]:
    """Return one flat dict per trial: number, value, state, times, params_*, user_attrs_*."""
    records = []
    for trial in trials:
        duration = trial.duration
        record: dict[str, Any] = {
            "number": trial.number,
            "value": trial.value,
            "state": trial.state.name,
            "datetime_start": trial.datetime_start,
            "datetime_complete": trial.datetime_complete,
            "duration_s": None if duration is None else duration.total_seconds(),
        }
        record.update({f"params_{k}": v for k, v in sorted(trial.params.items())})
        record.update({f"user_attrs_{k}": v for k, v in sorted(trial.user_attrs.items())})
        if "fail_reason" in trial.system_attrs:
            record["fail_reason"] = trial.system_attrs["fail_reason"]
        records.append(record)
    return records
