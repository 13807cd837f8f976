"""Log densities of fitted Parzen estimators (``_parzen``) at query points.

TPE evaluates two estimators, ``l`` and ``g``, at the same candidates, so everything that
depends on the candidates alone -- their unit coordinates, the grid cells they fall in, their
categories -- is computed once (:class:`Query`), and the continuous dimensions of both
estimators make one matrix product (:func:`log_ratio`).
"""

from __future__ import annotations

import dataclasses

import numpy as np

from hyperknob.samplers.tpe._space import (
    FloatArray,
    GridKernels,
    IntArray,
    ParzenEstimator,
    Space,
    _unit_column,
    clip,
    to_unit,
)
from hyperknob.samplers.tpe._truncnorm import LOG_SQRT_2PI, log_cell_mass


@dataclasses.dataclass(frozen=True)
class _Cells:
    """The grid cells ``[c]`` that query points fall in, as unit intervals, and each point's."""

    lower: FloatArray  # [c, 1]
    upper: FloatArray  # [c, 1]
    cell_of: IntArray  # [m]


@dataclasses.dataclass(frozen=True)
class Query:
    """What evaluating any estimator of a space at points ``x`` ``[m, d]`` needs of ``x``."""

    x: FloatArray
    unit: FloatArray  # [m, d_cont] unit coordinates of the continuous dimensions
    cells: tuple[_Cells, ...]  # one per discrete dimension
    category: IntArray  # [m, d_cat]

    @classmethod
    def of(cls, space: Space, x: FloatArray) -> Query:
        x = np.asarray(x, dtype=np.float64).reshape(-1, space.size)
        num_dims = np.flatnonzero(space.numerical)
        cont = num_dims[space.continuous_columns]
        unit = to_unit(space, x)[:, cont] if cont.size else np.empty((x.shape[0], 0))
        cells = []
        for dim in num_dims[space.grid_columns]:
            values, cell_of = np.unique(x[:, dim], return_inverse=True)
            half = 0.5 * space.step[dim]
            lower = clip(_unit_column(space, int(dim), values - half), 0.0, 1.0)[:, None]
            upper = clip(_unit_column(space, int(dim), values + half), 0.0, 1.0)[:, None]
            cells.append(_Cells(lower, upper, cell_of.astype(np.int64)))
        category = np.round(x[:, ~space.numerical]).astype(np.int64)
        return cls(x=x, unit=unit, cells=tuple(cells), category=category)


def _logsumexp(a: FloatArray, axis: int) -> FloatArray:
    """Return ``log(sum(exp(a), axis))`` without overflow (all ``-inf`` gives ``-inf``)."""
    peak = np.max(a, axis=axis, keepdims=True)
    peak = np.where(np.isfinite(peak), peak, 0.0)
    with np.errstate(divide="ignore"):
        total: FloatArray = np.log(np.sum(np.exp(a - peak), axis=axis))
    result: FloatArray = total + np.squeeze(peak, axis=axis)
    return result


#: Shifted log terms below this are raised to it before ``exp``: ``exp`` of a number that
#: underflows to a subnormal takes a slow path (10x and more), and a term ``e^-700`` next to
#: the row's largest, ``e^0 = 1``, is lost to rounding either way -- the sum is unchanged.
_EXP_FLOOR = -700.0


def _logsumexp_rows(a: FloatArray) -> FloatArray:
    """Return ``log(sum(exp(a), axis=1))`` of ``a`` ``[m, k]``, overwriting ``a``."""
    peak = np.max(a, axis=1)
    finite = np.isfinite(peak)
    peak = np.where(finite, peak, 0.0)
    np.subtract(a, peak[:, None], out=a)
    np.maximum(a, _EXP_FLOOR, out=a)
    np.exp(a, out=a)
    total: FloatArray = np.log(np.sum(a, axis=1)) + peak
    total[~finite] = -np.inf  # every term -inf: nothing was lost by the floor but the point
    return total


def _cell_table(kernels: GridKernels, cells: _Cells) -> FloatArray:
    """Return ``[c, K]``: the log mass of each kernel over each cell, truncation included."""
    mu, sigma = kernels.mu[None, :], kernels.sigma[None, :]
    table = log_cell_mass((cells.lower - mu) / sigma, (cells.upper - mu) / sigma)
    table -= kernels.log_norm[None, :]
    return table


def _categorical_log_mass(estimator: ParzenEstimator, category: IntArray) -> FloatArray:
    """Return ``log K_j(x_i)`` ``[m, k, d_cat]`` of the categorical dimensions: Aitchison-Aitken
    [AA76], 1 - eps on the favoured category and eps / (K - 1) on each other one."""
    n_choices = estimator.space.n_choices[~estimator.space.numerical]
    eps = estimator.eps[None, :, :]
    same = category[:, None, :] == estimator.category[None]
    with np.errstate(divide="ignore"):
        log_same = np.log1p(-eps)
        log_off = np.log(eps / np.maximum(n_choices - 1, 1))
    mass: FloatArray = np.where(same, log_same, log_off)
    return mass


def _quadratic_coefficients(estimator: ParzenEstimator) -> FloatArray:
    """Return ``[k, 1 + 2 d_cont]``: ``log w_j + log prod_i K_ji(u_i)`` over the continuous
    dimensions is ``[1, u, u^2] @ coefficients[j]`` (``-(u - mu)^2 / (2 sigma^2)`` expanded,
    as in RBF kernels). ``u`` and ``mu`` lie in [0, 1] and ``sigma`` is at least the magic
    clip, so the expansion loses nothing that matters."""
    known: FloatArray | None = estimator.derived.get("quadratic")
    if known is not None:
        return known
    cont = estimator.space.continuous_columns
    mu, sigma = estimator.mu[:, cont], estimator.sigma[:, cont]
    precision = 1.0 / (sigma * sigma)
    bias = estimator.log_weights - np.sum(0.5 * mu * mu * precision + np.log(sigma)
                                          + LOG_SQRT_2PI + estimator.log_norm[:, cont], axis=1)
    coefficients: FloatArray = np.hstack([bias[:, None], mu * precision, -0.5 * precision])
    estimator.derived["quadratic"] = coefficients
    return coefficients


def _add_discrete(estimator: ParzenEstimator, query: Query, joint: FloatArray) -> None:
    """Add the discrete and categorical log masses of ``estimator`` to ``joint`` ``[m, k]``."""
    for kernels, cells in zip(estimator.grid, query.cells, strict=True):
        table = _cell_table(kernels, cells)
        # np.take keeps the gathered masses C-ordered like ``joint``: the sum is 5x faster.
        joint += np.take(table[cells.cell_of], kernels.kernel_of, axis=1)
    if query.category.shape[1]:
        joint += _categorical_log_mass(estimator, query.category).sum(axis=2)


def _joint_log_densities(
    estimators: tuple[ParzenEstimator, ...], query: Query
) -> list[FloatArray]:
    """Return ``log w_j + log prod_i K_ji(x_i)`` ``[m, k]`` of each multivariate estimator; the
    continuous dimensions of all of them make one matrix product."""
    m = query.x.shape[0]
    sizes = [e.log_weights.shape[0] for e in estimators]
    if query.unit.shape[1]:
        features = np.hstack([np.ones((m, 1)), query.unit, query.unit * query.unit])
        coefficients = np.vstack([_quadratic_coefficients(e) for e in estimators])
        joint = features @ coefficients.T
    else:
        joint = np.repeat(np.concatenate([e.log_weights for e in estimators])[None, :], m,
                          axis=0)
    parts = []
    start = 0
    for estimator, size in zip(estimators, sizes, strict=True):
        part = np.ascontiguousarray(joint[:, start:start + size])
        start += size
        _add_discrete(estimator, query, part)
        parts.append(part)
    return parts


def _univariate_log_pdf(estimator: ParzenEstimator, query: Query) -> FloatArray:
    """Return ``sum_i log sum_j w_j K_ji(x_i)`` ``[m]`` of a univariate estimator."""
    log_w = estimator.log_weights[None, :, None]
    result = np.zeros(query.x.shape[0])
    cont = estimator.space.continuous_columns
    if cont.size:
        sigma = estimator.sigma[:, cont]
        # The truncated normal's log density; the constant depends on the component only.
        constant = -(np.log(sigma) + LOG_SQRT_2PI + estimator.log_norm[:, cont])
        z = (query.unit[:, None, :] - estimator.mu[None, :, cont]) / sigma[None]
        np.square(z, out=z)
        z *= -0.5
        z += constant[None]
        result += _logsumexp(z + log_w, axis=1).sum(axis=1)
    if estimator.grid:
        columns = [np.take(_cell_table(kernels, cells)[cells.cell_of], kernels.kernel_of,
                           axis=1)
                   for kernels, cells in zip(estimator.grid, query.cells, strict=True)]
        result += _logsumexp(np.stack(columns, axis=2) + log_w, axis=1).sum(axis=1)
    if query.category.shape[1]:
        block = _categorical_log_mass(estimator, query.category)
        result += _logsumexp(block + log_w, axis=1).sum(axis=1)
    return result


def _same_space(a: Space, b: Space) -> bool:
    return a is b or all(np.array_equal(getattr(a, f.name), getattr(b, f.name))
                         for f in dataclasses.fields(Space))


def _log_pdfs(estimators: tuple[ParzenEstimator, ...], x: FloatArray) -> list[FloatArray]:
    space = estimators[0].space
    if not all(_same_space(e.space, space) for e in estimators):
        raise ValueError("estimators must share one space")
    query = Query.of(space, x)
    multivariate = [e for e in estimators if e.multivariate]
    joint = iter(_joint_log_densities(tuple(multivariate), query) if multivariate else [])
    return [_logsumexp_rows(next(joint)) if e.multivariate else _univariate_log_pdf(e, query)
            for e in estimators]


def log_pdf(estimator: ParzenEstimator, x: FloatArray) -> FloatArray:
    """Return the log density ``[m]`` of the estimator at internal points ``x`` ``[m, d]``.

    Multivariate: ``log sum_j w_j prod_i K_ji(x_i)``; univariate: ``sum_i log sum_j w_j
    K_ji(x_i)``. Both by log-sum-exp, so far-away points give finite, accurate values.
    """
    return _log_pdfs((estimator,), x)[0]


def log_ratio(below: ParzenEstimator, above: ParzenEstimator, x: FloatArray) -> FloatArray:
    """Return ``log l(x) - log g(x)`` ``[m]`` of two estimators of one space: the same numbers
    as two :func:`log_pdf` calls, with the work that depends on ``x`` alone done once."""
    log_l, log_g = _log_pdfs((below, above), x)
    result: FloatArray = log_l - log_g
    return result
