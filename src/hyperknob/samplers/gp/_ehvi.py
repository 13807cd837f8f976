"""Several objectives and constraints as acquisitions: log EHVI and log P(feasible).

Pure numpy / scipy. Shapes: ``x`` (N, D) points of the unit box; one GP per objective
(``models``, m of them) models a quantity to *minimize*; ``front`` (k, m) the observed
non-dominated points; boxes ``lower``, ``upper`` (B, m).

Expected hypervolume improvement with independent Gaussian posteriors is exact and cheap
once the region the front does not dominate is cut into boxes: the improvement of a point
``y`` is ``sum_b prod_j (u_bj - max(l_bj, y_j))^+`` and, the objectives being independent,
its expectation is ``sum_b prod_j psi(l_bj, u_bj)`` with ``psi(l, u) = E[(u - max(l, Y))^+]
= sigma (h(z_u) - h(z_l))``, ``h(z) = phi(z) + z Phi(z)`` the EI function ([E06], [Y19]
sec. 3). Everything is kept in logs (log h, as for log-EI [A23]) so the acquisition stays
informative where the improvement underflows.

References:
    [E06] Emmerich, Giannakoglou and Naujoks, "Single- and Multiobjective Evolutionary
    Optimization Assisted by Gaussian Random Field Metamodels", IEEE Trans. Evol. Comput.
    2006 (EHVI).
    [Y19] Yang, Emmerich, Deutz and Bäck, "Efficient Computation of Expected Hypervolume
    Improvement Using Box Decomposition Algorithms", J. Global Optim. 2019.
    [A23] Ament, Daulton, Eriksson, Balandat and Bakshy, "Unexpected Improvements to Expected
    Improvement for Bayesian Optimization", NeurIPS 2023 (log-EI; log-EHVI).
    [G14] Gardner, Kusner, Xu, Weinberger and Cunningham, "Bayesian Optimization with
    Inequality Constraints", ICML 2014 (EI times the probability of feasibility).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np
import scipy.special

from hyperknob._pareto import undominated_boxes
from hyperknob.samplers.gp._acquisition import VARIANCE_FLOOR, log1mexp, log_h
from hyperknob.samplers.gp._gp import GPModel, posterior, posterior_gradient

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def box_decomposition(front: np.ndarray, reference: np.ndarray
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Return boxes ``lower``, ``upper`` (B, m) that tile the part of ``{y < reference}``
    no point of ``front`` (k, m) dominates ([Y19]; :func:`hyperknob._pareto.undominated_boxes`)."""
    return undominated_boxes(front, reference)


def _log_ndtr_difference(log_a: np.ndarray, log_b: np.ndarray) -> np.ndarray:
    """Return log(a - b) from log a > log b (elementwise; b = 0 where log_b = -inf)."""
    with np.errstate(invalid="ignore"):
        gap = np.where(np.isneginf(log_b), -np.inf, log_b - log_a)
    out: np.ndarray = log_a + log1mexp(np.minimum(gap, -1e-300))
    return out


def _log_psi(mean: np.ndarray, sigma: np.ndarray, lower: np.ndarray, upper: np.ndarray
             ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return log psi (N, B) of one objective and its derivatives by the mean and by sigma.

    ``mean``, ``sigma`` (N,); ``lower``, ``upper`` (B,) with ``lower`` possibly -inf.
    psi = sigma (h(z_u) - h(z_l)) = sigma D; h' = Phi and h - z Phi = phi give
    d log psi / d mean = -(Phi_u - Phi_l) / (sigma D) and
    d log psi / d sigma = (phi_u - phi_l) / (sigma D).
    """
    mu, s = mean[:, None], sigma[:, None]
    z_u = (upper[None, :] - mu) / s
    open_below = np.isneginf(lower)[None, :]
    # z_l where the box has a lower end; a stand-in (-1) where it has none, masked below.
    finite_l = np.where(open_below, -1.0, (np.where(np.isneginf(lower), 0.0, lower)[None, :]
                                           - mu) / s)
    log_h_u = log_h(z_u)
    log_h_l = np.where(open_below, -np.inf, log_h(finite_l))
    log_d = _log_ndtr_difference(log_h_u, log_h_l)
    log_cdf_u = scipy.special.log_ndtr(z_u)
    log_cdf_l = np.where(open_below, -np.inf, scipy.special.log_ndtr(finite_l))
    d_mean = -np.exp(_log_ndtr_difference(log_cdf_u, log_cdf_l) - log_d) / s
    log_pdf_u = -0.5 * z_u * z_u - _LOG_SQRT_2PI
    log_pdf_l = np.where(open_below, -np.inf, -0.5 * finite_l * finite_l - _LOG_SQRT_2PI)
    d_sigma = (np.exp(log_pdf_u - log_d) - np.exp(log_pdf_l - log_d)) / s
    return np.log(s) + log_d, d_mean, d_sigma


@dataclasses.dataclass(frozen=True)
class LogEHVI:
    """log EHVI over boxes ``lower``, ``upper`` (B, m) (:func:`box_decomposition`) with one
    independent GP per objective."""

    models: Sequence[GPModel]
    lower: np.ndarray
    upper: np.ndarray

    def __call__(self, x: np.ndarray) -> np.ndarray:
        total = np.zeros((len(x), len(self.lower)))
        for j, model in enumerate(self.models):
            mean, var = posterior(model, x)
            sigma = np.sqrt(np.maximum(var, VARIANCE_FLOOR))
            total += _log_psi(mean, sigma, self.lower[:, j], self.upper[:, j])[0]
        value: np.ndarray = scipy.special.logsumexp(total, axis=1)
        return value

    def with_gradient(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        total = np.zeros((len(x), len(self.lower)))
        parts = []
        for j, model in enumerate(self.models):
            mean, var, d_mean, d_var = posterior_gradient(model, x)
            floored = var <= VARIANCE_FLOOR
            sigma = np.sqrt(np.maximum(var, VARIANCE_FLOOR))
            log_psi, by_mean, by_sigma = _log_psi(mean, sigma, self.lower[:, j],
                                                  self.upper[:, j])
            total += log_psi
            d_sigma = np.where(floored, 0.0, 0.5 / sigma)[:, None] * d_var  # (N, D)
            parts.append((by_mean, by_sigma, d_mean, d_sigma))
        value = scipy.special.logsumexp(total, axis=1)
        weights = np.exp(total - value[:, None])  # (N, B): each box's share of the EHVI
        grad = np.zeros_like(x, dtype=float)
        for by_mean, by_sigma, d_mean, d_sigma in parts:
            grad += (np.sum(weights * by_mean, axis=1)[:, None] * d_mean
                     + np.sum(weights * by_sigma, axis=1)[:, None] * d_sigma)
        return value, grad


@dataclasses.dataclass(frozen=True)
class LogFeasibility:
    """log P(every constraint <= its threshold) under independent GPs ([G14]): one model per
    constraint and ``thresholds`` (c,), the value 0 in each model's standardized units."""

    models: Sequence[GPModel]
    thresholds: np.ndarray

    def __call__(self, x: np.ndarray) -> np.ndarray:
        total = np.zeros(len(x))
        for model, threshold in zip(self.models, self.thresholds, strict=True):
            mean, var = posterior(model, x)
            sigma = np.sqrt(np.maximum(var, VARIANCE_FLOOR))
            total += scipy.special.log_ndtr((threshold - mean) / sigma)
        return total

    def with_gradient(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        total = np.zeros(len(x))
        grad = np.zeros_like(x, dtype=float)
        for model, threshold in zip(self.models, self.thresholds, strict=True):
            mean, var, d_mean, d_var = posterior_gradient(model, x)
            floored = var <= VARIANCE_FLOOR
            sigma = np.sqrt(np.maximum(var, VARIANCE_FLOOR))
            z = (threshold - mean) / sigma
            log_cdf = scipy.special.log_ndtr(z)
            total += log_cdf
            ratio = np.exp(-0.5 * z * z - _LOG_SQRT_2PI - log_cdf)  # phi(z) / Phi(z)
            d_sigma = np.where(floored, 0.0, 0.5 / sigma)[:, None] * d_var
            d_z = (-d_mean - z[:, None] * d_sigma) / sigma[:, None]
            grad += ratio[:, None] * d_z
        return total, grad
