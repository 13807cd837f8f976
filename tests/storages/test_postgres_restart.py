"""A PostgreSQL server restarted in the middle of a study: the workers reconnect with back-off
and the study completes with every trial. Runs its own throwaway server (scripts/postgres.sh
on a port of its own), so the shared test server is never touched."""

from __future__ import annotations

import os
import shutil
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

import hyperknob
from hyperknob import TrialState

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "postgres.sh"
PORT = "55477"


def _server(action: str, data: Path) -> str:
    env = {**os.environ, "HYPERKNOB_PG_PORT": PORT, "HYPERKNOB_PG_DIR": str(data)}
    done = subprocess.run(["bash", str(SCRIPT), action], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def server() -> Iterator[tuple[str, Path]]:
    if not any(Path(d).exists() for d in ("/usr/lib/postgresql",)) or os.geteuid() != 0:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but PostgreSQL binaries (as root) are missing")
        pytest.skip("needs the PostgreSQL binaries and root (scripts/postgres.sh)")
    # Not under pytest's tmp: its parents are private to root, and the server runs as postgres.
    data = Path(f"/tmp/hyperknob-pg-restart-{uuid.uuid4().hex[:8]}")
    url = _server("start", data)
    try:
        yield url, data
    finally:
        _server("stop", data)
        shutil.rmtree(data, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.postgres
def test_a_restarted_server_costs_no_trial(server: tuple[str, Path]) -> None:
    url, data = server
    study = hyperknob.create_study(study_name="r", storage=url,
                                   sampler=hyperknob.samplers.RandomSampler(seed=0))
    errors: list[BaseException] = []

    def run() -> None:
        try:
            study.optimize(lambda t: (time.sleep(0.02), t.suggest_float("x", 0, 1))[1],
                           n_trials=150)
        except BaseException as error:
            errors.append(error)

    worker = threading.Thread(target=run)
    worker.start()
    deadline = time.monotonic() + 60
    while len(study.trials) < 30 and time.monotonic() < deadline:
        time.sleep(0.1)
    _server("stop", data)  # the server goes away mid-study ...
    time.sleep(1.0)
    _server("start", data)  # ... and comes back
    worker.join(timeout=120)
    assert not worker.is_alive() and errors == []
    trials = hyperknob.load_study(study_name="r", storage=url).trials
    assert [t.number for t in trials] == list(range(len(trials)))
    complete = [t for t in trials if t.state is TrialState.COMPLETE]
    assert len(complete) >= 149  # at most the trial in flight at the stop failed
    assert len(trials) == 150
