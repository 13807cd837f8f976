"""``hyperknob tune --objectives`` (the Pareto front) and ``--max-params`` (a budget)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

import hyperknob
from hyperknob import TrialState
from hyperknob.cli import main


def _tune(tmp_path: Path, *extra: str) -> list[str]:
    return ["tune", "iris", *extra, "--storage", f"sqlite:///{tmp_path}/hk.db", "--max-epochs",
            "10", "--output", str(tmp_path / "runs")]


def test_objectives_print_and_save_the_front(tmp_path: Path,
                                             capsys: pytest.CaptureFixture[str]) -> None:
    assert main(_tune(tmp_path, "--trials", "8", "--objectives", "accuracy,params")) == 0
    out = capsys.readouterr().out
    assert "Objectives: accuracy (maximize), params (minimize)" in out
    assert "no pruning" in out and "Pareto front (" in out
    study = hyperknob.load_study(study_name="iris-mlp", storage=f"sqlite:///{tmp_path}/hk.db")
    for trial in study.best_trials:
        assert f"  #{trial.number:<5} " in out
    run = tmp_path / "runs" / "iris-mlp"
    record = json.loads((run / "best_config.json").read_text())
    assert record["objectives"] == ["accuracy", "params"]
    assert sorted(record["pareto_front"]) == [t.number for t in study.best_trials]
    with (run / "trials.csv").open() as handle:
        header = next(csv.reader(handle))
    assert header[:3] == ["number", "values_accuracy", "values_params"]
    assert "Pareto front" in (run / "report.html").read_text()
    assert main(["best", "iris-mlp", "--storage", f"sqlite:///{tmp_path}/hk.db"]) == 0
    best = capsys.readouterr().out
    assert "values_accuracy" in best and "values_params" in best
    assert main(["studies", "--storage", f"sqlite:///{tmp_path}/hk.db"]) == 0
    assert "maximize,minimize" in capsys.readouterr().out


def test_max_params_is_kept_by_every_trained_network(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]
                                                     ) -> None:
    assert main(_tune(tmp_path, "--trials", "10", "--max-params", "150")) == 0
    out = capsys.readouterr().out
    assert "Budget: at most 150 learned parameters" in out
    study = hyperknob.load_study(study_name="iris-mlp", storage=f"sqlite:///{tmp_path}/hk.db")
    for trial in study.get_trials(states=(TrialState.COMPLETE,)):
        assert trial.user_attrs["n_parameters"] <= 150
    record = json.loads((tmp_path / "runs" / "iris-mlp" / "best_config.json").read_text())
    assert record["n_parameters"] <= 150 and record["max_params"] == 150


@pytest.mark.parametrize(("extra", "message"), [
    (("--objectives", "accuracy,latency"), "argument --objectives"),
    (("--objectives", "rmse,params"), "must start with the validation metric"),
    (("--max-params", "0"), "--max-params"),
    (("--objectives", "accuracy,params", "--strategy", "progressive"),
     "ranks trials by one value"),
])
def test_bad_options_are_named_and_store_nothing(tmp_path: Path, extra: tuple[str, ...],
                                                 message: str,
                                                 capsys: pytest.CaptureFixture[str]) -> None:
    try:
        code = main(_tune(tmp_path, "--trials", "3", *extra))
    except SystemExit as exit_:  # argparse's own errors
        code = int(exit_.code or 0)
    assert code in (1, 2)
    assert message in capsys.readouterr().err
    if (tmp_path / "hk.db").exists():
        assert hyperknob.get_all_study_names(f"sqlite:///{tmp_path}/hk.db") == []
