"""``hyperknob tune``: the main job end to end, resume, files, errors, describe."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
import torch

import hyperknob
from hyperknob import TrialState
from hyperknob.cli import main


def _tune(tmp_path: Path, *extra: str) -> list[str]:
    return ["tune", *extra, "--storage", f"sqlite:///{tmp_path}/hk.db", "--max-epochs", "10",
            "--output", str(tmp_path / "runs")]


def test_tune_reports_best_network_and_writes_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_tune(tmp_path, "iris", "--trials", "5")) == 0
    out = capsys.readouterr().out
    assert "Dataset 'iris': classification, 4 features, 3 classes" in out
    assert "new study; 5 more trials" in out
    assert "Learned parameters (W, b" in out and "Hyperparameters (set before training" in out
    assert "Test accuracy of the final model" in out
    assert "retraining the chosen trial with its seed reproduces its validation accuracy" in out
    run = tmp_path / "runs" / "iris-mlp"
    record = json.loads((run / "best_config.json").read_text())
    study = hyperknob.load_study(study_name="iris-mlp", storage=f"sqlite:///{tmp_path}/hk.db")
    chosen = next(t for t in study.trials if t.number == record["trial"])
    assert record["best_validation_trial"] == study.best_trial.number
    assert record["validation_metric"] == pytest.approx(chosen.value)
    assert 0.0 <= record["test_metric"] <= 1.0
    assert record["n_parameters"] == chosen.user_attrs["n_parameters"]
    assert f"Learned parameters: {record['n_parameters']:,}" in out
    baseline = record["rule_of_thumb"]
    tuned = record["test_metric"]
    assert f"Rule of thumb {baseline['test_metric']:.4f} -> tuned {tuned:.4f}" in out
    assert study.user_attrs["tuned"]["test"] == pytest.approx(record["test_metric"])
    saved = torch.load(run / "best_model.pt")
    config = hyperknob.nn.MLPConfig.from_dict(saved["hyperparameters"])
    model = hyperknob.nn.build_mlp(config, saved["n_features"], saved["n_outputs"])
    model.load_state_dict(saved["state_dict"])
    data = hyperknob.nn.load_dataset("iris", seed=0)
    assert hyperknob.nn.evaluate(model, data, "test") == pytest.approx(record["test_metric"])
    lines = (run / "trials.csv").read_text().strip().splitlines()
    assert lines[0].startswith("number,value,state") and len(lines) == 1 + 5


def test_tune_resumes_to_the_total_and_refuses_other_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_tune(tmp_path, "iris", "--trials", "3")) == 0
    assert main(_tune(tmp_path, "iris", "--trials", "6")) == 0
    out = capsys.readouterr().out
    assert "resuming with 3 finished trials; 3 more trials" in out
    study = hyperknob.load_study(study_name="iris-mlp", storage=f"sqlite:///{tmp_path}/hk.db")
    assert [t.number for t in study.trials] == list(range(6))
    assert main(_tune(tmp_path, "wine", "--study", "iris-mlp", "--trials", "1")) == 1
    assert "was tuned on" in capsys.readouterr().err


def test_tune_with_a_config_file_and_a_csv(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    x = rng.normal(size=(150, 2))
    pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "label": np.where(x.sum(1) > 0, "yes", "no")}
                 ).to_csv(tmp_path / "data.csv", index=False)
    (tmp_path / "space.toml").write_text('[space]\noptimizer = "adam"\nn_layers = 1\n')
    args = _tune(tmp_path, str(tmp_path / "data.csv"), "--target", "label", "--trials", "3",
                 "--config", str(tmp_path / "space.toml"))
    assert main(args) == 0
    study = hyperknob.load_study(study_name="data-mlp", storage=f"sqlite:///{tmp_path}/hk.db")
    for trial in study.trials:
        assert trial.user_attrs["config"]["optimizer"] == "adam"
        assert len(trial.user_attrs["config"]["hidden_layers"]) == 1
    assert main(_tune(tmp_path, str(tmp_path / "data.csv"), "--target", "nope")) == 1
    assert "nope" in capsys.readouterr().err


def test_describe_shows_a_trials_network(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_tune(tmp_path, "iris", "--trials", "2")) == 0
    capsys.readouterr()
    storage = ["--storage", f"sqlite:///{tmp_path}/hk.db"]
    assert main(["describe", "iris-mlp", "--trial", "1", *storage]) == 0
    out = capsys.readouterr().out
    study = hyperknob.load_study(study_name="iris-mlp", storage=f"sqlite:///{tmp_path}/hk.db")
    width = study.trials[1].user_attrs["config"]["hidden_layers"][0]
    assert f"{width} x 4" in out and "trial #1" in out
    assert main(["describe", "iris-mlp", "--trial", "9", *storage]) == 1


# `python -m hyperknob.cli`, after taking Python's Ctrl-C handler back: a shell without job
# control starts background commands with SIGINT ignored, and the child would inherit that.
INTERRUPTIBLE_CLI = ("import runpy, signal; "
                     "signal.signal(signal.SIGINT, signal.default_int_handler); "
                     "runpy.run_module('hyperknob.cli', run_name='__main__')")
TUNE_FOREVER = [sys.executable, "-c", INTERRUPTIBLE_CLI, "tune", "digits", "--trials", "400",
                "--max-epochs", "10"]


@pytest.mark.slow
def test_ctrl_c_then_the_same_command_resumes_with_nothing_lost(
    tmp_path: Path, interrupt_when: Callable[..., str]
) -> None:
    command = [*TUNE_FOREVER, "--storage", f"sqlite:///{tmp_path}/hk.db",
               "--output", str(tmp_path / "runs")]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, cwd=tmp_path)
    url = f"sqlite:///{tmp_path}/hk.db"

    def completed() -> int:
        study = hyperknob.load_study(study_name="digits-mlp", storage=url)
        return len(study.get_trials(states=(TrialState.COMPLETE,)))

    err = interrupt_when(process, completed, 3, wait_s=120, poll_s=0.5)
    assert process.returncode == 130
    assert "run the same command again to resume" in err
    before = hyperknob.load_study(study_name="digits-mlp", storage=url).trials
    kept = {t.number: t.value for t in before if t.state is TrialState.COMPLETE}
    assert TrialState.RUNNING not in {t.state for t in before}
    finished = sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in before)
    target = finished + 2
    resumed = subprocess.run([*command[:6], str(target), *command[7:]], capture_output=True,
                             text=True, cwd=tmp_path, timeout=300, check=False)
    assert resumed.returncode == 0, resumed.stderr
    assert f"resuming with {finished} finished trials; 2 more trials" in resumed.stdout
    after = hyperknob.load_study(study_name="digits-mlp", storage=url).trials
    assert {t.number: t.value for t in after if t.number in kept} == kept
    assert sum(t.state in (TrialState.COMPLETE, TrialState.PRUNED) for t in after) == target
    assert [t.number for t in after] == list(range(len(after)))


@pytest.mark.parametrize("sampler", ["qmc", "tpe", "gp", "auto"])
def test_tune_with_each_sampler(tmp_path: Path, sampler: str,
                                capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_tune(tmp_path, "iris", "--trials", "3", "--sampler", sampler, "--seed", "1",
                      "--study", f"s-{sampler}")) == 0
    out = capsys.readouterr().out  # the default strategy stays when only --sampler is given
    assert f"Search: {sampler} sampler; asynchronous successive halving" in out
    study = hyperknob.load_study(study_name=f"s-{sampler}", storage=f"sqlite:///{tmp_path}/hk.db")
    assert len(study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))) == 3


@pytest.mark.parametrize("strategy", ["median", "asha", "hyperband", "bohb"])
def test_tune_with_each_pruning_strategy(tmp_path: Path, strategy: str,
                                         capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_tune(tmp_path, "iris", "--trials", "12", "--strategy", strategy, "--seed",
                      "2")) == 0
    out = capsys.readouterr().out
    assert "Search: " in out
    study = hyperknob.load_study(study_name="iris-mlp", storage=f"sqlite:///{tmp_path}/hk.db")
    finished = study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))
    assert len(finished) == 12
    for trial in study.get_trials(states=(TrialState.PRUNED,)):
        assert trial.system_attrs["prune_reason"]
        assert trial.system_attrs["pruned_at_step"] == max(trial.intermediate_values)
        assert len(trial.user_attrs["curves"]["val_metric"]) == len(trial.intermediate_values)


def test_tune_strategy_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_tune(tmp_path, "iris", "--trials", "4", "--strategy", "bohb", "--sampler",
                      "random")) == 1
    assert "drop --sampler" in capsys.readouterr().err
    assert main(["tune", "iris", "--timeout", "5", "--strategy", "progressive", "--storage",
                 f"sqlite:///{tmp_path}/hk.db"]) == 1
    assert "use --trials N" in capsys.readouterr().err


def test_tune_progressive_runs_a_simplified_stage_then_the_full_problem(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(_tune(tmp_path, "wine", "--trials", "10", "--strategy", "progressive")) == 0
    out = capsys.readouterr().out
    assert "Stage 1/2, simplified problem (study 'wine-mlp.simplified')" in out
    assert "Stage 2/2, full problem" in out and "priors at " in out
    storage = f"sqlite:///{tmp_path}/hk.db"
    first = hyperknob.load_study(study_name="wine-mlp.simplified", storage=storage)
    full = hyperknob.load_study(study_name="wine-mlp", storage=storage)
    assert first.user_attrs["dataset"]["n_classes"] == 2  # the more frequent half of 3
    assert first.user_attrs["dataset"]["n_train"] < 0.4 * full.user_attrs["dataset"]["n_train"]
    finished = (TrialState.COMPLETE, TrialState.PRUNED)
    assert len(first.get_trials(states=finished)) == 5
    assert len(full.get_trials(states=finished)) == 5
    best_first = first.best_trial
    seeded = full.trials[0]
    assert seeded.user_attrs["source"] == "earlier stage"
    assert seeded.params == best_first.params
    assert all(t.user_attrs.get("source") != "rule of thumb" for t in full.trials)
    # Resuming runs nothing more in either stage.
    assert main(_tune(tmp_path, "wine", "--trials", "10", "--strategy", "progressive")) == 0
    assert len(hyperknob.load_study(study_name="wine-mlp", storage=storage).trials) == len(
        full.trials)


def test_tune_prints_and_saves_an_ensemble(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_tune(tmp_path, "iris", "--trials", "4", "--strategy", "none",
                      "--ensemble", "3")) == 0
    out = capsys.readouterr().out
    record = json.loads((tmp_path / "runs" / "iris-mlp" / "best_config.json").read_text())
    assert "Network 1 of 3 (trial #" in out and "(all 3 networks)" in out
    assert f"Learned parameters: {record['n_parameters']:,} (all 3 networks)" in out
    saved = torch.load(tmp_path / "runs" / "iris-mlp" / "best_model.pt")
    assert len(saved["members"]) == 3 == len(record["members"])
