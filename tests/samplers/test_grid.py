"""GridSampler: the sampler contract over a grid, and the grid's own guarantees."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import pytest

import hyperknob
from hyperknob.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from hyperknob.samplers import BaseSampler, GridSampler
from hyperknob.testing import SamplerContract
from hyperknob.testing._sampler_contract import objective_for
from hyperknob.trial import Trial, TrialState

GRID_SPACE: dict[str, BaseDistribution] = {
    "x": FloatDistribution(0.0, 0.3, step=0.1),
    "n": IntDistribution(-2, 4, step=3),
    "c": CategoricalDistribution((None, True, 0, "a")),
}
GRID_SIZE = 4 * 3 * 4


class TestGridSamplerContract(SamplerContract):
    """GridSampler over finite distributions passes the contract on its own space."""

    supports_any_search_space = False

    def make_sampler(self, seed: int | None) -> BaseSampler:
        return GridSampler(GRID_SPACE, seed=seed)

    def search_space(self) -> dict[str, BaseDistribution]:
        return dict(GRID_SPACE)


def _points(study: hyperknob.Study, names: list[str]) -> list[tuple[Any, ...]]:
    return [tuple(t.params[n] for n in names) for t in study.trials]


def _typed(point: tuple[Any, ...]) -> tuple[Any, ...]:
    return tuple((type(v).__name__, v) for v in point)


def test_grid_size() -> None:
    """The grid size is the product of the axis lengths."""
    assert GridSampler(GRID_SPACE).grid_size == GRID_SIZE
    assert GridSampler({"a": [1, 2, 3], "b": ["x"]}).grid_size == 3


@pytest.mark.parametrize("n_trials", [None, GRID_SIZE + 10])
def test_exhausted_grid_stops_after_every_point_once(n_trials: int | None) -> None:
    """The study stops after exactly grid_size trials, each grid point once."""
    sampler = GridSampler(GRID_SPACE, seed=1)
    study = hyperknob.create_study(sampler=sampler)
    study.optimize(objective_for(GRID_SPACE), n_trials=n_trials)
    names = list(GRID_SPACE)
    points = _points(study, names)
    assert len(points) == GRID_SIZE
    expected = itertools.product(*(GridSampler({n: GRID_SPACE[n]})._axes[0] for n in names))
    assert sorted(map(_typed, points), key=repr) == sorted(map(_typed, expected), key=repr)
    assert sampler.is_exhausted(study._view)
    study.optimize(objective_for(GRID_SPACE), n_trials=5)  # nothing left: no new trial
    assert len(study.trials) == GRID_SIZE


def test_a_running_trial_without_its_point_yet_counts_as_taking_one() -> None:
    sampler = GridSampler({"a": [1, 2, 3]}, seed=0)
    study = hyperknob.create_study(sampler=sampler)
    study.optimize(lambda t: float(t.suggest_int("a", 1, 3)), n_trials=2)
    assert not sampler.is_exhausted(study._view)
    pending = study.ask()  # another worker's trial, between ask and its first suggestion
    assert sampler.is_exhausted(study._view)  # the last point is spoken for
    study.tell(pending, state=TrialState.FAIL)  # it failed before suggesting: free again
    assert not sampler.is_exhausted(study._view)
    study.optimize(lambda t: float(t.suggest_int("a", 1, 3)))
    assert sorted(t.params["a"] for t in study.trials if "a" in t.params) == [1, 2, 3]


def test_explicit_grid_every_type_once() -> None:
    """An explicit grid of every value type (True and 1 distinct) is covered exactly once."""
    grid: dict[str, list[Any]] = {"c": [None, True, False, 0, 1, 2.5, "1", ""], "k": [1, 2]}
    study = hyperknob.create_study(sampler=GridSampler(grid, seed=0))

    def objective(trial: Trial) -> float:
        trial.suggest_categorical("c", grid["c"])
        return float(trial.suggest_int("k", 1, 2))

    study.optimize(objective)
    points = _points(study, ["c", "k"])
    assert len(points) == 16
    assert sorted(map(_typed, points), key=repr) == sorted(
        map(_typed, itertools.product(grid["c"], grid["k"])), key=repr)


def test_grid_with_int_and_float_of_same_value_is_rejected() -> None:
    """1 and 1.0 on one axis would be one point to suggest_float and two to a list: refuse."""
    with pytest.raises(ValueError, match=r"grid dimension 'c' lists 1 and 1\.0, which are the "
                       r"same number"):
        GridSampler({"c": [1, 1.0]})


def test_grid_from_finite_distributions_values() -> None:
    """Int, stepped float and categorical distributions give their values as the grid."""
    sampler = GridSampler(GRID_SPACE)
    axes = dict(zip(sampler._names, sampler._axes, strict=True))
    assert axes["n"] == [-2, 1, 4]
    assert axes["x"] == pytest.approx([0.0, 0.1, 0.2, 0.3])
    assert axes["x"][-1] == 0.3  # never past high
    assert axes["c"] == [None, True, 0, "a"]


@pytest.mark.parametrize("space", [
    {"lr": FloatDistribution(0.0, 1.0)},
    {"lr": FloatDistribution(1e-3, 1.0, log=True)},
    {"ok": [1, 2], "lr": FloatDistribution(-1.0, 1.0)},
])
def test_continuous_dimension_raises(space: dict[str, Any]) -> None:
    """A continuous float dimension raises ValueError naming it."""
    with pytest.raises(ValueError, match="'lr'"):
        GridSampler(space)


def test_log_int_dimension_raises() -> None:
    """A log-scale int range must be listed explicitly."""
    with pytest.raises(ValueError, match="'layers'"):
        GridSampler({"layers": IntDistribution(1, 64, log=True)})


def test_parameter_not_in_grid_raises() -> None:
    """Suggesting a parameter the grid lacks raises ValueError naming it."""
    study = hyperknob.create_study(sampler=GridSampler({"x": [1, 2]}))

    def objective(trial: Trial) -> float:
        trial.suggest_int("x", 1, 2)
        return trial.suggest_float("not_in_grid", 0, 1)

    with pytest.raises(ValueError, match="'not_in_grid'"):
        study.optimize(objective, n_trials=1)
    assert study.trials[0].state is TrialState.FAIL


def test_seeds_change_order_not_points() -> None:
    """Different seeds visit the same points in different orders."""
    runs = []
    for seed in (0, 1):
        study = hyperknob.create_study(sampler=GridSampler(GRID_SPACE, seed=seed))
        study.optimize(objective_for(GRID_SPACE))
        runs.append(_points(study, list(GRID_SPACE)))
    assert runs[0] != runs[1]
    assert sorted(map(_typed, runs[0]), key=repr) == sorted(map(_typed, runs[1]), key=repr)


def test_worker_processes_cover_grid(tmp_path: Path) -> None:
    """Three worker processes on one SQLite file cover exactly the grid_size points."""
    grid: dict[str, list[Any]] = {"a": [0, 1, 2, 3], "b": ["x", "y", "z"]}
    url = f"sqlite:///{tmp_path}/grid.db"
    study = hyperknob.create_study(storage=url, sampler=GridSampler(grid, seed=3))

    def objective(trial: Trial) -> float:
        trial.suggest_categorical("b", grid["b"])
        return float(trial.suggest_int("a", 0, 3))

    study.optimize(objective, n_jobs=3)
    trials = hyperknob.load_study(study_name=study.study_name, storage=url).trials
    assert all(t.state is TrialState.COMPLETE for t in trials)
    points = {(t.params["a"], t.params["b"]) for t in trials}
    assert points == set(itertools.product(grid["a"], grid["b"]))
    # A worker that checked "exhausted?" just before another claimed the last point may
    # re-run one point: at most n_jobs - 1 extra trials.
    assert 12 <= len(trials) <= 12 + 2


def test_grid_values_outside_the_suggested_range_are_a_clear_error() -> None:
    study = hyperknob.create_study(sampler=GridSampler({"x": [5, 10]}, seed=0))
    with pytest.raises(ValueError, match=r"the grid's values \[5, 10\] do not all fit"):
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=1)
