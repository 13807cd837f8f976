"""The define-by-run API: create/load/delete, ask/tell, optimize, bad objective values."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest

import hyperknob
from hyperknob import TrialState
from hyperknob.exceptions import (
    DuplicatedStudyError,
    StudyNotFoundError,
    UpdateFinishedTrialError,
)
from hyperknob.samplers import RandomSampler


def quadratic(trial: hyperknob.Trial) -> float:
    x = trial.suggest_float("x", -10, 10)
    return (x - 2) ** 2


def test_create_load_delete_and_list(storage_url: str | None) -> None:
    if storage_url is None:
        storage: Any = hyperknob.storages.InMemoryStorage()
    else:
        storage = storage_url
    study = hyperknob.create_study(study_name="a", storage=storage, seed=1)
    study.optimize(quadratic, n_trials=5)
    hyperknob.create_study(study_name="b", storage=storage, direction="maximize")
    assert hyperknob.get_all_study_names(storage) == ["a", "b"]
    loaded = hyperknob.load_study(study_name="a", storage=storage)
    assert len(loaded.trials) == 5 and loaded.best_value == study.best_value
    with pytest.raises(DuplicatedStudyError, match="load_if_exists=True"):
        hyperknob.create_study(study_name="a", storage=storage)
    again = hyperknob.create_study(study_name="a", storage=storage, load_if_exists=True)
    again.optimize(quadratic, n_trials=3)
    assert [t.number for t in again.trials] == list(range(8))
    with pytest.raises(ValueError, match="exists with direction 'maximize', not 'minimize'"):
        hyperknob.create_study(study_name="b", storage=storage, load_if_exists=True)
    hyperknob.delete_study(study_name="a", storage=storage)
    assert hyperknob.get_all_study_names(storage) == ["b"]
    with pytest.raises(StudyNotFoundError, match="no study named 'a'"):
        hyperknob.load_study(study_name="a", storage=storage)
    summaries = hyperknob.get_all_study_summaries(storage)
    assert summaries[0].study_name == "b" and summaries[0].n_trials == 0


def test_minimize_and_maximize_pick_the_right_best() -> None:
    for direction, expected in (("minimize", min), ("maximize", max)):
        study = hyperknob.create_study(direction=direction, seed=3)
        study.optimize(quadratic, n_trials=30)
        values = [t.value for t in study.trials if t.value is not None]
        assert study.best_value == expected(values)
        assert quadratic_at(study.best_params["x"]) == study.best_value


def quadratic_at(x: float) -> float:
    return (x - 2) ** 2


def test_direction_is_validated() -> None:
    with pytest.raises(ValueError, match="direction must be 'minimize' or 'maximize', got 'up'"):
        hyperknob.create_study(direction="up")


def test_same_name_same_distribution_returns_same_value() -> None:
    study = hyperknob.create_study(seed=0)
    trial = study.ask()
    first = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
    assert trial.suggest_float("lr", 1e-4, 1e-1, log=True) == first
    with pytest.raises(ValueError, match="'lr' was already suggested in this trial"):
        trial.suggest_float("lr", 1e-4, 1e-1)
    with pytest.raises(ValueError, match="'lr' was already suggested"):
        trial.suggest_int("lr", 1, 3)


def test_conditional_search_space_by_control_flow() -> None:
    def objective(trial: hyperknob.Trial) -> float:
        optimizer = trial.suggest_categorical("optimizer", ["sgd", "adam"])
        if optimizer == "sgd":
            return trial.suggest_float("momentum", 0.0, 0.99)
        return trial.suggest_float("beta1", 0.8, 0.999) + 1

    study = hyperknob.create_study(seed=0)
    study.optimize(objective, n_trials=30)
    for trial in study.trials:
        expected = {"optimizer", "momentum" if trial.params["optimizer"] == "sgd" else "beta1"}
        assert set(trial.params) == expected


def test_values_have_the_declared_types() -> None:
    study = hyperknob.create_study(seed=0)
    trial = study.ask()
    assert isinstance(trial.suggest_int("n", 1, 100, log=True), int)
    assert isinstance(trial.suggest_float("f", 0, 1, step=0.25), float)
    assert trial.suggest_float("f", 0, 1, step=0.25) in (0, 0.25, 0.5, 0.75, 1.0)
    assert trial.suggest_int("s", 0, 10, step=5) in (0, 5, 10)
    assert trial.suggest_categorical("c", [None, True, 3]) in (None, True, 3)


@pytest.mark.parametrize(
    ("returned", "reason"),
    [
        (None, "returned None of type NoneType; expected a finite float"),
        ("0.5", "returned '0.5' of type str"),
        (math.nan, "returned nan; expected a finite float"),
        (math.inf, "returned inf"),
        ([1.0, 2.0], "returned 2 values"),
    ],
)
def test_bad_objective_values_fail_the_trial_and_the_study_goes_on(
    returned: object, reason: str, storage_url: str | None
) -> None:
    study = hyperknob.create_study(storage=storage_url, seed=0)
    study.optimize(quadratic, n_trials=2)
    calls = []

    def objective(trial: hyperknob.Trial) -> Any:
        calls.append(trial.number)
        trial.suggest_float("x", -10, 10)
        return returned if len(calls) == 1 else 1.0

    with pytest.warns(UserWarning, match="failed"):
        study.optimize(objective, n_trials=2)
    failed = study.trials[2]
    assert failed.state is TrialState.FAIL and failed.value is None
    assert reason in failed.system_attrs["fail_reason"]
    assert "x" in failed.params
    assert study.trials[3].state is TrialState.COMPLETE
    assert [t.state for t in study.trials[:2]] == [TrialState.COMPLETE] * 2


def test_raising_objective_fails_keeps_traceback_and_reraises(storage_url: str | None) -> None:
    study = hyperknob.create_study(storage=storage_url, seed=0)
    study.optimize(quadratic, n_trials=3)

    def objective(trial: hyperknob.Trial) -> float:
        trial.suggest_float("x", 0, 1)
        raise ZeroDivisionError("boom")

    with pytest.raises(ZeroDivisionError, match="boom"):
        study.optimize(objective, n_trials=5)
    trials = study.trials
    assert len(trials) == 4
    assert trials[3].state is TrialState.FAIL
    assert "ZeroDivisionError: boom" in trials[3].system_attrs["traceback"]
    assert trials[3].system_attrs["fail_reason"] == "the objective raised ZeroDivisionError: boom"
    assert all(t.state is TrialState.COMPLETE for t in trials[:3])

    study.optimize(objective, n_trials=4, catch=(ZeroDivisionError,))
    assert study.get_trials(states=(TrialState.FAIL,))[-1].number == 7


def test_catch_must_hold_exception_classes() -> None:
    study = hyperknob.create_study()
    with pytest.raises(TypeError, match="catch must hold exception classes, got 'oops'"):
        study.optimize(quadratic, n_trials=1, catch=("oops",))  # type: ignore[arg-type]


def test_optimize_argument_errors() -> None:
    study = hyperknob.create_study()
    with pytest.raises(ValueError, match="n_trials must be an int >= 0 or None, got n_trials=-1"):
        study.optimize(quadratic, n_trials=-1)
    with pytest.raises(ValueError, match="timeout must be"):
        study.optimize(quadratic, timeout=0)
    with pytest.raises(ValueError, match="n_jobs must be"):
        study.optimize(quadratic, n_trials=1, n_jobs=0)
    with pytest.raises(TypeError, match="must be callable"):
        study.optimize(3, n_trials=1)  # type: ignore[arg-type]
    assert study.trials == []


def test_timeout_stops_the_loop() -> None:
    study = hyperknob.create_study()

    def slow(trial: hyperknob.Trial) -> float:
        time.sleep(0.05)
        return quadratic(trial)

    started = time.monotonic()
    study.optimize(slow, timeout=0.3)
    elapsed = time.monotonic() - started
    assert 0.3 <= elapsed < 1.5
    assert 3 <= len(study.trials) <= 10


def test_callbacks_see_each_trial_and_can_stop() -> None:
    study = hyperknob.create_study(seed=0)
    seen: list[int] = []

    def callback(s: hyperknob.Study, trial: hyperknob.FrozenTrial) -> None:
        seen.append(trial.number)
        if len(seen) == 4:
            s.stop()

    study.optimize(quadratic, n_trials=100, callbacks=[callback])
    assert seen == [0, 1, 2, 3] and len(study.trials) == 4
    study.optimize(quadratic, n_trials=2)  # stop() only ended the previous optimize
    assert len(study.trials) == 6


def test_ask_tell_by_trial_and_by_number(storage_url: str | None) -> None:
    study = hyperknob.create_study(storage=storage_url, direction="maximize", seed=0)
    first, second = study.ask(), study.ask()
    x = first.suggest_float("x", 0, 1)
    second.suggest_float("x", 0, 1)
    frozen = study.tell(first, x)
    assert frozen.state is TrialState.COMPLETE and frozen.value == x
    study.tell(1, state=TrialState.PRUNED)
    assert [t.state for t in study.trials] == [TrialState.COMPLETE, TrialState.PRUNED]
    with pytest.raises(UpdateFinishedTrialError, match="trial 0 is already COMPLETE"):
        study.tell(0, 1.0)
    assert study.tell(0, 2.0, skip_if_finished=True).value == x
    with pytest.raises(UpdateFinishedTrialError):
        first.suggest_float("y", 0, 1)
    third = study.ask()
    with pytest.warns(UserWarning, match="returned None"):
        assert study.tell(third).state is TrialState.FAIL
    third = study.ask()
    with pytest.raises(ValueError, match="state must be COMPLETE, PRUNED or FAIL"):
        study.tell(third, 1.0, state=TrialState.RUNNING)
    study.tell(third, state=TrialState.FAIL)
    assert study.best_trial.number == 0


def test_enqueued_trials_run_first_with_their_params(storage_url: str | None) -> None:
    study = hyperknob.create_study(storage=storage_url, seed=0)
    study.enqueue_trial({"x": 2.0})
    study.enqueue_trial({"x": -3.0}, user_attrs={"why": "rule of thumb"})
    study.optimize(quadratic, n_trials=4)
    trials = study.trials
    assert [t.params["x"] for t in trials[:2]] == [2.0, -3.0]
    assert trials[1].user_attrs == {"why": "rule of thumb"}
    assert study.best_value == 0.0 and study.best_trial.number == 0
    assert all(t.state is TrialState.COMPLETE for t in trials)


def test_enqueued_value_outside_the_range_is_a_clear_error() -> None:
    study = hyperknob.create_study()
    study.enqueue_trial({"x": 50.0})
    with pytest.raises(ValueError, match=r"'x': enqueued value 50.0 lies outside"):
        study.optimize(quadratic, n_trials=1)
    assert study.trials[0].state is TrialState.FAIL


def test_report_should_prune_and_trial_pruned() -> None:
    class PruneAfterTwo(hyperknob.pruners.BasePruner):
        def prune(self, study: hyperknob.StudyView, trial: hyperknob.FrozenTrial) -> bool:
            return len(trial.intermediate_values) >= 2

    study = hyperknob.create_study(pruner=PruneAfterTwo())

    def objective(trial: hyperknob.Trial) -> float:
        for step in range(5):
            trial.report(1.0 / (step + 1), step)
            if trial.should_prune():
                raise hyperknob.TrialPruned()
        return 0.0

    study.optimize(objective, n_trials=2)
    for trial in study.trials:
        assert trial.state is TrialState.PRUNED
        assert dict(trial.intermediate_values) == {0: 1.0, 1: 0.5}


def test_report_validates_and_ignores_repeated_steps() -> None:
    trial = hyperknob.create_study().ask()
    trial.report(0.5, 0)
    with pytest.warns(UserWarning, match="already reported step 0"):
        trial.report(0.9, 0)
    with pytest.raises(TypeError, match="step must be an int >= 0, got step=-1"):
        trial.report(0.5, -1)
    with pytest.raises(TypeError, match="reported value must be a float, got 'a'"):
        trial.report("a", 1)  # type: ignore[arg-type]
    trial.report(math.nan, 1)


def test_user_attrs_and_dataframe() -> None:
    pd = pytest.importorskip("pandas")
    study = hyperknob.create_study(seed=0)

    def objective(trial: hyperknob.Trial) -> float:
        trial.set_user_attr("n_params", 42)
        return quadratic(trial)

    study.optimize(objective, n_trials=3)
    study.set_user_attr("dataset", "digits")
    assert study.user_attrs == {"dataset": "digits"}
    frame = study.trials_dataframe()
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["number"]) == [0, 1, 2]
    assert set(frame["state"]) == {"COMPLETE"}
    assert list(frame["user_attrs_n_params"]) == [42] * 3
    assert list(frame["params_x"]) == [t.params["x"] for t in study.trials]
    with pytest.raises(TypeError, match="must be JSON-serializable"):
        study.ask().set_user_attr("bad", object())


def test_best_trial_before_any_complete_is_a_clear_error() -> None:
    study = hyperknob.create_study(study_name="empty")
    with pytest.raises(ValueError, match="study 'empty' has no COMPLETE trial yet"):
        _ = study.best_trial


def test_progress_bar_shows_best_value(capsys: pytest.CaptureFixture[str]) -> None:
    study = hyperknob.create_study(study_name="bar", sampler=RandomSampler(seed=0))
    study.optimize(quadratic, n_trials=5, show_progress_bar=True)
    err = capsys.readouterr().err
    assert "5/5" in err and f"best={study.best_value:.6g}" in err


def test_a_changed_range_is_sampled_afresh_by_a_model_based_sampler() -> None:
    study = hyperknob.create_study(sampler=hyperknob.samplers.TPESampler(seed=0,
                                                                         n_startup_trials=3))
    study.optimize(quadratic, n_trials=6)  # x in [-10, 10]
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=4)  # the range changed
    assert all(0 <= t.params["x"] <= 1 for t in study.trials[6:])
    assert all(t.state is TrialState.COMPLETE for t in study.trials)


def test_the_public_lifecycle_refuses_bad_input_and_keeps_what_is_stored() -> None:
    study = hyperknob.create_study(sampler=hyperknob.samplers.RandomSampler(seed=0))
    trial = study.ask()
    trial.suggest_float("x", 0.0, 1.0)
    with pytest.raises(TypeError, match="error must be an exception or a non-empty reason"):
        study.fail(trial, 3)  # type: ignore[arg-type]
    assert study.trials[0].state is TrialState.RUNNING  # nothing written
    failed = study.fail(trial, "lost: the machine went away")
    assert failed.state is TrialState.FAIL
    assert failed.system_attrs["fail_reason"] == "lost: the machine went away"
    with pytest.raises(hyperknob.exceptions.UpdateFinishedTrialError, match="already FAIL"):
        study.prune(trial)
    with pytest.raises(ValueError, match="max_retries must be an int >= 0, got max_retries=-1"):
        study.requeue(failed, max_retries=-1)
    with pytest.raises(ValueError, match="finished trial's record"):
        study.requeue(study.ask().snapshot(), max_retries=1)
    with pytest.raises(ValueError, match="trial 0 is FAIL, not RUNNING"):
        study.running_trial(0)
    assert study.requeue(failed, max_retries=1) is True
    assert study.requeue(failed.replace(system_attrs={"retry_count": 1}), max_retries=1) is False
    assert [t.state for t in study.trials] == [TrialState.FAIL, TrialState.RUNNING,
                                               TrialState.WAITING]
    assert study.trials[2].system_attrs["fixed_params"] == {"x": failed.params["x"]}
