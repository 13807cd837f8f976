"""Heartbeats: find trials whose worker died, fail them, and retry them.

A worker running trials under a :class:`HeartbeatPolicy` records a heartbeat for its RUNNING
trial every ``interval`` seconds from a background thread. Before each new trial, every worker
looks for RUNNING trials whose last heartbeat is older than ``grace_period``: their worker was
killed (SIGKILL, a lost node, a power cut) and will never finish them. The first worker to
finish such a trial as FAIL -- the storage's conditional update makes that one worker -- also
re-enqueues its parameters as a new WAITING trial (``system_attrs["retried_from"]``: the old
trial's number, ``retry_count``) while the original has been retried fewer than ``max_retries``
times. Everything is in the storage, so any live worker, in any process or on any machine,
can reap any dead one's trial.

Heartbeat times are the workers' clocks: machines sharing a PostgreSQL study need clocks in
sync to well within the grace period (NTP gives milliseconds).
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState

if TYPE_CHECKING:
    from hyperknob.study._study import Study


@dataclasses.dataclass(frozen=True)
class HeartbeatPolicy:
    """How often workers beat, when a silent trial counts as dead, how often it is retried.

    Args:
        interval: Seconds between two heartbeats of a running trial.
        grace_period: Seconds without a heartbeat after which a RUNNING trial is stale
            (default: ``2 * interval``, at least a second more than it).
        max_retries: How many times a stale trial's parameters are run again (0: never).
    """

    interval: float
    grace_period: float | None = None
    max_retries: int = 0

    def __post_init__(self) -> None:
        if isinstance(self.interval, bool) or not isinstance(self.interval, (int, float)) or not (
                math.isfinite(self.interval) and self.interval > 0):
            raise ValueError(f"heartbeat_interval must be a number of seconds > 0, got "
                             f"{self.interval!r}")
        grace = self.grace_period
        if grace is not None and (isinstance(grace, bool) or not isinstance(grace, (int, float))
                                  or not grace > self.interval):
            raise ValueError(f"grace_period must be a number of seconds > heartbeat_interval "
                             f"({self.interval}), got {grace!r}")
        if isinstance(self.max_retries, bool) or not isinstance(self.max_retries, int) or (
                self.max_retries < 0):
            raise ValueError(f"max_retries must be an int >= 0, got {self.max_retries!r}")

    @property
    def grace(self) -> float:
        """Return the grace period in seconds."""
        if self.grace_period is not None:
            return float(self.grace_period)
        return max(2.0 * self.interval, self.interval + 1.0)


class Beater:
    """Record the heartbeat of one trial, or of every trial of a batch trained together, now
    and every ``interval`` seconds until :meth:`stop`."""

    def __init__(self, study: Study, trial_id: int | Sequence[int], interval: float) -> None:
        self._storage = study._storage
        self._trial_ids = [trial_id] if isinstance(trial_id, int) else list(trial_id)
        self._interval = interval
        self._stop = threading.Event()
        for running in self._trial_ids:  # the first beat raises: the trial must be RUNNING
            self._storage.record_heartbeat(running)
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{self._trial_ids[0]}",
                                        daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        for trial_id in list(self._trial_ids):
            try:
                self._storage.record_heartbeat(trial_id)
            except Exception:  # finished meanwhile, or the storage is down: either way
                self._trial_ids.remove(trial_id)  # the trial's own code reports what happened

    def _run(self) -> None:
        while self._trial_ids and not self._stop.wait(self._interval):
            self._beat()

    def stop(self) -> None:
        """Stop beating (the trial finished)."""
        self._stop.set()
        self._thread.join(timeout=5.0)


def reap_stale_trials(study: Study, policy: HeartbeatPolicy) -> list[FrozenTrial]:
    """Fail the study's stale trials, re-enqueue those with retries left, and return the
    trials this call failed."""
    storage = study._storage
    cutoff = datetime.datetime.now() - datetime.timedelta(seconds=policy.grace)
    failed = []
    for trial_id in storage.get_stale_trial_ids(study._study_id, cutoff):
        reason = (f"stale: no heartbeat for more than {policy.grace:g} s; its worker stopped "
                  "(killed, or its machine was lost)")
        if not storage.finish_trial(trial_id, TrialState.FAIL, None,
                                    {"fail_reason": reason}):
            continue  # another worker reaped it first, or it finished meanwhile
        trial = storage.get_trial(trial_id)
        failed.append(trial)
        retry_trial(study, trial, policy.max_retries)
    return failed


def retry_trial(study: Study, trial: FrozenTrial, max_retries: int) -> bool:
    """Queue a failed trial's parameters again, linked to it, unless its line of retries
    already holds ``max_retries``; return whether it was queued."""
    done = int(trial.system_attrs.get("retry_count", 0))
    if done >= max_retries:
        return False
    origin = trial.system_attrs.get("retried_from", trial.number)
    template = FrozenTrial(
        number=-1, trial_id=-1, state=TrialState.WAITING,
        user_attrs=dict(trial.user_attrs),
        system_attrs={"fixed_params": dict(trial.params), "retried_from": origin,
                      "retry_of": trial.number, "retry_count": done + 1})
    study._storage.create_new_trial(study._study_id, template)
    return True
