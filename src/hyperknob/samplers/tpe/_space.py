"""The search space of TPE's Parzen estimators and its unit coordinate (see ``_parzen``)."""

from __future__ import annotations

import dataclasses
import functools
import math
from typing import Any

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]
BoolArray = npt.NDArray[np.bool_]


def clip(a: Any, low: Any, high: Any) -> Any:
    """Return ``np.clip(a, low, high)`` by two ufuncs: the same numbers (NaN included) without
    ``np.clip``'s Python-level dispatch, which costs more than the work on TPE's small arrays."""
    return np.minimum(np.maximum(a, low), high)


@dataclasses.dataclass(frozen=True)
class Space:
    """The dimensions of a search space, as arrays of length ``d``.

    Attributes:
        low: Lower bound of each numerical dimension (0 for categorical ones).
        high: Upper bound of each numerical dimension (``n_choices - 1`` for categorical ones).
        step: Grid step of discrete dimensions; 0 for continuous and categorical ones.
        log: Whether a numerical dimension is on a log scale.
        n_choices: Number of categories of categorical dimensions; 0 for numerical ones.
    """

    low: FloatArray
    high: FloatArray
    step: FloatArray
    log: BoolArray
    n_choices: IntArray

    def __post_init__(self) -> None:
        arrays = {f.name: np.asarray(getattr(self, f.name)) for f in dataclasses.fields(self)}
        shapes = {a.shape for a in arrays.values()}
        if len(shapes) != 1 or len(next(iter(shapes))) != 1:
            raise ValueError(f"Space arrays must be 1-D and of one length, got shapes {shapes}")
        for name, dtype in (("low", np.float64), ("high", np.float64), ("step", np.float64),
                            ("log", np.bool_), ("n_choices", np.int64)):
            object.__setattr__(self, name, arrays[name].astype(dtype))
        numerical = self.n_choices == 0
        lo_edge, hi_edge = _warped_edges(self)
        if np.any(numerical & ~(hi_edge > lo_edge)):
            raise ValueError(f"numerical dimensions need low < high (or a step), got "
                             f"low={self.low}, high={self.high}, step={self.step}")
        if np.any(self.n_choices < 0):
            raise ValueError(f"n_choices must be >= 0, got {self.n_choices}")

    @functools.cached_property
    def numerical(self) -> BoolArray:
        """Return the mask ``[d]`` of numerical dimensions."""
        mask: BoolArray = self.n_choices == 0
        return mask

    @functools.cached_property
    def grid_columns(self) -> IntArray:
        """Return the positions, among the numerical dimensions, of the discrete ones."""
        columns: IntArray = np.flatnonzero((self.step > 0)[self.numerical])
        return columns

    @functools.cached_property
    def grid_cells(self) -> IntArray:
        """Return the number of grid values of each discrete dimension (``grid_columns``)."""
        dims = np.flatnonzero(self.numerical)[self.grid_columns]
        cells: IntArray = np.rint((self.high[dims] - self.low[dims]) / self.step[dims]
                                  ).astype(np.int64) + 1
        return cells

    @functools.cached_property
    def continuous_columns(self) -> IntArray:
        """Return the positions, among the numerical dimensions, of the continuous ones."""
        columns: IntArray = np.flatnonzero(~(self.step > 0)[self.numerical])
        return columns

    @property
    def size(self) -> int:
        """Return the number of dimensions ``d``."""
        return int(self.low.shape[0])


@dataclasses.dataclass(frozen=True)
class GridKernels:
    """The distinct kernels of one discrete dimension and which one each component uses.

    Observations lie on the grid, so components share few kernels (one per occupied cell
    under a shared bandwidth, plus the prior's): their masses over a cell are computed once
    per (cell, kernel) pair, not once per component.

    Attributes:
        mu: ``[K]`` kernel centres in unit coordinates.
        sigma: ``[K]`` kernel bandwidths.
        log_norm: ``[K]`` log of each kernel's mass inside [0, 1].
        kernel_of: ``[k]`` the kernel of each component.
    """

    mu: FloatArray
    sigma: FloatArray
    log_norm: FloatArray
    kernel_of: IntArray


@dataclasses.dataclass(frozen=True)
class ParzenEstimator:
    """A fitted mixture: one component per observation plus the prior (the last component).

    Attributes:
        space: The space the estimator lives on.
        multivariate: True: one joint (product) kernel per component [F18]. False: each
            dimension is its own mixture, the density a product of 1-D mixtures [B11].
        log_weights: ``[k]`` log mixture weights, summing (in probability) to 1.
        mu: ``[k, d_num]`` kernel centres in unit coordinates.
        sigma: ``[k, d_num]`` kernel bandwidths in unit coordinates.
        log_norm: ``[k, d_num]`` log of each kernel's mass inside [0, 1] (its truncation).
        category: ``[k, d_cat]`` the category each component favours.
        eps: ``[k, d_cat]`` the probability a component puts off its category, spread evenly
            over the other ``K - 1`` categories [AA76]; ``(K - 1) / K`` makes it uniform.
        grid: The :class:`GridKernels` of each discrete numerical dimension, in order.
    """

    space: Space
    multivariate: bool
    log_weights: FloatArray
    mu: FloatArray
    sigma: FloatArray
    log_norm: FloatArray
    category: IntArray
    eps: FloatArray
    grid: tuple[GridKernels, ...] = ()
    #: What evaluations derive from the estimator alone, kept by ``_density`` (an estimator
    #: may be evaluated again: TPE keeps the good model while the good trials stay the same).
    derived: dict[str, Any] = dataclasses.field(default_factory=dict, compare=False,
                                                repr=False)


def _warp(space: Space, values: FloatArray) -> FloatArray:
    """Return ``log(values)`` in log dimensions, ``values`` elsewhere. ``values``: [..., d]."""
    safe = np.where(space.log, values, 1.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        warped: FloatArray = np.where(space.log, np.log(safe), values)
    return warped


def _warped_edges(space: Space) -> tuple[FloatArray, FloatArray]:
    """Return the warped ends ``[d]`` of each numerical range, widened by half a step."""
    half = 0.5 * space.step
    return _warp(space, space.low - half), _warp(space, space.high + half)


def _unit_column(space: Space, dim: int, values: FloatArray) -> FloatArray:
    """Map the internal values ``[m]`` of numerical dimension ``dim`` to unit coordinates
    (:func:`to_unit` for one column)."""
    half = 0.5 * space.step[dim]
    low, high = space.low[dim] - half, space.high[dim] + half
    if space.log[dim]:
        with np.errstate(divide="ignore", invalid="ignore"):
            unit: FloatArray = (np.log(values) - math.log(low)) / (math.log(high) - math.log(low))
        return unit
    unit = (values - low) / (high - low)
    return unit


def to_unit(space: Space, x: FloatArray) -> FloatArray:
    """Map internal values ``[m, d]`` to unit coordinates (categorical columns unchanged)."""
    lo, hi = _warped_edges(space)
    numerical = space.numerical
    span = np.where(numerical, hi - lo, 1.0)
    unit: FloatArray = np.where(numerical, (_warp(space, x) - lo) / span, x)
    return unit


def from_unit(space: Space, u: FloatArray) -> FloatArray:
    """Map unit coordinates ``[m, d]`` back to internal values inside the space.

    Discrete dimensions are rounded to their grid, continuous ones clipped to ``[low, high]``
    (``exp`` may round past either end), categorical columns are taken as category indices.
    """
    lo, hi = _warped_edges(space)
    warped = lo + clip(u, 0.0, 1.0) * (hi - lo)
    value = np.where(space.log, np.exp(np.where(space.log, warped, 0.0)), warped)
    discrete = space.numerical & (space.step > 0)
    step = np.where(discrete, space.step, 1.0)
    n_cells = np.round((space.high - space.low) / step)
    index = clip(np.round((value - space.low) / step), 0.0, n_cells)
    on_grid = np.minimum(space.low + index * step, space.high)
    numerical_value = np.where(discrete, on_grid, clip(value, space.low, space.high))
    categories = clip(np.round(u), 0, np.maximum(space.n_choices - 1, 0))
    result: FloatArray = np.where(space.numerical, numerical_value, categories)
    return result
