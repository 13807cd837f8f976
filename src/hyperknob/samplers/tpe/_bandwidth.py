"""Bandwidth rules of TPE's kernels, in unit coordinates (references in ``_parzen``)."""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

#: Scale of the categorical smoothing relative to its maximum (see ``categorical_eps``).
CATEGORICAL_SMOOTHING = 0.5


def magic_clip(n: int) -> float:
    """Return the smallest bandwidth: the range over min(100, n + 1) (the "magic clip" of
    hyperopt's implementation of [B11], discussed in [W23])."""
    return 1.0 / min(100.0, n + 1.0)


def scott_bandwidth(u: FloatArray, weights: FloatArray, d: int) -> FloatArray:
    """Return Scott's rule ``sd_i * n^(-1/(d+4))`` per dimension ([S92]). u: [n, d]."""
    n = u.shape[0]
    p = weights / weights.sum() if weights.sum() > 0 else np.full(n, 1.0 / n)
    mean = p @ u
    sd = np.sqrt(np.maximum(p @ (u - mean) ** 2, 0.0))
    bandwidth: FloatArray = sd * n ** (-1.0 / (d + 4))
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
