"""Priors through the define-by-run API: suggest_* take a Prior or a bare centre."""

from __future__ import annotations

from typing import Any

import pytest

import hyperknob
from hyperknob import Prior
from hyperknob.distributions import CategoricalDistribution, FloatDistribution, IntDistribution


def test_prior_is_exported() -> None:
    assert "Prior" in hyperknob.__all__ and hyperknob.Prior is hyperknob.distributions.Prior


def test_suggest_stores_the_prior_in_the_distribution(storage_url: str | None) -> None:
    study = hyperknob.create_study(storage=storage_url, seed=0)
    trial = study.ask()
    trial.suggest_float("learning_rate", 1e-4, 1e-1, log=True, prior=Prior(1e-3, 0.8))
    trial.suggest_int("n_layers", 1, 5, prior=1.5)
    trial.suggest_categorical("optimizer", ["sgd", "adam"], prior="adam")
    trial.suggest_float("dropout", 0.0, 0.5)
    study.tell(trial, 1.0)
    stored = study.trials[0].distributions  # read back from the storage
    assert stored["learning_rate"] == FloatDistribution(1e-4, 1e-1, log=True,
                                                        prior=Prior(1e-3, 0.8))
    assert stored["n_layers"] == IntDistribution(1, 5, prior=Prior(1.5, 0.5))
    assert stored["optimizer"] == CategoricalDistribution(("sgd", "adam"), prior=Prior("adam"))
    assert stored["dropout"] == FloatDistribution(0.0, 0.5)  # no prior: unchanged


def test_a_bare_centre_is_a_prior_of_default_confidence() -> None:
    study = hyperknob.create_study(seed=0)
    trial = study.ask()
    trial.suggest_float("x", 0.0, 1.0, prior=0.25)
    trial.suggest_categorical("flag", [None, True, False], prior=Prior(None, 0.9))
    assert trial.distributions["x"].prior == Prior(0.25, 0.5)  # type: ignore[attr-defined]
    assert trial.distributions["flag"].prior == Prior(None, 0.9)  # type: ignore[attr-defined]


def test_the_distribution_cache_tells_priors_apart() -> None:
    # Distributions are cached by their arguments; priors are part of the key.
    study = hyperknob.create_study(seed=0)
    dists: list[Any] = []
    for prior in (None, 0.5, Prior(0.5, 0.9), 0.5):
        trial = study.ask()
        trial.suggest_float("x", 0.0, 1.0, prior=prior)
        dists.append(trial.distributions["x"])
        study.tell(trial, 0.0)
    assert dists[0].prior is None
    assert dists[1].prior == Prior(0.5) and dists[2].prior == Prior(0.5, 0.9)
    assert dists[3] is dists[1]  # the same arguments reuse the validated distribution
    trial = study.ask()
    trial.suggest_categorical("c", [1, True], prior=True)
    trial.suggest_categorical("d", [1, True], prior=1)
    assert trial.distributions["c"].prior.center is True  # type: ignore[attr-defined]
    assert trial.distributions["d"].prior.center == 1  # type: ignore[attr-defined]
    assert trial.distributions["d"].prior.center is not True  # type: ignore[attr-defined]


def test_suggesting_again_with_another_prior_is_an_error() -> None:
    study = hyperknob.create_study(seed=0)
    trial = study.ask()
    value = trial.suggest_int("units", 8, 16, prior=12)
    assert trial.suggest_int("units", 8, 16, prior=Prior(12)) == value
    with pytest.raises(ValueError, match="cannot be suggested again"):
        trial.suggest_int("units", 8, 16, prior=10)
    with pytest.raises(ValueError, match="cannot be suggested again"):
        trial.suggest_int("units", 8, 16)


@pytest.mark.parametrize(
    ("suggest", "error", "message"),
    [
        (lambda t: t.suggest_float("x", 0, 1, prior=2.0), ValueError,
         "prior center must lie in [low, high], got center=2.0 for low=0.0, high=1.0"),
        (lambda t: t.suggest_int("n", 1, 3, prior="two"), TypeError,
         "prior center must be a number for IntDistribution, got center='two'"),
        (lambda t: t.suggest_categorical("c", ["a", "b"], prior="z"), ValueError,
         "prior center must be one of the choices ['a', 'b'], got center='z'"),
        (lambda t: t.suggest_float("x", 0, 1, prior=Prior(0.5, 1.5)), ValueError,
         "prior 'confidence' must be in (0, 1), got confidence=1.5"),
        (lambda t: t.suggest_float("x", 0, 1, prior=[0.5]), TypeError,
         "prior 'center' must be a number, bool, str or None, got [0.5]"),
    ],
)
def test_bad_priors_fail_at_suggest(suggest: Any, error: type[Exception], message: str) -> None:
    trial = hyperknob.create_study(seed=0).ask()
    with pytest.raises(error) as info:
        suggest(trial)
    assert message in str(info.value)
    assert trial.params == {}
