"""Optuna's names for the SQL storage and its retry of failed trials.

``RDBStorage`` is :class:`SQLStorage` with Optuna's arguments: ``engine_kwargs``, and a
heartbeat (``heartbeat_interval``, ``grace_period``, a retry callback) that studies opened
on it take as their :class:`~hyperknob.HeartbeatPolicy` unless they are given one.
"""

from __future__ import annotations

import dataclasses
import sys
from collections.abc import Mapping
from typing import Any

from hyperknob._checks import check_bool, check_int, check_number, invalid
from hyperknob.storages._sql import SQLStorage


@dataclasses.dataclass(frozen=True)
class RetryFailedTrialCallback:
    """Retry a trial whose worker went silent, up to ``max_retry`` times (None: no limit).

    As an argument of :class:`RDBStorage` it sets the heartbeat policy's ``max_retries``;
    called as ``callback(study, trial)`` it queues the failed trial's parameters again
    (:meth:`~hyperknob.Study.requeue`). ``inherit_intermediate_values`` is accepted for
    Optuna's scripts; a retry starts without them.
    """

    max_retry: int | None = None
    inherit_intermediate_values: bool = False

    def __post_init__(self) -> None:
        if self.max_retry is not None:
            check_int("max_retry", self.max_retry, least=0)
        check_bool("inherit_intermediate_values", self.inherit_intermediate_values)

    @property
    def max_retries(self) -> int:
        """Return the retries as :class:`~hyperknob.HeartbeatPolicy` counts them."""
        return sys.maxsize if self.max_retry is None else self.max_retry

    def __call__(self, study: Any, trial: Any) -> None:
        study.requeue(trial, max_retries=self.max_retries)


class RetryHeartbeatStaleTrialCallback(RetryFailedTrialCallback):
    """Optuna's newer name for :class:`RetryFailedTrialCallback`."""


class RDBStorage(SQLStorage):
    """:class:`SQLStorage` under Optuna's name and arguments.

    Args:
        url: ``sqlite:///PATH``, ``sqlite:///:memory:`` or a PostgreSQL URL.
        engine_kwargs: Passed to ``sqlalchemy.create_engine``.
        skip_compatibility_check: Accepted; hyperknob always checks the schema version.
        heartbeat_interval: Seconds between heartbeats of running trials: studies opened on
            this storage get a heartbeat policy (unless given one).
        grace_period: Seconds of silence after which a running trial is failed.
        heartbeat_stale_trial_callback: A :class:`RetryHeartbeatStaleTrialCallback` (how
            often a failed stale trial is retried), or None (never).
        failed_trial_callback: Optuna's older name for the same.
        skip_table_creation: Accepted; the tables are created when missing.

    Example:
        >>> storage = RDBStorage("sqlite:///:memory:", heartbeat_interval=60)
        >>> storage.heartbeat_defaults
        (60.0, None, 0)
    """

    def __init__(
        self,
        url: str,
        engine_kwargs: Mapping[str, Any] | None = None,
        skip_compatibility_check: bool = False,
        *,
        heartbeat_interval: float | None = None,
        grace_period: float | None = None,
        heartbeat_stale_trial_callback: RetryFailedTrialCallback | None = None,
        failed_trial_callback: RetryFailedTrialCallback | None = None,
        skip_table_creation: bool = False,
    ) -> None:
        if heartbeat_stale_trial_callback is not None and failed_trial_callback is not None \
                and heartbeat_stale_trial_callback is not failed_trial_callback:
            raise invalid("failed_trial_callback", failed_trial_callback,
                          "None when heartbeat_stale_trial_callback is given (the older name of "
                          "the same retry policy; a storage has one)")
        callback = heartbeat_stale_trial_callback or failed_trial_callback
        if callback is not None and not isinstance(callback, RetryFailedTrialCallback):
            raise invalid("heartbeat_stale_trial_callback", callback,
                          "a RetryHeartbeatStaleTrialCallback or None (hyperknob fails and "
                          "retries stale trials itself)")
        if heartbeat_interval is None and (grace_period is not None or callback is not None):
            raise invalid("heartbeat_interval", heartbeat_interval,
                          "a number of seconds when grace_period or a callback is given")
        if heartbeat_interval is not None:  # HeartbeatPolicy's checks, made here and now
            check_number("heartbeat_interval", heartbeat_interval, above=0.0, unit="seconds")
            check_number("grace_period", grace_period, above=heartbeat_interval, none_ok=True,
                         unit="seconds")
            self.heartbeat_defaults = (
                float(heartbeat_interval), None if grace_period is None else float(grace_period),
                0 if callback is None else callback.max_retries)
        super().__init__(url, engine_kwargs=engine_kwargs)

    def __getstate__(self) -> dict[str, Any]:
        return {**super().__getstate__(), "heartbeat_defaults": self.heartbeat_defaults}

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        self.heartbeat_defaults = state.get("heartbeat_defaults")
