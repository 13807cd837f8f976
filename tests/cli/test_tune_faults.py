"""Fault injection: what users do to ``hyperknob tune`` and what survives it.

Run alone with ``.venv/bin/python -m pytest tests/cli/test_tune_faults.py``. Each test reproduces
one fault a user causes -- a kill by PID, two runs on one SQLite file, no seed, odd input --
and checks what the next run (or the same one) makes of it. README "When things go wrong"
has the table of faults and what survives.
"""

from __future__ import annotations

import http.client
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

import hyperknob
from hyperknob import TrialState
from hyperknob.cli import main
from hyperknob.exceptions import InvalidArgumentError
from hyperknob.nn import load_dataset
from hyperknob.trial import FrozenTrial

FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


def _url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path}/hk.db"


def _args(tmp_path: Path, *extra: str) -> list[str]:
    return ["tune", *extra, "--storage", _url(tmp_path), "--output", str(tmp_path / "runs")]


def _start(tmp_path: Path, *extra: str) -> subprocess.Popen[str]:
    """Start ``hyperknob tune`` in its own process (a new session: signals reach it alone)."""
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "hyperknob.cli", *_args(tmp_path, *extra)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env=env, cwd=tmp_path, start_new_session=True)


def _trials(tmp_path: Path, study: str) -> list[FrozenTrial]:
    try:
        return hyperknob.load_study(study_name=study, storage=_url(tmp_path)).trials
    except (hyperknob.StudyNotFoundError, hyperknob.StorageError):
        return []


def _wait_for(condition: Callable[[], bool], process: subprocess.Popen[str] | None = None,
              wait_s: float = 120.0) -> None:
    deadline = time.monotonic() + wait_s
    while time.monotonic() < deadline:
        if condition():
            return
        if process is not None and process.poll() is not None:
            _, err = process.communicate()
            raise AssertionError(f"the run ended before the fault could be injected: {err}")
        time.sleep(0.2)
    raise AssertionError(f"not reached in {wait_s} s")


def _running(tmp_path: Path, study: str, at_least: int = 1, number: int = 0) -> bool:
    """Return whether ``at_least`` trials numbered ``number`` or more run (and beat: their
    process is noted)."""
    running = [t for t in _trials(tmp_path, study) if t.state is TrialState.RUNNING
               and t.number >= number and "worker" in t.system_attrs]
    return len(running) >= at_least


def _end(process: subprocess.Popen[str]) -> tuple[str, str]:
    try:
        return process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def _signal_mid_trial(tmp_path: Path, signum: int,
                      left: Callable[[list[FrozenTrial]], bool],
                      ) -> tuple[Path, subprocess.Popen[str], str]:
    """Start a digits run, send ``signum`` while its second trial trains, and return its
    folder, process and stderr once ``left`` holds for the trials it left. A trial that ends
    between the look and the signal (a loaded machine) makes it try again, three times."""
    for attempt in range(3):
        folder = tmp_path / f"attempt-{attempt}"
        folder.mkdir()
        process = _start(folder, "digits", "--trials", "4", "--strategy", "none")
        _wait_for(lambda: _running(folder, "digits-mlp", number=1), process)  # noqa: B023
        process.send_signal(signum)
        _, err = _end(process)
        if left(_trials(folder, "digits-mlp")):
            return folder, process, err
    raise AssertionError("the signal never landed while a trial trained")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except (OSError, IndexError):
        return True
    return state not in ("Z", "X")


# -- no seed ---------------------------------------------------------------------------------

def test_tune_without_seed_repeats_itself(tmp_path: Path) -> None:
    """The help says the seed defaults to 0: two runs without --seed make the same trials."""
    runs = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        assert main(_args(folder, "iris", "--trials", "4", "--max-epochs", "10")) == 0
        runs.append([(t.number, t.state, t.values, t.params) for t in _trials(folder,
                                                                               "iris-mlp")])
    assert len(runs[0]) == 4 and runs[0] == runs[1]


# -- kills -----------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"),
                    reason="elsewhere a killed run's trial waits for the heartbeat's grace")
def test_a_trial_killed_with_sigkill_is_reaped_and_run_again_by_the_next_run(
        tmp_path: Path) -> None:
    def running(trials: list[FrozenTrial]) -> bool:
        return [t.state for t in trials].count(TrialState.RUNNING) == 1

    # What a kill -9 leaves: a trial RUNNING for ever, until ...
    tmp_path, process, _ = _signal_mid_trial(tmp_path, signal.SIGKILL, running)
    killed = [t for t in _trials(tmp_path, "digits-mlp") if t.state is TrialState.RUNNING]

    again = _start(tmp_path, "digits", "--trials", "4", "--strategy", "none")
    out, err = _end(again)
    assert again.returncode == 0, err
    assert "Recovered 1 trial(s) of a killed run" in out
    trials = _trials(tmp_path, "digits-mlp")
    states = [t.state for t in trials]
    assert TrialState.RUNNING not in states
    assert sum(state in FINISHED for state in states) == 4  # --trials is the total
    lost = next(t for t in trials if t.number == killed[0].number)
    assert lost.state is TrialState.FAIL
    assert f"its process {process.pid}" in lost.system_attrs["fail_reason"]
    retry = [t for t in trials if t.system_attrs.get("retried_from") == lost.number]
    assert len(retry) == 1 and retry[0].state in FINISHED
    assert retry[0].params == lost.params


@pytest.mark.slow
def test_sigterm_stops_like_ctrl_c_and_the_next_run_runs_the_trial_again(
        tmp_path: Path) -> None:
    def stopped_one(trials: list[FrozenTrial]) -> bool:
        return [t.state for t in trials].count(TrialState.FAIL) == 1

    # SIGTERM is what `kill PID` and batch schedulers send
    tmp_path, process, err = _signal_mid_trial(tmp_path, signal.SIGTERM, stopped_one)
    assert process.returncode == 143, err
    assert "terminated (SIGTERM); finished trials are saved" in err
    assert "Traceback" not in err
    trials = _trials(tmp_path, "digits-mlp")
    assert TrialState.RUNNING not in [t.state for t in trials]
    stopped = [t for t in trials if t.state is TrialState.FAIL]
    assert len(stopped) == 1 and "KeyboardInterrupt" in stopped[0].system_attrs["fail_reason"]

    again = _start(tmp_path, "digits", "--trials", "4", "--strategy", "none")
    out, err = _end(again)
    assert again.returncode == 0, err
    assert f"Trial(s) #{stopped[0].number} were interrupted" in out
    trials = _trials(tmp_path, "digits-mlp")
    assert sum(t.state in FINISHED for t in trials) == 4
    retry = [t for t in trials if t.system_attrs.get("retried_from") == stopped[0].number]
    assert len(retry) == 1 and retry[0].params == stopped[0].params


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="--jobs forks (Linux here)")
def test_worker_processes_die_with_their_parent(tmp_path: Path) -> None:
    process = _start(tmp_path, "digits", "--trials", "12", "--jobs", "2", "--strategy", "none")
    _wait_for(lambda: _running(tmp_path, "digits-mlp", at_least=2), process)
    workers = {int(t.system_attrs["worker"]["pid"]) for t in _trials(tmp_path, "digits-mlp")
               if t.state is TrialState.RUNNING}
    assert process.pid not in workers and len(workers) == 2
    os.kill(process.pid, signal.SIGKILL)
    process.wait()
    _wait_for(lambda: not any(_alive(pid) for pid in workers), wait_s=30)
    # The workers stopped as on Ctrl-C: their trials are FAIL, not RUNNING, and no more start.
    time.sleep(1.0)
    trials = _trials(tmp_path, "digits-mlp")
    assert TrialState.RUNNING not in [t.state for t in trials]
    assert sum(t.state in FINISHED for t in trials) < 12
    time.sleep(2.0)
    assert len(_trials(tmp_path, "digits-mlp")) == len(trials)


# -- two runs on one study -------------------------------------------------------------------

@pytest.mark.slow
def test_two_concurrent_runs_end_with_the_total_and_queue_the_rule_of_thumb_once(
        tmp_path: Path) -> None:
    runs = [_start(tmp_path, "iris", "--trials", "16", "--strategy", "none", "--max-epochs",
                   "30") for _ in range(2)]
    outs = []
    for run in runs:
        out, err = _end(run)
        assert run.returncode == 0, err
        outs.append(out)
    trials = _trials(tmp_path, "iris-mlp")
    assert sum(t.state in FINISHED for t in trials) == 16
    assert TrialState.RUNNING not in [t.state for t in trials]
    ruled = [t for t in trials if t.user_attrs.get("source") == "rule of thumb"
             and t.state in FINISHED]
    queued = hyperknob.nn.default_space(4, 105).rule_of_thumb_params()
    assert len(ruled) == len(queued)  # queued once, not once per run
    assert sorted(map(repr, (t.params for t in ruled))) == sorted(
        {repr(t.params) for t in ruled})
    ran = [int(line.split()[1]) for out in outs for line in out.splitlines()
           if line.startswith("Ran ")]
    assert sum(ran) == 16, outs  # each run counts its own trials
    assert len(ran) == 2 and min(ran) > 0, outs  # and the two did run side by side


# -- input checked before anything is written ------------------------------------------------

@pytest.mark.parametrize(("extra", "message"), [
    pytest.param(("--device", "mps"), "MPS (Apple's GPU) is not available here",
                 marks=pytest.mark.skipif(sys.platform == "darwin", reason="MPS may be here")),
    (("--study", "../x"), "it is a path, not a name"),
    (("--study", "a" * 300), "it is 300 bytes long, over the 200"),
    (("--study", "a\nb"), "control character"),
])
def test_a_bad_option_is_refused_before_anything_is_written(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: tuple[str, ...],
        message: str) -> None:
    assert main(_args(tmp_path, "iris", "--trials", "2", *extra)) == 1
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (tmp_path / "hk.db").exists()
    assert not (tmp_path / "runs").exists() and not (tmp_path / "x").exists()


def test_an_output_folder_that_cannot_be_made_is_refused_before_training(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "afile").write_text("not a folder")
    argv = ["tune", "iris", "--trials", "1", "--storage", _url(tmp_path), "--output",
            str(tmp_path / "afile")]
    assert main(argv) == 1
    assert "afile' is a file; expected a folder" in capsys.readouterr().err
    assert not (tmp_path / "hk.db").exists()


def test_a_zero_timeout_is_a_usage_error(tmp_path: Path,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_args(tmp_path, "iris", "--timeout", "0")) == 2
    assert "expected a number of seconds > 0, got '0'" in capsys.readouterr().err
    assert not (tmp_path / "hk.db").exists()


def test_a_text_timeout_in_python_names_the_argument() -> None:
    with pytest.raises(InvalidArgumentError, match="timeout must be a number of seconds > 0"):
        hyperknob.nn.tune("iris", timeout="10", log=None, progress=False)  # type: ignore[arg-type]


def test_a_semicolon_separated_csv_is_read_by_its_delimiter(tmp_path: Path) -> None:
    rows = ["a;b;y"] + [f"{i};{i % 7};{i % 2}" for i in range(40)]
    (tmp_path / "semi.csv").write_text("\n".join(rows) + "\n")
    data = load_dataset(str(tmp_path / "semi.csv"), target="y")
    assert data.feature_names == ("a", "b") and data.n_classes == 2
    rows = ["a;b;y"] + [f"{i},5;{i % 7};{i % 2}" for i in range(40)]  # decimal commas
    (tmp_path / "comma.csv").write_text("\n".join(rows) + "\n")
    data = load_dataset(str(tmp_path / "comma.csv"), target="y")
    assert data.feature_names == ("a", "b")  # a is a number (one feature), not 40 categories
    (tmp_path / "space.csv").write_text("a b y\n1 2 0\n3 4 1\n")
    with pytest.raises(ValueError, match="it was read as one column: is the file separated"):
        load_dataset(str(tmp_path / "space.csv"), target="y")


def test_task_overrides_what_an_integer_target_is(tmp_path: Path) -> None:
    rng = np.random.default_rng(0)
    lines = ["x,y"] + [f"{rng.normal():.4f},{i % 200}" for i in range(2000)]
    path = tmp_path / "ints.csv"
    path.write_text("\n".join(lines) + "\n")
    assert load_dataset(str(path), target="y").task.value == "regression"  # inferred
    classes = load_dataset(str(path), target="y", task="classification")
    assert classes.n_classes == 200 and classes.class_names[:3] == ("0", "1", "2")
    assert load_dataset(str(path), target="y", task="regression").n_classes is None
    with pytest.raises(ValueError, match="task must be 'classification', 'regression' or"):
        load_dataset(str(path), target="y", task="ranking")
    with pytest.raises(ValueError, match="built-in dataset 'iris' is a classification task"):
        load_dataset("iris", task="regression")
    (tmp_path / "text.csv").write_text("x,y\n1,a\n2,b\n3,a\n")
    with pytest.raises(ValueError, match=r"holds text .* task 'regression' needs numbers"):
        load_dataset(str(tmp_path / "text.csv"), target="y", task="regression")


def test_the_cli_takes_a_task(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = ["x,y"] + [f"{i / 10:.1f},{i % 30}" for i in range(300)]
    (tmp_path / "ints.csv").write_text("\n".join(lines) + "\n")
    assert main(_args(tmp_path, str(tmp_path / "ints.csv"), "--target", "y", "--task",
                      "classification", "--trials", "1", "--max-epochs", "10")) == 0
    assert "classification, 1 features, 30 classes" in capsys.readouterr().out


# -- the dashboard on loopback ---------------------------------------------------------------

def test_the_loopback_dashboard_refuses_a_foreign_host_header(tmp_path: Path) -> None:
    from hyperknob.dashboard._server import make_server

    hyperknob.create_study(study_name="s", storage=_url(tmp_path))
    import threading

    from hyperknob.storages import get_storage

    server, _, token = make_server(get_storage(_url(tmp_path)), "127.0.0.1", 0)
    assert token is None
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        def status(host: str) -> tuple[int, bytes]:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", "/api/studies", headers={"Host": host})
            response = connection.getresponse()
            return response.status, response.read()

        code, body = status("attacker.example:8080")  # DNS rebinding: a page's own domain
        assert code == 403 and b"'attacker.example:8080' is not this machine" in body
        for host in (f"127.0.0.1:{port}", f"localhost:{port}", "localhost", f"[::1]:{port}"):
            assert status(host)[0] == 200, host
    finally:
        server.shutdown()
        server.server_close()
