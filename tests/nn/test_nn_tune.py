"""``nn.tune``: the main job as a function -- its record, resume, model selection, errors."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest
import torch

import hyperknob
from hyperknob import TrialState, nn
from hyperknob.cli import _tune as cli_tune
from hyperknob.nn import _tune

QUIET: dict[str, Any] = {"log": None, "progress": False, "max_epochs": 10}


def test_tune_returns_a_consistent_record() -> None:
    result = nn.tune("iris", trials=6, **QUIET)
    study = result.study
    finished = study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED))
    assert result.total_trials == result.n_trials == len(finished) == 6
    assert result.best_trial.number == study.best_trial.number
    chosen = next(t for t in study.trials if t.number == result.chosen[0])
    assert result.validation == pytest.approx(chosen.value)
    # the final model's test metric is the one reported, read from the model itself
    assert nn.evaluate(result.model, result.dataset, "test") == pytest.approx(result.test)
    assert result.baseline is not None
    ruled = study.trials[result.baseline.trial_number]
    assert ruled.user_attrs["source"] == "rule of thumb"
    assert result.gain == pytest.approx(result.test - result.baseline.test)
    spent = sum(t.user_attrs["epochs_run"] for t in study.trials)
    assert result.epochs > spent  # model selection trained too
    assert study.user_attrs["tuned"]["test"] == pytest.approx(result.test)
    assert study.user_attrs["tuned"]["rule_of_thumb_test"] == pytest.approx(
        result.baseline.test)
    assert result.output_dir is None and result.report is None
    assert result.metric == "accuracy" and result.direction == "maximize"
    with pytest.raises(dataclasses_frozen()):
        result.test = 0.0  # type: ignore[misc]


def dataclasses_frozen() -> type[Exception]:
    import dataclasses

    return dataclasses.FrozenInstanceError


def test_validation_selection_keeps_the_best_trials_own_network() -> None:
    result = nn.tune("wine", trials=5, select="validation", refit="train", ensemble=1,
                     seed=3, **QUIET)
    assert result.chosen == (result.best_trial.number,)
    assert result.reproduced  # CPU training is deterministic under the seed
    own = nn.train(nn.MLPConfig.from_dict(result.best_trial.user_attrs["config"]),
                   result.dataset, seed=3, log=lambda _: None)
    assert nn.evaluate(own.model, result.dataset, "test") == pytest.approx(result.test)
    assert result.selection == "the best trial by validation"


def test_an_ensemble_averages_the_top_configurations_and_is_saved(tmp_path: Path) -> None:
    result = nn.tune("iris", trials=6, strategy="none", select="validation", refit="train",
                     ensemble=3, output=tmp_path, report=False, **QUIET)
    assert isinstance(result.model, nn.Ensemble) and len(result.model.members) == 3
    assert len(result.chosen) == 3 == len(set(result.chosen))
    assert "ensemble of 3" in result.selection
    values = [result.study.trials[n].value for n in result.chosen]
    assert values == sorted(values, reverse=True)  # the best three, best first
    saved = torch.load(tmp_path / "iris-mlp" / "best_model.pt")
    members = [nn.build_mlp(nn.MLPConfig.from_dict(m["hyperparameters"]), saved["n_features"],
                            saved["n_outputs"]) for m in saved["members"]]
    for model, member in zip(members, saved["members"], strict=True):
        model.load_state_dict(member["state_dict"])
    again = nn.Ensemble(members, classify=True)
    assert nn.evaluate(again, result.dataset, "test") == pytest.approx(result.test)
    record = json.loads((tmp_path / "iris-mlp" / "best_config.json").read_text())
    assert len(record["members"]) == 3 and record["test_metric"] == pytest.approx(result.test)
    assert not (tmp_path / "iris-mlp" / "report.html").exists()


def test_tune_resumes_to_the_total_in_a_storage(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/hk.db"
    first = nn.tune("iris", trials=3, storage=url, **QUIET)
    second = nn.tune("iris", trials=5, storage=url, **QUIET)
    assert (first.total_trials, second.n_trials, second.total_trials) == (3, 2, 5)
    study = hyperknob.load_study(study_name="iris-mlp", storage=url)
    assert [t.number for t in study.trials] == list(range(5))
    with pytest.raises(ValueError, match="was tuned on"):
        nn.tune("wine", trials=1, storage=url, study_name="iris-mlp", **QUIET)


def test_tune_writes_the_run_files_and_a_report_that_opens_with_the_comparison(
    tmp_path: Path
) -> None:
    result = nn.tune("iris", trials=5, output=tmp_path, **QUIET)
    out = tmp_path / "iris-mlp"
    assert result.output_dir == out and result.report == out / "report.html"
    text = (out / "report.html").read_text()
    assert result.baseline is not None
    opening = text.index("id='tuned'")
    assert opening < text.index("Best trial") < text.index("Diagnosis")
    assert f"<b id='tuned-test'>{result.test:.6g}</b>" in text
    assert f"<b id='rule-of-thumb-test'>{result.baseline.test:.6g}</b>" in text
    # the per-trial diagnosis is folded, one group per diagnosis, every trial in one group
    import re

    groups = re.findall(r"<details class='diagnosis' data-diagnosis='([^']+)'><summary>"
                        r"[^<]* \((\d+) trials", text)
    assert groups and sum(int(n) for _, n in groups) == len(result.study.trials)
    assert len({label for label, _ in groups}) == len(groups)


@pytest.mark.parametrize(("options", "named"), [
    ({"trials": 0}, "trials=0"),
    ({"timeout": "10"}, "timeout='10'"),
    ({"timeout": 0}, "timeout=0"),
    ({"trials": 3, "timeout": 5.0}, "not both"),
    ({"sampler": "bogus"}, "sampler='bogus'"),
    ({"strategy": "bogus"}, "strategy='bogus'"),
    ({"strategy": "bohb", "sampler": "tpe"}, "leave sampler unset"),
    ({"select": "best"}, "select='best'"),
    ({"refit": "all"}, "refit='all'"),
    ({"ensemble": 0}, "ensemble=0"),
    ({"seed": -1}, "seed=-1"),
    ({"jobs": 0}, "jobs=0"),
    ({"batch": 2, "jobs": 2}, "batch 2 cannot be combined with jobs > 1"),
])
def test_bad_options_fail_before_anything_is_stored(tmp_path: Path, options: dict[str, Any],
                                                     named: str) -> None:
    url = f"sqlite:///{tmp_path}/hk.db"
    with pytest.raises(ValueError, match=named.replace("(", r"\(").replace(")", r"\)")):
        nn.tune("iris", storage=url, **{**QUIET, **options})
    assert not (tmp_path / "hk.db").exists()


def test_the_cli_names_the_same_choices_as_tune() -> None:
    assert cli_tune.SAMPLERS == _tune.SAMPLERS and cli_tune.STRATEGIES == _tune.STRATEGIES
    from hyperknob.nn import _select

    assert cli_tune.SELECTIONS[1:] == _select.SELECTIONS and cli_tune.REFITS[1:] == _select.REFITS


def test_the_default_plan_says_what_was_chosen_and_why() -> None:
    lines: list[str] = []
    nn.tune("iris", trials=2, log=lines.append, progress=False, max_epochs=10)
    plan = next(line for line in lines if line.startswith("Search: "))
    assert f"{_tune.DEFAULT_SAMPLER} sampler" in plan and "the default: " in plan
    assert any(line.startswith("Model selection: ") for line in lines)
    explicit: list[str] = []
    nn.tune("iris", trials=2, sampler="random", strategy="none", log=explicit.append,
            progress=False, max_epochs=10)
    assert "Search: random sampler, no pruning." in explicit


def test_a_regression_baseline_and_gain_read_lower_as_better() -> None:
    result = nn.tune("diabetes", trials=4, **QUIET)
    assert result.metric == "rmse" and result.direction == "minimize"
    assert result.baseline is not None and math.isfinite(result.baseline.test)
    assert result.gain == pytest.approx(result.baseline.test - result.test)


def test_the_cli_help_names_the_measured_defaults() -> None:
    from hyperknob.cli._main import build_parser

    tune = build_parser()._subparsers._group_actions[0].choices["tune"]  # type: ignore[union-attr]
    text = " ".join(tune.format_help().split())
    assert f"default: {_tune.DEFAULT_SAMPLER}, chosen by measurement" in text
    assert f"default: {_tune.DEFAULT_STRATEGY}, chosen by measurement" in text
    assert f"default: {_tune.DEFAULT_SELECT})" in text
    assert f"default, {_tune.DEFAULT_REFIT})" in text
    assert f"default, {_tune.DEFAULT_ENSEMBLE})" in text
