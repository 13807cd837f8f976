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

A worker also notes who runs each trial (``system_attrs["worker"]``, written after its first
heartbeat: host, process id, and on Linux the boot and process namespace it runs in). A trial
that beat and whose process is known dead -- it ran on this machine, in this process
namespace, and that process is gone -- is stale at once for :meth:`Study.reap_stale_trials`,
without waiting for the grace period: a run started after ``kill -9`` recovers its trial.
Conversely a silent trial whose process is known alive here is not reaped (a clock step, a
suspended laptop). Elsewhere (macOS, Windows) only the grace period counts.
"""

from __future__ import annotations

import dataclasses
import datetime
import os
import socket
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from hyperknob._checks import check_int, check_number
from hyperknob.storages._base import heartbeat_time

if TYPE_CHECKING:
    from hyperknob.storages import BaseStorage


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
        check_number("interval", self.interval, above=0.0, unit="seconds")
        check_number("grace_period", self.grace_period, above=self.interval, none_ok=True,
                     unit="seconds")
        check_int("max_retries", self.max_retries, least=0)

    @property
    def grace(self) -> float:
        """Return the grace period in seconds."""
        if self.grace_period is not None:
            return float(self.grace_period)
        return max(2.0 * self.interval, self.interval + 1.0)


class Beater:
    """Record the heartbeat of one trial, or of every trial of a batch trained together, now
    and every ``interval`` seconds until :meth:`stop`. ``beat`` is the study's writer."""

    def __init__(self, beat: Callable[[int], None], trial_ids: Sequence[int],
                 interval: float) -> None:
        self._record = beat
        self._trial_ids = list(trial_ids)
        self._interval = interval
        self._stop = threading.Event()
        for running in self._trial_ids:  # the first beat raises: the trial must be RUNNING
            self._record(running)
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{self._trial_ids[0]}",
                                        daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        from hyperknob.exceptions import TrialNotFoundError, UpdateFinishedTrialError

        for trial_id in list(self._trial_ids):
            try:
                self._record(trial_id)
            except (UpdateFinishedTrialError, TrialNotFoundError):  # finished meanwhile
                self._trial_ids.remove(trial_id)
            except Exception:  # a busy or lost connection: beat again next time (the trial's
                continue  # own code reports a storage that stays down)

    def _run(self) -> None:
        while self._trial_ids and not self._stop.wait(self._interval):
            self._beat()

    def stop(self) -> None:
        """Stop beating (the trial finished)."""
        self._stop.set()
        self._thread.join(timeout=5.0)

    def __enter__(self) -> Beater:
        return self  # beating since it was made

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def stale_reason(policy: HeartbeatPolicy) -> str:
    """Return the fail reason of a trial reaped under ``policy``."""
    return (f"stale: no heartbeat for more than {policy.grace:g} s; its worker stopped "
            "(killed, or its machine was lost)")


#: The system attribute naming the process that runs a trial (see :func:`this_worker`).
WORKER_ATTR = "worker"


def _machine() -> str | None:
    """Return an identity of this machine's process-id space: the kernel's boot id and the
    process namespace (Linux), or None where there is none to read (a pid is then not
    enough to tell whether a process is alive)."""
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as boot:
            boot_id = boot.read().strip()
        namespace = os.readlink("/proc/self/ns/pid")
        if os.readlink("/proc/self") != str(os.getpid()):  # a /proc of another namespace
            return None
    except OSError:
        return None
    return f"{boot_id}/{namespace}" if boot_id else None


_MACHINE = _machine()


def this_worker() -> dict[str, Any]:
    """Return the record of this process as the runner of a trial."""
    return {"host": socket.gethostname(), "pid": os.getpid(), "machine": _MACHINE}


def _alive(pid: int) -> bool:
    """Return whether process ``pid`` of this machine runs (a zombie does not)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process: it exists
        return True
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            state = stat.read().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


def _local_pid(record: object) -> int | None:
    """Return the pid ``record`` (a trial's ``system_attrs["worker"]``) names if it is a
    process of this machine (same host, boot and process namespace), else None."""
    if not isinstance(record, Mapping) or _MACHINE is None:
        return None
    pid = record.get("pid")
    if (record.get("machine") != _MACHINE or record.get("host") != socket.gethostname()
            or not isinstance(pid, int) or isinstance(pid, bool) or pid <= 0):
        return None
    return pid


def worker_is_dead(record: object) -> bool:
    """Return whether ``record`` names a process of this machine that is no longer
    running. False when that cannot be known here."""
    pid = _local_pid(record)
    return pid is not None and pid != os.getpid() and not _alive(pid)


def worker_is_alive(record: object) -> bool:
    """Return whether ``record`` names a process of this machine that still runs (its
    trial is alive whatever its heartbeat's age says). False when that cannot be known."""
    pid = _local_pid(record)
    return pid is not None and (pid == os.getpid() or _alive(pid))


def dead_reason(record: Mapping[str, Any]) -> str:
    """Return the fail reason of a trial whose process is known dead."""
    return (f"stale: its process {record.get('pid')} on {record.get('host')} is gone "
            "(killed, or it crashed)")


def stale_trials(storage: BaseStorage, study_id: int, policy: HeartbeatPolicy, *,
                 dead_processes: bool) -> dict[int, str]:
    """Return the stale trials of a study, trial id -> fail reason (the study fails them):
    those that beat and went silent for the grace period -- unless their process is known
    alive on this machine (a clock step, a suspended laptop) -- and, with
    ``dead_processes``, those that beat and whose process on this machine is gone. A trial
    that never beat (an ask/tell user's) is never stale."""
    now = heartbeat_time()
    cutoff = now - datetime.timedelta(seconds=policy.grace)
    stale = {}
    for trial_id in storage.get_stale_trial_ids(study_id, cutoff):
        if not worker_is_alive(storage.get_trial(trial_id).system_attrs.get(WORKER_ATTR)):
            stale[trial_id] = stale_reason(policy)
    if dead_processes:  # every trial that beat at all is "stale" before a day from now
        beating = storage.get_stale_trial_ids(study_id, now + datetime.timedelta(days=1))
        for trial_id in set(beating) - set(stale):
            record = storage.get_trial(trial_id).system_attrs.get(WORKER_ATTR)
            if worker_is_dead(record):  # its process on this machine is gone: no wait
                stale[trial_id] = dead_reason(record)  # type: ignore[arg-type]
    return stale
