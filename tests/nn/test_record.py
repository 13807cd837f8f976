"""The typed training record, the shared early-stopping tracker, and seeding without global
state."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest
import torch

import hyperknob
from hyperknob import TrialState
from hyperknob.analysis import diagnose_trial
from hyperknob.nn import (
    Dataset,
    MLPConfig,
    NeuralNetworkObjective,
    StopReason,
    TrainingRecord,
    read_record,
    store_record,
    train,
    train_batched,
)
from hyperknob.nn._tracker import EpochTracker
from hyperknob.trial import FrozenTrial


def test_stop_reasons_are_strings_and_parse() -> None:
    assert StopReason.DIVERGED == "diverged" and StopReason("early_stopping").name == (
        "EARLY_STOPPING")
    assert StopReason.parse("stopped") is StopReason.STOPPED
    assert StopReason.parse("exploded") is None and StopReason.parse(3) is None


def test_a_record_stored_on_a_trial_reads_back_typed() -> None:
    study = hyperknob.create_study()
    trial = study.ask()
    record = TrainingRecord(
        curves={"train_loss": (1.0, math.nan), "val_loss": (0.9, 0.8), "val_metric": (0.5, 0.6)},
        config={"hidden_layers": [8, 4], "init": "he_normal", "learning_rate": 0.01},
        stop_reason=StopReason.EARLY_STOPPING, stop_detail="no better for 3 epochs",
        n_parameters=77, best_epoch=1, train_rows=100, device="cpu", seconds=0.25)
    store_record(trial, record)
    stored = study.tell(trial, 0.6)
    back = read_record(study.trials[0])
    assert back is not None and back == read_record(stored)
    assert back.curves["train_loss"] == (1.0, None)  # NaN is stored as a gap
    assert back.stop_reason is StopReason.EARLY_STOPPING
    assert (back.n_parameters, back.best_epoch, back.train_rows, back.device, back.seconds) == (
        77, 1, 100, "cpu", 0.25)
    assert back.hidden_layers == (8, 4) and back.epochs_run == 2
    # The flat layout every study has had: dataframe columns and older readers stay the same.
    attrs = study.trials[0].user_attrs
    assert attrs["stop_reason"] == "early_stopping" and attrs["hidden_layers"] == [8, 4]
    assert attrs["init"] == "he_normal" and attrs["epochs_run"] == 2


def test_older_and_partial_records_read_back() -> None:
    old = FrozenTrial(number=0, trial_id=0, state=TrialState.PRUNED,
                      user_attrs={"curves": {"train_loss": [1.0, 1e9], "val_loss": [1.0]},
                                  "n_parameters": True, "seconds": -1},
                      system_attrs={"prune_reason": "diverged: training loss 1e9"})
    record = read_record(old)
    assert record is not None and record.stop_reason is StopReason.DIVERGED
    assert record.config is None and record.hidden_layers is None
    assert record.n_parameters is None and record.seconds is None  # wrong types are dropped
    assert record.curve("val_metric") == () and record.epochs_run == 2
    plain = FrozenTrial(number=1, trial_id=1, state=TrialState.COMPLETE, value=1.0,
                        user_attrs={"config": {"hidden_layers": [3]}})
    assert read_record(plain) is None  # no curves: not a training record


def test_an_nn_trial_keeps_a_full_record_that_analysis_reads(iris: Dataset) -> None:
    job = NeuralNetworkObjective(iris)
    job.space = job.space.replace(epochs=4, n_layers=1)
    study = hyperknob.create_study(direction=job.direction, seed=0)
    study.optimize(job, n_trials=2)
    for trial in study.trials:
        record = read_record(trial)
        assert record is not None and record.config is not None
        assert record.config["learning_rate"] == trial.params["learning_rate"]
        assert isinstance(record.stop_reason, StopReason) and record.device == "cpu"
        assert record.seconds is not None and record.seconds > 0
        assert record.train_rows == iris.n_train and record.epochs_run >= 1
        assert record.n_parameters is not None and record.n_parameters > 0
        diagnosis = diagnose_trial(trial)
        assert diagnosis is not None and diagnosis.summary


def _rng_states() -> tuple[object, ...]:
    return (torch.get_rng_state().clone(), random.getstate(), np.random.get_state()[1].copy())


def _same(a: tuple[object, ...], b: tuple[object, ...]) -> bool:
    return bool(torch.equal(a[0], b[0])) and a[1] == b[1] and bool(np.array_equal(a[2], b[2]))


def test_train_seeds_locally_and_leaves_the_callers_random_state(iris: Dataset) -> None:
    config = MLPConfig(hidden_layers=(8,), dropout=0.3, batch_size=16, epochs=3)
    torch.manual_seed(123)
    random.seed(5)
    np.random.seed(6)
    before = _rng_states()
    first = train(config, iris, seed=11).curves()
    assert _same(before, _rng_states())
    torch.manual_seed(999)  # another global state: the same run all the same
    assert train(config, iris, seed=11).curves() == first
    before = _rng_states()
    batched = train_batched([config, config], iris, seed=11)
    assert _same(before, _rng_states())
    assert batched[0].curves()["train_loss"] == pytest.approx(first["train_loss"], rel=1e-4)


def test_the_tracker_stops_for_the_right_reason() -> None:
    config = MLPConfig(epochs=5, patience=2, learning_rate=0.5)
    tracker = EpochTracker(config, classify=True, initial_loss=1.0)
    assert not tracker.diverged(0, 5.0)
    assert tracker.validated(0, 1.0, 0.5)
    assert not tracker.decide(0, hook_stops=False)
    assert tracker.validated(1, 0.9, 0.5)  # same accuracy, lower loss: better
    assert not tracker.validated(2, 0.95, 0.5)
    assert not tracker.decide(2, hook_stops=False)
    assert not tracker.validated(3, 0.99, 0.4)
    assert tracker.decide(3, hook_stops=False)
    assert tracker.stop is not None and tracker.stop[0] is StopReason.EARLY_STOPPING
    assert tracker.best_epoch == 1 and "2 epochs" in tracker.stop[1]

    diverging = EpochTracker(config, classify=False, initial_loss=1.0)
    assert diverging.diverged(0, 10.5) and diverging.stop is not None
    assert diverging.stop[0] is StopReason.DIVERGED and "10x" in diverging.stop[1]
    assert EpochTracker(config, classify=False, initial_loss=1.0).diverged(0, math.nan)

    hooked = EpochTracker(config, classify=False, initial_loss=1.0)
    hooked.validated(0, 1.0, 1.0)
    assert hooked.decide(0, hook_stops=True) and hooked.stop is not None
    assert hooked.stop[0] is StopReason.STOPPED

    last = EpochTracker(MLPConfig(epochs=1), classify=False, initial_loss=1.0)
    last.validated(0, 1.0, 1.0)
    assert last.decide(0, hook_stops=False) and last.stop is not None
    assert last.stop[0] is StopReason.COMPLETED
