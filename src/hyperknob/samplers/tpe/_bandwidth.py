"""Bandwidth rules of TPE's kernels, in unit coordinates (references in ``_parzen``)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Scale of the categorical smoothing relative to its maximum (see ``categorical_eps``).
CATEGORICAL_SMOOTHING = 0.5

#: Multivariate kernels are Scott's bandwidths times this. Scott's rule minimizes the error of
#: a density estimate of a Gaussian; TPE wants the good region's modes, and the full rule
#: smears them over the box in 6-8 D. On suite (a) of ``benchmarks/quality.py`` (64 trials,
#: 20 seeds) 0.2 scored best of 1, 0.5, 0.4, 0.3, 0.25, 0.2, 0.15 and 0.1 (89.9 at 1).
SCOTT_SCALE = 0.2

#: The magic clip ``max(floor, (n + 1)^-exponent)`` of the multivariate kernels: [W23]'s
#: ``min_bandwidth_factor`` and ``b_magic_exponent`` (Table 6). Hyperopt's ``1 / (n + 1)``
#: keeps the kernels of the few good observations wider than a quarter of the box until
#: there are three of them, and then almost as wide; this floor lets them narrow at once.
MULTIVARIATE_CLIP = (0.05, 2.0)

#: The magic clip of univariate (neighbour-rule) kernels: hyperopt's ``1 / min(100, n + 1)``.
UNIVARIATE_CLIP = (0.01, 1.0)


def magic_clip(n: int, floor: float = UNIVARIATE_CLIP[0],
               exponent: float = UNIVARIATE_CLIP[1]) -> float:
    """Return the smallest bandwidth ``max(floor, (n + 1)^-exponent)`` (the "magic clip" of
    hyperopt's implementation of [B11], generalized as in [W23]); the defaults give hyperopt's
    ``1 / min(100, n + 1)``."""
    return max(floor, float((n + 1.0) ** -exponent))


def scott_bandwidth(
    u: FloatArray, weights: FloatArray, d: int, scale: float = SCOTT_SCALE
) -> FloatArray:
    """Return Scott's rule ``scale * sd_i * n^(-1/(d+4))`` per dimension ([S92]; ``scale=1``
    is the rule itself). u: [n, d]."""
    n = u.shape[0]
    p = weights / weights.sum() if weights.sum() > 0 else np.full(n, 1.0 / n)
    mean = p @ u
    sd = np.sqrt(np.maximum(p @ (u - mean) ** 2, 0.0))
    bandwidth: FloatArray = scale * sd * n ** (-1.0 / (d + 4))
    return bandwidth


def neighbour_bandwidth(u: FloatArray, consider_endpoints: bool) -> FloatArray:
    """Return per-observation bandwidths ``[n, d]``: the larger gap to a neighbour ([B11]).

    Observations are sorted per dimension; with ``consider_endpoints`` the ends 0 and 1 count
    as neighbours of the smallest and largest observation (always so for a lone observation).
    """
    n = u.shape[0]
    order = np.argsort(u, axis=0, kind="stable")
    s = np.take_along_axis(u, order, axis=0)
    ends = consider_endpoints or n == 1
    left = np.empty_like(s)
    right = np.empty_like(s)
    left[1:] = s[1:] - s[:-1]
    right[:-1] = s[1:] - s[:-1]
    left[0] = s[0] if ends else 0.0
    right[-1] = 1.0 - s[-1] if ends else 0.0
    sorted_bandwidth = np.maximum(left, right)
    bandwidth = np.empty_like(s)
    np.put_along_axis(bandwidth, order, sorted_bandwidth, axis=0)
    return bandwidth


def categorical_eps(n: int, d: int, n_choices: IntArray) -> FloatArray:
    """Return the Aitchison-Aitken lambda ``[d_cat]`` of the observation kernels [AA76].

    lambda ranges over [0, (K-1)/K] (0: a point mass, (K-1)/K: uniform). It shrinks with the
    same Scott factor ``n^(-1/(d+4))`` as the numerical bandwidths, from half the uniform value.
    """
    factor = min(1.0, CATEGORICAL_SMOOTHING * max(n, 1) ** (-1.0 / (d + 4)))
    eps: FloatArray = (n_choices - 1) / np.maximum(n_choices, 1) * factor
    return eps
