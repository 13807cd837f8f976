"""The progressive strategy's pieces: the simplified problem, the split, the narrowed space."""

from __future__ import annotations

import pytest

import hyperknob
from hyperknob import nn
from hyperknob.distributions import CategoricalDistribution, FloatDistribution, Prior
from hyperknob.nn import _progressive as progressive


def test_the_simplified_problem_keeps_the_more_frequent_half_of_the_classes() -> None:
    digits = nn.load_dataset("digits", seed=0)
    easy = progressive.simplified(digits, seed=0)
    assert easy.n_classes == 5
    assert easy.n_train == pytest.approx(0.25 * digits.n_train, rel=0.05)
    iris = progressive.simplified(nn.load_dataset("iris", seed=0))
    assert iris.n_classes == 2  # ceil(3 / 2)
    diabetes = nn.load_dataset("diabetes", seed=0)
    assert progressive.simplified(diabetes).n_train == round(0.5 * diabetes.n_train)


def test_split_trials() -> None:
    assert progressive.split_trials(30) == (15, 15)
    assert progressive.split_trials(2) == (1, 1)
    assert progressive.split_trials(7) == (4, 3)
    with pytest.raises(ValueError, match="at least 2 trials"):
        progressive.split_trials(1)


def test_narrowed_space_centres_priors_on_the_best_trial() -> None:
    space = nn.default_space(n_features=64, n_train=1000)
    study = hyperknob.create_study(direction="maximize")
    study.enqueue_trial({"learning_rate": 0.02, "optimizer": "rmsprop", "n_layers": 2,
                         "units_l0": 70, "units_l1": 90, "batch_size": 128})
    study.optimize(lambda t: float(space.suggest(t).learning_rate), n_trials=1)
    best = progressive.best_trials(study, 1)[0]
    narrowed, centres = progressive.narrowed(space, best, confidence=0.6)
    assert narrowed.dimensions["learning_rate"] == FloatDistribution(
        1e-4, 1e-1, log=True, prior=Prior(0.02, 0.6))
    assert narrowed.dimensions["optimizer"] == CategoricalDistribution(
        ("sgd", "adam", "rmsprop"), prior=Prior("rmsprop", 0.6))
    assert centres["units"] == 80.0 and centres["n_layers"] == 2
    assert narrowed.dimensions["init"] == "auto"  # fixed knobs stay fixed
    params = progressive.seed_params(narrowed, [best])
    assert params == [best.params]
    assert progressive.describe_centres({"lr": 0.0123456, "opt": "adam"}) == "lr=0.0123, opt=adam"
