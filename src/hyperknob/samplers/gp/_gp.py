"""Gaussian-process regression with an ARD Matérn-5/2 kernel: pure numpy / scipy.

Shapes: ``x`` is (n, D) training inputs in the unit cube (one-hot columns for categories),
``y`` is (n,) standardized targets, ``xq`` is (m, D) query points. Hyperparameters travel as
one vector ``theta`` (D + 2,) of logs: ``[log l_1 .. log l_D, log s_f^2, log s_n^2]``
(lengthscales, signal variance, noise variance).

References:
    GPML: C. E. Rasmussen and C. K. I. Williams, "Gaussian Processes for Machine Learning",
    MIT Press 2006 (eq. 4.17 Matérn 5/2; eqs. 2.25-2.26 posterior; eq. 2.30 log marginal
    likelihood; eqs. 5.8-5.9 its gradient; Algorithm 2.1 the Cholesky route).
    Hvarfner, Hellsten and Nardi, "Vanilla Bayesian Optimization Performs Great in High
    Dimensions", ICML 2024 (the log-normal lengthscale prior scaled with sqrt(D)), and its
    BoTorch implementation (``get_covar_module_with_dim_scaled_prior``, the noise prior of
    ``get_gaussian_likelihood_with_lognormal_prior``, and the lower bounds of both).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import scipy.linalg
import scipy.optimize
import scipy.spatial.distance

SQRT5 = math.sqrt(5.0)
LOG_2PI = math.log(2.0 * math.pi)

#: Noise variance (standardized units) used when the objective is declared deterministic.
DETERMINISTIC_NOISE = 1e-6
#: Shortest lengthscale (unit cube) and smallest inferred noise variance (standardized units):
#: BoTorch's constraints beside the same priors (``GreaterThan(2.5e-2)`` on the lengthscales,
#: ``MIN_INFERRED_NOISE_LEVEL``). Without the floor a noisy objective is fitted as noise-free
#: with one lengthscale of ~1e-3 (every value of that parameter its own bump): the prior on
#: the noise costs more than the one on a tiny lengthscale. Such a model learns nothing between
#: points, and its EI kept a bayesmark MLP-sgd run on the noise floor of a diverged plateau
#: for 54 trials (see BENCHMARKS.md, "The lengthscale floor").
MIN_LENGTHSCALE = 2.5e-2
MIN_INFERRED_NOISE = 1e-4
#: Box on the log-hyperparameters: L-BFGS-B bounds that keep K well-conditioned.
LOG_LENGTHSCALE_BOUNDS = (math.log(MIN_LENGTHSCALE), math.log(1e3))
LOG_SIGNAL_BOUNDS = (math.log(1e-3), math.log(1e3))
LOG_NOISE_BOUNDS = (math.log(MIN_INFERRED_NOISE), math.log(2.0))
#: Normal priors on log s_f^2 and log s_n^2 (i.e. log-normal priors on the variances). The
#: noise one is BoTorch's LogNormal(-4, 1) on s_n^2 moved to log scale as in
#: :func:`lengthscale_prior` (mean -4 - 1^2).
LOG_SIGNAL_PRIOR = (0.0, 1.0)
LOG_NOISE_PRIOR = (-5.0, 1.0)


@dataclasses.dataclass(frozen=True)
class GPModel:
    """A GP conditioned on data: what the posterior needs (GPML Algorithm 2.1, lines 2-3).

    Attributes:
        x: (n, D) training inputs.
        lengthscales: (D,) ARD lengthscales.
        signal_var: Signal variance s_f^2.
        noise_var: Noise variance s_n^2 (jitter included).
        cholesky: (n, n) lower Cholesky factor L of K + s_n^2 I.
        alpha: (n,) K^-1 y.
    """

    x: np.ndarray
    lengthscales: np.ndarray
    signal_var: float
    noise_var: float
    cholesky: np.ndarray
    alpha: np.ndarray


# -- kernel ------------------------------------------------------------------------------------
def _scaled_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the (m, n) Euclidean distances between rows of already-scaled a (m, D), b (n, D).

    ``scipy.spatial.distance.cdist``: one pass in C, 5x faster than |a|^2 + |b|^2 - 2 a.b on
    the acquisition's 2,304 x n screening matrix, and free of its cancellation.
    """
    distance: np.ndarray = scipy.spatial.distance.cdist(a, b)
    return distance


def matern52(x1: np.ndarray, x2: np.ndarray, lengthscales: np.ndarray) -> np.ndarray:
    """Return the (m, n) unit-variance ARD Matérn-5/2 kernel matrix between x1 (m, D), x2 (n, D).

    k(r) = (1 + sqrt(5) r + 5/3 r^2) exp(-sqrt(5) r), r = ||(x - x') / l||  (GPML eq. 4.17).
    """
    r = _scaled_distance(x1 / lengthscales, x2 / lengthscales)
    r *= SQRT5  # s = sqrt5 r: k = (1 + s + s^2 / 3) exp(-s), in place (m x n can be large)
    k: np.ndarray = np.exp(-r)
    poly = r * r
    poly *= 1.0 / 3.0
    poly += r
    poly += 1.0
    k *= poly
    return k


def cholesky_with_jitter(matrix: np.ndarray, max_tries: int = 6) -> tuple[np.ndarray, float]:
    """Return (lower Cholesky factor, jitter added to the diagonal), adding jitter on failure.

    Jitter starts at 1e-9 of the mean diagonal and grows tenfold per retry; duplicated inputs
    with near-zero noise make K singular, and this is the usual cure.
    """
    jitter = 0.0
    scale = float(np.mean(np.diag(matrix)))
    for attempt in range(max_tries + 1):
        try:
            lower = np.linalg.cholesky(
                matrix + jitter * np.eye(len(matrix)) if jitter else matrix)
            return lower, jitter
        except np.linalg.LinAlgError:
            jitter = scale * 1e-9 * 10.0**attempt
    raise np.linalg.LinAlgError(
        f"kernel matrix is not positive definite even with jitter={jitter:.3g}")


# -- marginal likelihood ---------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Pairs:
    """The distinct pairs i > j of n training rows, computed once per fit.

    Every kernel of the fit is then r^2 = squared @ (1 / l^2), one matrix-vector product over
    n (n - 1) / 2 pairs instead of n^2 entries (K is symmetric with a constant diagonal), and
    the lengthscale gradient a second one (no cancellation, unlike |a|^2 + |b|^2 - 2 a.b).

    Attributes:
        rows, columns: (P,) indices of the pairs (``numpy.tril_indices(n, -1)``).
        squared: (P, D) squared differences (x_id - x_jd)^2.
    """

    rows: np.ndarray
    columns: np.ndarray
    squared: np.ndarray


def pairwise_squared_differences(x: np.ndarray) -> Pairs:
    """Return the :class:`Pairs` of the rows of x (n, D)."""
    rows, columns = np.tril_indices(len(x), -1)
    diff = x[rows] - x[columns]
    return Pairs(rows=rows, columns=columns, squared=diff * diff)


def lower_inverse(lower: np.ndarray) -> np.ndarray:
    """Return the lower triangle of (L L^T)^-1 and zeros above, from an L whose upper
    triangle is zero (as ``numpy.linalg.cholesky`` returns it): LAPACK ``potri``."""
    inverse, info = scipy.linalg.lapack.dpotri(lower, lower=1)
    if info != 0:
        raise np.linalg.LinAlgError(f"potri failed with info={info}")
    out: np.ndarray = inverse
    return out


def log_marginal_likelihood(
    theta: np.ndarray, x: np.ndarray, y: np.ndarray, pairs: Pairs | None = None,
    *, gradient: bool = True,
) -> tuple[float, np.ndarray]:
    """Return log p(y | x, theta) and its gradient (D + 2,) with respect to ``theta`` (logs).

    Value: -1/2 y^T K^-1 y - sum(log diag L) - n/2 log 2 pi  (GPML eq. 2.30, Algorithm 2.1).
    Gradient: 1/2 tr((alpha alpha^T - K^-1) dK/dtheta_j)  (GPML eq. 5.9), all D + 2 entries
    from one Cholesky and one inverse; K, W = alpha alpha^T - K^-1 and dK are symmetric, so
    each trace is a sum over the pairs i > j (twice) plus the diagonal. ``pairs``: the output
    of :func:`pairwise_squared_differences` for ``x``, passed by a fit that calls this many
    times. ``gradient=False`` skips the inverse and returns an empty gradient.
    """
    n, dim = x.shape
    pairs = pairwise_squared_differences(x) if pairs is None else pairs
    inv_ls2 = np.exp(-2.0 * theta[:dim])
    signal_var, noise_var = math.exp(theta[dim]), math.exp(theta[dim + 1])
    r = np.sqrt(pairs.squared @ inv_ls2)  # (P,)
    decay = np.exp(-SQRT5 * r)
    k_pairs = signal_var * (1.0 + SQRT5 * r + (5.0 / 3.0) * r * r) * decay
    k_noisy = np.zeros((n, n))  # the lower triangle is all that Cholesky reads
    k_noisy[pairs.rows, pairs.columns] = k_pairs
    k_noisy[np.diag_indices(n)] = signal_var + noise_var
    lower, _ = cholesky_with_jitter(k_noisy)
    alpha = scipy.linalg.cho_solve((lower, True), y, check_finite=False)
    value = -0.5 * float(y @ alpha) - float(np.sum(np.log(np.diag(lower)))) - 0.5 * n * LOG_2PI
    if not gradient:
        return value, np.empty(0)

    inverse = lower_inverse(lower)
    w_pairs = alpha[pairs.rows] * alpha[pairs.columns] - inverse[pairs.rows, pairs.columns]
    w_trace = float(alpha @ alpha) - float(np.trace(inverse))  # the bracket of eq. 5.9, summed
    # dk/d(log l_d) = s_f^2 5/3 (1 + sqrt5 r) exp(-sqrt5 r) (dx_d / l_d)^2: zero on the diagonal
    # (r = 0, dx = 0), and the halves of the two triangles add up to one sum over the pairs.
    w_a = w_pairs * (signal_var * (5.0 / 3.0) * (1.0 + SQRT5 * r) * decay)
    grad = np.empty(dim + 2)
    grad[:dim] = (w_a @ pairs.squared) * inv_ls2
    # dK/d(log s_f^2) = K_signal (s_f^2 on the diagonal); dK/d(log s_n^2) = s_n^2 I.
    grad[dim] = float(w_pairs @ k_pairs) + 0.5 * signal_var * w_trace
    grad[dim + 1] = 0.5 * noise_var * w_trace
    return value, grad


def lengthscale_prior(dim: int) -> tuple[float, float]:
    """Return (mean, std) of the normal prior on log l: N(sqrt2 + log(D)/2 - 3, sqrt3).

    Hvarfner et al. put LogNormal(sqrt2 + log(D)/2, sqrt3) on l itself, and BoTorch maximizes
    that density *in l*: log N(log l; mu, s) - log l. As a function of log l this is, up to a
    constant, N(log l; mu - s^2, s), whose mode is e^-3 ~ 1/20 of the median e^mu (about
    0.2 sqrt(D) in the unit cube, not 4.1 sqrt(D)). Fitting log l with N(mu, s) instead
    gives lengthscales 20 times too long while the data are few: a near-quadratic mean whose
    EI peaks in the corners of the box.
    """
    mu, std = math.sqrt(2.0) + 0.5 * math.log(dim), math.sqrt(3.0)
    return mu - std * std, std


def log_prior(theta: np.ndarray, dim: int) -> tuple[float, np.ndarray]:
    """Return the log density of the (independent normal) priors on ``theta`` and its gradient.

    Normal priors on log-parameters are log-normal priors on the parameters; weak ones keep the
    fit away from the degenerate optima of eq. 2.30 with few points (lengthscale -> 0 or inf).
    """
    means, stds = _prior_moments(dim)
    z = (theta - means) / stds
    return -0.5 * float(z @ z), -z / stds


def _prior_moments(dim: int) -> tuple[np.ndarray, np.ndarray]:
    ls_mean, ls_std = lengthscale_prior(dim)
    means = np.array([ls_mean] * dim + [LOG_SIGNAL_PRIOR[0], LOG_NOISE_PRIOR[0]])
    stds = np.array([ls_std] * dim + [LOG_SIGNAL_PRIOR[1], LOG_NOISE_PRIOR[1]])
    return means, stds


# -- fit -------------------------------------------------------------------------------------
def fit_hyperparameters(
    x: np.ndarray,
    y: np.ndarray,
    rng: np.random.Generator,
    *,
    deterministic: bool = False,
    n_prior_draws: int = 4,
    max_iterations: int = 50,
    initial: np.ndarray | None = None,
) -> np.ndarray:
    """Return the MAP ``theta`` (D + 2,): max of eq. 2.30 + log prior by L-BFGS-B.

    One L-BFGS-B run (analytic gradients, eq. 5.9) from the best start, each start evaluated
    once (value only): the prior mode and ``n_prior_draws`` prior draws, or, given an
    ``initial`` theta (the previous fit on nearly the same data), that and the prior mode.
    A warm start typically converges in 5-8 evaluations instead of 25-45 at 200 points. The
    draws are made either way, so ``rng`` is left in the same state. The EI maximizer needs a
    good fit, not the last digits of one, so the run is capped at ``max_iterations`` with a
    loose tolerance. With ``deterministic`` the noise is fixed at ``DETERMINISTIC_NOISE``.
    """
    dim = x.shape[1]
    n_free = dim + (1 if deterministic else 2)
    bounds = [LOG_LENGTHSCALE_BOUNDS] * dim + [LOG_SIGNAL_BOUNDS, LOG_NOISE_BOUNDS][: n_free - dim]
    low, high = np.array([b[0] for b in bounds]), np.array([b[1] for b in bounds])
    fixed_noise = math.log(DETERMINISTIC_NOISE)
    pairs = pairwise_squared_differences(x)

    def full(free: np.ndarray) -> np.ndarray:
        return free if not deterministic else np.append(free, fixed_noise)

    def negative_posterior(free: np.ndarray) -> tuple[float, np.ndarray]:
        theta = full(free)
        try:
            value, grad = log_marginal_likelihood(theta, x, y, pairs)
        except np.linalg.LinAlgError:
            return 1e25, np.zeros(n_free)
        prior, prior_grad = log_prior(theta, dim)
        return -(value + prior), -(grad + prior_grad)[:n_free]

    def negative_posterior_value(free: np.ndarray) -> float:
        theta = full(free)
        try:
            value, _ = log_marginal_likelihood(theta, x, y, pairs, gradient=False)
        except np.linalg.LinAlgError:
            return 1e25
        return -(value + log_prior(theta, dim)[0])

    means, stds = (v[:n_free] for v in _prior_moments(dim))
    draws = [means + stds * rng.standard_normal(n_free) for _ in range(max(n_prior_draws, 0))]
    usable = initial is not None and initial.shape == (dim + 2,) and bool(
        np.all(np.isfinite(initial)))
    starts = [means] + ([initial[:n_free]] if usable and initial is not None else draws)
    starts = [np.clip(start, low, high) for start in starts]
    start = min(starts, key=negative_posterior_value)
    result = scipy.optimize.minimize(
        negative_posterior, start, jac=True, method="L-BFGS-B", bounds=bounds,
        options={"maxiter": max_iterations, "ftol": 1e-6, "gtol": 1e-2})
    best = np.asarray(result.x) if np.isfinite(result.fun) else start
    return full(best)


def condition(theta: np.ndarray, x: np.ndarray, y: np.ndarray) -> GPModel:
    """Return the GP with hyperparameters ``theta`` conditioned on (x, y) (GPML Alg. 2.1)."""
    n, dim = x.shape
    lengthscales = np.exp(theta[:dim])
    signal_var, noise_var = math.exp(theta[dim]), math.exp(theta[dim + 1])
    k = signal_var * matern52(x, x, lengthscales) + noise_var * np.eye(n)
    lower, jitter = cholesky_with_jitter(k)
    alpha = scipy.linalg.cho_solve((lower, True), y)
    return GPModel(x=x, lengthscales=lengthscales, signal_var=signal_var,
                   noise_var=noise_var + jitter, cholesky=lower, alpha=alpha)


def fit_gp(
    x: np.ndarray,
    y: np.ndarray,
    rng: np.random.Generator,
    *,
    deterministic: bool = False,
) -> GPModel:
    """Fit the hyperparameters to (x, y) and return the conditioned GP."""
    theta = fit_hyperparameters(x, y, rng, deterministic=deterministic)
    return condition(theta, x, y)


# -- posterior -------------------------------------------------------------------------------
def posterior(model: GPModel, xq: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return the latent posterior mean (m,) and variance (m,) at ``xq`` (m, D).

    mean = k*^T alpha (GPML eq. 2.25); var = k(x*, x*) - v^T v, v = L \\ k* (eq. 2.26).
    """
    k_star = model.signal_var * matern52(xq, model.x, model.lengthscales)  # (m, n)
    mean = k_star @ model.alpha
    v = scipy.linalg.solve_triangular(model.cholesky, k_star.T, lower=True)  # (n, m)
    var = model.signal_var - np.sum(v * v, axis=0)
    return mean, np.maximum(var, 0.0)


def posterior_gradient(
    model: GPModel, xq: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Return mean (m,), var (m,) and their gradients (m, D) with respect to ``xq``.

    dk/dx_d = -s_f^2 5/3 (1 + sqrt5 r) exp(-sqrt5 r) (x_d - x_id) / l_d^2 (differentiating
    GPML eq. 4.17); d mean = dk*^T alpha, d var = -2 dk*^T K^-1 k* (from eqs. 2.25-2.26).
    """
    ls2 = model.lengthscales**2
    r = _scaled_distance(xq / model.lengthscales, model.x / model.lengthscales)  # (m, n)
    decay = np.exp(-SQRT5 * r)
    k_star = model.signal_var * (1.0 + SQRT5 * r + (5.0 / 3.0) * r * r) * decay
    slope = model.signal_var * (5.0 / 3.0) * (1.0 + SQRT5 * r) * decay  # (m, n)
    diff = (xq[:, None, :] - model.x[None, :, :]) / ls2  # (m, n, D)
    dk = -slope[:, :, None] * diff
    mean = k_star @ model.alpha
    k_inv_k = scipy.linalg.cho_solve((model.cholesky, True), k_star.T, check_finite=False)
    var = model.signal_var - np.sum(k_star.T * k_inv_k, axis=0)
    d_mean = np.einsum("mnd,n->md", dk, model.alpha)
    d_var = -2.0 * np.einsum("mnd,nm->md", dk, k_inv_k)
    return mean, np.maximum(var, 0.0), d_mean, d_var
