"""nn.objective: a few lines of Python tune an MLP, with pruning, curves and divergence."""

from __future__ import annotations

import pytest

import hyperknob
from hyperknob import TrialState, nn
from hyperknob.distributions import FloatDistribution


def small_space(data: nn.Dataset) -> nn.SearchSpace:
    return nn.default_space(data.n_features, data.n_train, max_epochs=20).replace(
        n_layers=1, patience=None)


def test_objective_tunes_and_records_every_trial(iris: nn.Dataset) -> None:
    job = nn.objective(iris, small_space(iris))
    assert job.direction == "maximize" and job.metric == "accuracy"
    study = hyperknob.create_study(direction=job.direction, seed=0)
    job.prepare(study)
    assert len(study.trials) == 2  # rule-of-thumb configs (one layer only in this space)
    study.optimize(job, n_trials=6)
    trials = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(trials) >= 4
    for trial in trials:
        attrs = trial.user_attrs
        config = nn.MLPConfig.from_dict(attrs["config"])
        assert attrs["n_parameters"] == nn.describe(
            nn.build_mlp(config, 4, 3)).n_parameters
        assert len(attrs["curves"]["val_metric"]) == attrs["epochs_run"]
        assert trial.value == max(attrs["curves"]["val_metric"])
        assert dict(trial.intermediate_values) == dict(  # step = epochs trained
            enumerate(attrs["curves"]["val_metric"], start=1))
    assert study.trials[0].user_attrs["source"] == "rule of thumb"
    assert study.best_value >= 0.85
    job.prepare(study)  # a resumed study is not queued again
    assert len(study.trials) == 6


def test_queued_first_configurations_can_train_in_full(iris: nn.Dataset) -> None:
    class StopAtThree(hyperknob.pruners.BasePruner):
        def prune(self, study: hyperknob.StudyView, trial: hyperknob.FrozenTrial) -> bool:
            return len(trial.intermediate_values) >= 3

    space = small_space(iris)
    job = nn.objective(iris, space)
    job.first_params = [dict(space.rule_of_thumb_params()[0], learning_rate=0.003)]
    job.first_sources = ["warm start: trial #4 of 'wine-mlp'"]
    job.first_in_full = True
    study = hyperknob.create_study(direction=job.direction, pruner=StopAtThree(), seed=1)
    job.prepare(study)
    study.optimize(job, n_trials=2)
    first, ruled = study.trials[:2]
    assert first.user_attrs["train_in_full"] is True
    assert first.state is TrialState.COMPLETE and len(first.intermediate_values) > 3
    assert ruled.user_attrs["source"] == "rule of thumb" and ruled.state is TrialState.PRUNED
    assert "train_in_full" not in ruled.user_attrs


def test_leading_rules_of_thumb_run_before_the_queued_configurations(
        iris: nn.Dataset) -> None:
    space = small_space(iris)
    job = nn.objective(iris, space)
    ruled = space.rule_of_thumb_params()
    assert len(ruled) == 2
    job.first_params = [dict(ruled[0], learning_rate=0.003), dict(ruled[1])]
    job.leading_rules = 1
    study = hyperknob.create_study(direction=job.direction, seed=1)
    job.prepare(study)
    # The first rule of thumb also queued as a first configuration would run twice: it is
    # dropped from the rules; the second rule of thumb is one of first_params already.
    assert [t.system_attrs["fixed_params"]["learning_rate"] for t in study.trials] == [
        0.01, 0.003, 0.001]
    assert [t.user_attrs["source"] for t in study.trials] == [
        "rule of thumb", "earlier stage", "earlier stage"]


def test_a_pruner_stops_trials_through_the_epoch_hook(iris: nn.Dataset) -> None:
    class StopAtThree(hyperknob.pruners.BasePruner):
        def prune(self, study: hyperknob.StudyView, trial: hyperknob.FrozenTrial) -> bool:
            return len(trial.intermediate_values) >= 3

    job = nn.objective(iris, small_space(iris))
    study = hyperknob.create_study(direction=job.direction, pruner=StopAtThree(), seed=1)
    study.optimize(job, n_trials=2)
    for trial in study.trials:
        assert trial.state is TrialState.PRUNED
        assert trial.user_attrs["stop_reason"] == "stopped"
        assert sorted(trial.intermediate_values) == [1, 2, 3]  # steps: epochs trained
        assert trial.system_attrs["prune_reason"] == "StopAtThree pruned the trial at step 3"
        assert trial.system_attrs["pruned_at_step"] == 3
        assert len(trial.user_attrs["curves"]["val_metric"]) == 3  # the curve is kept


def test_a_diverged_trial_is_pruned_with_the_reason(iris: nn.Dataset) -> None:
    space = small_space(iris).replace(
        learning_rate=FloatDistribution(1e3, 1e4, log=True), optimizer="sgd", momentum=0.0)
    job = nn.objective(iris, space)
    study = hyperknob.create_study(direction=job.direction, seed=0)
    study.optimize(job, n_trials=1)
    trial = study.trials[0]
    assert trial.state is TrialState.PRUNED
    assert trial.user_attrs["stop_reason"] == "diverged"
    assert "learning rate" in trial.user_attrs["stop_detail"]
    assert trial.system_attrs["prune_reason"] == f"diverged: {trial.user_attrs['stop_detail']}"


def test_regression_minimizes_rmse() -> None:
    job = nn.objective("diabetes")
    assert job.direction == "minimize" and job.metric == "rmse"


def test_objective_from_a_csv_file(tmp_path: object) -> None:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(0)
    x = rng.normal(size=(200, 3))
    frame = pd.DataFrame({"a": x[:, 0], "b": x[:, 1], "color": rng.choice(["red", "blue"], 200),
                          "y": (x[:, 0] + x[:, 1] > 0).astype(int)})
    path = f"{tmp_path}/data.csv"
    frame.to_csv(path, index=False)
    job = nn.objective(path, target="y")
    assert job.dataset.n_features == 4 and job.dataset.n_classes == 2


def test_the_validation_loss_as_the_target(iris: nn.Dataset) -> None:
    job = nn.NeuralNetworkObjective(iris, small_space(iris), target="loss", log=lambda _: None)
    assert job.direction == "minimize" and job.metric == "cross-entropy"
    study = hyperknob.create_study(direction=job.direction, seed=0)
    study.optimize(job, n_trials=2)
    for trial in study.get_trials(states=(TrialState.COMPLETE,)):
        losses = trial.user_attrs["curves"]["val_loss"]
        assert list(trial.intermediate_values.values()) == losses  # reported each epoch
        assert trial.value == min(losses)
    with pytest.raises(ValueError, match="target must be"):
        nn.NeuralNetworkObjective(iris, target="accuracy")
