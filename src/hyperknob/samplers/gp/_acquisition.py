"""Log expected improvement and its maximization over a mixed unit box: pure numpy / scipy.

Shapes: ``x`` (m, D) points of the unit box the GP works in (numeric columns in [0, 1],
categories one-hot); ``mean``, ``var``, ``z`` (m,). The GP models a quantity to *minimize*.

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
import warnings
from collections.abc import Callable

import numpy as np
import scipy.optimize
import scipy.special

from hyperknob.samplers._prior import log_gaussian, log_gaussian_gradient
from hyperknob.samplers.gp._gp import GPModel, posterior, posterior_gradient

_C1 = 0.5 * math.log(2.0 * math.pi)
_C2 = 0.5 * math.log(math.pi / 2.0)
#: Below -1/sqrt(eps) erfcx(-z/sqrt2)|z|sqrt(pi/2) rounds to 1: use its asymptote (Ament eq. 9).
_FAR_TAIL = -1.0 / math.sqrt(np.finfo(float).eps)
#: Posterior variances are floored here before the square root (standardized units).
VARIANCE_FLOOR = 1e-12
#: Bounds (low, high), each (D,), on the unit box: a trust region (``_trust_region``).
Region = tuple[np.ndarray, np.ndarray]


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
    mean, var, d_mean, d_var = posterior_gradient(model, x)
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


# -- the box and its maximization -------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class MixedBox:
    """The unit box the acquisition is maximized over.

    Attributes:
        n_features: D, the number of GP input columns.
        numeric: Indices of the columns in [0, 1] (floats and the relaxation of ints / steps).
        continuous: The numeric columns that are not on a grid (floats without a step).
        categorical: One index array per categorical parameter: its one-hot columns.
        snap: Map (m, D) points to their nearest feasible points (ints and steps rounded to
            their grid); the identity on continuous and one-hot columns.
    """

    n_features: int
    numeric: np.ndarray
    continuous: np.ndarray
    categorical: tuple[np.ndarray, ...]
    snap: Callable[[np.ndarray], np.ndarray]


def random_points(box: MixedBox, rng: np.random.Generator, n: int,
                  region: Region | None = None) -> np.ndarray:
    """Return (n, D) points: scrambled Sobol on numeric columns (within ``region``, a (low,
    high) pair of (D,) bounds, where given), uniform categories."""
    x = np.zeros((n, box.n_features))
    if len(box.numeric):
        from scipy.stats import qmc  # scipy.stats is slow to import: only when first used

        sobol = qmc.Sobol(d=len(box.numeric), scramble=True, seed=rng)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # balance warning when n is not a power of two
            u = sobol.random(n)
        if region is not None:
            low, high = region[0][box.numeric], region[1][box.numeric]
            u = low + u * (high - low)
        x[:, box.numeric] = u
    for block in box.categorical:
        x[np.arange(n), block[rng.integers(len(block), size=n)]] = 1.0
    return x


def points_near(
    box: MixedBox, centers: np.ndarray, rng: np.random.Generator, n: int, scale: float = 0.05,
    region: Region | None = None,
) -> np.ndarray:
    """Return (n, D) Gaussian perturbations of ``centers`` (k, D), clipped to ``region`` (or
    the box); each category flips w.p. 1/4."""
    x: np.ndarray = centers[rng.integers(len(centers), size=n)].copy()
    if len(box.numeric):
        noise = scale * rng.standard_normal((n, len(box.numeric)))
        low, high = (0.0, 1.0) if region is None else (region[0][box.numeric],
                                                      region[1][box.numeric])
        x[:, box.numeric] = np.clip(x[:, box.numeric] + noise, low, high)
    for block in box.categorical:
        flip = np.flatnonzero(rng.random(n) < 0.25)
        x[np.ix_(flip, block)] = 0.0
        x[flip, block[rng.integers(len(block), size=len(flip))]] = 1.0
    return x


def _local_numeric(
    model: GPModel, best: float, starts: np.ndarray, columns: np.ndarray,
    prior: BoxPrior | None = None, max_iterations: int = 30, region: Region | None = None,
) -> np.ndarray:
    """Run L-BFGS-B on ``columns`` from each start (k, D), the other columns held fixed.

    The k problems are independent, so one L-BFGS-B run on the sum of their log-EIs optimizes
    all of them at once (block-diagonal Hessian): one scipy call instead of k. 30 iterations:
    on 200-trial studies in 5-D and 10-D, running on to 100 changed the log EI of the point
    chosen by at most 0.02 (the starts are the best of 2,300 screened points) at 1.3x the cost.
    """
    k = len(starts)

    def negative(flat: np.ndarray) -> tuple[float, np.ndarray]:
        x = starts.copy()
        x[:, columns] = flat.reshape(k, len(columns))
        value, grad = log_ei_with_gradient(model, x, best)
        if prior is not None:
            prior_value, prior_grad = log_prior_with_gradient(prior, x)
            value = value + prior.weight * prior_value
            grad = grad + prior.weight * prior_grad
        if not np.all(np.isfinite(value)):
            return math.inf, np.zeros_like(flat)
        return -float(np.sum(value)), -grad[:, columns].ravel()

    low, high = ((np.zeros(len(columns)), np.ones(len(columns))) if region is None else
                 (region[0][columns], region[1][columns]))
    # A start outside the region (a snapped grid value) is moved in: L-BFGS-B needs x0 inside.
    x0 = np.clip(starts[:, columns], low, high).ravel()
    result = scipy.optimize.minimize(
        negative, x0, jac=True, method="L-BFGS-B",
        bounds=list(zip(np.tile(low, k), np.tile(high, k), strict=True)),
        options={"maxiter": max_iterations})
    out: np.ndarray = starts.copy()
    out[:, columns] = np.clip(result.x.reshape(k, len(columns)), low, high)
    return out


def _local_categorical(
    score: Callable[[np.ndarray], np.ndarray], box: MixedBox, x: np.ndarray, value: float,
    max_sweeps: int = 3,
) -> tuple[np.ndarray, float]:
    """Hill-climb over categories: move to the best single-category change while it helps."""
    for _ in range(max_sweeps):
        neighbours = []
        for block in box.categorical:
            for column in block:
                if x[column] != 1.0:
                    candidate = x.copy()
                    candidate[block] = 0.0
                    candidate[column] = 1.0
                    neighbours.append(candidate)
        if not neighbours:
            break
        stacked = np.array(neighbours)
        values = score(stacked)
        top = int(np.argmax(values))
        if values[top] <= value:
            break
        x, value = stacked[top], float(values[top])
    return x, value


def is_seen(points: np.ndarray, seen: np.ndarray, tol: float = 1e-9) -> np.ndarray:
    """Return a mask (m,) of the rows of ``points`` (m, D) that equal a row of ``seen`` (k, D)."""
    mask: np.ndarray = np.zeros(len(points), dtype=bool)
    if len(seen) == 0 or len(points) == 0:
        return mask
    # Screen with squared distances from one (m, k) product (rounding error ~1e-15 D, far
    # below the screen), then check the few pairs it leaves exactly, coordinate by coordinate.
    squared = (np.sum(points * points, axis=1)[:, None] + np.sum(seen * seen, axis=1)[None, :]
               - 2.0 * points @ seen.T)
    rows, columns = np.nonzero(squared <= 1e-8 + points.shape[1] * tol * tol)
    equal = np.all(np.abs(points[rows] - seen[columns]) <= tol, axis=1)
    mask[rows[equal]] = True
    return mask


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
    """Return the feasible point (D,) of highest log EI found, and that log EI.

    With a ``region`` ((low, high), (D,) each; ``_trust_region``) the numeric columns of every
    candidate and every local search stay inside it (grid snapping may step just outside).

    With a ``prior`` the acquisition is πBO's ``log EI + (beta / n) log pi`` throughout
    (screening, L-BFGS-B and the category hill-climb); the value returned is that sum.

    Screens ``n_candidates`` Sobol points plus perturbations of ``incumbents`` (k, D) (the best
    observed points), refines the top ``n_restarts`` with L-BFGS-B in the continuous relaxation,
    snaps them to the grid (refining the continuous columns once more with the grid columns
    fixed), and hill-climbs the categories of the winner. Every value compared is the log EI of
    a snapped, feasible point. Points in ``seen`` (evaluated or pending) score -inf unless no
    other point is found: with a noise term, EI stays positive at an observed grid point and
    would otherwise propose it again and again in small discrete spaces.
    """
    seen = np.empty((0, box.n_features)) if seen is None else seen

    def acquisition(points: np.ndarray) -> np.ndarray:
        return acquisition_at(model, points, best, prior)

    def score(points: np.ndarray) -> np.ndarray:
        values = acquisition(points)
        values[is_seen(points, seen)] = -np.inf
        return values

    near = points_near(box, incumbents, rng, max(n_candidates // 8, 1), region=region)
    candidates = box.snap(np.vstack([random_points(box, rng, n_candidates, region), near]))
    raw = acquisition(candidates)
    values = np.where(is_seen(candidates, seen), -np.inf, raw)
    order = np.argsort(-values, kind="stable")
    starts = np.unique(candidates[order[: 4 * n_restarts]], axis=0)
    starts = starts[np.argsort(-acquisition(starts), kind="stable")][:n_restarts]
    pool, pool_values = candidates[order[:1]], values[order[:1]]
    if len(box.numeric) and n_restarts > 0:
        refined = box.snap(_local_numeric(model, best, starts, box.numeric, prior,
                                          region=region))
        if 0 < len(box.continuous) < len(box.numeric):
            # Rounding moved the grid columns: re-fit the continuous ones on the grid slice.
            refined = np.vstack([refined, _local_numeric(model, best, refined, box.continuous,
                                                         prior, region=region)])
        pool = np.vstack([pool, refined])
        pool_values = np.concatenate([pool_values, score(refined)])
    top = int(np.argmax(pool_values))
    x, value = pool[top], float(pool_values[top])
    if box.categorical:
        x, value = _local_categorical(score, box, x, value)
    if not np.isfinite(value) and region is not None:
        # Every feasible point of the region was seen (a narrow region over a grid): the
        # whole box may still hold new ones.
        return maximize_log_ei(model, best, box, rng, incumbents, seen=seen,
                               n_candidates=n_candidates, n_restarts=n_restarts, prior=prior)
    if not np.isfinite(value):  # every point found was seen: the space may be exhausted
        top = int(np.argmax(raw))
        x, value = candidates[top], float(raw[top])
    return x, value
