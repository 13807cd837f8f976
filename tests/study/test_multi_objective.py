"""Studies with several objectives: directions, values, the Pareto front, bad values."""

from __future__ import annotations

import itertools
from typing import Any

import pytest

import hyperknob
from hyperknob import StudyDirection, TrialState
from hyperknob.distributions import FloatDistribution, IntDistribution
from hyperknob.trial import FrozenTrial

MIN, MAX = StudyDirection.MINIMIZE, StudyDirection.MAXIMIZE


def two_objectives(trial: hyperknob.Trial) -> tuple[float, float]:
    x = trial.suggest_float("x", 0.0, 1.0)
    y = trial.suggest_float("y", 0.0, 1.0)
    return x, (1.0 - x) ** 2 + y  # minimize both: the front is y = 0


def random_study(storage: Any = None, **kwargs: Any) -> hyperknob.Study:
    return hyperknob.create_study(
        storage=storage, directions=kwargs.pop("directions", ["minimize", "minimize"]),
        sampler=hyperknob.samplers.RandomSampler(seed=0), **kwargs)


def brute_force_front(values: list[tuple[float, ...]], signs: tuple[float, ...]) -> set[int]:
    front = set()
    for i, a in enumerate(values):
        dominated = False
        for j, b in enumerate(values):
            if i != j and all(s * bj <= s * aj for s, aj, bj in zip(signs, a, b, strict=True)) \
                    and any(s * bj < s * aj for s, aj, bj in zip(signs, a, b, strict=True)):
                dominated = True
        if not dominated:
            front.add(i)
    return front


def test_directions_and_values(storage_url: str | None) -> None:
    study = random_study(storage_url, directions=["minimize", "maximize"])
    assert study.directions == [MIN, MAX] and study.is_multi_objective()
    study.optimize(lambda t: (t.suggest_float("x", 0, 1), 2.0), n_trials=5)
    for trial in study.trials:
        assert trial.values == (trial.params["x"], 2.0)
    with pytest.raises(RuntimeError, match="directions"):
        _ = study.direction
    with pytest.raises(RuntimeError, match="directions"):
        _ = study.best_trial
    with pytest.raises(RuntimeError, match="values"):
        _ = study.trials[0].value
    assert "directions=MINIMIZE, MAXIMIZE" in repr(study)


@pytest.mark.parametrize("signs", [(1.0, 1.0), (1.0, -1.0), (-1.0, -1.0)])
def test_best_trials_is_the_pareto_front(signs: tuple[float, float]) -> None:
    directions = ["minimize" if s > 0 else "maximize" for s in signs]
    study = random_study(directions=directions)
    study.optimize(two_objectives, n_trials=60)
    trials = study.trials
    expected = brute_force_front([t.values for t in trials], signs)  # type: ignore[misc]
    assert {t.number for t in study.best_trials} == expected
    assert [t.number for t in study.best_trials] == sorted(expected)


def test_best_trials_of_one_objective_are_the_ties() -> None:
    study = hyperknob.create_study(sampler=hyperknob.samplers.RandomSampler(seed=0))
    for value in (3.0, 1.0, 2.0, 1.0):
        trial = study.ask()
        study.tell(trial, value)
    assert [t.number for t in study.best_trials] == [1, 3]


def test_tell_with_a_list_and_with_ask_fixed_distributions(storage_url: str | None) -> None:
    study = random_study(storage_url, directions=["maximize", "minimize", "minimize"])
    trial = study.ask(fixed_distributions={"x": FloatDistribution(0, 1),
                                           "n": IntDistribution(1, 9)})
    assert set(trial.params) == {"x", "n"}
    frozen = study.tell(trial, [1.0, 2.0, 3.0])
    assert frozen.values == (1.0, 2.0, 3.0)
    assert study.trials[0].values == (1.0, 2.0, 3.0)
    assert study.trials[0].params == trial.params


@pytest.mark.parametrize(("returned", "reason"), [
    (1.0, "expected a sequence of 2 finite floats"),
    ([1.0], "returned 1 values"),
    ((1.0, 2.0, 3.0), "returned 3 values"),
    ((1.0, float("nan")), "returned nan"),
    ((1.0, "a"), "of type str"),
    (None, "returned None; the study has 2 objectives"),
])
def test_bad_values_fail_the_trial_and_the_study_goes_on(returned: Any, reason: str) -> None:
    study = random_study()
    calls = itertools.count()

    def objective(trial: hyperknob.Trial) -> Any:
        trial.suggest_float("x", 0, 1)
        return returned if next(calls) == 0 else (1.0, 2.0)

    with pytest.warns(UserWarning, match="failed"):
        study.optimize(objective, n_trials=2)
    first, second = study.trials
    assert first.state is TrialState.FAIL and reason in first.system_attrs["fail_reason"]
    assert first.values is None
    assert second.state is TrialState.COMPLETE and second.values == (1.0, 2.0)


def test_trials_dataframe_has_a_column_per_objective() -> None:
    pytest.importorskip("pandas")
    study = random_study()
    study.optimize(two_objectives, n_trials=3)
    frame = study.trials_dataframe()
    assert "value" not in frame.columns
    assert list(frame["values_0"]) == [t.values[0] for t in study.trials]  # type: ignore[index]
    study.set_metric_names(["error", "cost"])
    assert study.metric_names == ["error", "cost"]
    frame = study.trials_dataframe()
    assert list(frame["values_cost"]) == [t.values[1] for t in study.trials]  # type: ignore[index]
    with pytest.raises(ValueError, match="each of the study's 2 objectives"):
        study.set_metric_names(["only-one"])


def test_add_trials_checks_every_value_before_storing() -> None:
    study = random_study(directions=["minimize", "maximize"])
    dist = {"x": FloatDistribution(0, 1)}
    good = FrozenTrial(-1, -1, TrialState.COMPLETE, values=(0.1, 0.2), params={"x": 0.5},
                       distributions=dist)
    short = FrozenTrial(-1, -1, TrialState.COMPLETE, value=0.1, params={"x": 0.5},
                        distributions=dist)
    with pytest.raises(ValueError, match=r"one finite value per objective.*1 values"):
        study.add_trials([good, short])
    assert study.trials == []
    study.add_trials([good, good])
    assert [t.values for t in study.trials] == [(0.1, 0.2), (0.1, 0.2)]
    assert [t.number for t in study.best_trials] == [0, 1]  # equal points: neither dominates


@pytest.mark.parametrize(("kwargs", "error", "match"), [
    ({"direction": "minimize", "directions": ["minimize"]}, ValueError, "not both"),
    ({"directions": []}, ValueError, "at least one objective"),
    ({"directions": "minimize"}, TypeError, "list of"),
    ({"directions": ["minimize", "up"]}, ValueError, "'up'"),
])
def test_bad_directions_are_refused(kwargs: dict[str, Any], error: type[Exception],
                                    match: str) -> None:
    with pytest.raises(error, match=match):
        hyperknob.create_study(**kwargs)


def test_load_if_exists_checks_the_directions(tmp_path: Any) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    random_study(url, study_name="s", directions=["minimize", "maximize"])
    with pytest.raises(ValueError, match=r"\['minimize', 'maximize'\], not 'minimize'"):
        hyperknob.create_study(study_name="s", storage=url, load_if_exists=True)
    again = hyperknob.create_study(study_name="s", storage=url, load_if_exists=True,
                                   directions=["minimize", "maximize"])
    assert again.directions == [MIN, MAX]


def test_frozen_trial_value_and_values() -> None:
    one = FrozenTrial(0, 0, TrialState.COMPLETE, value=1.5)
    assert one.values == (1.5,) and one.value == 1.5
    assert one.replace(value=2.0).values == (2.0,)
    two = FrozenTrial(0, 0, TrialState.COMPLETE, values=[1, 2])
    assert two.values == (1.0, 2.0)
    with pytest.raises(ValueError, match="not both"):
        FrozenTrial(0, 0, TrialState.COMPLETE, value=1.0, values=[1.0])
    with pytest.raises(TypeError, match="values must be a sequence"):
        FrozenTrial(0, 0, TrialState.COMPLETE, values="ab")  # type: ignore[arg-type]
    assert two == FrozenTrial(0, 0, TrialState.COMPLETE, values=(1.0, 2.0))


def test_constrained_multi_objective_study_in_every_storage(storage_url: str | None) -> None:
    """Constraint values are stored with each trial in every storage, and the front read
    back holds only trials that meet them."""
    def constraints(trial: FrozenTrial) -> tuple[float]:
        return (trial.params["x"] - 0.5,)

    study = hyperknob.create_study(
        storage=storage_url, directions=["minimize", "minimize"],
        sampler=hyperknob.samplers.TPESampler(seed=0, n_startup_trials=4,
                                              constraints_func=constraints))
    study.optimize(two_objectives, n_trials=12)
    loaded = hyperknob.load_study(study_name=study.study_name, storage=study.storage)
    for trial in loaded.trials:
        assert trial.system_attrs["constraints"] == [trial.params["x"] - 0.5]
    front = loaded.best_trials
    assert front and all(t.params["x"] <= 0.5 for t in front)
