"""The built-in test functions: known optima at known minimizers, larger everywhere else."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize

import hyperknob
from hyperknob.testing.functions import (
    TEST_FUNCTIONS,
    TestFunction,
    branin,
    get_test_function,
    hartmann3,
    levy,
    objective_for,
    rosenbrock,
    sphere,
    styblinski_tang,
)

NAMES = sorted(TEST_FUNCTIONS)


def test_the_registry_holds_the_six_functions() -> None:
    assert set(TEST_FUNCTIONS) == {
        "sphere", "branin", "rosenbrock", "hartmann3", "levy", "styblinski_tang"
    }
    for name, fn in TEST_FUNCTIONS.items():
        assert fn.name == name
        assert len(fn.bounds) == fn.dim == len(fn.minimizer)


@pytest.mark.parametrize("name", NAMES)
def test_the_optimum_is_reached_at_the_minimizer(name: str) -> None:
    fn = TEST_FUNCTIONS[name]
    assert fn.evaluate(np.array(fn.minimizer)) == pytest.approx(fn.optimum_value, abs=1e-4)
    assert fn(list(fn.minimizer)) == pytest.approx(fn.optimum_value, abs=1e-4)
    for (low, high), x in zip(fn.bounds, fn.minimizer, strict=True):
        assert low <= x <= high


@pytest.mark.parametrize("name", NAMES)
def test_random_points_are_worse_than_the_optimum(name: str) -> None:
    fn = TEST_FUNCTIONS[name]
    rng = np.random.default_rng(1234)
    low = np.array([b[0] for b in fn.bounds])
    high = np.array([b[1] for b in fn.bounds])
    values = [fn.evaluate(rng.uniform(low, high)) for _ in range(500)]
    assert all(isinstance(v, float) and math.isfinite(v) for v in values)
    assert min(values) > fn.optimum_value + 1e-6


@pytest.mark.parametrize("name", NAMES)
def test_a_local_search_from_the_minimizer_finds_nothing_lower(name: str) -> None:
    fn = TEST_FUNCTIONS[name]
    result = minimize(fn.evaluate, np.array(fn.minimizer) + 1e-3, method="Nelder-Mead",
                      bounds=fn.bounds, options={"xatol": 1e-10, "fatol": 1e-12})
    assert result.fun == pytest.approx(fn.optimum_value, abs=1e-6)
    assert result.fun >= fn.optimum_value - 1e-6


def test_known_values_from_the_literature() -> None:
    # Surjanovic & Bingham (VLSE): the three Branin minima, Hartmann-3, Styblinski-Tang.
    for point in ([-math.pi, 12.275], [math.pi, 2.275], [9.42478, 2.475]):
        assert branin(point) == pytest.approx(0.397887, abs=1e-5)
    assert hartmann3([0.114614, 0.555649, 0.852547]) == pytest.approx(-3.86278, abs=1e-4)
    assert styblinski_tang([-2.903534] * 4) == pytest.approx(-39.16599 * 4, abs=2e-3)
    assert sphere([3.0, 4.0]) == 25.0
    assert rosenbrock([0.0, 0.0]) == 1.0  # (x1 - 1)^2 only
    assert rosenbrock([1.0, 2.0]) == pytest.approx(100.0)  # 100 (x2 - x1^2)^2 only
    assert levy(np.ones(7)) == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("dim", [2, 5, 10])
def test_n_dimensional_functions_keep_their_optimum(dim: int) -> None:
    for name in ("sphere", "rosenbrock", "levy", "styblinski_tang"):
        fn = get_test_function(name, dim)
        assert fn.dim == dim == len(fn.bounds)
        assert fn.evaluate(fn.minimizer) == pytest.approx(fn.optimum_value, abs=1e-4)
    assert get_test_function("styblinski_tang", dim).optimum_value == pytest.approx(
        -39.16617 * dim, abs=1e-4 * dim)


def test_wrong_dimensions_and_names_are_refused_with_the_expectation() -> None:
    with pytest.raises(ValueError, match="dimension 2, got 3"):
        branin([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="dimension 3, got 2"):
        hartmann3([0.5, 0.5])
    with pytest.raises(ValueError, match=">= 2"):
        rosenbrock([1.0])
    with pytest.raises(ValueError, match="1-D point"):
        sphere(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="unknown test function 'nope'"):
        get_test_function("nope")
    with pytest.raises(ValueError, match="2 dimensions only, got dim=4"):
        get_test_function("branin", 4)
    with pytest.raises(ValueError, match="dim >= 2, got dim=1"):
        get_test_function("rosenbrock", 1)
    with pytest.raises(ValueError, match="expected low < high"):
        TestFunction("bad", 1, ((1.0, 0.0),), 0.0, sphere)


def test_records_are_frozen() -> None:
    fn = TEST_FUNCTIONS["sphere"]
    with pytest.raises(AttributeError):
        fn.dim = 3  # type: ignore[misc]


@pytest.mark.parametrize("name", NAMES)
def test_objective_for_suggests_every_coordinate_within_the_bounds(name: str) -> None:
    fn = TEST_FUNCTIONS[name]
    study = hyperknob.create_study(seed=7)
    study.optimize(objective_for(fn), n_trials=20)
    assert len(study.trials) == 20
    for trial in study.trials:
        assert trial.state is hyperknob.TrialState.COMPLETE
        assert list(trial.params) == [f"x{i}" for i in range(fn.dim)]
        point = [trial.params[f"x{i}"] for i in range(fn.dim)]
        for (low, high), x in zip(fn.bounds, point, strict=True):
            assert low <= x <= high
        assert trial.value == pytest.approx(fn.evaluate(point))
    assert study.best_value > fn.optimum_value


def test_random_search_on_sphere_gets_close() -> None:
    study = hyperknob.create_study(seed=0)
    study.optimize(objective_for(TEST_FUNCTIONS["sphere"]), n_trials=200)
    assert study.best_value < 0.5
