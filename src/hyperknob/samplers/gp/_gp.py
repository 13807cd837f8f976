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
    Dimensions", ICML 2024 (the log-normal lengthscale prior scaled with sqrt(D)).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import scipy.linalg
import scipy.optimize

SQRT5 = math.sqrt(5.0)
LOG_2PI = math.log(2.0 * math.pi)

#: Noise variance (standardized units) used when the objective is declared deterministic.
DETERMINISTIC_NOISE = 1e-6
#: Box on the log-hyperparameters: L-BFGS-B bounds that keep K well-conditioned.
LOG_LENGTHSCALE_BOUNDS = (math.log(1e-3), math.log(1e3))
LOG_SIGNAL_BOUNDS = (math.log(1e-3), math.log(1e3))
LOG_NOISE_BOUNDS = (math.log(DETERMINISTIC_NOISE), math.log(2.0))
#: Normal priors on log s_f^2 and log s_n^2 (i.e. log-normal priors on the variances).
LOG_SIGNAL_PRIOR = (0.0, 1.0)
LOG_NOISE_PRIOR = (-4.0, 1.0)


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
    """Return the (m, n) Euclidean distances between rows of already-scaled a (m, D), b (n, D)."""
    sq = np.sum(a * a, axis=1)[:, None] + np.sum(b * b, axis=1)[None, :] - 2.0 * a @ b.T
    distance: np.ndarray = np.sqrt(np.maximum(sq, 0.0))
    return distance


def matern52(x1: np.ndarray, x2: np.ndarray, lengthscales: np.ndarray) -> np.ndarray:
    """Return the (m, n) unit-variance ARD Matérn-5/2 kernel matrix between x1 (m, D), x2 (n, D).

    k(r) = (1 + sqrt(5) r + 5/3 r^2) exp(-sqrt(5) r), r = ||(x - x') / l||  (GPML eq. 4.17).
    """
    r = _scaled_distance(x1 / lengthscales, x2 / lengthscales)
    k: np.ndarray = (1.0 + SQRT5 * r + (5.0 / 3.0) * r * r) * np.exp(-SQRT5 * r)
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
def log_marginal_likelihood(
    theta: np.ndarray, x: np.ndarray, y: np.ndarray
) -> tuple[float, np.ndarray]:
    """Return log p(y | x, theta) and its gradient (D + 2,) with respect to ``theta`` (logs).

    Value: -1/2 y^T K^-1 y - sum(log diag L) - n/2 log 2 pi  (GPML eq. 2.30, Algorithm 2.1).
    Gradient: 1/2 tr((alpha alpha^T - K^-1) dK/dtheta_j)  (GPML eq. 5.9).
    """
    n, dim = x.shape
    lengthscales = np.exp(theta[:dim])
    signal_var, noise_var = math.exp(theta[dim]), math.exp(theta[dim + 1])
    scaled = x / lengthscales
    r = _scaled_distance(scaled, scaled)
    decay = np.exp(-SQRT5 * r)
    k_signal = signal_var * (1.0 + SQRT5 * r + (5.0 / 3.0) * r * r) * decay
    lower, _ = cholesky_with_jitter(k_signal + noise_var * np.eye(n))
    alpha = scipy.linalg.cho_solve((lower, True), y)
    value = -0.5 * float(y @ alpha) - float(np.sum(np.log(np.diag(lower)))) - 0.5 * n * LOG_2PI

    k_inv = scipy.linalg.cho_solve((lower, True), np.eye(n))
    w = np.outer(alpha, alpha) - k_inv  # (n, n), the bracket of eq. 5.9
    # dk/d(log l_d) = s_f^2 5/3 (1 + sqrt5 r) exp(-sqrt5 r) (dx_d / l_d)^2: Matérn 5/2 has no
    # 1/r singularity here, so r = 0 on the diagonal needs no special case.
    w_a = w * (signal_var * (5.0 / 3.0) * (1.0 + SQRT5 * r) * decay)
    grad = np.empty(dim + 2)
    for d in range(dim):
        diff = scaled[:, d, None] - scaled[None, :, d]
        grad[d] = 0.5 * float(np.sum(w_a * diff * diff))
    grad[dim] = 0.5 * float(np.sum(w * k_signal))  # dK/d(log s_f^2) = K_signal
    grad[dim + 1] = 0.5 * noise_var * float(np.trace(w))  # dK/d(log s_n^2) = s_n^2 I
    return value, grad


def lengthscale_prior(dim: int) -> tuple[float, float]:
    """Return (mean, std) of the normal prior on log l: N(sqrt2 + log(D)/2, sqrt3) (Hvarfner)."""
    return math.sqrt(2.0) + 0.5 * math.log(dim), math.sqrt(3.0)


def log_prior(theta: np.ndarray, dim: int) -> tuple[float, np.ndarray]:
    """Return the log density of the (independent normal) priors on ``theta`` and its gradient.

    Normal priors on log-parameters are log-normal priors on the parameters; weak ones keep the
    fit away from the degenerate optima of eq. 2.30 with few points (lengthscale -> 0 or inf).
    """
    ls_mean, ls_std = lengthscale_prior(dim)
    means = np.array([ls_mean] * dim + [LOG_SIGNAL_PRIOR[0], LOG_NOISE_PRIOR[0]])
    stds = np.array([ls_std] * dim + [LOG_SIGNAL_PRIOR[1], LOG_NOISE_PRIOR[1]])
    z = (theta - means) / stds
    return -0.5 * float(z @ z), -z / stds


# -- fit -------------------------------------------------------------------------------------
def fit_hyperparameters(
    x: np.ndarray,
    y: np.ndarray,
    rng: np.random.Generator,
    *,
    deterministic: bool = False,
    n_restarts: int = 2,
) -> np.ndarray:
    """Return the MAP ``theta`` (D + 2,): max of eq. 2.30 + log prior by L-BFGS-B.

    Starts from the prior means and ``n_restarts - 1`` prior draws; analytic gradients
    (eq. 5.9). With ``deterministic`` the noise is fixed at ``DETERMINISTIC_NOISE``.
    """
    dim = x.shape[1]
    ls_mean, ls_std = lengthscale_prior(dim)
    n_free = dim + (1 if deterministic else 2)
    bounds = [LOG_LENGTHSCALE_BOUNDS] * dim + [LOG_SIGNAL_BOUNDS, LOG_NOISE_BOUNDS][: n_free - dim]
    low, high = np.array([b[0] for b in bounds]), np.array([b[1] for b in bounds])
    fixed_noise = math.log(DETERMINISTIC_NOISE)

    def full(free: np.ndarray) -> np.ndarray:
        return free if not deterministic else np.append(free, fixed_noise)

    def negative_posterior(free: np.ndarray) -> tuple[float, np.ndarray]:
        theta = full(free)
        try:
            value, grad = log_marginal_likelihood(theta, x, y)
        except np.linalg.LinAlgError:
            return 1e25, np.zeros(n_free)
        prior, prior_grad = log_prior(theta, dim)
        return -(value + prior), -(grad + prior_grad)[:n_free]

    means = np.array([ls_mean] * dim + [LOG_SIGNAL_PRIOR[0], LOG_NOISE_PRIOR[0]])[:n_free]
    stds = np.array([ls_std] * dim + [LOG_SIGNAL_PRIOR[1], LOG_NOISE_PRIOR[1]])[:n_free]
    starts = [means] + [means + stds * rng.standard_normal(n_free)
                        for _ in range(max(n_restarts, 1) - 1)]
    best_theta, best_value = np.clip(means, low, high), math.inf
    for start in starts:
        result = scipy.optimize.minimize(
            negative_posterior, np.clip(start, low, high), jac=True, method="L-BFGS-B",
            bounds=bounds, options={"maxiter": 200})
        if np.isfinite(result.fun) and result.fun < best_value:
            best_value, best_theta = float(result.fun), np.asarray(result.x)
    return full(best_theta)


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
    n_restarts: int = 2,
) -> GPModel:
    """Fit the hyperparameters to (x, y) and return the conditioned GP."""
    theta = fit_hyperparameters(x, y, rng, deterministic=deterministic, n_restarts=n_restarts)
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
    k_inv_k = scipy.linalg.cho_solve((model.cholesky, True), k_star.T)  # (n, m)
    var = model.signal_var - np.sum(k_star.T * k_inv_k, axis=0)
    d_mean = np.einsum("mnd,n->md", dk, model.alpha)
    d_var = -2.0 * np.einsum("mnd,nm->md", dk, k_inv_k)
    return mean, np.maximum(var, 0.0), d_mean, d_var
