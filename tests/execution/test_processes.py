"""Worker processes (n_jobs) against one storage: nothing lost, numbers unique, errors surface."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

import pytest

import hyperknob
from hyperknob import TrialState


def pid_objective(trial: hyperknob.Trial) -> float:
    trial.set_user_attr("pid", os.getpid())
    x = trial.suggest_float("x", -5, 5)
    return x * x


def test_n_jobs_runs_in_several_processes_on_sqlite(tmp_path: Path) -> None:
    study = hyperknob.create_study(storage=f"sqlite:///{tmp_path}/s.db", seed=0)
    study.optimize(pid_objective, n_trials=30, n_jobs=3)
    trials = study.trials
    assert len(trials) == 30
    assert sorted(t.number for t in trials) == list(range(30))
    assert all(t.state is TrialState.COMPLETE for t in trials)
    pids = {t.user_attrs["pid"] for t in trials}
    assert len(pids) >= 2 and os.getpid() not in pids


def test_n_jobs_with_in_memory_storage_keeps_every_trial() -> None:
    study = hyperknob.create_study(seed=0)
    study.optimize(pid_objective, n_trials=24, n_jobs=2)
    trials = study.trials
    assert sorted(t.number for t in trials) == list(range(24))
    assert len({t.params["x"] for t in trials}) == 24
    assert len({t.user_attrs["pid"] for t in trials}) >= 2
    assert study.best_value == min(t.value for t in trials if t.value is not None)


def test_closures_work_and_worker_errors_reach_the_parent(tmp_path: Path) -> None:
    study = hyperknob.create_study(storage=f"sqlite:///{tmp_path}/s.db")
    limit = 3

    def objective(trial: hyperknob.Trial) -> float:
        if trial.number >= limit:
            raise RuntimeError(f"trial {trial.number} broke")
        return float(trial.number)

    with pytest.raises(RuntimeError, match="broke"):
        study.optimize(objective, n_trials=20, n_jobs=2)
    failed = study.get_trials(states=(TrialState.FAIL,))
    assert failed and all("RuntimeError" in t.system_attrs["traceback"] for t in failed)
    assert len(study.get_trials(states=(TrialState.COMPLETE,))) >= limit
    assert len(study.trials) < 20


def test_stop_from_a_callback_in_a_worker_stops_everyone(tmp_path: Path) -> None:
    study = hyperknob.create_study(storage=f"sqlite:///{tmp_path}/s.db")

    def callback(s: hyperknob.Study, trial: hyperknob.FrozenTrial) -> None:
        if trial.number >= 5:
            s.stop()

    study.optimize(pid_objective, n_trials=200, n_jobs=2, callbacks=[callback])
    assert 6 <= len(study.trials) <= 12


WORKER = textwrap.dedent(
    """
    import sys
    import hyperknob

    def objective(trial):
        x = trial.suggest_float("x", -5, 5)
        return x * x

    study = hyperknob.create_study(
        study_name="shared", storage=sys.argv[1], load_if_exists=True,
    )
    study.optimize(objective, n_trials=50)
    """
)


def test_four_processes_times_fifty_trials_on_one_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/shared.db"
    hyperknob.create_study(study_name="shared", storage=url)
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    workers = [subprocess.Popen([sys.executable, str(script), url]) for _ in range(4)]
    assert [w.wait(timeout=240) for w in workers] == [0, 0, 0, 0]
    trials = hyperknob.load_study(study_name="shared", storage=url).trials
    assert len(trials) == 200
    assert [t.number for t in trials] == list(range(200))
    assert all(t.state is TrialState.COMPLETE for t in trials)


SEEDED = textwrap.dedent(
    """
    import json
    import sys
    import hyperknob
    from hyperknob.samplers import QMCSampler, RandomSampler

    sampler = {"random": RandomSampler, "qmc": QMCSampler}[sys.argv[1]](seed=123)
    study = hyperknob.create_study(sampler=sampler)

    def objective(trial):
        a = trial.suggest_float("a", 1e-4, 1e-1, log=True)
        b = trial.suggest_int("b", 1, 9)
        c = trial.suggest_categorical("c", ["relu", "tanh", "gelu"])
        return a * b

    study.optimize(objective, n_trials=12)
    print(json.dumps([t.params for t in study.trials]))
    """
)


@pytest.mark.parametrize("sampler", ["random", "qmc"])
def test_same_seed_same_suggestions_in_fresh_processes(tmp_path: Path, sampler: str) -> None:
    script = tmp_path / "seeded.py"
    script.write_text(SEEDED)
    outputs = [
        subprocess.run([sys.executable, str(script), sampler], capture_output=True, text=True,
                       check=True, timeout=120).stdout
        for _ in range(2)
    ]
    assert outputs[0] == outputs[1]
    assert len(set(outputs[0].split("},"))) == 12  # the twelve trials differ


def test_random_suggestions_do_not_depend_on_the_number_of_workers(tmp_path: Path) -> None:
    def objective(trial: hyperknob.Trial) -> float:
        return trial.suggest_float("x", 0, 1)

    single = hyperknob.create_study(sampler=hyperknob.samplers.RandomSampler(seed=7))
    single.optimize(objective, n_trials=12)
    parallel = hyperknob.create_study(storage=f"sqlite:///{tmp_path}/p.db",
                                      sampler=hyperknob.samplers.RandomSampler(seed=7))
    parallel.optimize(objective, n_trials=12, n_jobs=3)
    by_number = {t.number: t.params["x"] for t in parallel.trials}
    assert by_number == {t.number: t.params["x"] for t in single.trials}


@pytest.mark.postgres
def test_n_jobs_on_postgresql(postgres_url: str) -> None:
    study = hyperknob.create_study(storage=postgres_url, seed=0)

    def objective(trial: hyperknob.Trial) -> float:
        time.sleep(0.02)  # long enough that both workers get trials
        return pid_objective(trial)

    study.optimize(objective, n_trials=20, n_jobs=2)
    trials = study.trials
    assert [t.number for t in trials] == list(range(20))
    assert all(t.state is TrialState.COMPLETE for t in trials)
    assert len({t.user_attrs["pid"] for t in trials}) == 2


INTERRUPTED = textwrap.dedent(
    """
    import signal
    import sys
    import time
    import hyperknob

    # A shell without job control starts background commands with SIGINT ignored, and this
    # process would inherit that: take Python's Ctrl-C handler back, as an interactive run has.
    signal.signal(signal.SIGINT, signal.default_int_handler)

    def objective(trial):
        x = trial.suggest_float("x", 0, 1)
        time.sleep(0.05)
        return x

    study = hyperknob.create_study(study_name="s", storage=sys.argv[1])
    print("ready", flush=True)
    study.optimize(objective, n_trials=10_000, n_jobs=int(sys.argv[2]))
    """
)


@pytest.mark.parametrize("n_jobs", [1, 2])
def test_ctrl_c_leaves_no_running_trial_and_keeps_completed_ones(
    tmp_path: Path, n_jobs: int, interrupt_when: Callable[..., str]
) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    script = tmp_path / "interrupted.py"
    script.write_text(INTERRUPTED)
    process = subprocess.Popen([sys.executable, str(script), url, str(n_jobs)],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "ready"

    def completed() -> int:
        study = hyperknob.load_study(study_name="s", storage=url)
        return len(study.get_trials(states=(TrialState.COMPLETE,)))

    # A loaded machine may take a while to finish six.
    err = interrupt_when(process, completed, 6, wait_s=60, poll_s=0.2)
    assert process.returncode != 0 and "KeyboardInterrupt" in err
    trials = hyperknob.load_study(study_name="s", storage=url).trials
    states = [t.state for t in trials]
    assert TrialState.RUNNING not in states
    assert states.count(TrialState.COMPLETE) >= 5
    interrupted = [t for t in trials if t.state is TrialState.FAIL]
    assert 1 <= len(interrupted) <= n_jobs
    assert all("KeyboardInterrupt" in t.system_attrs["fail_reason"] for t in interrupted), [
        t.system_attrs["fail_reason"] for t in interrupted]
    assert [t.number for t in trials] == list(range(len(trials)))


def test_a_worker_killed_mid_trial_is_replaced_and_its_trial_failed_and_retried(
        tmp_path: Path) -> None:
    policy = hyperknob.HeartbeatPolicy(interval=5.0, max_retries=1)
    study = hyperknob.create_study(storage=f"sqlite:///{tmp_path}/s.db", heartbeat=policy,
                                   sampler=hyperknob.samplers.RandomSampler(seed=0))
    flag = tmp_path / "killed"

    def objective(trial: hyperknob.Trial) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        if trial.number == 3 and not flag.exists():
            flag.write_text("once")
            os.kill(os.getpid(), signal.SIGKILL)  # this worker dies mid-trial
        return x

    study.optimize(objective, n_trials=8, n_jobs=2)
    trials = study.trials
    assert TrialState.RUNNING not in [t.state for t in trials]
    lost = [t for t in trials if t.state is TrialState.FAIL]
    assert [t.number for t in lost] == [3]
    assert lost[0].system_attrs["fail_reason"] == "lost: its worker process died (exit code -9)"
    retry = [t for t in trials if t.system_attrs.get("retried_from") == 3]
    assert len(retry) == 1 and retry[0].state is TrialState.COMPLETE
    assert retry[0].params == lost[0].params
    # The retry took the lost trial's place in the budget: 8 trials ran to completion.
    assert [t.state for t in trials].count(TrialState.COMPLETE) == 8


def _poll_budget(budget: object) -> None:
    while True:  # what a worker and the driver do all the time
        assert not budget.stop_requested  # type: ignore[attr-defined]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forks (Linux here)")
def test_a_stop_never_waits_on_a_process_killed_mid_call() -> None:
    """The shared stop survives a process SIGKILLed while reading it (a driver killed with
    kill -9): stopping afterwards returns at once, so a worker that stops on its way out
    still stores its trial as FAIL. (A multiprocessing Event takes a lock even to be read:
    killed holding it, it left every later stop blocked forever.)"""
    import multiprocessing
    import threading

    from hyperknob.execution._processes import SharedBudget

    ctx = multiprocessing.get_context("fork")
    budget = SharedBudget(ctx, n_trials=None)
    for _ in range(30):
        reader = ctx.Process(target=_poll_budget, args=(budget,))
        reader.start()
        time.sleep(0.02)
        os.kill(reader.pid, signal.SIGKILL)  # type: ignore[arg-type]
        reader.join()
        stopper = threading.Thread(target=lambda: budget.stop_requested, daemon=True)
        stopper.start()
        stopper.join(timeout=2.0)
        assert not stopper.is_alive(), "reading the stop waits on a lock a dead process holds"
    done = threading.Thread(target=budget.stop, daemon=True)
    done.start()
    done.join(timeout=2.0)
    assert not done.is_alive() and budget.stop_requested


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="forks (Linux here)")
def test_a_worker_interrupted_after_its_objective_returned_still_stores_fail(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A Ctrl-C between the objective's return and the write of its value (evaluate's last
    step) leaves no RUNNING trial behind: the worker stores it as FAIL on its way out."""
    from hyperknob.execution import _processes

    def interrupted(study: object, trial: hyperknob.Trial, func: Callable[..., float],
                    *args: object, **kwargs: object) -> object:
        func(trial)
        raise KeyboardInterrupt  # the objective returned; nothing was written

    monkeypatch.setattr(_processes, "evaluate", interrupted)  # the forked workers inherit it
    study = hyperknob.create_study(storage=f"sqlite:///{tmp_path}/s.db")
    with pytest.raises(KeyboardInterrupt):
        study.optimize(pid_objective, n_trials=4, n_jobs=2)
    states = [t.state for t in study.trials]
    assert states and TrialState.RUNNING not in states
    assert TrialState.FAIL in states
