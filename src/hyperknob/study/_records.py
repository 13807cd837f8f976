"""Flat records of trials, shared by ``trials_dataframe()``, the CLI and the run files."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from hyperknob.trial._frozen import FrozenTrial

#: What ``trials_dataframe(attrs=...)`` may ask for: Optuna's names, and hyperknob's
#: ``duration_s`` (seconds as a float), ``fail_reason`` and ``constraints``.
ATTRS = ("number", "value", "values", "datetime_start", "datetime_complete", "duration",
         "duration_s", "params", "user_attrs", "system_attrs", "intermediate_values", "state",
         "fail_reason", "constraints")
#: The columns of a frame when no ``attrs`` are given (``constraints`` where trials have any).
DEFAULT_ATTRS = ("number", "value", "state", "datetime_start", "datetime_complete",
                 "duration_s", "params", "user_attrs", "fail_reason", "constraints")

Column = tuple[str, str]


def value_columns(n_objectives: int, metric_names: Sequence[str] | None = None) -> list[str]:
    """Return the names of the value columns: ``value``, or with several objectives
    ``values_0``, ``values_1``, ... (``values_<name>`` when the objectives are named)."""
    return [flat(column) for column in _value_keys(n_objectives, metric_names)]


def _value_keys(n_objectives: int, metric_names: Sequence[str] | None) -> list[Column]:
    if n_objectives == 1:
        return [("value", "")]
    names = metric_names or [str(k) for k in range(n_objectives)]
    return [("values", str(name)) for name in names]


def flat(column: Column) -> str:
    """Return a column's flat name: ``group`` or ``group_key`` (``params_lr``)."""
    group, key = column
    return f"{group}_{key}" if key else group


def _check_attrs(attrs: Sequence[str]) -> None:
    unknown = [a for a in attrs if a not in ATTRS]
    if isinstance(attrs, str) or unknown:
        raise ValueError(f"attrs must be a tuple of {list(ATTRS)}, got attrs={attrs!r}")


def trial_columns(trials: Iterable[FrozenTrial], *, attrs: Sequence[str] = DEFAULT_ATTRS,
                  n_objectives: int = 1, metric_names: Sequence[str] | None = None
                  ) -> list[dict[Column, Any]]:
    """Return one record per trial keyed by ``(group, key)`` columns (``("params", "lr")``,
    ``("state", "")``) for the ``attrs`` asked, in their order."""
    _check_attrs(attrs)
    value_keys = _value_keys(n_objectives, metric_names)
    records = []
    for trial in trials:
        record: dict[Column, Any] = {}
        for attr in attrs:
            _add(record, attr, trial, value_keys)
        records.append(record)
    return records


def _add(record: dict[Column, Any], attr: str, trial: FrozenTrial,
         value_keys: list[Column]) -> None:
    if attr in ("value", "values"):
        values = trial.values or (None,) * len(value_keys)
        record.update(zip(value_keys, values, strict=False))
    elif attr in ("params", "user_attrs", "system_attrs", "intermediate_values"):
        mapping = getattr(trial, attr)
        record.update({(attr, str(k)): v for k, v in sorted(mapping.items())})
    elif attr == "state":
        record[("state", "")] = trial.state.name
    elif attr == "duration":
        record[("duration", "")] = trial.duration
    elif attr == "duration_s":
        duration = trial.duration
        record[("duration_s", "")] = None if duration is None else duration.total_seconds()
    elif attr in ("fail_reason", "constraints"):
        if attr in trial.system_attrs:
            record[(attr, "")] = trial.system_attrs[attr]
    else:
        record[(attr, "")] = getattr(trial, attr)


def trial_records(trials: Iterable[FrozenTrial], *, n_objectives: int = 1,
                  metric_names: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """Return one flat dict per trial: number, the value columns (:func:`value_columns`),
    state, times, params_*, user_attrs_*, and a failed trial's reason."""
    return [{flat(column): value for column, value in record.items()}
            for record in trial_columns(trials, n_objectives=n_objectives,
                                        metric_names=metric_names)]
