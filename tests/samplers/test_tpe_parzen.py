"""The Parzen estimators of TPE, checked against scipy: kernels, mixtures, sampling, integrals."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, stats

from hyperknob.samplers.tpe import _bandwidth, _parzen
from hyperknob.samplers.tpe._parzen import Space


def make_space(*dims: tuple[str, float, float, float, bool]) -> Space:
    """Build a space from ``(kind, low, high, step, log)``; kind "cat" takes ``high`` = K."""
    low, high, step, log, n_choices = [], [], [], [], []
    for kind, lo, hi, st_, lg in dims:
        if kind == "cat":
            low.append(0.0)
            high.append(hi - 1)
            step.append(0.0)
            log.append(False)
            n_choices.append(int(hi))
        else:
            low.append(lo)
            high.append(hi)
            step.append(st_)
            log.append(lg)
            n_choices.append(0)
    return Space(low=np.array(low), high=np.array(high), step=np.array(step),
                 log=np.array(log), n_choices=np.array(n_choices))


UNIT = ("num", 0.0, 1.0, 0.0, False)


def truncnorm(mu: float, sigma: float) -> stats.rv_continuous:
    return stats.truncnorm((0.0 - mu) / sigma, (1.0 - mu) / sigma, loc=mu, scale=sigma)


# -- Gaussian pieces -------------------------------------------------------------------------
@pytest.mark.parametrize(("mu", "sigma"), [(0.5, 1.0), (0.0, 0.05), (0.97, 0.01), (0.3, 0.2)])
def test_truncnorm_log_pdf_matches_scipy(mu: float, sigma: float) -> None:
    x = np.linspace(0.0, 1.0, 101)
    ours = _parzen.truncnorm_log_pdf(x, np.full_like(x, mu), np.full_like(x, sigma))
    np.testing.assert_allclose(ours, truncnorm(mu, sigma).logpdf(x), rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize(("mu", "sigma"), [(0.5, 1.0), (0.1, 0.05), (0.9, 0.3)])
def test_truncnorm_log_mass_matches_scipy(mu: float, sigma: float) -> None:
    edges = np.linspace(0.0, 1.0, 11)
    lower, upper = edges[:-1], edges[1:]
    ours = _parzen.truncnorm_log_mass(lower, upper, np.full(10, mu), np.full(10, sigma))
    # Reference on the upper side through norm.sf, which stays accurate where cdf rounds to 1.
    a, b = (lower - mu) / sigma, (upper - mu) / sigma
    cell = np.where(a > 0, stats.norm.sf(a) - stats.norm.sf(b),
                    stats.norm.cdf(b) - stats.norm.cdf(a))
    norm = stats.norm.cdf((1 - mu) / sigma) - stats.norm.cdf(-mu / sigma)
    np.testing.assert_allclose(ours, np.log(cell / norm), rtol=1e-9)
    assert math.isclose(np.exp(ours).sum(), 1.0, rel_tol=1e-12)


def test_log_normal_mass_is_accurate_in_both_tails() -> None:
    a = np.array([-3.0, 30.0, -31.0, 8.0, -1.0])
    b = np.array([2.0, 31.0, -30.0, 9.5, -0.999])
    # Reference: the upper-tail survival function is accurate where the CDF rounds to 1.
    expected = np.log(np.where(a > 0, stats.norm.sf(a) - stats.norm.sf(b),
                               stats.norm.cdf(b) - stats.norm.cdf(a)))
    np.testing.assert_allclose(_parzen.log_normal_mass(a, b), expected, rtol=1e-9)
    assert np.isfinite(_parzen.log_normal_mass(np.array([40.0]), np.array([41.0]))).all()


def test_truncnorm_sample_matches_scipy_by_ks() -> None:
    rng = np.random.default_rng(0)
    for mu, sigma in ((0.2, 0.1), (0.0, 0.5), (1.0, 0.02)):
        draws = _parzen.truncnorm_sample(np.full(4000, mu), np.full(4000, sigma), rng)
        assert ((draws >= 0) & (draws <= 1)).all()
        assert stats.kstest(draws, truncnorm(mu, sigma).cdf).pvalue > 1e-3


# -- the unit coordinate ----------------------------------------------------------------------
def test_unit_coordinate_of_grids_and_logs() -> None:
    space = make_space(("num", 1.0, 4.0, 1.0, True), ("num", 0.0, 1.0, 0.25, False),
                       ("num", 1e-3, 1.0, 0.0, True), ("cat", 0, 3, 0, False))
    x = np.array([[1.0, 0.0, 1e-3, 2.0], [4.0, 1.0, 1.0, 0.0]])
    u = _parzen.to_unit(space, x)
    # Log int: cells [k - 0.5, k + 0.5] on a log scale; 1 -> log(1 / 0.5) / log(4.5 / 0.5).
    np.testing.assert_allclose(u[:, 0], np.log(x[:, 0] / 0.5) / np.log(4.5 / 0.5))
    np.testing.assert_allclose(u[:, 1], [0.1, 0.9])  # centres of the first and last of 5 cells
    np.testing.assert_allclose(u[:, 2], [0.0, 1.0])
    np.testing.assert_array_equal(u[:, 3], x[:, 3])
    np.testing.assert_allclose(_parzen.from_unit(space, u), x)


@settings(max_examples=50, deadline=None)
@given(low=st.integers(-50, 50), n=st.integers(0, 30), step=st.sampled_from([1, 3]),
       log=st.booleans(), u=st.lists(st.floats(0.0, 1.0), min_size=1, max_size=20))
def test_from_unit_lands_on_the_grid(low: int, n: int, step: int, log: bool,
                                     u: list[float]) -> None:
    if log:
        low, step = abs(low) + 1, 1
    space = make_space(("num", low, low + n * step, step, log))
    x = _parzen.from_unit(space, np.array(u)[:, None])[:, 0]
    assert ((x >= low) & (x <= low + n * step)).all()
    np.testing.assert_array_equal((x - low) % step, 0)
    # Grid values are fixed points of to_unit -> from_unit.
    grid = low + step * np.arange(n + 1.0)
    np.testing.assert_array_equal(
        _parzen.from_unit(space, _parzen.to_unit(space, grid[:, None]))[:, 0], grid)


# -- mixtures against a direct sum ------------------------------------------------------------
def test_multivariate_log_pdf_matches_direct_scipy_sum() -> None:
    space = make_space(UNIT, ("num", 0.0, 10.0, 0.0, False))
    obs = np.array([[0.1, 2.0], [0.4, 9.0], [0.8, 5.0]])
    weights = np.array([1.0, 2.0, 0.5])
    est = _parzen.fit(obs, weights, space, prior_weight=1.5)
    w = np.append(weights, 1.5) / np.sum(np.append(weights, 1.5))
    query = np.array([[0.0, 0.0], [0.3, 4.0], [0.99, 9.9], [0.5, 5.0]])
    u_query = query / np.array([1.0, 10.0])
    expected = np.zeros(len(query))
    for j in range(len(w)):
        term = np.full(len(query), w[j])
        for i in range(2):
            term *= truncnorm(est.mu[j, i], est.sigma[j, i]).pdf(u_query[:, i])
        expected += term
    np.testing.assert_allclose(_parzen.log_pdf(est, query), np.log(expected), rtol=1e-10)


@pytest.mark.parametrize("multivariate", [True, False])
def test_mixed_log_pdf_matches_direct_scipy_sum(multivariate: bool) -> None:
    # Continuous, log-continuous, grid, log-grid and categorical dimensions with repeated
    # observations: the fast paths (matrix products, one cell mass per distinct kernel and
    # cell) must equal the per-component, per-dimension definition.
    space = make_space(UNIT, ("num", 1e-3, 1e2, 0.0, True), ("num", -10, 10, 1, False),
                       ("num", 1, 64, 1, True), ("cat", 0, 4, 0, False))
    rng = np.random.default_rng(3)
    obs = np.column_stack([rng.random(40), 10 ** rng.uniform(-3, 2, 40),
                           rng.integers(-10, 11, 40), rng.integers(1, 65, 40),
                           rng.integers(0, 4, 40)]).astype(float)
    obs[20:30] = obs[:10]  # duplicates share kernels
    est = _parzen.fit(obs, rng.uniform(0.5, 2.0, 40), space, multivariate=multivariate)
    query = np.vstack([obs[:5], [[0.0, 1e-3, -10, 1, 0], [1.0, 1e2, 10, 64, 3],
                                 [0.5, 0.3, 0, 7, 2]]])
    lo_edges = np.array([0.0, math.log(1e-3), -10.5, math.log(0.5)])
    hi_edges = np.array([1.0, math.log(1e2), 10.5, math.log(64.5)])

    def unit(values: np.ndarray, i: int) -> np.ndarray:
        warped = np.log(values) if i in (1, 3) else values
        out: np.ndarray = (warped - lo_edges[i]) / (hi_edges[i] - lo_edges[i])
        return out

    w = np.exp(est.log_weights)
    kernel = np.ones((len(query), len(w), 5))
    for j in range(len(w)):
        for i in range(4):
            dist = truncnorm(est.mu[j, i], est.sigma[j, i])
            if i in (0, 1):
                kernel[:, j, i] = dist.pdf(unit(query[:, i], i))
            else:
                kernel[:, j, i] = (dist.cdf(unit(query[:, i] + 0.5, i))
                                   - dist.cdf(unit(query[:, i] - 0.5, i)))
        eps = est.eps[j, 0]
        kernel[:, j, 4] = np.where(query[:, 4] == est.category[j, 0], 1 - eps, eps / 3)
    if multivariate:
        expected = np.log(np.sum(w[None, :] * kernel.prod(axis=2), axis=1))
    else:
        expected = np.log(np.sum(w[None, :, None] * kernel, axis=1)).sum(axis=1)
    np.testing.assert_allclose(_parzen.log_pdf(est, query), expected, rtol=1e-9)


def test_univariate_log_pdf_is_a_product_of_1d_mixtures() -> None:
    space = make_space(UNIT, ("cat", 0, 3, 0, False), ("num", 0.0, 4.0, 1.0, False))
    obs = np.array([[0.1, 0, 1.0], [0.5, 2, 4.0], [0.55, 2, 3.0]])
    est = _parzen.fit(obs, np.ones(3), space, multivariate=False)
    w = np.full(4, 0.25)
    query = np.array([[0.2, 2, 3.0], [0.9, 1, 0.0]])
    cont = np.zeros(len(query))
    cat = np.zeros(len(query))
    grid = np.zeros(len(query))
    for j in range(4):
        cont += w[j] * truncnorm(est.mu[j, 0], est.sigma[j, 0]).pdf(query[:, 0])
        eps = est.eps[j, 0]
        cat += w[j] * np.where(query[:, 1] == est.category[j, 0], 1 - eps, eps / 2)
        dist = truncnorm(est.mu[j, 1], est.sigma[j, 1])
        cells = (query[:, 2] + 1.0) / 5.0  # upper cell edges: the range is [-0.5, 4.5]
        grid += w[j] * (dist.cdf(cells) - dist.cdf(cells - 0.2))
    expected = cont * cat * grid
    np.testing.assert_allclose(_parzen.log_pdf(est, query), np.log(expected), rtol=1e-9)


def test_prior_alone_and_far_points_stay_finite() -> None:
    space = make_space(UNIT, ("cat", 0, 4, 0, False))
    prior = _parzen.fit(np.empty((0, 2)), np.empty(0), space)
    assert prior.mu.shape == (1, 1)
    # A lone kernel of the smallest bandwidth, far from the query: logsumexp keeps it finite.
    est = _parzen.fit(np.array([[0.0, 0]] * 200), np.ones(200), space, prior_weight=1e-12)
    assert np.isfinite(_parzen.log_pdf(est, np.array([[1.0, 3]]))).all()


def test_fit_rejects_bad_arguments() -> None:
    space = make_space(UNIT)
    with pytest.raises(ValueError, match="weights must have shape"):
        _parzen.fit(np.zeros((2, 1)), np.ones(3), space)
    with pytest.raises(ValueError, match="weights must be finite"):
        _parzen.fit(np.zeros((1, 1)), np.array([-1.0]), space)
    with pytest.raises(ValueError, match="prior_weight"):
        _parzen.fit(np.zeros((1, 1)), np.ones(1), space, prior_weight=0.0)
    with pytest.raises(ValueError, match="low < high"):
        make_space(("num", 1.0, 1.0, 0.0, False))


def test_bandwidths_follow_scott_and_neighbour_rules() -> None:
    space = make_space(UNIT)
    obs = np.array([[0.2], [0.3], [0.6], [0.65], [0.9]])
    multi = _parzen.fit(obs, np.ones(5), space)
    scott = np.std(obs[:, 0]) * 5 ** (-1 / 5)  # Scott's rule [S92] with d = 1
    np.testing.assert_allclose(multi.sigma[:5, 0], max(0.2 * scott, 0.05))  # scaled, clipped
    wide = _bandwidth.scott_bandwidth(obs, np.ones(5), 1, scale=1.0)
    np.testing.assert_allclose(wide, [scott])
    assert _bandwidth.magic_clip(5) == 1 / 6  # hyperopt's 1 / (n + 1) ...
    assert _bandwidth.magic_clip(500) == 0.01  # ... down to 1 / 100
    assert _bandwidth.magic_clip(1, 0.05, 2.0) == 0.25  # (n + 1)^-2 ...
    assert _bandwidth.magic_clip(5, 0.05, 2.0) == 0.05  # ... down to the floor
    uni = _parzen.fit(obs, np.ones(5), space, multivariate=False)
    np.testing.assert_allclose(uni.sigma[:5, 0], np.maximum([0.1, 0.3, 0.3, 0.25, 0.25], 1 / 6))
    ends = _parzen.fit(obs, np.ones(5), space, multivariate=False, consider_endpoints=True)
    np.testing.assert_allclose(ends.sigma[:5, 0], [0.2, 0.3, 0.3, 0.25, 0.25])
    assert multi.sigma[5, 0] == _parzen.PRIOR_SIGMA and multi.mu[5, 0] == _parzen.PRIOR_MU


# -- normalization ----------------------------------------------------------------------------
@pytest.mark.parametrize("multivariate", [True, False])
def test_integrates_to_one_in_1d(multivariate: bool) -> None:
    space = make_space(("num", 1e-4, 1e-1, 0.0, True))
    obs = np.array([[1e-3], [2e-3], [5e-2]])
    est = _parzen.fit(obs, np.ones(3), space, multivariate=multivariate)

    def density(u: float) -> float:  # w.r.t. the unit coordinate
        x = _parzen.from_unit(space, np.array([[u]]))
        return float(np.exp(_parzen.log_pdf(est, x))[0])

    total, _ = integrate.quad(density, 0.0, 1.0, limit=200)
    assert math.isclose(total, 1.0, rel_tol=1e-6)


def test_integrates_to_one_in_2d() -> None:
    space = make_space(UNIT, ("num", -5.0, 5.0, 0.0, False))
    obs = np.array([[0.1, -4.0], [0.5, 0.0], [0.52, 0.3], [0.9, 4.9]])
    est = _parzen.fit(obs, np.ones(4), space)
    total, _ = integrate.dblquad(
        lambda v, u: float(np.exp(_parzen.log_pdf(est, np.array([[u, -5.0 + 10.0 * v]])))[0]),
        0.0, 1.0, 0.0, 1.0, epsabs=1e-7)
    assert math.isclose(total, 1.0, rel_tol=1e-4)


@pytest.mark.parametrize("multivariate", [True, False])
def test_mixed_pmf_sums_to_one(multivariate: bool) -> None:
    space = make_space(("num", 1, 20, 1, True), ("num", 0.0, 1.0, 0.1, False),
                       ("cat", 0, 3, 0, False))
    obs = np.array([[3, 0.2, 0], [4, 0.3, 1], [17, 0.9, 1]], dtype=float)
    est = _parzen.fit(obs, np.array([1.0, 1.0, 3.0]), space, multivariate=multivariate)
    grid = np.array([[a, b / 10, c] for a in range(1, 21) for b in range(11) for c in range(3)])
    assert math.isclose(np.exp(_parzen.log_pdf(est, grid)).sum(), 1.0, rel_tol=1e-10)


# -- sampling ---------------------------------------------------------------------------------
@pytest.mark.parametrize("multivariate", [True, False])
def test_samples_follow_the_pdf_by_ks(multivariate: bool) -> None:
    space = make_space(UNIT)
    obs = np.array([[0.05], [0.3], [0.31], [0.8]])
    est = _parzen.fit(obs, np.array([1.0, 2.0, 1.0, 1.0]), space, multivariate=multivariate)
    w = np.exp(est.log_weights)

    def cdf(x: np.ndarray) -> np.ndarray:
        parts = [w[j] * truncnorm(est.mu[j, 0], est.sigma[j, 0]).cdf(x) for j in range(len(w))]
        total: np.ndarray = np.sum(parts, axis=0)
        return total

    draws = _parzen.sample(est, np.random.default_rng(1), 5000)[:, 0]
    assert stats.kstest(draws, cdf).pvalue > 1e-3


@pytest.mark.parametrize("multivariate", [True, False])
def test_joint_samples_follow_the_pmf_by_chi_square(multivariate: bool) -> None:
    space = make_space(("num", 0, 8, 2, False), ("cat", 0, 3, 0, False))
    obs = np.array([[0, 0], [2, 0], [8, 2], [6, 2]], dtype=float)
    est = _parzen.fit(obs, np.ones(4), space, multivariate=multivariate)
    grid = np.array([[a, c] for a in range(0, 9, 2) for c in range(3)], dtype=float)
    p = np.exp(_parzen.log_pdf(est, grid))
    draws = _parzen.sample(est, np.random.default_rng(2), 20000)
    counts = np.array([np.sum((draws == point).all(axis=1)) for point in grid])
    assert counts.sum() == 20000  # every draw is a grid point
    assert stats.chisquare(counts, 20000 * p).pvalue > 1e-3


def test_sampling_is_reproducible_and_in_bounds() -> None:
    space = make_space(("num", 1e-5, 1.0, 0.0, True), ("num", -3.0, 3.0, 0.5, False),
                       ("cat", 0, 5, 0, False))
    obs = np.array([[1e-3, 0.5, 4], [1e-2, -3.0, 0]])
    est = _parzen.fit(obs, np.ones(2), space)
    a = _parzen.sample(est, np.random.default_rng(7), 500)
    b = _parzen.sample(est, np.random.default_rng(7), 500)
    np.testing.assert_array_equal(a, b)
    assert ((a[:, 0] >= 1e-5) & (a[:, 0] <= 1.0)).all()
    assert set(np.unique(a[:, 1])) <= set(np.arange(-3.0, 3.01, 0.5))
    assert set(np.unique(a[:, 2])) <= {0.0, 1.0, 2.0, 3.0, 4.0}


# -- the shortcuts: one pass for l and g, the fit cache, shared grid kernels -------------------
MIXED = (("num", -5.0, 5.0, 0.0, False), ("num", 1e-3, 1e2, 0.0, True),
         ("num", -10.0, 10.0, 1.0, False), ("num", 1.0, 256.0, 1.0, True),
         ("num", 0.0, 1.0, 0.1, False), ("cat", 0.0, 4.0, 0.0, False))


def _mixed_points(space: Space, n: int, seed: int) -> np.ndarray:
    return _parzen.from_unit(space, np.random.default_rng(seed).random((n, space.size)) *
                             np.where(space.numerical, 1.0, space.n_choices - 1e-9))


@pytest.mark.parametrize("multivariate", [True, False])
def test_log_ratio_is_the_difference_of_the_log_pdfs(multivariate: bool) -> None:
    space = make_space(*MIXED)
    obs = _mixed_points(space, 60, 0)
    below = _parzen.fit(obs[:8], np.ones(8), space, multivariate=multivariate)
    above = _parzen.fit(obs[8:], np.ones(52), space, multivariate=multivariate)
    query = _mixed_points(space, 40, 1)
    np.testing.assert_array_equal(
        _parzen.log_ratio(below, above, query),
        _parzen.log_pdf(below, query) - _parzen.log_pdf(above, query))
    with pytest.raises(ValueError, match="share one space"):
        _parzen.log_ratio(below, _parzen.fit(obs[:, :1], np.ones(60),
                                             make_space(MIXED[0])), query)


def test_shared_grid_kernels_equal_one_kernel_per_component() -> None:
    """Kernels deduplicated by grid cell give the density of one kernel per component."""
    space = make_space(*MIXED)
    obs = _mixed_points(space, 300, 2)
    est = _parzen.fit(obs, np.ones(300), space)
    grid_dims = [2, 3, 4]
    for kernels, dim in zip(est.grid, grid_dims, strict=True):  # one per grid value + prior
        assert len(kernels.mu) == len(np.unique(obs[:, dim])) + 1
    query = _mixed_points(space, 50, 3)
    # The direct sum: every component's own truncated kernel integrated over the query cell.
    unit_lo = _parzen.to_unit(space, query - 0.5 * space.step)
    unit_hi = _parzen.to_unit(space, query + 0.5 * space.step)
    expected = np.zeros(len(query))
    w = np.exp(est.log_weights)
    numerical = np.flatnonzero(space.numerical)
    u = _parzen.to_unit(space, query)
    for j in range(len(w)):
        term = np.full(len(query), w[j])
        for col, dim in enumerate(numerical):
            kernel = truncnorm(est.mu[j, col], est.sigma[j, col])
            if space.step[dim] > 0:
                term *= (kernel.cdf(np.clip(unit_hi[:, dim], 0, 1))
                         - kernel.cdf(np.clip(unit_lo[:, dim], 0, 1)))
            else:
                term *= kernel.pdf(u[:, dim])
        same = query[:, -1] == est.category[j, 0]
        term *= np.where(same, 1 - est.eps[j, 0], est.eps[j, 0] / 3)
        expected += term
    np.testing.assert_allclose(_parzen.log_pdf(est, query), np.log(expected), rtol=1e-8)


@pytest.mark.parametrize("multivariate", [True, False])
def test_a_fit_cache_changes_nothing_but_the_work(multivariate: bool) -> None:
    """Fits with a cache kept across growing, reshuffled observation sets give exactly the
    estimators of fits without one (the floor moving included)."""
    space = make_space(*MIXED)
    obs = _mixed_points(space, 400, 4)
    cache = _parzen.FitCache(space)
    rng = np.random.default_rng(5)
    for n in (1, 3, 10, 40, 120, 400, 250):
        keys = np.sort(rng.choice(400, size=n, replace=False))
        for part in (keys[: max(1, n // 10)], keys):
            plain = _parzen.fit(obs[part], np.ones(len(part)), space, multivariate=multivariate)
            cached = _parzen.fit(obs[part], np.ones(len(part)), space,
                                 multivariate=multivariate, cache=cache, keys=part)
            for field in ("log_weights", "mu", "sigma", "log_norm", "category", "eps"):
                np.testing.assert_array_equal(getattr(cached, field), getattr(plain, field))
    with pytest.raises(ValueError, match="keys"):
        _parzen.fit(obs[:5], np.ones(5), space, cache=cache, keys=np.arange(4))
    with pytest.raises(ValueError, match=">= 0"):
        _parzen.fit(obs[:2], np.ones(2), space, cache=cache, keys=np.array([-1, 0]))
