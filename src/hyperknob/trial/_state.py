"""Trial states."""

from __future__ import annotations

import enum


class TrialState(enum.IntEnum):
    """Where a trial is in its life.

    WAITING trials were enqueued and not yet started; RUNNING trials are being evaluated;
    COMPLETE, PRUNED and FAIL trials are finished and never change again.
    """

    RUNNING = 0
    COMPLETE = 1
    PRUNED = 2
    FAIL = 3
    WAITING = 4

    def is_finished(self) -> bool:
        """Return whether the trial can no longer change."""
        return self in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)

    # As Optuna prints its states: str() gives the name ("TrialState.FAIL"), where Python
    # 3.11's IntEnum would give the number; repr() stays "<TrialState.FAIL: 3>".
    __str__ = enum.Enum.__str__
