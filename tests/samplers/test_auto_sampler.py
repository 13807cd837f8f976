"""AutoSampler, the default of create_study(): GP for the first trials, TPE after and for
mostly conditional spaces."""

from __future__ import annotations

import math
import pickle

import pytest

from hyperknob.samplers import AutoSampler, BaseSampler, RandomSampler, TPESampler
from hyperknob.samplers._constraints import ConstraintsFunc
from hyperknob.samplers.gp import GPSampler
from hyperknob.storages import InMemoryStorage
from hyperknob.study._functions import create_study
from hyperknob.testing import SamplerContract
from hyperknob.trial._trial import Trial


def _cheap(seed: int | None, gp_trials: int = 200,
           constraints_func: ConstraintsFunc | None = None) -> AutoSampler:
    """An AutoSampler whose models start after 2-3 trials, the GP screening fewer points (the
    contract fits many small GPs), both without the constant liar (the contract's
    interleaving checks forbid a suggestion that depends on other pending trials)."""
    sampler = AutoSampler(seed=seed, gp_trials=gp_trials, constraints_func=constraints_func)
    sampler._samplers["gp"] = GPSampler(seed=sampler.seed, n_startup_trials=3,
                                        n_candidates=256, n_restarts=2, constant_liar=False,
                                        constraints_func=constraints_func)
    sampler._samplers["tpe"] = TPESampler(seed=sampler.seed, n_startup_trials=2,
                                          constant_liar=False, constraints_func=constraints_func)
    return sampler


class TestAutoSamplerGPContract(SamplerContract):
    """The GP side: every trial of the contract is numbered below ``gp_trials``."""

    max_examples = 10

    def make_sampler(self, seed: int | None) -> BaseSampler:
        return _cheap(seed)

    def make_constrained_sampler(self, seed: int | None,
                                 constraints_func: ConstraintsFunc) -> BaseSampler | None:
        return _cheap(seed, constraints_func=constraints_func)


class TestAutoSamplerTPEContract(SamplerContract):
    """The TPE side (``gp_trials=0``)."""

    max_examples = 10

    def make_sampler(self, seed: int | None) -> BaseSampler:
        return _cheap(seed, gp_trials=0)

    def make_constrained_sampler(self, seed: int | None,
                                 constraints_func: ConstraintsFunc) -> BaseSampler | None:
        return _cheap(seed, gp_trials=0, constraints_func=constraints_func)


def _quadratic(trial: Trial) -> float:
    x = [trial.suggest_float(f"x{i}", -5.0, 5.0) for i in range(3)]
    n = trial.suggest_int("n", 1, 9)
    return sum((xi - 1.0 + 0.5 * i) ** 2 for i, xi in enumerate(x)) + abs(n - 4)


def _branches(trial: Trial) -> float:
    """Define-by-run: each branch has its own three parameters (one of 10 shared)."""
    branch = trial.suggest_categorical("branch", ["a", "b", "c"])
    values = [trial.suggest_float(f"{branch}{i}", -3.0, 3.0) for i in range(3)]
    return sum(v * v for v in values) + {"a": 0.0, "b": 1.0, "c": 2.0}[branch]


def _params(sampler: BaseSampler, n: int, storage: InMemoryStorage | None = None
            ) -> list[dict[str, object]]:
    study = create_study(sampler=sampler, storage=storage, study_name="s")
    study.optimize(_quadratic, n_trials=n)
    return [t.params for t in study.trials]


def test_the_first_trials_are_the_gp_samplers_and_the_later_ones_tpes() -> None:
    auto = _params(AutoSampler(seed=3, gp_trials=14), 16)
    assert auto[:14] == _params(GPSampler(seed=3), 14)
    # Trials 14 and 15: what TPE (same seed) suggests from the history the GP built.
    storage = InMemoryStorage()
    _params(AutoSampler(seed=3, gp_trials=14), 14, storage)
    tpe = create_study(storage=storage, study_name="s", load_if_exists=True,
                       sampler=TPESampler(seed=3))
    tpe.optimize(_quadratic, n_trials=2)
    assert auto[14:] == [t.params for t in tpe.trials[14:]]
    assert auto[14:] != _params(GPSampler(seed=3), 16)[14:]


def test_a_mostly_conditional_space_goes_to_tpe_and_each_choice_is_kept() -> None:
    sampler = AutoSampler(seed=0)
    study = create_study(sampler=sampler)
    study.optimize(_branches, n_trials=12)
    choices = [sampler._choices[t.trial_id] for t in study.trials]
    # GP until two branches have completed (before, every parameter seen was shared), then
    # TPE: 1 shared parameter ("branch") of 7 used.
    branches = [t.params["branch"] for t in study.trials]
    k = next(i for i in range(1, 12) if len(set(branches[:i])) == 2)
    assert 1 <= k < 8
    assert choices[:k] == ["gp"] * k
    assert choices[k:] == ["tpe"] * (12 - k)
    plain = AutoSampler(seed=0)
    create_study(sampler=plain).optimize(_quadratic, n_trials=12)
    assert set(plain._choices.values()) == {"gp"}


def test_many_running_trials_go_to_tpe() -> None:
    sampler = AutoSampler(seed=4, gp_parallel=3)
    study = create_study(sampler=sampler)
    study.optimize(_quadratic, n_trials=12)
    pending = []
    for _ in range(5):  # workers that start one after another and none finishes: 1..5 running
        pending.append(study.ask())
        _quadratic(pending[-1])  # the choice is made at the trial's first suggestion
    assert [sampler._choices[t._trial_id] for t in pending] == ["gp"] * 3 + ["tpe"] * 2


def test_rejects_bad_arguments() -> None:
    with pytest.raises(TypeError, match=r"gp_trials must be an int >= 0, got gp_trials=2\.5"):
        AutoSampler(gp_trials=2.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="gp_trials must be an int >= 0, got gp_trials=-1"):
        AutoSampler(gp_trials=-1)
    with pytest.raises(ValueError, match="gp_parallel must be an int >= 1, got gp_parallel=0"):
        AutoSampler(gp_parallel=0)
    with pytest.raises(TypeError, match="seed"):
        AutoSampler(seed="x")  # type: ignore[arg-type]


def test_is_the_default_of_create_study_and_takes_its_seed() -> None:
    study = create_study(seed=5)
    assert isinstance(study.sampler, AutoSampler)
    assert study.sampler.seed == 5
    study.optimize(_quadratic, n_trials=12)
    assert [t.params for t in study.trials] == _params(AutoSampler(seed=5), 12)


def test_a_pickled_copy_suggests_the_same() -> None:
    sampler = AutoSampler(seed=9, gp_trials=13)
    copy = pickle.loads(pickle.dumps(sampler))
    assert _params(copy, 15) == _params(sampler, 15)


def test_the_gp_part_beats_random_search_on_a_quadratic() -> None:
    def best(sampler: BaseSampler) -> float:
        study = create_study(sampler=sampler)
        study.optimize(_quadratic, n_trials=30)
        assert study.best_value is not None and math.isfinite(study.best_value)
        return study.best_value

    auto, random = best(AutoSampler(seed=1)), best(RandomSampler(seed=1))
    assert auto < 1.0
    assert auto < 0.5 * random, (auto, random)
