"""Heartbeats: a trial whose worker died is failed as stale by a live worker and retried; a
live or heartbeat-less trial is left alone. In memory, on SQLite and on PostgreSQL, and with a
worker really SIGKILLed."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

import hyperknob
from hyperknob import HeartbeatPolicy, TrialState
from hyperknob.trial import Trial


def quick(trial: Trial) -> float:
    return trial.suggest_float("x", 0.0, 1.0)


def dead_trial(study: hyperknob.Study, x: float) -> int:
    """Start a trial the way a worker would, beat once, and never come back."""
    study.enqueue_trial({"x": x})
    trial = study.ask()
    trial.suggest_float("x", 0.0, 1.0)
    study._storage.record_heartbeat(trial._trial_id)
    return trial.number


def test_a_silent_trial_is_failed_as_stale_and_retried(storage_url: str | None) -> None:
    policy = HeartbeatPolicy(interval=0.05, grace_period=0.3, max_retries=1)
    study = hyperknob.create_study(storage=storage_url, heartbeat=policy,
                                   sampler=hyperknob.samplers.RandomSampler(seed=0))
    study.optimize(quick, n_trials=2)
    dead = dead_trial(study, 0.123)
    time.sleep(0.5)
    study.optimize(quick, n_trials=2)
    trials = study.trials
    assert trials[dead].state is TrialState.FAIL
    assert trials[dead].system_attrs["fail_reason"].startswith("stale: no heartbeat for more")
    retry = trials[dead + 1]
    assert retry.state is TrialState.COMPLETE and retry.params == {"x": 0.123}
    assert retry.system_attrs["retried_from"] == dead
    assert retry.system_attrs["retry_count"] == 1
    assert [t.state for t in trials].count(TrialState.COMPLETE) == 4  # 2 before, retry, 1 new
    assert [t.number for t in trials] == list(range(len(trials)))


def test_retries_stop_at_max_retries_and_heartbeatless_trials_are_left(
    storage_url: str | None,
) -> None:
    policy = HeartbeatPolicy(interval=0.05, grace_period=0.2, max_retries=1)
    study = hyperknob.create_study(storage=storage_url, heartbeat=policy)
    silent = study.ask()  # runs without heartbeats (e.g. an ask/tell user): never stale
    first = dead_trial(study, 0.5)
    time.sleep(0.3)
    assert [t.number for t in study.reap_stale_trials(policy)] == [first]
    retry = study.ask()  # the WAITING retry, claimed ...
    assert retry.suggest_float("x", 0.0, 1.0) == 0.5
    study._storage.record_heartbeat(retry._trial_id)  # ... and its worker dies too
    time.sleep(0.3)
    assert [t.number for t in study.reap_stale_trials(policy)] == [retry.number]
    assert study.reap_stale_trials(policy) == []  # reaped once only
    states = [t.state for t in study.trials]
    assert TrialState.WAITING not in states  # retried once: no second retry
    assert study.trials[silent.number].state is TrialState.RUNNING


def test_a_live_trial_keeps_beating_and_is_not_reaped(storage_url: str | None) -> None:
    policy = HeartbeatPolicy(interval=0.05, grace_period=0.3)
    study = hyperknob.create_study(storage=storage_url, heartbeat=policy)

    def slow(trial: Trial) -> float:
        time.sleep(1.2)  # four grace periods
        return trial.suggest_float("x", 0.0, 1.0)

    worker = threading.Thread(target=study.optimize, args=(slow,), kwargs={"n_trials": 1})
    worker.start()
    reaped = []
    while worker.is_alive():
        reaped += study.reap_stale_trials(policy)
        time.sleep(0.05)
    worker.join()
    assert reaped == [] and study.trials[0].state is TrialState.COMPLETE


def test_policy_arguments() -> None:
    assert HeartbeatPolicy(10.0).grace == 20.0 and HeartbeatPolicy(0.5).grace == 1.5
    for bad in ({"interval": 0}, {"interval": -1.0}, {"interval": 1.0, "grace_period": 0.5},
                {"interval": 1.0, "max_retries": -1}):
        with pytest.raises(ValueError):
            HeartbeatPolicy(**bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="HeartbeatPolicy"):
        hyperknob.create_study(heartbeat=10)  # type: ignore[arg-type]


WORKER = textwrap.dedent(
    """
    import sys, time
    import hyperknob

    policy = hyperknob.HeartbeatPolicy(interval=0.1, grace_period=1.0, max_retries=2)
    study = hyperknob.create_study(study_name="s", storage=sys.argv[1], heartbeat=policy,
                                   load_if_exists=True)

    def objective(trial):
        x = trial.suggest_float("x", 0.0, 1.0)
        if x == 0.777:
            print("stuck", flush=True)
            time.sleep(60)  # killed here
        return x

    for x in (0.1, 0.2, 0.777):
        study.enqueue_trial({"x": x})
    study.optimize(objective, n_trials=3)
    """
)


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["sqlite", pytest.param("postgres",
                                                          marks=pytest.mark.postgres)])
def test_a_sigkilled_worker_s_trial_is_reaped_and_retried(
    backend: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = (f"sqlite:///{tmp_path}/s.db" if backend == "sqlite"
           else request.getfixturevalue("postgres_url"))
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    process = subprocess.Popen([sys.executable, str(script), url], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "stuck"
    time.sleep(0.3)  # a few heartbeats
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    policy = HeartbeatPolicy(interval=0.1, grace_period=1.0, max_retries=2)
    study = hyperknob.load_study(study_name="s", storage=url, heartbeat=policy)
    before = study.trials
    assert [t.state for t in before] == [TrialState.COMPLETE, TrialState.COMPLETE,
                                         TrialState.RUNNING]
    time.sleep(1.3)
    study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=2)
    after = study.trials
    assert after[2].state is TrialState.FAIL and "stale" in after[2].system_attrs["fail_reason"]
    assert after[3].params == {"x": 0.777} and after[3].state is TrialState.COMPLETE
    assert after[3].system_attrs["retried_from"] == 2
    assert {t.number: t.value for t in after[:2]} == {t.number: t.value for t in before[:2]}
    assert [t.number for t in after] == list(range(5))
    assert [t.state for t in after].count(TrialState.COMPLETE) == 4


def test_worker_processes_beat_too(storage_url: str | None) -> None:
    policy = HeartbeatPolicy(interval=0.05, grace_period=0.5)
    study = hyperknob.create_study(storage=storage_url, heartbeat=policy)

    def objective(trial: Trial) -> float:
        time.sleep(0.2)
        return trial.suggest_float("x", 0.0, 1.0)

    study.optimize(objective, n_trials=6, n_jobs=2)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE] * 6


def _gone_pid() -> int:
    """Return the pid of a process of this machine that has ended (and been waited for)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


@pytest.mark.skipif(not Path("/proc/self/ns/pid").exists(), reason="needs Linux's /proc")
def test_a_trial_whose_process_is_gone_is_reaped_at_once_and_others_are_left(
        storage_url: str | None) -> None:
    from hyperknob.study._heartbeat import WORKER_ATTR, this_worker

    policy = HeartbeatPolicy(interval=60.0, max_retries=1)  # silence alone: 2 minutes
    study = hyperknob.create_study(storage=storage_url, heartbeat=policy)
    alive = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        records = {
            "gone": {**this_worker(), "pid": _gone_pid()},
            "alive": {**this_worker(), "pid": alive.pid},
            "mine": this_worker(),
            "elsewhere": {**this_worker(), "pid": _gone_pid(), "machine": "other-boot/pid:[1]"},
            "other host": {**this_worker(), "pid": _gone_pid(), "host": "another-host"},
            "never beat": {**this_worker(), "pid": _gone_pid()},
        }
        numbers = {}
        for name, record in records.items():
            trial = study.ask()
            trial.suggest_float("x", 0.0, 1.0)
            if name != "never beat":  # an ask/tell user's trial: never stale
                study._storage.record_heartbeat(trial._trial_id)
            study._storage.set_trial_attr(trial._trial_id, "system", WORKER_ATTR, record)
            numbers[name] = trial.number
        study.ask()  # ask() does not look for dead processes (a pool buries its own) ...
        assert [t.state for t in study.trials].count(TrialState.FAIL) == 0
        reaped = study.reap_stale_trials()  # ... a new run does
        assert [t.number for t in reaped] == [numbers["gone"]]
        assert reaped[0].system_attrs["fail_reason"] == (
            f"stale: its process {records['gone']['pid']} on {records['gone']['host']} is "
            "gone (killed, or it crashed)")
        retry = study.trials[-1]
        assert retry.state is TrialState.WAITING
        assert retry.system_attrs["retried_from"] == numbers["gone"]
        running = {t.number for t in study.trials if t.state is TrialState.RUNNING}
        assert running >= {numbers[n] for n in records if n != "gone"}
    finally:
        alive.kill()
        alive.wait()


@pytest.mark.skipif(not Path("/proc/self/ns/pid").exists(), reason="needs Linux's /proc")
def test_a_silent_trial_of_a_live_process_here_is_not_reaped(storage_url: str | None) -> None:
    """A heartbeat older than the grace period (a clock step, a suspended laptop) does not
    make a trial whose process is known alive on this machine stale."""
    from hyperknob.study._heartbeat import WORKER_ATTR, this_worker

    policy = HeartbeatPolicy(interval=0.05, grace_period=0.2)
    study = hyperknob.create_study(storage=storage_url, heartbeat=policy)
    trial = study.ask()
    study._storage.record_heartbeat(trial._trial_id)
    study._storage.set_trial_attr(trial._trial_id, "system", WORKER_ATTR, this_worker())
    time.sleep(0.4)
    study.ask()
    assert study.trials[0].state is TrialState.RUNNING
    assert study.reap_stale_trials() == []


def test_a_worker_notes_itself_once_it_beats(storage_url: str | None) -> None:
    from hyperknob.study._heartbeat import WORKER_ATTR, this_worker

    study = hyperknob.create_study(storage=storage_url, heartbeat=HeartbeatPolicy(interval=5))
    study.optimize(quick, n_trials=1)
    assert study.trials[0].system_attrs[WORKER_ATTR] == this_worker()
    asked = study.ask()  # asked, not yet run: nobody beats for it
    assert WORKER_ATTR not in study.trials[asked.number].system_attrs


def test_total_trials_counts_every_run_on_the_study(storage_url: str | None) -> None:
    study = hyperknob.create_study(storage=storage_url,
                                   sampler=hyperknob.samplers.RandomSampler(seed=0))
    study.optimize(quick, n_trials=3)
    other = study.ask()  # another run's trial, still running
    study.optimize(quick, n_trials=10, total_trials=6)
    states = [t.state for t in study.trials]
    assert states.count(TrialState.COMPLETE) == 5 and states.count(TrialState.RUNNING) == 1
    study.tell(other, 0.5)
    study.optimize(quick, n_trials=10, total_trials=6)  # the total is reached: nothing runs
    assert len(study.trials) == 6
    with pytest.raises(ValueError, match="total_trials must be an int >= 0"):
        study.optimize(quick, total_trials=-1)


def test_a_trial_started_past_the_total_by_a_race_yields(storage_url: str | None) -> None:
    """Two runs both see one place left and both ask: the later trial is failed at once as
    surplus and its queued parameters go back to the queue."""
    study = hyperknob.create_study(storage=storage_url)
    study.optimize(quick, n_trials=2)
    real_ask = study.ask
    rival = []

    def racing_ask() -> Trial:
        if not rival:  # the other run's new trial lands between the count and this ask,
            rival.append(study.storage.create_new_trial(study._study_id))  # and a retry is
            study.enqueue_trial({"x": 0.25}, user_attrs={"source": "rule of thumb"})  # queued
        return real_ask()

    study.ask = racing_ask  # type: ignore[method-assign]
    study.optimize(quick, n_trials=5, total_trials=3)
    trials = study.trials
    surplus = [t for t in trials if t.state is TrialState.FAIL]
    assert len(surplus) == 1 and surplus[0].number > rival[0].number
    assert surplus[0].system_attrs["fail_reason"].startswith(
        "surplus: the study already has its 3 trials")
    assert [t.state for t in trials].count(TrialState.COMPLETE) == 2
    again = trials[-1]
    assert again.state is TrialState.WAITING and again.system_attrs["fixed_params"] == {
        "x": 0.25} and again.user_attrs == {"source": "rule of thumb"}


def test_a_beater_rides_out_a_busy_storage_and_stops_for_a_finished_trial() -> None:
    from hyperknob.exceptions import UpdateFinishedTrialError
    from hyperknob.study._heartbeat import Beater

    beats: list[int] = []
    failures = {1: 2, 2: 0}  # trial 1: two busy writes; trial 2: finished after its first beat

    def record(trial_id: int) -> None:
        if trial_id == 2 and beats.count(2) >= 1:
            raise UpdateFinishedTrialError("trial 2 is COMPLETE")
        if failures[trial_id] and beats.count(trial_id) >= 1:
            failures[trial_id] -= 1
            raise OSError("database is locked")
        beats.append(trial_id)

    with Beater(record, [1, 2], interval=0.02):
        time.sleep(0.4)
    assert beats.count(1) >= 5  # beat on after the busy writes
    assert beats.count(2) == 1  # no beats for a finished trial


@pytest.fixture
def time_zone(monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[[str], None]]:
    """Move this process to another time zone (a POSIX TZ string), back after the test."""

    def move(zone: str) -> None:
        monkeypatch.setenv("TZ", zone)
        time.tzset()

    yield move
    monkeypatch.undo()
    time.tzset()


def test_heartbeats_agree_across_time_zones(storage_url: str | None,
                                            time_zone: Callable[[str], None]) -> None:
    """A worker beats in one time zone, another judges in another (a cluster spread over
    regions; one clock stepping at a daylight-saving change): a fresh beat is fresh, an old
    one old, whatever the local clocks say."""
    policy = HeartbeatPolicy(interval=0.05, grace_period=0.3)
    study = hyperknob.create_study(storage=storage_url, heartbeat=policy)
    time_zone("LAX+8")  # UTC-8
    fresh = dead_trial(study, 0.25)
    time_zone("TYO-9")  # UTC+9: local clocks 17 hours apart
    assert study.reap_stale_trials() == []
    assert study.trials[fresh].state is TrialState.RUNNING
    later = dead_trial(study, 0.75)  # beats in Tokyo
    time_zone("LAX+8")
    time.sleep(0.5)
    assert sorted(t.number for t in study.reap_stale_trials()) == [fresh, later]
