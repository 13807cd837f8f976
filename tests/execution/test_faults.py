"""Faults on a SQLite file: many writers, a writer killed mid-write, a write that finds no room.
Each leaves a database that passes SQLite's integrity check and keeps every finished trial."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import hyperknob
from hyperknob import TrialState

WRITER = textwrap.dedent(
    """
    import sys
    import hyperknob

    study = hyperknob.create_study(study_name="s", storage=sys.argv[1], load_if_exists=True,
                                   sampler=hyperknob.samplers.RandomSampler())
    def objective(trial):
        x = trial.suggest_float("x", -5, 5)
        for key in range(int(sys.argv[3])):
            trial.set_user_attr(f"k{key}", "v" * 200)
        return x * x

    print("writing", flush=True)
    study.optimize(objective, n_trials=int(sys.argv[2]))
    """
)


def integrity(path: Path) -> str:
    with sqlite3.connect(path) as conn:
        return str(conn.execute("PRAGMA integrity_check").fetchone()[0])


@pytest.mark.slow
def test_eight_processes_times_a_hundred_trials_on_one_sqlite_file(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/shared.db"
    hyperknob.create_study(study_name="s", storage=url)
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    workers = [subprocess.Popen([sys.executable, str(script), url, "100", "0"],
                                stdout=subprocess.DEVNULL) for _ in range(8)]
    assert [w.wait(timeout=600) for w in workers] == [0] * 8
    trials = hyperknob.load_study(study_name="s", storage=url).trials
    assert len(trials) == 800
    assert [t.number for t in trials] == list(range(800))
    assert all(t.state is TrialState.COMPLETE for t in trials)
    assert integrity(tmp_path / "shared.db") == "ok"


def test_a_writer_killed_mid_write_leaves_an_intact_database(tmp_path: Path) -> None:
    path = tmp_path / "k.db"
    url = f"sqlite:///{path}"
    script = tmp_path / "writer.py"
    script.write_text(WRITER)
    process = subprocess.Popen([sys.executable, str(script), url, "100000", "50"],
                               stdout=subprocess.PIPE, text=True)
    assert process.stdout is not None and process.stdout.readline().strip() == "writing"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:  # let it write for a while: attrs, params, values
        time.sleep(0.2)
        try:
            if len(hyperknob.load_study(study_name="s", storage=url).trials) >= 5:
                break
        except hyperknob.HyperknobError:
            continue
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)
    assert integrity(path) == "ok"
    study = hyperknob.load_study(study_name="s", storage=url)
    trials = study.trials
    assert [t.number for t in trials] == list(range(len(trials)))
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    assert complete and all(len(t.user_attrs) == 50 for t in complete)  # whole or absent
    assert [t.state for t in trials].count(TrialState.RUNNING) <= 1
    study.optimize(lambda t: t.suggest_float("x", 0.0, 1.0), n_trials=2)  # still usable
    assert len(study.trials) == len(trials) + 2


FULL = textwrap.dedent(
    """
    import os, resource, signal, sys
    import hyperknob

    url = "sqlite:///" + sys.argv[1]
    study = hyperknob.create_study(study_name="s", storage=url,
                                   sampler=hyperknob.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=5)
    limit = os.path.getsize(sys.argv[1]) + 4096
    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a failed write, not a killed process
    resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    def big(trial):
        trial.set_user_attr("blob", "x" * 200_000)
        return trial.suggest_float("x", 0, 1)

    try:
        study.optimize(big, n_trials=5)
    except hyperknob.StorageError as error:
        print(error)
    """
)


def test_a_full_disk_gives_a_clear_error_and_keeps_what_was_stored(tmp_path: Path) -> None:
    path = tmp_path / "full.db"
    script = tmp_path / "full.py"
    script.write_text(FULL)
    done = subprocess.run([sys.executable, str(script), str(path)], capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert str(path) in done.stdout
    assert "disk" in done.stdout and "intact" in done.stdout
    assert integrity(path) == "ok"
    trials = hyperknob.load_study(study_name="s", storage=f"sqlite:///{path}").trials
    assert [t.state for t in trials][:5] == [TrialState.COMPLETE] * 5
