"""Importance on functions whose importances are known analytically (Sobol first-order
indices = the main-effect shares fANOVA estimates)."""

from __future__ import annotations

import json
import math
from collections.abc import Callable

import numpy as np
import pytest

import hyperknob
from hyperknob.analysis import param_importances
from hyperknob.analysis._encoding import Column, encode
from hyperknob.distributions import FloatDistribution
from hyperknob.samplers import RandomSampler
from hyperknob.study import Study
from hyperknob.trial import Trial


def random_study(objective: Callable[[Trial], float], n: int, seed: int = 0) -> Study:
    study = hyperknob.create_study(sampler=RandomSampler(seed=seed))
    study.optimize(objective, n_trials=n)
    return study


def linear(trial: Trial) -> float:
    x, y, z = (trial.suggest_float(name, 0.0, 1.0) for name in "xyz")
    return 10.0 * x + y + 0.0 * z


def ishigami(trial: Trial) -> float:
    x1, x2, x3 = (trial.suggest_float(f"x{i}", -math.pi, math.pi) for i in (1, 2, 3))
    return math.sin(x1) + 7.0 * math.sin(x2) ** 2 + 0.1 * x3**4 * math.sin(x1)


def test_fanova_recovers_the_shares_of_an_additive_function() -> None:
    """Var(10x) = 100/12, Var(y) = 1/12, Var(0z) = 0: shares 0.990, 0.0099, 0."""
    result = param_importances(random_study(linear, 300))
    assert list(result.importances) == ["x", "y", "z"]
    assert result.raw["x"] == pytest.approx(100 / 101, abs=0.03)
    assert 0.002 < result.raw["y"] < 0.03 and result.raw["z"] < 0.005
    assert result.explained is not None and result.explained > 0.95
    assert sum(result.importances.values()) == pytest.approx(1.0)
    assert set(result.spread) == {"x", "y", "z"} and result.n_trials == 300


def test_fanova_recovers_the_ishigami_sobol_indices() -> None:
    """Ishigami (a=7, b=0.1): first-order Sobol indices S1 = 0.3139, S2 = 0.4424, S3 = 0
    (Saltelli et al., Global Sensitivity Analysis, 2008); normalized 0.415, 0.585, 0."""
    result = param_importances(random_study(ishigami, 600), seed=1)
    assert list(result.importances) == ["x2", "x1", "x3"]
    assert result.importances["x1"] == pytest.approx(0.415, abs=0.1)
    assert result.importances["x2"] == pytest.approx(0.585, abs=0.1)
    assert result.importances["x3"] < 0.06
    assert result.raw["x3"] < 0.05


def test_categorical_and_log_parameters() -> None:
    def objective(trial: Trial) -> float:
        level = trial.suggest_categorical("level", ["a", "b", "c"])
        lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        return {"a": 0.0, "b": 1.0, "c": 2.0}[level] + 0.01 * math.log10(lr)

    result = param_importances(random_study(objective, 200))
    assert list(result.importances) == ["level", "lr"]
    assert result.importances["level"] > 0.99  # Var 2/3 against 0.0001 * 0.75


@pytest.mark.parametrize("matters", [True, False])
def test_conditional_parameter_counts_when_it_matters(matters: bool) -> None:
    def objective(trial: Trial) -> float:
        optimizer = trial.suggest_categorical("optimizer", ["sgd", "adam"])
        value = 0.1 * trial.suggest_float("lr", 0.0, 1.0)
        if optimizer == "sgd":
            momentum = trial.suggest_float("momentum", 0.0, 1.0)
            value += 8.0 * (momentum - 0.5) ** 2 if matters else 0.0
        return value

    study = random_study(objective, 300)
    table = encode(study.trials)
    momentum = table.columns[[c.name for c in table.columns].index("momentum")]
    assert momentum.segments[0][0] == -1.0  # the inactive segment, weighted by its share
    assert momentum.segments[0][2] == pytest.approx(0.5, abs=0.1)
    result = param_importances(study)
    if matters:
        assert result.importances["momentum"] > 0.3
    else:
        assert result.importances["momentum"] < 0.05


def test_ped_anova_finds_where_the_best_trials_crowd() -> None:
    def objective(trial: Trial) -> float:
        x = trial.suggest_float("x", 0.0, 1.0)
        y = trial.suggest_float("y", 0.0, 1.0)
        return 10.0 * (x - 0.3) ** 2 + 0.01 * y

    study = random_study(objective, 300)
    result = param_importances(study, evaluator="ped_anova")
    assert result.importances["x"] > 0.85 and result.explained is None and not result.spread
    maximized = param_importances(study.trials, evaluator="ped_anova", minimize=False)
    assert maximized.importances["x"] > 0.5  # the worst trials crowd both ends of x


def test_ishigami_ped_anova_ranks_locally() -> None:
    """Near Ishigami's minimum x1 must sit at -pi/2 and x2 near 0 or pi; x3 at +-pi
    also helps (0.1 x3^4 sin(x1) < 0): every parameter matters locally."""
    result = param_importances(random_study(ishigami, 500), evaluator="ped_anova")
    assert next(iter(result.importances)) == "x1"
    assert min(result.importances.values()) > 0.1


def test_arguments_and_records() -> None:
    study = random_study(linear, 5)
    with pytest.raises(ValueError, match="evaluator must be one of"):
        param_importances(study, evaluator="shap")
    with pytest.raises(ValueError, match=r"no COMPLETE trial has parameter\(s\) \['w'\]"):
        param_importances(study, params=["w"])
    with pytest.raises(ValueError, match="at least 2 COMPLETE trials"):
        param_importances(study.trials[:1])
    with pytest.raises(ValueError, match="quantile"):
        param_importances(study, evaluator="ped_anova", quantile=1.0)
    only_x = param_importances(study, params=["x"], evaluator="ped_anova")
    assert list(only_x.importances) == ["x"]
    assert json.loads(json.dumps(param_importances(study).to_dict()))["evaluator"] == "fanova"


def test_column_measure_of_intervals() -> None:
    column = Column("c", FloatDistribution(0.0, 1.0), ((-1.0, 0.0, 0.25), (0.0, 1.0, 0.75)))
    got = column.measure(np.array([-1.0, -0.5, 0.0, 0.5]), np.array([1.0, 0.5, 0.5, 2.0]))
    np.testing.assert_allclose(got, [1.0, 0.125 + 0.375, 0.375, 0.375])
