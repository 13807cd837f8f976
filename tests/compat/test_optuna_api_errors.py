"""Wrong input to the Optuna-style API: a clear error naming the value, and nothing already
stored lost or half-written."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

import hyperknob
from hyperknob import TrialState
from hyperknob.distributions import FloatDistribution
from hyperknob.exceptions import DuplicatedStudyError
from hyperknob.storages import RDBStorage, RetryFailedTrialCallback, SQLStorage
from hyperknob.trial import create_trial

X = {"x": FloatDistribution(0, 10)}


def test_duplicate_metric_names_are_refused_and_the_old_ones_kept() -> None:
    study = hyperknob.create_study(directions=["minimize", "minimize"])
    study.set_metric_names(["loss", "size"])
    with pytest.raises(ValueError, match=r"metric_names must differ.*\['a', 'a'\]"):
        study.set_metric_names(["a", "a"])
    assert study.metric_names == ["loss", "size"]


@pytest.mark.parametrize("url", [None, "sqlite"])
def test_add_trials_with_an_attribute_not_json_stores_none(url: str | None,
                                                            tmp_path: Path) -> None:
    storage = None if url is None else f"sqlite:///{tmp_path / 'a.db'}"
    study = hyperknob.create_study(storage=storage)
    study.add_trial(create_trial(params={"x": 1.0}, distributions=X, value=1.0))
    good = create_trial(params={"x": 2.0}, distributions=X, value=2.0)
    bad = create_trial(params={"x": 3.0}, distributions=X, value=3.0,
                       user_attrs={"model": object()})
    with pytest.raises(TypeError, match="user attribute 'model' must be JSON-serializable"):
        study.add_trials([good, bad])
    assert [t.params["x"] for t in study.trials] == [1.0]


def test_add_trial_with_a_parameter_of_the_wrong_type_names_it() -> None:
    study = hyperknob.create_study()
    trial = create_trial(params={"x": 1.0}, distributions=X, value=1.0)
    trial = trial.replace(params={"x": "one"})
    with pytest.raises(ValueError, match=r"parameter 'x'='one' does not fit"):
        study.add_trial(trial)
    assert study.trials == []


def test_ask_with_a_bad_distribution_names_it_and_starts_no_trial() -> None:
    study = hyperknob.create_study()
    with pytest.raises(TypeError, match=r"'x': \(0, 1\)"):
        study.ask({"x": (0, 1)})  # type: ignore[dict-item]
    assert study.trials == []
    trial = study.ask(X)  # the next ask is trial 0, not a stuck RUNNING one before it
    assert trial.number == 0 and 0 <= trial.params["x"] <= 10


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"state": "COMPLETE"}, TypeError, "state must be a TrialState, got state='COMPLETE'"),
    ({"distributions": {"x": (0, 10)}}, TypeError, r"distributions\['x'\] must be a distrib"),
    ({"constraints": "ab"}, ValueError, "constraints must be a list of finite numbers"),
    ({"constraints": [math.nan]}, ValueError, r"got constraints=\[nan\]"),
    ({"constraints": [None]}, ValueError, "constraints must be a list of finite numbers"),
])
def test_create_trial_names_a_wrong_argument(kwargs: dict[str, object], error: type,
                                             match: str) -> None:
    arguments: dict[str, object] = {"params": {"x": 1.0}, "distributions": X, "value": 1.0}
    with pytest.raises(error, match=match):
        create_trial(**{**arguments, **kwargs})  # type: ignore[arg-type]


def test_create_trial_constraints_are_floats() -> None:
    trial = create_trial(params={"x": 1.0}, distributions=X, value=1.0, constraints=[0, -2])
    assert trial.system_attrs["constraints"] == [0.0, -2.0]


def test_copy_study_onto_an_existing_name_says_what_to_change(tmp_path: Path) -> None:
    source, target = f"sqlite:///{tmp_path / 'a.db'}", f"sqlite:///{tmp_path / 'b.db'}"
    hyperknob.create_study(study_name="s", storage=source).optimize(
        lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    hyperknob.create_study(study_name="s", storage=target).optimize(
        lambda t: t.suggest_float("x", 0, 1), n_trials=1)
    with pytest.raises(DuplicatedStudyError, match="to_study_name"):
        hyperknob.copy_study(from_study_name="s", from_storage=source, to_storage=target)
    assert len(hyperknob.load_study(study_name="s", storage=target).trials) == 1
    with pytest.raises(ValueError, match="study_name must be a non-empty string"):
        hyperknob.copy_study(from_study_name="s", from_storage=source, to_storage=target,
                             to_study_name="")
    hyperknob.copy_study(from_study_name="s", from_storage=source, to_storage=target,
                         to_study_name="copy")
    assert len(hyperknob.load_study(study_name="copy", storage=target).trials) == 2


@pytest.mark.parametrize(("url", "error", "match"), [
    (5, TypeError, "storage must be a URL string"),
    ("mysql://user:secret@host/db", ValueError, "unknown storage URL scheme 'mysql'"),
])
@pytest.mark.parametrize("cls", [SQLStorage, RDBStorage])
def test_sql_storage_names_a_bad_url_without_its_password(cls: type, url: object,
                                                          error: type, match: str) -> None:
    with pytest.raises(error, match=match) as raised:
        cls(url)
    assert "secret" not in str(raised.value)


def test_rdb_storage_refuses_bad_engine_kwargs_and_two_callbacks(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'a.db'}"
    with pytest.raises(TypeError, match=r"engine_kwargs must be a dict.*\[1\]"):
        RDBStorage(url, engine_kwargs=[1])  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="failed_trial_callback"):
        RDBStorage(url, heartbeat_interval=1.0,
                   heartbeat_stale_trial_callback=RetryFailedTrialCallback(max_retry=1),
                   failed_trial_callback=RetryFailedTrialCallback(max_retry=2))


def test_best_trial_of_several_objectives_points_to_best_trials() -> None:
    study = hyperknob.create_study(directions=["minimize", "maximize"])
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), 1.0), n_trials=2)
    with pytest.raises(RuntimeError, match=r"read \.best_trials"):
        _ = study.best_trial
    assert all(t.state is TrialState.COMPLETE for t in study.best_trials)
