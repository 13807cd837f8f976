"""Multi-objective and constrained TPE: the good set, and the search it drives."""

from __future__ import annotations

import numpy as np

import hyperknob
from hyperknob._pareto import hypervolume, nondominated_ranks
from hyperknob.samplers import TPESampler
from hyperknob.samplers._constraints import is_feasible
from hyperknob.samplers.tpe._sampler import best_by_pareto
from hyperknob.trial import FrozenTrial


def test_best_by_pareto_takes_whole_fronts_then_the_most_hypervolume() -> None:
    losses = np.array([[0.0, 1.0], [1.0, 0.0], [0.5, 0.5], [0.2, 0.9], [2.0, 2.0],
                       [0.9, 0.2], [0.55, 0.55]])
    rows = np.arange(len(losses))
    assert sorted(best_by_pareto(losses, rows, 5).tolist()) == [0, 1, 2, 3, 5]
    three = best_by_pareto(losses, rows, 3)
    assert set(three.tolist()) <= {0, 1, 2, 3, 5}
    ranks = nondominated_ranks(losses)
    assert all(ranks[i] == 0 for i in three)
    assert set(best_by_pareto(losses, np.array([4, 6]), 1).tolist()) == {6}
    assert len(best_by_pareto(losses, rows, 0)) == 0


def _zdt1(trial: hyperknob.Trial) -> tuple[float, float]:
    x = np.array([trial.suggest_float(f"x{i}", 0.0, 1.0) for i in range(5)])
    g = 1.0 + 9.0 * float(np.mean(x[1:]))
    return float(x[0]), g * (1.0 - float(np.sqrt(x[0] / g)))


def test_motpe_beats_random_search() -> None:
    for seed in range(2):
        scores = []
        for sampler in (TPESampler(seed=seed), hyperknob.samplers.RandomSampler(seed=seed)):
            study = hyperknob.create_study(directions=["minimize", "minimize"],
                                           sampler=sampler)
            study.optimize(_zdt1, n_trials=120)
            loss = np.array([t.values for t in study.best_trials])
            scores.append(hypervolume(loss, np.array([11.0, 11.0])))
        assert scores[0] > scores[1] + 1.0, (seed, scores)


def test_constrained_tpe_prefers_feasible_trials() -> None:
    """Minimize -(x + y) subject to x + y <= 1: TPE crowds the boundary from the feasible
    side, and the best trial is feasible."""
    def constraints(trial: FrozenTrial) -> tuple[float]:
        return (trial.params["x"] + trial.params["y"] - 1.0,)

    def run(func: object) -> hyperknob.Study:
        study = hyperknob.create_study(sampler=TPESampler(
            seed=0, constraints_func=func))  # type: ignore[arg-type]
        study.optimize(lambda t: -(t.suggest_float("x", 0, 1) + t.suggest_float("y", 0, 1)),
                       n_trials=80)
        return study

    constrained = run(constraints)
    assert is_feasible(constrained.best_trial)
    assert constrained.best_value < -0.95
    late = constrained.trials[40:]
    assert sum(is_feasible(t) for t in late) >= 0.4 * len(late)
