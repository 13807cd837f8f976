"""QMCSampler: low discrepancy, and trial n takes point n of the sequence everywhere."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from scipy.stats import qmc

import hyperknob
from hyperknob.samplers import QMCSampler, RandomSampler
from hyperknob.trial import FrozenTrial, Trial, TrialState

UNIT = hyperknob.distributions.FloatDistribution(0.0, 1.0)


def _objective(trial: Trial) -> float:
    return trial.suggest_float("x", 0.0, 1.0) + trial.suggest_float("y", 0.0, 1.0)


def _seeded_study(sampler: hyperknob.samplers.BaseSampler,
                  storage: str | None = None) -> hyperknob.Study:
    """A study whose trial 0 is a finished trial, so every later trial uses the sequence."""
    study = hyperknob.create_study(storage=storage, sampler=sampler)
    study.add_trial(FrozenTrial(-1, -1, TrialState.COMPLETE, value=1.0,
                                params={"x": 0.5, "y": 0.5},
                                distributions={"x": UNIT, "y": UNIT}))
    return study


def _sequence(qmc_type: str, seed: int, n: int) -> np.ndarray:
    engine_cls = qmc.Sobol if qmc_type == "sobol" else qmc.Halton
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # Sobol's balance warning for non-powers of two
        points: np.ndarray = engine_cls(d=2, scramble=True, seed=seed).random(n)
    return points


def _xy(trials: list[FrozenTrial]) -> np.ndarray:
    return np.array([[t.params["x"], t.params["y"]] for t in trials])


def test_lower_discrepancy_than_random() -> None:
    """On a 2-D unit square QMC points are spread more evenly than random ones."""
    n = 64
    found = {}
    for name, sampler in (("qmc", QMCSampler(seed=0)), ("random", RandomSampler(seed=0))):
        study = _seeded_study(sampler)
        study.optimize(_objective, n_trials=n)
        points = _xy(study.trials[1:])
        assert points.shape == (n, 2)
        found[name] = qmc.discrepancy(points)
    assert found["qmc"] < 0.5 * found["random"], found


@pytest.mark.parametrize("qmc_type", ["sobol", "halton"])
def test_trial_n_takes_point_n(qmc_type: str) -> None:
    """Trial n's parameters are point n of the seeded scipy sequence."""
    seed, n = 5, 12
    study = _seeded_study(QMCSampler(qmc_type=qmc_type, seed=seed))
    study.optimize(_objective, n_trials=n - 1)
    expected = _sequence(qmc_type, seed, n)
    assert _xy(study.trials[1:]) == pytest.approx(expected[1:], rel=1e-12, abs=1e-15)


def test_restart_continues_sequence(tmp_path: Path) -> None:
    """A reloaded study with a new sampler goes on with the next points."""
    seed, url = 2, f"sqlite:///{tmp_path}/qmc.db"
    study = _seeded_study(QMCSampler(seed=seed), storage=url)
    study.optimize(_objective, n_trials=4)
    resumed = hyperknob.load_study(study_name=study.study_name, storage=url,
                                   sampler=QMCSampler(seed=seed))
    resumed.optimize(_objective, n_trials=5)
    trials = resumed.trials
    assert [t.number for t in trials] == list(range(10))
    assert _xy(trials[1:]) == pytest.approx(_sequence("sobol", seed, 10)[1:], rel=1e-12)


def test_worker_processes_continue_sequence(tmp_path: Path) -> None:
    """With worker processes each trial n still takes point n: no point is used twice."""
    seed, url = 8, f"sqlite:///{tmp_path}/qmc_workers.db"
    study = _seeded_study(QMCSampler(seed=seed), storage=url)
    study.optimize(_objective, n_trials=10, n_jobs=2)
    trials = hyperknob.load_study(study_name=study.study_name, storage=url).trials
    assert len(trials) == 11
    assert all(t.state is TrialState.COMPLETE for t in trials)
    expected = _sequence("sobol", seed, 11)
    for trial in trials[1:]:
        assert [trial.params["x"], trial.params["y"]] == pytest.approx(
            list(expected[trial.number]), rel=1e-12), trial.number
