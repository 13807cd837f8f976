"""Numbers a Parzen fit computes per observation that stay valid from one fit to the next.

TPE refits ``l`` and ``g`` after every trial on nearly the same observations. An observation
is named by a stable integer key (its trial number) and its internal values never change, so
its unit coordinates are computed once. Multivariate bandwidths of more than a few dozen
observations sit at the magic-clip floor ([W23]; ``_bandwidth``), so the log-masses of their
truncated kernels inside [0, 1] at that floor are computed once per observation too. A cache
only saves work: :func:`~_parzen.fit` returns the same numbers with or without one.
"""

from __future__ import annotations

import numpy as np

from hyperknob.samplers.tpe._space import BoolArray, FloatArray, IntArray, Space, to_unit
from hyperknob.samplers.tpe._truncnorm import log_cell_mass


def log_norm(mu: FloatArray, sigma: FloatArray | float) -> FloatArray:
    """Return the log mass inside [0, 1] of Gaussian kernels centred in [0, 1].

    The cell ``[-mu / sigma, (1 - mu) / sigma]`` holds 0, so its mass is at least
    ``Phi(0.5) - 1/2`` (``sigma <= 1``): the plain difference of CDFs does not cancel.
    """
    return log_cell_mass(-mu / sigma, (1.0 - mu) / sigma)


class FitCache:
    """Per-key unit coordinates ``[d]`` and floor log-masses ``[d_cont]`` of one space."""

    def __init__(self, space: Space) -> None:
        self.space = space
        self._cont = np.flatnonzero(space.numerical)[space.continuous_columns]
        self._unit = np.empty((0, space.size))
        self._has_unit: BoolArray = np.zeros(0, dtype=bool)
        self._floor = float("nan")
        self._norm = np.empty((0, self._cont.size))
        self._has_norm: BoolArray = np.zeros(0, dtype=bool)

    def _reserve(self, keys: IntArray) -> None:
        if keys.size and int(keys.min()) < 0:
            raise ValueError(f"cache keys must be >= 0, got {int(keys.min())}")
        size = int(keys.max()) + 1 if keys.size else 0
        if size <= self._has_unit.shape[0]:
            return
        size = max(size, 2 * self._has_unit.shape[0], 64)
        grow = size - self._has_unit.shape[0]
        self._unit = np.vstack([self._unit, np.empty((grow, self.space.size))])
        self._has_unit = np.append(self._has_unit, np.zeros(grow, dtype=bool))
        self._norm = np.vstack([self._norm, np.empty((grow, self._cont.size))])
        self._has_norm = np.append(self._has_norm, np.zeros(grow, dtype=bool))

    def unit(self, keys: IntArray, observations: FloatArray) -> FloatArray:
        """Return ``to_unit(space, observations)`` ``[n, d]``; row i is observation ``keys[i]``."""
        self._reserve(keys)
        missing = ~self._has_unit[keys]
        if missing.any():
            fresh = keys[missing]
            self._unit[fresh] = to_unit(self.space, observations[missing])
            self._has_unit[fresh] = True
        unit: FloatArray = self._unit[keys]
        return unit

    def floor_log_norm(self, keys: IntArray, mu: FloatArray, floor: float) -> FloatArray:
        """Return :func:`log_norm` ``[n, d_cont]`` of the continuous kernels centred at ``mu``
        ``[n, d_cont]`` (rows: ``keys``) with bandwidth ``floor``."""
        self._reserve(keys)
        if floor != self._floor:  # only the latest floor is kept
            self._floor = floor
            self._has_norm[:] = False
        missing = ~self._has_norm[keys]
        if missing.any():
            fresh = keys[missing]
            self._norm[fresh] = log_norm(mu[missing], floor)
            self._has_norm[fresh] = True
        norm: FloatArray = self._norm[keys]
        return norm
