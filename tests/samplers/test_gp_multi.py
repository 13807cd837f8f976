"""The GP's acquisitions for several objectives and constraints: exact EHVI over boxes,
log P(feasible), their gradients, stepping off bounds, and the sampler using them."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.stats

import hyperknob
from hyperknob._pareto import hypervolume, nondominated_mask
from hyperknob.samplers import GPSampler
from hyperknob.samplers._constraints import is_feasible
from hyperknob.samplers.gp._ehvi import LogEHVI, LogFeasibility, box_decomposition
from hyperknob.samplers.gp._gp import condition
from hyperknob.samplers.gp._maximize import BOUND_STEP, step_off_bounds
from hyperknob.trial import FrozenTrial


def _front(m: int, n: int, seed: int) -> np.ndarray:
    points = np.random.default_rng(seed).random((n, m))
    return points[nondominated_mask(points)]


@pytest.mark.parametrize(("m", "seed"), [(2, 0), (2, 1), (3, 0), (3, 1)])
def test_boxes_measure_exactly_the_hypervolume_improvement(m: int, seed: int) -> None:
    front, reference = _front(m, 25, seed), np.full(m, 1.2)
    lower, upper = box_decomposition(front, reference)
    assert np.all(lower < upper)
    rng = np.random.default_rng(seed + 10)
    for y in rng.random((40, m)) * 0.6:
        improvement = hypervolume(np.vstack([front, y]), reference) - hypervolume(front,
                                                                                  reference)
        in_boxes = np.prod(np.clip(upper - np.maximum(lower, y), 0.0, None), axis=1).sum()
        assert in_boxes == pytest.approx(improvement, abs=1e-12)


def _models(m: int, seed: int) -> list[object]:
    rng = np.random.default_rng(seed)
    x = rng.random((12, 2))
    theta = np.array([np.log(0.3), np.log(0.3), 0.0, np.log(1e-4)])
    return [condition(theta, x, rng.standard_normal(12)) for _ in range(m)]


@pytest.mark.parametrize("m", [2, 3])
def test_log_ehvi_matches_monte_carlo(m: int) -> None:
    from hyperknob.samplers.gp._gp import posterior

    models = _models(m, 3)
    front = np.array([[-0.5, 0.2, 0.1], [0.0, -0.4, 0.3], [0.4, 0.3, -0.6]])[:, :m]
    lower, upper = box_decomposition(front, np.full(m, 1.5))
    acquisition = LogEHVI(models, lower, upper)  # type: ignore[arg-type]
    x = np.array([[0.2, 0.7], [0.9, 0.1]])
    rng = np.random.default_rng(0)
    for point, value in zip(x, acquisition(x), strict=True):
        moments = [posterior(model, point[None]) for model in models]  # type: ignore[arg-type]
        mean = np.array([mu[0] for mu, _ in moments])
        sd = np.sqrt([var[0] for _, var in moments])
        samples = mean + sd * rng.standard_normal((40000, m))
        gains = np.prod(np.clip(upper[None] - np.maximum(lower[None], samples[:, None]),
                                0.0, None), axis=2).sum(axis=1)
        assert np.exp(value) == pytest.approx(gains.mean(), rel=4 * gains.std()
                                              / np.sqrt(len(gains)) / gains.mean() + 1e-3)


@pytest.mark.parametrize("kind", ["ehvi", "feasibility"])
def test_gradients_match_finite_differences(kind: str) -> None:
    models = _models(2, 5)
    if kind == "ehvi":
        lower, upper = box_decomposition(np.array([[-0.5, 0.3], [0.2, -0.4]]),
                                         np.array([1.0, 1.0]))
        acquisition: LogEHVI | LogFeasibility = LogEHVI(
            models, lower, upper)  # type: ignore[arg-type]
    else:
        acquisition = LogFeasibility(models, np.array([0.3, -0.2]))  # type: ignore[arg-type]
    x = np.random.default_rng(1).random((6, 2))
    value, grad = acquisition.with_gradient(x)
    np.testing.assert_allclose(value, acquisition(x), rtol=1e-12)
    h = 1e-6
    for d in range(2):
        step = np.zeros_like(x)
        step[:, d] = h
        numeric = (acquisition(x + step) - acquisition(x - step)) / (2 * h)
        np.testing.assert_allclose(grad[:, d], numeric, rtol=1e-4, atol=1e-6)


def test_log_feasibility_is_the_product_of_normal_probabilities() -> None:
    from hyperknob.samplers.gp._gp import posterior

    models = _models(2, 7)
    thresholds = np.array([0.5, -0.1])
    x = np.array([[0.3, 0.4]])
    expected = 0.0
    for model, threshold in zip(models, thresholds, strict=True):
        mean, var = posterior(model, x)  # type: ignore[arg-type]
        expected += scipy.stats.norm.logcdf((threshold - mean[0]) / np.sqrt(var[0]))
    assert LogFeasibility(models, thresholds)(x)[0] == pytest.approx(  # type: ignore[arg-type]
        expected)


def test_step_off_bounds_moves_unless_the_bound_is_clearly_better() -> None:
    columns = np.array([0, 1])
    flat = step_off_bounds(lambda p: np.zeros(len(p)), np.array([0.0, 1.0, 0.5]), columns)
    np.testing.assert_allclose(flat, [BOUND_STEP, 1.0 - BOUND_STEP, 0.5])
    steep = step_off_bounds(lambda p: -1e4 * p[:, 0], np.array([0.0, 0.3, 0.5]), columns)
    np.testing.assert_array_equal(steep, [0.0, 0.3, 0.5])


def _zdt2(trial: hyperknob.Trial) -> tuple[float, float]:
    x = np.array([trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(4)])
    g = 1.0 + 9.0 * float(np.mean(x[1:]))
    return float(x[0]), g * (1.0 - (float(x[0]) / g) ** 2)


def test_ehvi_beats_random_search_on_a_concave_front() -> None:
    scores = {}
    for name, sampler in (("gp", GPSampler(seed=0, n_candidates=512)),
                          ("random", hyperknob.samplers.RandomSampler(seed=0))):
        study = hyperknob.create_study(directions=["minimize", "minimize"], sampler=sampler)
        study.optimize(_zdt2, n_trials=40)
        loss = np.array([t.values for t in study.best_trials])
        scores[name] = hypervolume(loss, np.array([11.0, 11.0]))
    assert scores["gp"] > scores["random"] + 5.0, scores  # true front: 120.33


def test_constrained_gp_keeps_to_the_feasible_side_and_converges() -> None:
    """Minimize (x - 1)^2 + (y - 1)^2 subject to x + y <= 1: the optimum (0.5, 0.5) is on
    the constraint's boundary."""
    def constraints(trial: FrozenTrial) -> tuple[float]:
        return (trial.params["x"] + trial.params["y"] - 1.0,)

    sampler = GPSampler(seed=0, n_candidates=512, constraints_func=constraints)
    study = hyperknob.create_study(sampler=sampler)
    study.optimize(lambda t: (t.suggest_float("x", 0, 2) - 1) ** 2
                   + (t.suggest_float("y", 0, 2) - 1) ** 2, n_trials=30)
    assert is_feasible(study.best_trial)
    assert study.best_value < 0.5 + 0.02  # the constrained optimum is 0.5
    # The later trials hug the boundary (measured: within 0.002 of it, either side).
    gaps = [abs(t.params["x"] + t.params["y"] - 1.0) for t in study.trials[15:]]
    assert float(np.median(gaps)) < 0.01
