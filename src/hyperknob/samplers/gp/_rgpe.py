"""Transfer from earlier studies: a ranking-weighted ensemble of Gaussian processes (RGPE).

One GP per earlier study (a *base* model, fitted once to that study's trials mapped into this
study's space) and the GP of this study's own trials (the *target* model) predict together:
``mean = sum_i w_i mean_i``, ``var = sum_i w_i^2 var_i``. A model's weight is the share of
posterior draws in which it orders this study's observed trials best -- fewest pairs ranked
the wrong way round -- with the target model judged by leave-one-out predictions so that it
cannot flatter itself ([F18] sec. 3). A base model that disagrees with the new data loses its
weight as the data comes in; one whose median loss is above the target's 95th percentile is
dropped outright (weight dilution, [F18] sec. 3.2).

Shapes: ``x`` (n, D) this study's observed points; ``y`` (n,) their standardized targets;
draws (S, n).

References:
    [F18] Feurer, Letham and Bakshy, "Scalable Meta-Learning for Bayesian Optimization
    using Ranking-Weighted Gaussian Process Ensembles", AutoML workshop at ICML 2018.
    [R06] Rasmussen and Williams, "Gaussian Processes for Machine Learning", MIT Press 2006
    (leave-one-out predictions, eq. 5.12).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import scipy.linalg

from hyperknob.samplers.gp._acquisition import (
    log_ei_from_moments,
    log_expected_improvement,
)
from hyperknob.samplers.gp._gp import (
    GPModel,
    cholesky_with_jitter,
    matern52,
    posterior,
    posterior_gradient,
)

#: Posterior draws per weight estimate.
N_DRAWS = 256


def ranking_losses(draws: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Return, per draw (S, n), the number of pairs of points it orders otherwise than
    ``y`` (n,) does (each unordered pair counted once)."""
    truth = y[:, None] < y[None, :]  # (n, n)
    guessed = draws[:, :, None] < draws[:, None, :]  # (S, n, n)
    losses: np.ndarray = np.sum(guessed != truth[None], axis=(1, 2)) // 2
    return losses


def joint_draws(model: GPModel, x: np.ndarray, rng: np.random.Generator,
                n_draws: int = N_DRAWS) -> np.ndarray:
    """Return (S, n) draws of the latent function at ``x`` from ``model``'s posterior."""
    k_star = model.signal_var * matern52(x, model.x, model.lengthscales)  # (n, m)
    mean = k_star @ model.alpha
    v = scipy.linalg.solve_triangular(model.cholesky, k_star.T, lower=True)  # (m, n)
    cov = model.signal_var * matern52(x, x, model.lengthscales) - v.T @ v
    lower, _ = cholesky_with_jitter(0.5 * (cov + cov.T))
    draws: np.ndarray = mean[None, :] + rng.standard_normal((n_draws, len(x))) @ lower.T
    return draws


def leave_one_out_draws(model: GPModel, y: np.ndarray, rng: np.random.Generator,
                        n_draws: int = N_DRAWS) -> np.ndarray:
    """Return (S, n) draws of each observed point's leave-one-out prediction ([R06] eq. 5.12:
    mean ``y_i - [K^-1 y]_i / [K^-1]_ii``, variance ``1 / [K^-1]_ii``)."""
    inverse = scipy.linalg.cho_solve((model.cholesky, True), np.eye(len(y)))
    diagonal = np.diag(inverse)
    mean = y - (inverse @ y) / diagonal
    sd = np.sqrt(1.0 / diagonal)
    draws: np.ndarray = mean[None, :] + sd[None, :] * rng.standard_normal((n_draws, len(y)))
    return draws


def rgpe_weights(bases: Sequence[GPModel], target: GPModel, x: np.ndarray, y: np.ndarray,
                 rng: np.random.Generator) -> np.ndarray:
    """Return the weights (len(bases) + 1,) of the base models and, last, the target model,
    for observed points ``x`` (n, D) with standardized targets ``y`` (n,); ``target`` is
    conditioned on exactly these points."""
    losses = np.stack([ranking_losses(joint_draws(base, x, rng), y) for base in bases]
                      + [ranking_losses(leave_one_out_draws(target, y, rng), y)])  # (M+1, S)
    # The best model of each draw, ties broken at random.
    noisy = losses + rng.random(losses.shape) * 0.5
    winners = np.argmin(noisy, axis=0)
    weights = np.bincount(winners, minlength=len(losses)).astype(float)
    dropped = np.median(losses[:-1], axis=1) > np.percentile(losses[-1], 95)
    weights[:-1][dropped] = 0.0
    if weights.sum() == 0.0:  # every base model dropped and the target never won
        weights[-1] = 1.0
    normalized: np.ndarray = weights / weights.sum()
    return normalized


@dataclasses.dataclass(frozen=True)
class EnsembleLogEI:
    """log EI of improving on ``best`` under the weighted ensemble of ``models`` (πBO's prior
    term, when there is one, is added by the sampler: ``PriorTerm``)."""

    models: Sequence[GPModel]
    weights: np.ndarray
    best: float

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the ensemble's mean and variance (n,) at ``x``."""
        mean, var = np.zeros(len(x)), np.zeros(len(x))
        for model, weight in zip(self.models, self.weights, strict=True):
            if weight > 0.0:
                mu, sigma2 = posterior(model, x)
                mean, var = mean + weight * mu, var + weight * weight * sigma2
        return mean, var

    def __call__(self, x: np.ndarray) -> np.ndarray:
        return log_expected_improvement(*self.predict(x), self.best)

    def with_gradient(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        mean, var = np.zeros(len(x)), np.zeros(len(x))
        d_mean, d_var = np.zeros_like(x, dtype=float), np.zeros_like(x, dtype=float)
        for model, weight in zip(self.models, self.weights, strict=True):
            if weight > 0.0:
                mu, sigma2, d_mu, d_sigma2 = posterior_gradient(model, x)
                mean, var = mean + weight * mu, var + weight * weight * sigma2
                d_mean, d_var = d_mean + weight * d_mu, d_var + weight * weight * d_sigma2
        return log_ei_from_moments(self.best, mean, var, d_mean, d_var)
