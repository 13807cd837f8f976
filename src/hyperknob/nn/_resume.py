"""Opening the main job's study so that a run survives what users do to it: a ``kill -9``,
a ``kill`` (SIGTERM), Ctrl-C, a second run on the same study at the same time.

- Every trial runs under a :class:`~hyperknob.study.HeartbeatPolicy` and notes the process
  that runs it, so a trial whose run was killed is failed and queued again by the next run
  (at once when its process is known dead on this machine, else after the grace period) or
  by a run going on at the same time.
- A trial stopped by Ctrl-C or SIGTERM is stored as FAIL ("interrupted") and queued again
  once by the next run.
- Only the run that creates the study records its data and queues the rule-of-thumb
  configurations, so two runs started together queue them once.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from hyperknob.exceptions import DuplicatedStudyError
from hyperknob.study import HeartbeatPolicy
from hyperknob.trial import TrialState

if TYPE_CHECKING:
    from hyperknob._direction import StudyDirection
    from hyperknob.nn._data import Dataset
    from hyperknob.pruners import BasePruner
    from hyperknob.samplers import BaseSampler
    from hyperknob.storages import BaseStorage
    from hyperknob.study import Study
    from hyperknob.trial import FrozenTrial

#: Seconds between two heartbeats of a running trial, and without one before a concurrent
#: run takes the trial for dead (a run on the same machine knows at once).
HEARTBEAT_INTERVAL = 5.0
HEARTBEAT_GRACE = 60.0
#: A killed or interrupted trial's configuration runs again this many times.
RETRIES = 1
#: How long a run that found the study made by another one waits for that run to record
#: the data and queue the rule of thumb (it takes milliseconds).
CREATOR_WAIT = 5.0

POLICY = HeartbeatPolicy(interval=HEARTBEAT_INTERVAL, grace_period=HEARTBEAT_GRACE,
                         max_retries=RETRIES)


def open_study(name: str, storage: BaseStorage, directions: Sequence[str | StudyDirection],
               sampler: BaseSampler, pruner: BasePruner) -> tuple[Study, bool]:
    """Create the study ``name``, or load it; return it and whether this run is the first
    on it (it made the study, or found one made empty by ``create_study``): the first run
    records the data and queues the rule-of-thumb configurations, no other."""
    import hyperknob

    try:
        study = hyperknob.create_study(study_name=name, storage=storage,
                                       directions=directions, sampler=sampler, pruner=pruner,
                                       heartbeat=POLICY)
        return study, True
    except DuplicatedStudyError:
        study = hyperknob.create_study(study_name=name, storage=storage,
                                       directions=directions, sampler=sampler, pruner=pruner,
                                       heartbeat=POLICY, load_if_exists=True)
    # Another run made it; it records the data at once. A study with no data recorded for
    # long was made by hand (create_study) and is this run's to prepare.
    waited = 0.0
    while "dataset" not in study.user_attrs:
        if study.trials or waited >= CREATOR_WAIT:
            return study, not study.trials
        time.sleep(0.1)
        waited += 0.1
    return study, False


def check_same_data(study: Study, data: Dataset) -> None:
    """Raise ValueError if ``study`` was tuned on other data than ``data``."""
    stored = study.user_attrs.get("dataset")
    if stored is not None and stored != data.summary():
        raise ValueError(
            f"study {study.study_name!r} was tuned on {stored}, not on {data.summary()}; "
            "pass another study name for a new study"
        )


def interrupted(trial: FrozenTrial) -> bool:
    """Return whether ``trial`` failed because its run was stopped (Ctrl-C, SIGTERM, a dead
    parent), not because of its configuration."""
    reason = str(trial.system_attrs.get("fail_reason", ""))
    return trial.state is TrialState.FAIL and (
        "KeyboardInterrupt" in reason or reason.startswith("interrupted"))


def recover(study: Study) -> list[str]:
    """Fail the trials of killed runs (RUNNING, their process gone), and queue again the
    configurations of those and of interrupted trials, once each; return what was done, in
    lines to print (none when there was nothing to do)."""
    reaped = study.reap_stale_trials()
    trials = study.trials
    retried = {t.system_attrs.get("retry_of") for t in trials}
    again = [t for t in trials if interrupted(t) and t.number not in retried
             and study.requeue(t, max_retries=RETRIES)]
    lines = []
    if reaped:
        numbers = ", ".join(f"#{t.number}" for t in reaped)
        lines.append(f"Recovered {len(reaped)} trial(s) of a killed run ({numbers}: "
                     f"{reaped[0].system_attrs.get('fail_reason')}); queued to run again.")
    if again:
        numbers = ", ".join(f"#{t.number}" for t in again)
        lines.append(f"Trial(s) {numbers} were interrupted (Ctrl-C or SIGTERM); their "
                     "configurations run again first.")
    return lines
