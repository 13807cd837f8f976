"""RandomSampler's draws: uniform (log-uniform) by a statistical test, stateless by design."""

from __future__ import annotations

import math

import numpy as np
from scipy import stats

import hyperknob
from hyperknob.samplers import RandomSampler
from hyperknob.samplers._rng import UnitHash


def test_unit_hash_is_uniform_and_uncorrelated_across_trials() -> None:
    unit = UnitHash(seed=5)
    draws = np.array([unit(n, "lr") for n in range(5000)])
    assert stats.kstest(draws, "uniform").pvalue > 1e-3
    assert abs(np.corrcoef(draws[:-1], draws[1:])[0, 1]) < 0.05
    other = np.array([unit(n, "batch") for n in range(5000)])
    assert abs(np.corrcoef(draws, other)[0, 1]) < 0.05
    assert ((draws >= 0.0) & (draws < 1.0)).all()


def test_log_float_is_log_uniform_and_int_covers_every_value() -> None:
    study = hyperknob.create_study(sampler=RandomSampler(seed=0))

    def objective(trial: hyperknob.Trial) -> float:
        trial.suggest_float("lr", 1e-4, 1e-1, log=True)
        trial.suggest_int("layers", 1, 5)
        return 0.0

    study.optimize(objective, n_trials=2000)
    logs = np.log10([t.params["lr"] for t in study.trials])
    assert stats.kstest((logs + 4) / 3, "uniform").pvalue > 1e-3
    counts = np.bincount([t.params["layers"] for t in study.trials], minlength=6)[1:]
    assert stats.chisquare(counts).pvalue > 1e-3


def test_log_int_gives_each_end_its_share() -> None:
    study = hyperknob.create_study(sampler=RandomSampler(seed=1))
    study.optimize(lambda t: float(t.suggest_int("n", 1, 4, log=True)), n_trials=4000)
    counts = np.bincount([int(t.params["n"]) for t in study.trials], minlength=5)[1:]
    edges = np.log([0.5, 1.5, 2.5, 3.5, 4.5])
    expected = np.diff(edges) / (edges[-1] - edges[0]) * 4000
    assert stats.chisquare(counts, expected).pvalue > 1e-3
    assert math.isclose(counts.sum(), 4000)
