"""The prior belief in unit space (``samplers/_prior``) and how TPE and GP take it in, checked
against scipy and finite differences."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from hyperknob.distributions import (
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
    Prior,
)
from hyperknob.samplers import _prior
from hyperknob.samplers.gp._acquisition import (
    BoxPrior,
    acquisition_at,
    log_ei_at,
    log_prior_with_gradient,
    maximize_log_ei,
)
from hyperknob.samplers.gp._encoding import Encoding, to_unit
from hyperknob.samplers.gp._gp import condition
from hyperknob.samplers.gp._maximize import MixedBox
from hyperknob.samplers.tpe import _parzen
from hyperknob.samplers.tpe._sampler import prior_arrays, space_of


# -- the belief ----------------------------------------------------------------------------------
def test_sigma_shrinks_with_confidence_down_to_the_floor() -> None:
    np.testing.assert_allclose(_prior.prior_sigma([0.5, 0.8, 0.99, 0.999]),
                               [0.25, 0.1, 0.02, _prior.SIGMA_FLOOR])


def test_log_gaussian_and_its_gradient_match_scipy() -> None:
    u = np.random.default_rng(0).random((7, 2))
    center, sigma = np.array([0.3, 0.9]), np.array([0.1, 0.25])
    np.testing.assert_allclose(_prior.log_gaussian(u, center, sigma),
                               stats.norm.logpdf(u, loc=center, scale=sigma), rtol=1e-12)
    h = 1e-6
    numeric = (_prior.log_gaussian(u + h, center, sigma)
               - _prior.log_gaussian(u - h, center, sigma)) / (2 * h)
    np.testing.assert_allclose(_prior.log_gaussian_gradient(u, center, sigma), numeric,
                               rtol=1e-6)


@pytest.mark.parametrize(("k", "center", "confidence"), [(3, 1, 0.3), (2, 0, 0.9), (5, 4, 0.5)])
def test_categorical_probabilities(k: int, center: int, confidence: float) -> None:
    p = _prior.categorical_probabilities(k, center, confidence)
    assert p.sum() == pytest.approx(1.0)
    assert p[center] == pytest.approx(confidence + (1 - confidence) / k)
    others = np.delete(p, center)
    np.testing.assert_allclose(others, (1 - p[center]) / (k - 1))
    # As an Aitchison-Aitken kernel: eps is the mass off the centre.
    assert _prior.off_center_mass(k, confidence) == pytest.approx(1 - p[center])


def test_categorical_probabilities_reject_a_bad_index() -> None:
    with pytest.raises(ValueError, match="center must index one of n_choices=3"):
        _prior.categorical_probabilities(3, 3, 0.5)


def test_internal_prior_reads_centres_as_the_samplers_see_them() -> None:
    assert _prior.internal_prior(FloatDistribution(0, 1)) is None
    assert _prior.internal_prior(IntDistribution(1, 5, prior=Prior(1.5, 0.7))) == (1.5, 0.7)
    choice = CategoricalDistribution(("sgd", "adam"), prior=Prior("adam", 0.3))
    assert _prior.internal_prior(choice) == (1.0, 0.3)


# -- TPE: the prior component of l(x) -----------------------------------------------------------
def _mixed_space() -> _parzen.Space:
    return space_of([FloatDistribution(1e-4, 1e-1, log=True), IntDistribution(1, 5),
                     CategoricalDistribution(("sgd", "adam", "rmsprop")),
                     FloatDistribution(0.0, 1.0)])


def test_fit_without_priors_is_unchanged() -> None:
    space = _mixed_space()
    obs = np.array([[1e-3, 2, 1, 0.2], [3e-2, 4, 0, 0.9], [1e-4, 1, 2, 0.5]])
    plain = _parzen.fit(obs, np.ones(3), space)
    none = _parzen.fit(obs, np.ones(3), space, prior_center=np.full(4, np.nan),
                       prior_confidence=np.full(4, np.nan))
    for field in ("log_weights", "mu", "sigma", "log_norm", "category", "eps"):
        np.testing.assert_array_equal(getattr(plain, field), getattr(none, field))


def test_fit_centres_the_prior_component_at_the_belief() -> None:
    dists = [FloatDistribution(1e-4, 1e-1, log=True, prior=Prior(10 ** -2.5, 0.5)),
             IntDistribution(1, 5, prior=Prior(1.5, 0.8)),
             CategoricalDistribution(("sgd", "adam", "rmsprop"), prior=Prior("adam", 0.3)),
             FloatDistribution(0.0, 1.0)]
    space = space_of(dists)
    priors = prior_arrays(dists)
    assert priors is not None
    obs = np.array([[1e-3, 2, 1, 0.2], [3e-2, 4, 0, 0.9]])
    est = _parzen.fit(obs, np.ones(2), space, prior_center=priors[0],
                      prior_confidence=priors[1])
    plain = _parzen.fit(obs, np.ones(2), space)
    # The GP sampler maps centres to the same unit coordinates.
    unit = [float(to_unit(np.array([10 ** -2.5]), dists[0])[0]),
            float(to_unit(np.array([1.5]), dists[1])[0])]
    assert unit[0] == pytest.approx(0.5) and unit[1] == pytest.approx(0.2)
    np.testing.assert_allclose(est.mu[-1], [*unit, _parzen.PRIOR_MU])
    np.testing.assert_allclose(est.sigma[-1], [0.25, 0.1, _parzen.PRIOR_SIGMA])
    assert est.category[-1, 0] == 1
    assert est.eps[-1, 0] == pytest.approx(0.7 * 2 / 3)
    # Observation components and the weights do not depend on the prior.
    np.testing.assert_array_equal(est.mu[:-1], plain.mu[:-1])
    np.testing.assert_array_equal(est.log_weights, plain.log_weights)
    # The prior's share is 1 / (n + 1): the more good observations, the less it counts.
    assert math.exp(est.log_weights[-1]) == pytest.approx(1 / 3)
    # l(x) now favours the belief: more density at the prior's centre than the flat prior gives.
    at_center = np.array([[10 ** -2.5, 1, 1, 0.5]])
    assert _parzen.log_pdf(est, at_center)[0] > _parzen.log_pdf(plain, at_center)[0] + 0.5


def test_samples_of_the_prior_alone_follow_the_belief() -> None:
    dists = [FloatDistribution(0.0, 1.0, prior=Prior(0.8, 0.8)),
             CategoricalDistribution(("a", "b", "c", "d"), prior=Prior("c", 0.6))]
    center, confidence = prior_arrays(dists)  # type: ignore[misc]
    est = _parzen.fit(np.empty((0, 2)), np.empty(0), space_of(dists), prior_center=center,
                      prior_confidence=confidence)
    draws = _parzen.sample(est, np.random.default_rng(0), 20_000)
    reference = stats.truncnorm((0 - 0.8) / 0.1, (1 - 0.8) / 0.1, loc=0.8, scale=0.1)
    assert stats.kstest(draws[:, 0], reference.cdf).pvalue > 0.01
    frequencies = np.bincount(draws[:, 1].astype(int), minlength=4) / len(draws)
    np.testing.assert_allclose(frequencies, _prior.categorical_probabilities(4, 2, 0.6),
                               atol=0.01)


@pytest.mark.parametrize(
    ("center", "confidence", "message"),
    [
        ([0.5, np.nan], [0.5, 0.5], "NaN in the same dimensions"),
        ([0.5, 1.0], [0.5, 1.0], "prior_confidence must be in (0, 1)"),
        ([1.5, np.nan], [0.5, np.nan], "prior_center must lie in the space"),
        ([np.nan, 0.5], [np.nan, 0.5], "prior_center must lie in the space"),
        ([0.5], [0.5], "must have shape (2,)"),
    ],
)
def test_fit_rejects_bad_prior_arrays(center: list[float], confidence: list[float],
                                      message: str) -> None:
    space = space_of([FloatDistribution(0.0, 1.0), CategoricalDistribution(("a", "b"))])
    with pytest.raises(ValueError) as info:
        _parzen.fit(np.empty((0, 2)), np.empty(0), space, prior_center=np.array(center),
                    prior_confidence=np.array(confidence))
    assert message in str(info.value)


# -- GP: πBO's weighted acquisition ------------------------------------------------------------
def _encoding_with_priors() -> Encoding:
    return Encoding({
        "lr": FloatDistribution(1e-4, 1e-1, log=True, prior=Prior(1e-3, 0.8)),
        "free": FloatDistribution(0.0, 1.0),
        "opt": CategoricalDistribution(("sgd", "adam", "rmsprop"), prior=Prior("adam", 0.3)),
        "layers": IntDistribution(1, 5, prior=Prior(1.5)),
    })


def test_encoding_maps_priors_onto_the_box() -> None:
    assert Encoding({"x": FloatDistribution(0.0, 1.0)}).prior(1.0) is None
    prior = _encoding_with_priors().prior(0.5)
    assert prior is not None and prior.weight == 0.5
    np.testing.assert_array_equal(prior.columns, [0, 5])
    np.testing.assert_allclose(prior.center, [1 / 3, 0.2])
    np.testing.assert_allclose(prior.sigma, [0.1, 0.25])
    ((block, log_p),) = prior.categorical
    np.testing.assert_array_equal(block, [2, 3, 4])
    np.testing.assert_allclose(np.exp(log_p), _prior.categorical_probabilities(3, 1, 0.3))


def test_log_prior_gradient_matches_finite_differences() -> None:
    prior = _encoding_with_priors().prior(1.0)
    assert prior is not None
    x = np.random.default_rng(3).random((5, 6))
    _, grad = log_prior_with_gradient(prior, x)
    h = 1e-6
    for column in range(6):
        step = np.zeros(6)
        step[column] = h
        numeric = (log_prior_with_gradient(prior, x + step)[0]
                   - log_prior_with_gradient(prior, x - step)[0]) / (2 * h)
        np.testing.assert_allclose(grad[:, column], numeric, rtol=1e-5, atol=1e-8)
    one_hot = np.zeros((1, 6))
    one_hot[0, [0, 1, 3, 5]] = [1 / 3, 0.7, 1.0, 0.2]  # every belief at its centre, "adam"
    expected = (stats.norm.logpdf(0, scale=0.1) + stats.norm.logpdf(0, scale=0.25)
                + math.log(0.3 + 0.7 / 3))
    assert log_prior_with_gradient(prior, one_hot)[0][0] == pytest.approx(expected)


def _box_model() -> tuple[object, float, MixedBox]:
    rng = np.random.default_rng(5)
    x = rng.random((12, 2))
    y = np.sum((x - 0.5) ** 2, axis=1)
    y = (y - y.mean()) / y.std()
    model = condition(np.log(np.array([0.5, 0.5, 1.0, 1e-4])), x, y)
    box = MixedBox(n_features=2, numeric=np.array([0, 1]), continuous=np.array([0, 1]),
                   categorical=(), snap=lambda points: points)
    return model, float(np.min(y)), box


def test_acquisition_without_a_prior_is_log_ei() -> None:
    model, best, _ = _box_model()
    x = np.random.default_rng(0).random((9, 2))
    np.testing.assert_array_equal(acquisition_at(model, x, best), log_ei_at(model, x, best))


def test_a_heavy_prior_pulls_the_maximizer_to_its_centre() -> None:
    model, best, box = _box_model()
    incumbents = np.full((1, 2), 0.5)
    plain, _ = maximize_log_ei(model, best, box, np.random.default_rng(0), incumbents,
                               n_candidates=256, n_restarts=2)
    prior = BoxPrior(columns=np.array([0, 1]), center=np.array([0.9, 0.1]),
                     sigma=np.array([0.05, 0.05]), categorical=(), weight=1e4)
    pulled, value = maximize_log_ei(model, best, box, np.random.default_rng(0), incumbents,
                                    n_candidates=256, n_restarts=2, prior=prior)
    assert value == pytest.approx(acquisition_at(model, pulled[None], best, prior)[0])
    assert np.linalg.norm(pulled - [0.9, 0.1]) < 0.01
    assert np.linalg.norm(plain - [0.9, 0.1]) > 0.2
    faint = BoxPrior(columns=np.array([0, 1]), center=np.array([0.9, 0.1]),
                     sigma=np.array([0.05, 0.05]), categorical=(), weight=0.0)
    same, _ = maximize_log_ei(model, best, box, np.random.default_rng(0), incumbents,
                              n_candidates=256, n_restarts=2, prior=faint)
    np.testing.assert_allclose(same, plain, atol=1e-6)
