"""The learning-curve recorder: what it stores, reports and stops, and that analysis and the
report read it."""

from __future__ import annotations

import doctest
import warnings
from typing import Any

import pytest
from _frameworks import require

import hyperknob
from hyperknob._training_record import StopReason, TrainingRecord, read_record, store_record
from hyperknob.analysis import diagnose_trial
from hyperknob.analysis._diagnosis_advice import ROLES
from hyperknob.integration import COMMON_KNOB_NAMES, LearningCurveRecorder, _recorder
from hyperknob.pruners import ThresholdPruner


def one_trial(objective: Any, pruner: Any = None, **params: Any) -> hyperknob.FrozenTrial:
    study = hyperknob.create_study(pruner=pruner)
    study.enqueue_trial(params)
    study.optimize(objective, n_trials=1)
    return study.trials[0]


def descending(lr_name: str = "lr", *, epochs: int = 5, **recorder: Any) -> Any:
    """An objective whose losses fall by a factor each epoch, recorded by a recorder."""
    def objective(trial: hyperknob.Trial) -> float:
        lr = trial.suggest_float(lr_name, 1e-3, 1.0, log=True)
        trial.suggest_int("batch_size", 8, 256, log=True)
        record = LearningCurveRecorder(trial, **recorder)
        loss = 1.0
        for _ in range(epochs):
            loss *= 1 - lr
            record.record_epoch(train_loss=loss, val_loss=1.2 * loss, val_metric=1 - loss)
            record.check_pruned()
        record.finish()
        return 1.2 * loss
    return objective


def test_the_curves_read_back_with_the_knobs_found_by_their_names() -> None:
    trial = one_trial(descending(config={"optimizer": "sgd", "layers": object()}),
                      lr=0.5, batch_size=32)
    assert trial.state is hyperknob.TrialState.COMPLETE
    assert trial.intermediate_values == pytest.approx(
        {step: 1.2 * 0.5 ** step for step in range(1, 6)})
    record = read_record(trial)
    assert record is not None
    assert record.curve("train_loss") == pytest.approx([0.5 ** e for e in range(1, 6)])
    assert record.curve("val_metric") == pytest.approx([1 - 0.5 ** e for e in range(1, 6)])
    assert record.stop_reason is StopReason.COMPLETED and record.stop_detail == "trained 5 epochs"
    assert record.config == {"optimizer": "sgd"}  # what JSON cannot hold is left out
    assert record.knob_names == {"learning_rate": "lr", "batch_size": "batch_size",
                                 "optimizer": "optimizer"}
    assert record.best_epoch == 4 and record.seconds is not None


def test_a_knob_named_by_the_user_is_the_one_the_advice_speaks_of() -> None:
    trial = one_trial(descending("step_size", knobs={"learning_rate": "step_size"}),
                      step_size=0.05, batch_size=64)
    record = read_record(trial)
    assert record is not None and record.knob_names is not None
    assert record.knob_names["learning_rate"] == "step_size"
    diagnosis = diagnose_trial(trial)
    assert diagnosis is not None and diagnosis.pathology.value == "too_slow"
    assert "step_size from 0.05 to 0.15-0.5" in diagnosis.advice


def test_a_pruned_run_ends_pruned_with_the_pruners_reason() -> None:
    trial = one_trial(descending(), ThresholdPruner(upper=0.1, n_warmup_steps=2), lr=0.1,
                      batch_size=16)
    assert trial.state is hyperknob.TrialState.PRUNED
    assert trial.system_attrs["prune_reason"].startswith("ThresholdPruner: value")
    record = read_record(trial)
    assert record is not None and record.stop_reason is StopReason.STOPPED
    assert len(record.curve("val_loss")) == 2


@pytest.mark.parametrize(("losses", "evidence"), [
    ([1.0, float("nan")], "training loss nan at epoch 1 is not finite; lr 0.5"),
    ([1.0, 0.9, 12.0], "training loss 12 at epoch 2 is over 10x its first epoch's loss 1"),
])
def test_a_diverged_run_ends_pruned_as_diverged(losses: list[float], evidence: str) -> None:
    def objective(trial: hyperknob.Trial) -> float:
        trial.suggest_float("lr", 0.1, 1.0)
        recorder = LearningCurveRecorder(trial)
        for loss in losses:
            recorder.record_epoch(train_loss=loss, val_loss=1.0)
            recorder.check_pruned()
        return 1.0

    trial = one_trial(objective, lr=0.5)
    assert trial.state is hyperknob.TrialState.PRUNED
    assert trial.system_attrs["prune_reason"].startswith(f"diverged: {evidence}")
    record = read_record(trial)
    assert record is not None and record.stop_reason is StopReason.DIVERGED
    diagnosis = diagnose_trial(trial)
    assert diagnosis is not None and diagnosis.pathology.value == "diverged"


def test_the_initial_loss_is_where_divergence_is_measured_from() -> None:
    def objective(trial: hyperknob.Trial) -> float:
        recorder = LearningCurveRecorder(trial, initial_loss=1.1, monitor="train_loss")
        for loss in (205.0, 1.2, 1.1):  # blew up within the first epoch, then stuck
            recorder.record_epoch(train_loss=loss)
            recorder.check_pruned()
        return 1.1

    trial = one_trial(objective)
    assert trial.system_attrs["prune_reason"] == (
        "diverged: training loss 205 at epoch 0 is over 10x its initial loss 1.1")
    record = read_record(trial)
    assert record is not None and record.initial_loss == 1.1


def test_tensors_are_numbers_and_a_curve_not_given_every_epoch_is_left_out() -> None:
    torch = require("torch", "'hyperknob[nn]'")

    def objective(trial: hyperknob.Trial) -> float:
        model = torch.nn.Linear(3, 2)
        recorder = LearningCurveRecorder(trial, model=model)
        recorder.record_epoch(train_loss=torch.tensor(1.0), val_loss=torch.tensor(0.9),
                              val_metric=0.5)
        with pytest.warns(UserWarning, match="val_metric was not given at every epoch"):
            recorder.record_epoch(train_loss=torch.tensor(0.8), val_loss=torch.tensor(0.7))
        recorder.finish("early_stopping")
        return 0.7

    trial = one_trial(objective)
    record = read_record(trial)
    assert record is not None
    assert set(record.curves) == {"train_loss", "val_loss"}
    assert record.n_parameters == 8 and record.device == "cpu"
    assert record.stop_reason is StopReason.EARLY_STOPPING


def test_the_report_renders_a_users_study() -> None:
    require("plotly", "'hyperknob[viz]'")
    study = hyperknob.create_study()
    for lr in (0.02, 0.3, 0.5):
        study.enqueue_trial({"lr": lr, "batch_size": 32})
    study.optimize(descending(epochs=8), n_trials=3)
    from hyperknob.viz import build_report

    html = build_report(study)
    assert "No trial recorded training curves" not in html
    assert "data-diagnosis='too_slow'" in html  # lr 0.02: still falling
    assert "raise lr toward" in html  # the advice names the user's parameter
    assert "Learning curves by diagnosis" in html


def test_bad_arguments_name_the_argument() -> None:
    trial = hyperknob.create_study().ask()
    with pytest.raises(ValueError, match="monitor must be one of"):
        LearningCurveRecorder(trial, monitor="accuracy")
    with pytest.raises(ValueError, match="knobs key must be one of"):
        LearningCurveRecorder(trial, knobs={"lr": "lr"})
    with pytest.raises(ValueError, match="initial_loss must be a finite loss > 0"):
        LearningCurveRecorder(trial, initial_loss=0.0)
    with pytest.raises(TypeError, match="train_loss must be a number"):
        LearningCurveRecorder(trial).record_epoch(train_loss="0.5")
    with pytest.raises(ValueError, match="stop_reason must be 'completed' or 'early_stopping'"):
        LearningCurveRecorder(trial).finish("diverged")
    recorder = LearningCurveRecorder(trial, knobs={"learning_rate": "eta"})
    with pytest.raises(ValueError, match=r"knobs\['learning_rate'\] must be a parameter"):
        recorder.record_epoch(val_loss=1.0)


def test_every_role_has_common_names_and_old_records_read_back() -> None:
    assert set(COMMON_KNOB_NAMES) == set(ROLES)
    old = hyperknob.FrozenTrial(number=0, trial_id=0, state=hyperknob.TrialState.COMPLETE,
                                value=1.0, user_attrs={"curves": {"val_loss": [1.0, 0.5]}})
    record = read_record(old)
    assert record is not None and record.knob_names is None and record.initial_loss is None

    class Attrs:
        def __init__(self) -> None:
            self.user_attrs: dict[str, Any] = {}

        def set_user_attr(self, key: str, value: Any) -> None:
            self.user_attrs[key] = value

    stored = Attrs()
    store_record(stored, TrainingRecord(curves={"val_loss": (1.0,)}, initial_loss=2.0,
                                        knob_names={"learning_rate": "lr"}))
    assert stored.user_attrs["knob_names"] == {"learning_rate": "lr"}
    assert stored.user_attrs["initial_loss"] == 2.0


def test_doctests() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        result = doctest.testmod(_recorder)
    assert result.attempted > 0 and result.failed == 0
