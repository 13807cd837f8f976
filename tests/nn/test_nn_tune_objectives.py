"""``nn.tune`` with several objectives (the Pareto front of accuracy and size) and with a
parameter budget (a constraint its first user)."""

from __future__ import annotations

from typing import Any

import pytest

import hyperknob
from hyperknob import StudyDirection, TrialState, nn
from hyperknob.samplers._constraints import is_feasible

QUIET: dict[str, Any] = {"log": None, "progress": False, "max_epochs": 10}


def _dominates(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    """Accuracy maximized, the rest minimized."""
    signed_a, signed_b = (-a[0], *a[1:]), (-b[0], *b[1:])
    return all(x <= y for x, y in zip(signed_a, signed_b, strict=True)) and signed_a != signed_b


def test_accuracy_and_size_give_a_pareto_front() -> None:
    result = nn.tune("iris", trials=10, objectives="accuracy,params", **QUIET)
    study = result.study
    assert study.directions == [StudyDirection.MAXIMIZE, StudyDirection.MINIMIZE]
    assert study.metric_names == ["accuracy", "params"]
    assert result.objectives == ("accuracy", "params")
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert len(complete) >= 5
    for trial in complete:  # the second value is the network's size, counted up front
        assert trial.values[1] == trial.user_attrs["n_parameters"]  # type: ignore[index]
    front = {t.number for t in complete
             if not any(_dominates(o.values, t.values) for o in complete)}  # type: ignore[arg-type]
    assert set(result.pareto) == front
    best = max(complete, key=lambda t: (t.values[0], -t.number))  # type: ignore[index]
    assert result.best_trial.number in front
    assert result.best_trial.values[0] == best.values[0]  # type: ignore[index]
    assert result.n_parameters == result.best_trial.values[1]  # one network, not an ensemble
    assert study.user_attrs["tuned"]["pareto"] == list(result.pareto)


def test_parameter_budget_trains_only_networks_within_it() -> None:
    budget = 150
    result = nn.tune("iris", trials=14, max_params=budget, ensemble="auto", **QUIET)
    study = result.study
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert complete and all(t.user_attrs["n_parameters"] <= budget for t in complete)
    over = [t for t in study.trials if t.user_attrs.get("n_parameters", 0) > budget]
    for trial in over:  # pruned before a single epoch: no curves, the reason says why
        assert trial.state is TrialState.PRUNED
        assert "over the budget of 150" in trial.system_attrs["prune_reason"]
        assert "curves" not in trial.user_attrs
        assert trial.system_attrs["constraints"] == [trial.user_attrs["n_parameters"] - budget]
    assert is_feasible(study.best_trial)
    assert result.n_parameters <= budget  # the final model too: no ensemble past the budget
    assert result.test > 0.8 and result.max_params == budget


def test_budget_and_objectives_together() -> None:
    result = nn.tune("iris", trials=8, objectives=["metric", "params", "seconds"],
                     max_params=400, **QUIET)
    assert result.objectives == ("accuracy", "params", "seconds")
    for number in result.pareto:
        trial = result.study.trials[number]
        assert len(trial.values) == 3 and trial.values[1] <= 400  # type: ignore[arg-type]


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"objectives": "rmse,params"}, "must start with the validation metric"),
    ({"objectives": "accuracy,params,params"}, "each once"),
    ({"objectives": "accuracy,latency"}, "may add"),
    ({"objectives": "accuracy,params", "strategy": "bohb"}, "ranks trials by one value"),
    ({"max_params": 0}, "max_params must be an int >= 1"),
])
def test_bad_objectives_are_refused_before_anything_is_stored(
        kwargs: dict[str, Any], match: str) -> None:
    storage = hyperknob.storages.InMemoryStorage()
    with pytest.raises(ValueError, match=match):
        nn.tune("iris", trials=2, storage=storage, **kwargs, **QUIET)
    assert storage.get_all_studies() == []


def test_objective_returns_one_value_per_objective(iris: nn.Dataset) -> None:
    job = nn.NeuralNetworkObjective(iris, objectives=("accuracy", "params"), log=lambda _: None,
                                    max_params=10_000)
    assert job.directions == ["maximize", "minimize"]
    study = hyperknob.create_study(directions=job.directions,
                                   sampler=hyperknob.samplers.RandomSampler(seed=0))
    study.optimize(job, n_trials=3)
    for trial in study.get_trials(states=(TrialState.COMPLETE,)):
        record = nn.read_record(trial)
        assert record is not None and trial.values == (trial.values[0], record.n_parameters)
