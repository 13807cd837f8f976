"""Log expected improvement and the user's prior belief, as acquisitions: pure numpy / scipy.

Shapes: ``x`` (m, D) points of the unit box the GP works in (numeric columns in [0, 1],
categories one-hot); ``mean``, ``var``, ``z`` (m,). The GP models a quantity to *minimize*.
The maximization itself is in ``_maximize``.

References:
    Ament, Daulton, Eriksson, Balandat and Bakshy, "Unexpected Improvements to Expected
    Improvement for Bayesian Optimization", NeurIPS 2023 (log-EI, eq. 9 and its branches).
    Mächler, "Accurately Computing log(1 - exp(-|a|))", CRAN Rmpfr vignette 2012 (log1mexp).
    Jones, Schonlau and Welch, "Efficient Global Optimization of Expensive Black-Box
    Functions", J. Global Optim. 1998 (EI = sigma h(z), h(z) = phi(z) + z Phi(z)).
    Hvarfner, Stoll, Souza, Lindauer, Hutter and Nardi, "πBO: Augmenting Acquisition
    Functions with User Beliefs for Bayesian Optimization", ICLR 2022 (EI(x) pi(x)^(beta/n),
    eq. 6; in logs: log EI + (beta / n) log pi).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import scipy.special

from hyperknob.samplers._prior import log_gaussian, log_gaussian_gradient
from hyperknob.samplers.gp._gp import GPModel, posterior, posterior_gradient
from hyperknob.samplers.gp._maximize import MixedBox, Region, maximize_acquisition

_C1 = 0.5 * math.log(2.0 * math.pi)
_C2 = 0.5 * math.log(math.pi / 2.0)
#: Below -1/sqrt(eps) erfcx(-z/sqrt2)|z|sqrt(pi/2) rounds to 1: use its asymptote (Ament eq. 9).
_FAR_TAIL = -1.0 / math.sqrt(np.finfo(float).eps)
#: Posterior variances are floored here before the square root (standardized units).
VARIANCE_FLOOR = 1e-12


# -- log-EI ------------------------------------------------------------------------------------
def log1mexp(a: np.ndarray) -> np.ndarray:
    """Return log(1 - exp(a)) for a < 0, accurately at both ends (Mächler 2012)."""
    a = np.asarray(a, dtype=float)
    out = np.empty_like(a)
    near = a > -math.log(2.0)
    out[near] = np.log(-np.expm1(a[near]))
    out[~near] = np.log1p(-np.exp(a[~near]))
    return out


def log_h(z: np.ndarray) -> np.ndarray:
    """Return log h(z) = log(phi(z) + z Phi(z)) without underflow (Ament et al. 2023, eq. 9).

    For z > -1 the direct formula is exact enough (h >= h(-1) ~ 0.083). Below, with
    Phi(z) = erfcx(-z/sqrt2) exp(-z^2/2) / 2, h(z) = phi(z) (1 - |z| sqrt(pi/2) erfcx(-z/sqrt2)),
    so log h = -z^2/2 - c1 + log1mexp(log(erfcx(-z/sqrt2) |z|) + c2). Far in the tail that
    bracket is 1/z^2 to working precision: log h = -z^2/2 - c1 - 2 log|z|.
    """
    z = np.asarray(z, dtype=float)
    out = np.empty_like(z)
    upper = z > -1.0
    far = z <= _FAR_TAIL
    tail = ~upper & ~far
    zu = z[upper]
    out[upper] = np.log(np.exp(-0.5 * zu * zu) / math.sqrt(2 * math.pi)
                        + zu * scipy.special.ndtr(zu))
    zt = z[tail]
    out[tail] = (-0.5 * zt * zt - _C1
                 + log1mexp(np.log(scipy.special.erfcx(-zt / math.sqrt(2.0)) * np.abs(zt)) + _C2))
    zf = z[far]
    out[far] = -0.5 * zf * zf - _C1 - 2.0 * np.log(np.abs(zf))
    return out


def log_h_derivative(z: np.ndarray, log_h_z: np.ndarray | None = None) -> np.ndarray:
    """Return d log h / dz = Phi(z) / h(z), computed as exp(log Phi - log h) (finite for all z).

    ``log_h_z``: ``log_h(z)`` when the caller has it already.
    """
    z = np.asarray(z, dtype=float)
    log_h_z = log_h(z) if log_h_z is None else log_h_z
    ratio: np.ndarray = np.exp(scipy.special.log_ndtr(z) - log_h_z)
    return ratio


def log_expected_improvement(mean: np.ndarray, var: np.ndarray, best: float) -> np.ndarray:
    """Return log EI of improving on ``best`` (minimizing): log sigma + log h((best - mu) / sigma).

    EI = sigma h(z) (Jones et al. 1998), so log EI needs only a stable log h.
    """
    sigma = np.sqrt(np.maximum(var, VARIANCE_FLOOR))
    value: np.ndarray = np.log(sigma) + log_h((best - mean) / sigma)
    return value


def log_ei_at(model: GPModel, x: np.ndarray, best: float) -> np.ndarray:
    """Return log EI (m,) of the GP at points ``x`` (m, D)."""
    mean, var = posterior(model, x)
    return log_expected_improvement(mean, var, best)


def log_ei_with_gradient(
    model: GPModel, x: np.ndarray, best: float
) -> tuple[np.ndarray, np.ndarray]:
    """Return log EI (m,) and its gradient (m, D) with respect to ``x`` (chain rule through
    sigma = sqrt(var) and z = (best - mu) / sigma).
    """
    return log_ei_from_moments(best, *posterior_gradient(model, x))


def log_ei_from_moments(best: float, mean: np.ndarray, var: np.ndarray, d_mean: np.ndarray,
                        d_var: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return log EI (m,) and its gradient (m, D) from a posterior's mean and variance (m,)
    and their gradients (m, D): any model that gives those (one GP, an ensemble)."""
    floored = var <= VARIANCE_FLOOR
    sigma = np.sqrt(np.maximum(var, VARIANCE_FLOOR))
    d_sigma = np.where(floored, 0.0, 0.5 / sigma)[:, None] * d_var
    z = (best - mean) / sigma
    d_z = (-d_mean - z[:, None] * d_sigma) / sigma[:, None]
    log_h_z = log_h(z)
    value = np.log(sigma) + log_h_z
    grad = d_sigma / sigma[:, None] + log_h_derivative(z, log_h_z)[:, None] * d_z
    return value, grad


# -- πBO: the user's belief pi(x) --------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class BoxPrior:
    """A belief ``pi(x)`` over the unit box and its weight in the acquisition (πBO eq. 6).

    Attributes:
        columns: (p,) numeric columns with a prior.
        center: (p,) their unit centres.
        sigma: (p,) their unit spreads (``samplers/_prior.prior_sigma``).
        categorical: (one-hot columns (k,), log probabilities (k,)) per categorical
            parameter with a prior.
        weight: ``beta / n``: the belief fades as ``n`` observations accumulate.
    """

    columns: np.ndarray
    center: np.ndarray
    sigma: np.ndarray
    categorical: tuple[tuple[np.ndarray, np.ndarray], ...]
    weight: float


def log_prior_with_gradient(prior: BoxPrior, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``log pi`` (m,) at points ``x`` (m, D) and its gradient (m, D).

    Numeric columns: a sum of Gaussian log densities; one-hot blocks: ``x_block . log p``,
    the log probability of the category set (linear in the one-hot columns).
    """
    value = np.zeros(len(x))
    grad = np.zeros_like(x, dtype=float)
    if len(prior.columns):
        u = x[:, prior.columns]
        value += np.sum(log_gaussian(u, prior.center, prior.sigma), axis=1)
        grad[:, prior.columns] = log_gaussian_gradient(u, prior.center, prior.sigma)
    for block, log_p in prior.categorical:
        value += x[:, block] @ log_p
        grad[:, block] = log_p
    return value, grad


def acquisition_at(
    model: GPModel, x: np.ndarray, best: float, prior: BoxPrior | None = None
) -> np.ndarray:
    """Return log EI (m,) at ``x`` (m, D), plus ``(beta / n) log pi(x)`` given a prior."""
    values = log_ei_at(model, x, best)
    if prior is not None:
        values = values + prior.weight * log_prior_with_gradient(prior, x)[0]
    return values


@dataclasses.dataclass(frozen=True)
class PriorTerm:
    """πBO's ``(beta / n) log pi(x)`` as an acquisition term, to add to another."""

    prior: BoxPrior

    def __call__(self, x: np.ndarray) -> np.ndarray:
        value: np.ndarray = self.prior.weight * log_prior_with_gradient(self.prior, x)[0]
        return value

    def with_gradient(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        value, grad = log_prior_with_gradient(self.prior, x)
        return self.prior.weight * value, self.prior.weight * grad


@dataclasses.dataclass(frozen=True)
class LogEI:
    """The acquisition log EI of improving on ``best`` (the GP minimizes), plus πBO's
    ``(beta / n) log pi`` where a ``prior`` is given."""

    model: GPModel
    best: float
    prior: BoxPrior | None = None

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return acquisition_at(self.model, x, self.best, self.prior)

    def with_gradient(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        value, grad = log_ei_with_gradient(self.model, x, self.best)
        if self.prior is not None:
            prior_value, prior_grad = log_prior_with_gradient(self.prior, x)
            value = value + self.prior.weight * prior_value
            grad = grad + self.prior.weight * prior_grad
        return value, grad


def maximize_log_ei(
    model: GPModel,
    best: float,
    box: MixedBox,
    rng: np.random.Generator,
    incumbents: np.ndarray,
    *,
    seen: np.ndarray | None = None,
    n_candidates: int = 2048,
    n_restarts: int = 5,
    prior: BoxPrior | None = None,
    region: Region | None = None,
) -> tuple[np.ndarray, float]:
    """Return the feasible point (D,) of highest log EI (plus the prior's term) found, and
    that value: :func:`~hyperknob.samplers.gp._maximize.maximize_acquisition` of
    :class:`LogEI`."""
    return maximize_acquisition(LogEI(model, best, prior), box, rng, incumbents, seen=seen,
                                n_candidates=n_candidates, n_restarts=n_restarts,
                                region=region)
