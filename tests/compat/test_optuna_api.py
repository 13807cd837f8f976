"""Optuna's names and behaviours that hyperknob takes over, one by one."""

from __future__ import annotations

import datetime
import warnings
from pathlib import Path

import pytest

import hyperknob
from hyperknob import StudyDirection, TrialState
from hyperknob.distributions import CategoricalDistribution, FloatDistribution
from hyperknob.storages import RDBStorage, RetryFailedTrialCallback
from hyperknob.trial import FrozenTrial, create_trial


def quadratic(trial: hyperknob.Trial) -> float:
    return (trial.suggest_float("x", -10, 10) - 2) ** 2


def test_enums_and_distributions_print_as_optuna_does() -> None:
    assert str(TrialState.PRUNED) == "TrialState.PRUNED" == f"{TrialState.PRUNED}"
    assert repr(TrialState.PRUNED) == "<TrialState.PRUNED: 2>"
    assert repr(StudyDirection.MAXIMIZE) == "<StudyDirection.MAXIMIZE: 2>"
    assert StudyDirection.NOT_SET == 0
    assert repr(CategoricalDistribution(["a", 1])) == "CategoricalDistribution(choices=('a', 1))"
    assert repr(FloatDistribution(0.0, 1.0, step=0.5)) == (
        "FloatDistribution(high=1.0, log=False, low=0.0, step=0.5)")
    with_prior = FloatDistribution(0.0, 1.0, prior=hyperknob.Prior(0.5))
    assert "prior=Prior(center=0.5" in repr(with_prior)


def test_create_trial_makes_a_record_for_add_trial() -> None:
    trial = create_trial(params={"x": 1.0, "y": 0},
                         distributions={"x": FloatDistribution(0, 10),
                                        "y": CategoricalDistribution([-1, 0, 1])},
                         value=5.0, constraints=[-1.0])
    assert isinstance(trial, FrozenTrial) and trial.value == 5.0 and trial.number == -1
    assert trial.state is TrialState.COMPLETE and trial.datetime_complete is not None
    assert trial.system_attrs["constraints"] == [-1.0]
    study = hyperknob.create_study()
    study.add_trial(trial)
    assert study.best_trial.params == {"x": 1.0, "y": 0}
    with pytest.raises(ValueError, match="name the same parameters"):
        create_trial(params={"x": 1.0}, distributions={}, value=1.0)
    with pytest.raises(ValueError, match=r"'x'=11.0 does not fit"):
        create_trial(params={"x": 11.0}, distributions={"x": FloatDistribution(0, 10)})
    waiting = create_trial(state=TrialState.WAITING)
    assert waiting.datetime_start is None and waiting.values is None


def test_frozen_trial_replays_its_parameters() -> None:
    study = hyperknob.create_study()
    study.optimize(quadratic, n_trials=3)
    best = study.best_trial
    assert quadratic(best) == study.best_value
    best.report(1.0, 0)  # nothing happens: a stored trial is not pruned
    assert not best.should_prune() and best.intermediate_values == {}
    with pytest.raises(ValueError, match="has no parameter 'y'"):
        best.suggest_float("y", 0, 1)
    with pytest.raises(ValueError, match="outside"):
        best.suggest_float("x", 100, 200)
    with pytest.raises(ValueError, match="now asks IntDistribution"):
        best.suggest_int("x", -10, 10)
    with pytest.raises(TypeError, match="does not change"):
        best.set_user_attr("k", 1)


def test_user_attributes_must_be_json_in_every_storage() -> None:
    """A deliberate difference: Optuna's in-memory storage keeps any object."""
    study = hyperknob.create_study()
    trial = study.ask()
    with pytest.raises(TypeError, match="JSON-serializable"):
        trial.set_user_attr("when", datetime.datetime.now())


def test_copy_study_keeps_directions_attributes_and_finished_trials(tmp_path: Path) -> None:
    source_url, target_url = f"sqlite:///{tmp_path}/a.db", f"sqlite:///{tmp_path}/b.db"
    study = hyperknob.create_study(study_name="s", storage=source_url,
                                   directions=["minimize", "maximize"],
                                   sampler=hyperknob.samplers.RandomSampler(seed=0))
    study.set_user_attr("dataset", "digits")
    study.set_metric_names(["error", "speed"])
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), 1.0), n_trials=3)
    running = study.ask()
    study.enqueue_trial({"x": 0.5})
    with pytest.warns(UserWarning, match=rf"trials \[{running.number}\].*RUNNING"):
        hyperknob.copy_study(from_study_name="s", from_storage=source_url,
                             to_storage=target_url)
    copy = hyperknob.load_study(study_name="s", storage=target_url)
    assert copy.directions == study.directions and copy.user_attrs == {"dataset": "digits"}
    assert copy.metric_names == ["error", "speed"]
    kept = [t for t in study.trials if t.number != running.number]
    assert [(t.state, t.params, t.values, t.system_attrs) for t in copy.trials] == [
        (t.state, t.params, t.values, t.system_attrs) for t in kept]
    assert copy.trials[-1].state is TrialState.WAITING
    with pytest.raises(hyperknob.DuplicatedStudyError):
        hyperknob.copy_study(from_study_name="s", from_storage=source_url,
                             to_storage=target_url)


def test_rdb_storage_gives_its_heartbeat_to_studies(tmp_path: Path) -> None:
    storage = RDBStorage(f"sqlite:///{tmp_path}/h.db", heartbeat_interval=5, grace_period=12,
                         heartbeat_stale_trial_callback=RetryFailedTrialCallback(max_retry=2),
                         engine_kwargs={"pool_size": 3, "connect_args": {"timeout": 10}})
    study = hyperknob.create_study(storage=storage)
    assert study.heartbeat == hyperknob.HeartbeatPolicy(5.0, 12.0, 2)
    own = hyperknob.HeartbeatPolicy(1.0)
    assert hyperknob.create_study(storage=storage, heartbeat=own).heartbeat is own
    assert hyperknob.create_study(storage=RDBStorage("sqlite:///:memory:")).heartbeat is None
    with pytest.raises(ValueError, match="heartbeat_interval"):
        RDBStorage("sqlite:///:memory:", grace_period=3)
    with pytest.raises(ValueError, match="grace_period"):
        RDBStorage("sqlite:///:memory:", heartbeat_interval=5, grace_period=2)
    with pytest.raises(TypeError, match="RetryHeartbeatStaleTrialCallback"):
        RDBStorage("sqlite:///:memory:", heartbeat_interval=5,
                   failed_trial_callback=lambda study, trial: None)  # type: ignore[arg-type]


def test_in_memory_sqlite_keeps_one_database_across_connections() -> None:
    storage = RDBStorage("sqlite:///:memory:", engine_kwargs={"pool_size": 20})
    study = hyperknob.create_study(storage=storage)
    study.optimize(quadratic, n_trials=4, n_jobs=1)
    assert len(hyperknob.load_study(study_name=study.study_name, storage=storage).trials) == 4


def test_retry_callback_requeues_a_failed_trial() -> None:
    study = hyperknob.create_study()
    trial = study.ask()
    trial.suggest_float("x", 0, 1)
    failed = study.fail(trial, "lost")
    RetryFailedTrialCallback(max_retry=1)(study, failed)
    assert study.trials[-1].state is TrialState.WAITING
    assert study.trials[-1].system_attrs["fixed_params"] == dict(failed.params)


def test_trials_dataframe_attrs_and_multi_index() -> None:
    pytest.importorskip("pandas")
    study = hyperknob.create_study(sampler=hyperknob.samplers.RandomSampler(seed=0))
    study.optimize(quadratic, n_trials=2)
    frame = study.trials_dataframe(attrs=("number", "value", "duration", "params"))
    assert list(frame.columns) == ["number", "value", "duration", "params_x"]
    assert isinstance(frame["duration"][0], datetime.timedelta)
    multi = study.trials_dataframe(attrs=("number", "params"), multi_index=True)
    assert list(multi.columns) == [("number", ""), ("params", "x")]
    with pytest.raises(ValueError, match="attrs must be"):
        study.trials_dataframe(attrs=("number", "bogus"))


def test_get_trials_takes_deepcopy_and_states() -> None:
    study = hyperknob.create_study()
    study.optimize(quadratic, n_trials=2)
    study.ask()
    complete = study.get_trials(deepcopy=False, states=[TrialState.COMPLETE])
    assert [t.number for t in complete] == [0, 1]
    assert [t.number for t in study.get_trials((TrialState.RUNNING,))] == [2]


def test_grid_values_off_a_float_step_are_used_with_a_warning() -> None:
    study = hyperknob.create_study(sampler=hyperknob.samplers.GridSampler({"x": [-0.5, 0.5]}))
    with pytest.warns(UserWarning, match="off the step"):
        study.optimize(lambda t: t.suggest_float("x", -5, 5, step=1) ** 2, n_trials=2)
    assert sorted(t.params["x"] for t in study.trials) == [-0.5, 0.5]
    assert all(t.distributions["x"] == FloatDistribution(-5, 5) for t in study.trials)
    outside = hyperknob.create_study(sampler=hyperknob.samplers.GridSampler({"x": [7.5]}))
    with pytest.raises(ValueError, match="do not all fit"):
        outside.optimize(lambda t: t.suggest_float("x", -5, 5, step=1), n_trials=1)


def test_hyperopt_parameters_make_a_working_sampler() -> None:
    params = hyperknob.samplers.TPESampler.hyperopt_parameters()
    assert params["n_startup_trials"] == 20 and params["gamma"](100) == 3
    study = hyperknob.create_study(sampler=hyperknob.samplers.TPESampler(**params, seed=0))
    study.optimize(quadratic, n_trials=25)
    assert study.best_value < 5.0


def test_default_sampler_keeps_off_an_unfavoured_bound() -> None:
    """Optuna's scikit-learn examples ask alpha in [0, 1] where 0 is invalid: the default
    sampler suggests exactly 0 only when its model clearly favours it."""
    def objective(trial: hyperknob.Trial) -> float:
        alpha = trial.suggest_float("alpha", 0.0, 1.0)
        return abs(alpha - 0.3) + trial.suggest_float("b", -1, 1) ** 2

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for seed in range(3):
            study = hyperknob.create_study(seed=seed)
            study.optimize(objective, n_trials=25)
            assert all(0.0 < t.params["alpha"] < 1.0 for t in study.trials)
