"""benchmarks/multi_objective.py: the ZDT and DTLZ problems and their true-front hypervolumes.

The multi-objective benchmark reports HV(found) / HV(true front), so the formulas, the
dimensions, the reference points and the stored true-front hypervolumes are checked here:
Pareto-optimal points land on the known fronts, other points do worse, the stored
hypervolumes are reproduced by their formulas and by Optuna's exact hypervolume of a dense
sample of the front. ``nn-digits`` (training a network) is not built here.
"""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest

BENCHMARKS = Path(__file__).resolve().parents[2] / "benchmarks"
sys.path.insert(0, str(BENCHMARKS))

from _mo_problems import (  # noqa: E402
    DTLZ_PROBLEMS,
    FUNCTIONS,
    PROBLEMS,
    TRUE_HV,
    ZDT6_F1_MIN,
    ZDT_PROBLEMS,
    dtlz7_true_hv,
    make_problem,
    zdt3_true_hv,
)

SYNTHETIC = (*ZDT_PROBLEMS, *DTLZ_PROBLEMS)


def pareto_set(name: str, n: int) -> np.ndarray:
    """Return points of the Pareto set: an n*n grid of the position variables (ZDT: of x1;
    DTLZ5/6: of x1 along their curve) with the distance variables at their optimum."""
    problem = make_problem(name)
    if name in ZDT_PROBLEMS:  # x2..n = 0
        x = np.zeros((n * n, problem.n_var))
        x[:, 0] = np.linspace(0.0, 1.0, n * n)
        return x
    grid = np.linspace(0.0, 1.0, n)
    position = np.stack(np.meshgrid(grid, grid), axis=-1).reshape(-1, 2)
    if name in ("DTLZ5", "DTLZ6"):  # a curve: x2 does not matter at g = 0
        position = np.column_stack([np.linspace(0.0, 1.0, n * n), np.full(n * n, 0.3)])
    if name == "DTLZ4":
        position = position ** 0.01  # spread evenly once raised to alpha = 100
    x = np.full((len(position), problem.n_var), 0.0 if name in ("DTLZ6", "DTLZ7") else 0.5)
    x[:, :2] = position
    return x


def test_the_problem_set_dimensions_and_bounds() -> None:
    assert PROBLEMS == ("ZDT1", "ZDT2", "ZDT3", "ZDT4", "ZDT6", "DTLZ1", "DTLZ2", "DTLZ3",
                        "DTLZ4", "DTLZ5", "DTLZ6", "DTLZ7", "nn-digits")
    n_var = {"ZDT1": 30, "ZDT2": 30, "ZDT3": 30, "ZDT4": 10, "ZDT6": 10, "DTLZ1": 7,
             "DTLZ2": 12, "DTLZ3": 12, "DTLZ4": 12, "DTLZ5": 12, "DTLZ6": 12, "DTLZ7": 22}
    for name in SYNTHETIC:
        problem = make_problem(name)
        assert problem.n_var == n_var[name] == len(problem.bounds)
        assert problem.m == len(problem.reference) == (2 if name in ZDT_PROBLEMS else 3)
        assert problem.directions == ("minimize",) * problem.m
        expected = [(0.0, 1.0)] + [(-5.0, 5.0) if name == "ZDT4" else (0.0, 1.0)] * (
            problem.n_var - 1)
        assert list(problem.bounds) == expected
        assert problem.true_hv == TRUE_HV[name]
    assert make_problem("ZDT1", n_var=10).n_var == 10
    with pytest.raises(ValueError, match="unknown problem 'ZDT5'"):
        make_problem("ZDT5")


def test_reference_points_are_botorchs() -> None:
    expected = {"DTLZ1": 400.0, "DTLZ2": 1.1, "DTLZ3": 1e4, "DTLZ4": 1.1, "DTLZ5": 10.0,
                "DTLZ6": 10.0, "DTLZ7": 15.0}
    for name in SYNTHETIC:
        value = 11.0 if name in ZDT_PROBLEMS else expected[name]
        assert make_problem(name).reference == (value,) * make_problem(name).m


def test_the_study_path_suggests_every_variable_and_returns_m_floats() -> None:
    class Trial:
        def __init__(self) -> None:
            self.asked: list[tuple[str, float, float]] = []

        def suggest_float(self, name: str, low: float, high: float) -> float:
            self.asked.append((name, low, high))
            return 0.0 if name != "x0" else 0.25

    trial = Trial()
    values = make_problem("ZDT4").objective(trial)
    assert [a[0] for a in trial.asked] == [f"x{i}" for i in range(10)]
    assert trial.asked[1][1:] == (-5.0, 5.0)
    assert values == (0.25, 0.5) and all(type(v) is float for v in values)
    np.testing.assert_array_equal(make_problem("DTLZ2").to_losses([[1.0, 2.0, 3.0]]),
                                  [[1.0, 2.0, 3.0]])


@pytest.mark.parametrize("name", ZDT_PROBLEMS)
def test_zdt_pareto_points_lie_on_the_front(name: str) -> None:
    x = pareto_set(name, 30)
    f = FUNCTIONS[name](x)
    x1, f1, f2 = x[:, 0], f[:, 0], f[:, 1]
    if name == "ZDT6":
        np.testing.assert_allclose(f1, 1 - np.exp(-4 * x1) * np.sin(6 * np.pi * x1) ** 6)
        np.testing.assert_allclose(f2, 1 - f1 ** 2)
        assert f1.min() >= ZDT6_F1_MIN - 1e-9
    else:
        np.testing.assert_allclose(f1, x1)
        front = {"ZDT1": 1 - np.sqrt(f1), "ZDT2": 1 - f1 ** 2, "ZDT4": 1 - np.sqrt(f1),
                 "ZDT3": 1 - np.sqrt(f1) - f1 * np.sin(10 * np.pi * f1)}[name]
        np.testing.assert_allclose(f2, front, atol=1e-12)
    # Moving a distance variable off its optimum (0) keeps f1 and raises f2.
    moved = x.copy()
    moved[:, -1] = 0.5
    g = FUNCTIONS[name](moved)
    np.testing.assert_allclose(g[:, 0], f1)
    assert np.all(g[:, 1] > f2)


@pytest.mark.parametrize("name", DTLZ_PROBLEMS)
def test_dtlz_pareto_points_lie_on_the_front(name: str) -> None:
    x = pareto_set(name, 20)
    f = FUNCTIONS[name](x)
    assert f.shape == (len(x), 3) and np.all(f >= -1e-12)
    if name == "DTLZ1":
        np.testing.assert_allclose(f.sum(axis=1), 0.5)
    elif name in ("DTLZ2", "DTLZ3", "DTLZ4"):
        np.testing.assert_allclose((f ** 2).sum(axis=1), 1.0)
    elif name in ("DTLZ5", "DTLZ6"):
        np.testing.assert_allclose(f[:, 0], f[:, 1])
        np.testing.assert_allclose((f ** 2).sum(axis=1), 1.0)
        np.testing.assert_allclose(f[:, 2], np.sin(x[:, 0] * np.pi / 2), atol=1e-12)
    else:
        phi = f[:, :2] * (1 + np.sin(3 * np.pi * f[:, :2]))
        np.testing.assert_allclose(f[:, :2], x[:, :2])
        np.testing.assert_allclose(f[:, 2], 6 - phi.sum(axis=1))
    moved = x.copy()
    moved[:, -1] = 0.9  # a distance variable off its optimum: (1 + g) > 1 scales the front
    g = FUNCTIONS[name](moved)
    if name in ("DTLZ5", "DTLZ6"):  # theta_2 moves too: the point leaves the unit sphere
        assert np.all((g ** 2).sum(axis=1) > 1.0 + 1e-6)
    else:  # the same front point dominates it
        assert np.all(g >= f) and np.all(g.sum(axis=1) > f.sum(axis=1))


@pytest.mark.parametrize("name", SYNTHETIC)
def test_the_front_dominates_the_reference_and_gives_the_stored_hypervolume(
        name: str) -> None:
    optuna_hv = pytest.importorskip("optuna._hypervolume")
    problem = make_problem(name)
    front = FUNCTIONS[name](pareto_set(name, 100 if problem.m == 2 else 40))
    reference = np.array(problem.reference)
    assert np.all(front < reference)  # every front point counts
    sampled = optuna_hv.compute_hypervolume(front, reference)
    true_hv = TRUE_HV[name]
    assert sampled <= true_hv * (1 + 1e-12)  # a subset of the front dominates less
    if problem.m == 2:
        assert sampled == pytest.approx(true_hv, rel=1e-3)
    else:  # the part of the box the front leaves, small next to the box for large r
        box = float(np.prod(reference))
        assert box - sampled == pytest.approx(box - true_hv, rel=0.1)


def test_stored_hypervolumes_match_their_formulas() -> None:
    scipy_optimize = pytest.importorskip("scipy.optimize")
    assert TRUE_HV["ZDT3"] == pytest.approx(zdt3_true_hv(1_000_000), rel=1e-11)
    assert TRUE_HV["ZDT3"] == pytest.approx(128.77811613069076, rel=1e-12)  # BoTorch's
    assert TRUE_HV["DTLZ7"] == pytest.approx(dtlz7_true_hv(1_000_000), rel=1e-11)
    found = scipy_optimize.minimize_scalar(
        lambda x: 1 - math.exp(-4 * x) * math.sin(6 * math.pi * x) ** 6,
        bounds=(0.0, 1.0 / 6.0), method="bounded", options={"xatol": 1e-12})
    assert found.fun == pytest.approx(ZDT6_F1_MIN, abs=1e-12)
    # DTLZ5: r^3 minus the integral of 2 (r - s) sqrt(1 - 2 s^2) over [0, 1/sqrt 2].
    s = np.linspace(0.0, 1.0 / math.sqrt(2.0), 200_001)
    y = 2 * (10.0 - s) * np.sqrt(np.clip(1 - 2 * s ** 2, 0.0, None))
    left = float(np.sum((y[1:] + y[:-1]) * np.diff(s)) / 2)
    assert TRUE_HV["DTLZ5"] == pytest.approx(1000.0 - left, rel=1e-8)
