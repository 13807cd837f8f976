"""Output warping for the GP: a Yeo-Johnson power transform fitted by maximum likelihood.

Pure numpy, with scipy's bounded scalar minimizer for the exponent. The sampler warps the
targets every trial, so the fit is written for speed: ``log1p |y|`` is computed once and each
likelihood evaluation is two ``expm1`` over the sample and a variance.

References:
    Yeo and Johnson, "A new family of power transformations to improve normality or
    symmetry", Biometrika 2000 (the transform, eq. 2.1, and its normal log-likelihood).
    Cowen-Rivers et al., "HEBO: Pushing the Limits of Sample-Efficient Hyperparameter
    Optimisation", JAIR 2022 (sec. 4.1: warping the outputs of a GP this way).
"""

from __future__ import annotations

import math

import numpy as np

_EPS = float(np.finfo(float).eps)
_TINY = float(np.finfo(float).tiny)
#: Tolerance on the exponent (scipy.optimize.brent's default, ~sqrt(eps)).
LAMBDA_TOLERANCE = 1.48e-8


class _Sample:
    """One sample's pieces of the transform: which values are >= 0 and their ``log1p |y|``."""

    def __init__(self, y: np.ndarray) -> None:
        self.positive = y >= 0.0
        self.log_abs = np.log1p(np.abs(y))  # log(1 + y) where y >= 0, log(1 - y) below
        # The Jacobian of the transform: sum sign(y) log(1 + |y|), the same for every exponent.
        self.jacobian = float(np.sum(np.where(self.positive, self.log_abs, -self.log_abs)))

    def transform(self, lam: float) -> np.ndarray:
        """Return the Yeo-Johnson transform of the sample with exponent ``lam`` (eq. 2.1).

        y >= 0: ((1 + y)^lam - 1) / lam  (log(1 + y) at lam = 0);
        y < 0: -((1 - y)^(2 - lam) - 1) / (2 - lam)  (-log(1 - y) at lam = 2),
        each as expm1(p log1p |y|) / p, exact for small p.
        """
        out: np.ndarray = np.empty_like(self.log_abs)
        up, down = self.log_abs[self.positive], self.log_abs[~self.positive]
        out[self.positive] = up if abs(lam) < _EPS else np.expm1(lam * up) / lam
        p = 2.0 - lam
        out[~self.positive] = -down if abs(p) < _EPS else -np.expm1(p * down) / p
        return out

    def negative_log_likelihood(self, lam: float) -> float:
        """Return minus the profile normal log-likelihood of ``lam`` (constants dropped):
        n/2 log var(T(y)) - (lam - 1) sum sign(y) log(1 + |y|). A zero variance scores +inf."""
        with np.errstate(over="ignore", invalid="ignore"):
            variance = float(np.var(self.transform(lam)))
        if not (math.isfinite(variance) and variance >= _TINY):
            return math.inf
        return 0.5 * len(self.log_abs) * math.log(variance) - (lam - 1.0) * self.jacobian


def exponent_bounds(y: np.ndarray) -> tuple[float, float]:
    """Return the exponents for which transforming values up to 20 max|y| stays finite.

    With a = log(1 + 20 max|y|), |lam a| must keep exp(lam a) within half the float exponent
    range (so the variance of the transformed values can be formed): lam in
    [log(tiny / eps) / 2a, log(max * eps) / 2a]. Negative values see the exponent 2 - lam,
    which mirrors the interval about 1.
    """
    a = math.log1p(20.0 * float(np.max(np.abs(y))))
    low = 0.5 * (math.log(_TINY) - math.log(_EPS)) / a
    high = 0.5 * (math.log(float(np.finfo(float).max)) + math.log(_EPS)) / a
    if np.all(y < 0.0):
        return 2.0 - high, 2.0 - low
    if np.any(y < 0.0):
        return max(2.0 - high, low), min(2.0 - low, high)
    return low, high


def fit_exponent(y: np.ndarray) -> float:
    """Return the maximum-likelihood Yeo-Johnson exponent of the finite sample ``y`` (n,)."""
    import scipy.optimize  # loads with the GP math, never at ``import hyperknob``

    if np.all(y == 0.0):
        return 1.0
    sample = _Sample(y)
    low, high = exponent_bounds(y)
    lam = scipy.optimize.fminbound(sample.negative_log_likelihood, low, high,
                                   xtol=LAMBDA_TOLERANCE)
    return float(lam)


def yeo_johnson(y: np.ndarray, lam: float) -> np.ndarray:
    """Return the Yeo-Johnson transform of ``y`` (n,) with exponent ``lam``."""
    return _Sample(np.asarray(y, dtype=float)).transform(lam)


def warp_targets(y: np.ndarray) -> np.ndarray:
    """Return standardized (n,) targets after a Yeo-Johnson power transform of ``y`` (n,).

    HEBO's output warping: the exponent by maximum likelihood, so a heavy tail of bad values
    (Levy, Styblinski-Tang) is pulled in and no longer sets the scale the good region is
    modelled at. Monotone, so the order of the observations (the incumbent) is kept. Returns
    ``y`` centred (fewer than 3 values, or constant) or standardized when the transform is
    degenerate (non-finite or constant output).
    """
    y = np.asarray(y, dtype=float)
    scale = float(np.std(y))
    centred: np.ndarray = y - np.mean(y)
    if len(y) < 3 or not scale > 0.0:
        return centred
    standard: np.ndarray = centred / scale
    with np.errstate(over="ignore", invalid="ignore"):
        warped = yeo_johnson(standard, fit_exponent(standard))
    spread = float(np.std(warped))
    if not (np.all(np.isfinite(warped)) and spread > 0.0):
        return standard
    out: np.ndarray = (warped - np.mean(warped)) / spread
    return out
