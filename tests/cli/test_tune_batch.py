"""``hyperknob tune --batch``: K trials at a time from the command line."""

from __future__ import annotations

from pathlib import Path

import pytest

import hyperknob
from hyperknob import TrialState
from hyperknob.cli import main


def _tune(tmp_path: Path, *extra: str) -> list[str]:
    return ["tune", "iris", *extra, "--storage", f"sqlite:///{tmp_path}/hk.db",
            "--max-epochs", "10", "--output", str(tmp_path / "runs")]


def test_batch_k_stores_every_trial_with_curves_and_prunes_per_model(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_tune(tmp_path, "--trials", "12", "--batch", "6", "--strategy", "asha",
                      "--seed", "1")) == 0
    out = capsys.readouterr().out
    assert "Batch: 6 trials at a time (batch 6)." in out
    assert "Test accuracy of the final model" in out
    study = hyperknob.load_study(study_name="iris-mlp", storage=f"sqlite:///{tmp_path}/hk.db")
    trials = study.trials
    assert len(trials) == 12
    assert all(t.user_attrs["curves"]["val_metric"] for t in trials)
    assert any(t.state is TrialState.PRUNED and "rung" in t.system_attrs["prune_reason"]
               for t in trials)
    assert any(t.state is TrialState.COMPLETE for t in trials)
    assert (tmp_path / "runs" / "iris-mlp" / "best_model.pt").exists()


def test_batch_auto_prints_the_choice_and_why(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_tune(tmp_path, "--trials", "4", "--batch", "auto")) == 0
    out = capsys.readouterr().out
    assert "Batch: K = " in out and "K=1:" in out


@pytest.mark.parametrize("bad", ["0", "-3", "fast", "2.5"])
def test_bad_batch_is_a_usage_error_naming_the_value(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], bad: str
) -> None:
    assert main(_tune(tmp_path, "--trials", "2", "--batch", bad)) == 2
    assert f"expected 'auto' or an integer >= 1, got {bad!r}" in capsys.readouterr().err


def test_batch_with_jobs_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_tune(tmp_path, "--trials", "2", "--batch", "2", "--jobs", "2")) == 1
    assert "--batch 2 cannot be combined with --jobs > 1" in capsys.readouterr().err
    assert not (tmp_path / "hk.db").exists()  # refused before anything was stored


def test_batch_with_progressive_is_refused_before_stage_one_runs(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_tune(tmp_path, "--trials", "4", "--batch", "2", "--strategy",
                      "progressive")) == 1
    assert "cannot be combined with --strategy progressive" in capsys.readouterr().err
    assert not (tmp_path / "hk.db").exists()
