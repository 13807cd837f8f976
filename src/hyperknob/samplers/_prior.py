"""User priors in the samplers' unit coordinates: one belief density shared by TPE and GP.

A :class:`~hyperknob.distributions.Prior` says where good values lie (``center``) and how sure
the user is (``confidence`` in (0, 1)). Both samplers map a numerical dimension to a unit
coordinate ``u`` in [0, 1] (through the log where ``log=True``; grids widened by half a step),
and read the prior there as

- numerical: a Gaussian ``N(u; c, sigma^2)`` at the unit centre ``c`` with
  ``sigma = max(0.5 * (1 - confidence), SIGMA_FLOOR)`` -- confidence 0.5 spreads a quarter of
  the range, 0.8 a tenth;
- categorical with ``k`` choices: ``p(center) = confidence + (1 - confidence) / k`` and
  ``(1 - p(center)) / (k - 1)`` for each other choice -- confidence mixes a point mass on the
  centre with the uniform distribution.

How the samplers use it:

- TPE centres the prior component of the good model ``l(x)`` at the belief ([S21] §3 puts the
  prior into the good model the same way); its share ``prior_weight / (n_good + prior_weight)``
  of ``l`` shrinks as good observations accumulate, so the data wins over a wrong belief.
- GP maximizes ``log EI(x) + (beta / n) log pi(x)`` ([H22] eq. 6): the belief's exponent
  decays with the number ``n`` of observations, so a wrong belief is forgotten.

Shapes: ``u`` (m, p) unit coordinates of ``p`` dimensions that carry a prior; ``center``,
``sigma`` (p,).

References:
    [H22] C. Hvarfner, D. Stoll, A. Souza, M. Lindauer, F. Hutter, L. Nardi. πBO: Augmenting
        Acquisition Functions with User Beliefs for Bayesian Optimization. ICLR 2022.
    [S21] A. Souza, L. Nardi, L. B. Oliveira, K. Olukotun, M. Lindauer, F. Hutter. Bayesian
        Optimization with a Prior for the Optimum (BOPrO). ECML PKDD 2021.
    [B11] J. Bergstra, R. Bardenet, Y. Bengio, B. Kegl. Algorithms for Hyper-Parameter
        Optimization. NeurIPS 2011 (TPE's prior component).
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt

from hyperknob.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)

FloatArray = npt.NDArray[np.float64]

#: The narrowest belief, in unit coordinates: even a near-certain prior keeps a few grid cells.
SIGMA_FLOOR = 0.02
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


def internal_prior(distribution: BaseDistribution) -> tuple[float, float] | None:
    """Return ``(internal centre, confidence)`` of a distribution's prior, or None.

    The internal centre is the number itself for float and int distributions (possibly between
    two ints) and the index of the favoured choice for categorical ones.
    """
    prior = getattr(distribution, "prior", None)
    if prior is None:
        return None
    if isinstance(distribution, CategoricalDistribution):
        return distribution.to_internal(prior.center), prior.confidence
    assert isinstance(distribution, (FloatDistribution, IntDistribution))
    return float(prior.center), prior.confidence


def prior_sigma(confidence: npt.ArrayLike) -> FloatArray:
    """Return the Gaussian spread ``max(0.5 (1 - confidence), SIGMA_FLOOR)`` in unit space."""
    sigma: FloatArray = np.maximum(0.5 * (1.0 - np.asarray(confidence, dtype=float)),
                                   SIGMA_FLOOR)
    return sigma


def log_gaussian(u: FloatArray, center: FloatArray, sigma: FloatArray) -> FloatArray:
    """Return ``log N(u; center, sigma^2)`` elementwise, ``u`` (m, p) -> (m, p).

    Not truncated to [0, 1]: the truncation only adds a constant per dimension, which neither
    the argmax of πBO's acquisition nor a ratio of TPE densities sees.
    """
    z = (np.asarray(u, dtype=float) - center) / sigma
    value: FloatArray = -0.5 * z * z - np.log(sigma) - _LOG_SQRT_2PI
    return value


def log_gaussian_gradient(u: FloatArray, center: FloatArray, sigma: FloatArray) -> FloatArray:
    """Return ``d log N(u; center, sigma^2) / du = -(u - center) / sigma^2``, (m, p)."""
    grad: FloatArray = -(np.asarray(u, dtype=float) - center) / (sigma * sigma)
    return grad


def categorical_probabilities(n_choices: int, center: int, confidence: float) -> FloatArray:
    """Return the (k,) prior probabilities of ``k = n_choices`` categories favouring ``center``.

    ``p(center) = confidence + (1 - confidence) / k``; the rest shares ``1 - p(center)``
    evenly, which is an Aitchison-Aitken kernel with ``eps = 1 - p(center)``
    (see :func:`off_center_mass`).
    """
    if n_choices < 1 or not 0 <= center < n_choices:
        raise ValueError(f"center must index one of n_choices={n_choices} categories, "
                         f"got center={center}")
    if n_choices == 1:
        return np.ones(1)
    p_center = confidence + (1.0 - confidence) / n_choices
    probabilities = np.full(n_choices, (1.0 - p_center) / (n_choices - 1))
    probabilities[center] = p_center
    return probabilities


def off_center_mass(n_choices: npt.ArrayLike, confidence: npt.ArrayLike) -> FloatArray:
    """Return ``1 - p(center) = (1 - confidence) (k - 1) / k`` elementwise."""
    k = np.maximum(np.asarray(n_choices, dtype=float), 1.0)
    eps: FloatArray = (1.0 - np.asarray(confidence, dtype=float)) * (k - 1.0) / k
    return eps
