"""``hyperknob tune --ray``: the trials of a command-line study on a Ray cluster."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import hyperknob
from hyperknob import TrialState
from hyperknob.cli import main


def _tune(tmp_path: Path, *extra: str) -> list[str]:
    return ["tune", "iris", *extra, "--storage", f"sqlite:///{tmp_path}/hk.db",
            "--max-epochs", "10", "--output", str(tmp_path / "runs")]


@pytest.mark.parametrize(("extra", "message"), [
    (["--ray", "local", "--jobs", "2"], "--ray cannot be combined with --jobs > 1"),
    (["--ray", "local", "--batch", "4"], "--ray cannot be combined with --batch"),
    (["--trial-resources", "cpu=1"], "--trial-resources needs --ray ADDRESS"),
])
def test_option_clashes_are_refused_before_anything_is_stored(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str],
        message: str) -> None:
    assert main(_tune(tmp_path, "--trials", "2", *extra)) != 0
    assert message in capsys.readouterr().err
    assert not (tmp_path / "hk.db").exists()


@pytest.mark.parametrize("bad", ["cpu", "cpu=-1", "=1", "gpu=x"])
def test_trial_resources_must_be_name_amount_pairs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: str) -> None:
    assert main(_tune(tmp_path, "--ray", "local", "--trial-resources", bad)) == 2
    assert f"like cpu=1,gpu=0.25, got {bad!r}" in capsys.readouterr().err


@pytest.mark.ray
@pytest.mark.slow
def test_tune_on_a_local_ray_instance_stores_every_trial(tmp_path: Path) -> None:
    pytest.importorskip("ray")
    env = {**os.environ, "RAY_AUTH_MODE": "disabled"}
    done = subprocess.run(
        [sys.executable, "-m", "hyperknob.cli", *_tune(tmp_path, "--trials", "6", "--ray",
                                                        "local", "--seed", "2")],
        capture_output=True, text=True, env=env, timeout=240, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Ray: trials run on the cluster at 'local', each holding {'cpu': 1}." in done.stdout
    study = hyperknob.load_study(study_name="iris-mlp", storage=f"sqlite:///{tmp_path}/hk.db")
    trials = study.trials
    # the default strategy (ASHA) prunes on the cluster as in-process
    assert len(trials) == 6 and all(t.state in (TrialState.COMPLETE, TrialState.PRUNED)
                                    for t in trials)
    assert any(t.state is TrialState.COMPLETE for t in trials)
    assert all(t.system_attrs.get("ray_node") for t in trials)
    assert all(t.user_attrs["curves"]["val_metric"] for t in trials)
    assert (tmp_path / "runs" / "iris-mlp" / "best_model.pt").exists()
