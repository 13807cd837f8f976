"""Parzen estimators for TPE: mixtures of truncated Gaussians and Aitchison-Aitken kernels.

Pure functions over ndarrays; nothing here knows about studies or trials. The space and its
unit coordinate live in ``_space``, the evaluation of fitted estimators in ``_density``.

Shapes used throughout:
    n   observations given to :func:`fit`
    k   mixture components, ``n + 1`` (the prior is the last one)
    d   dimensions; ``d_num`` numerical and ``d_cat`` categorical ones
    m   query points given to :func:`log_pdf`

Spaces. A point is given in the *internal* representation of hyperknob's distributions: the
number itself for float and int dimensions, the index of the choice for categorical ones.
Numerical dimensions are mapped to the *unit* coordinate ``u`` in [0, 1], on a log scale where
``log`` is set. A discrete dimension (ints, stepped floats) with ``N`` grid values is split into
``N`` cells that tile [0, 1]; cell ``j`` covers the values that round to grid value ``j``
(``[v - step/2, v + step/2]`` before the log, as ``from_unit`` in ``samplers/_random.py`` does).
Discrete kernels are the continuous truncated Gaussian *integrated over each cell*, so the
estimator is a proper probability mass function on the grid and sampling is "draw the continuous
kernel, then round to the grid" -- both views give the same distribution.

Densities are with respect to the unit coordinate (counting measure on grids and categories);
TPE only ever uses ratios of two estimators over the same space, so the choice of measure
cancels.

References:
    [B11] J. Bergstra, R. Bardenet, Y. Bengio, B. Kegl. Algorithms for Hyper-Parameter
        Optimization. NeurIPS 2011.
    [F18] S. Falkner, A. Klein, F. Hutter. BOHB: Robust and Efficient Hyperparameter
        Optimization at Scale. ICML 2018 (multivariate product-kernel KDE).
    [W23] S. Watanabe. Tree-structured Parzen Estimator: Understanding Its Algorithm Components
        and Why They Matter. arXiv:2304.11127, 2023.
    [S92] D. W. Scott. Multivariate Density Estimation. Wiley, 1992.
    [AA76] J. Aitchison, C. G. G. Aitken. Multivariate binary discrimination by the kernel
        method. Biometrika 63(3), 1976.
    [S21] A. Souza et al. Bayesian Optimization with a Prior for the Optimum (BOPrO). ECML
        PKDD 2021; [H22] C. Hvarfner et al. πBO: Augmenting Acquisition Functions with User
        Beliefs for Bayesian Optimization. ICLR 2022 (user priors; see ``samplers/_prior``).
    [O22] Y. Ozaki, Y. Tanigaki, S. Watanabe, M. Nomura, M. Onishi. Multiobjective
        Tree-Structured Parzen Estimator. JAIR 73, 2022 (the good set of several objectives:
        non-dominated fronts, the last one cut by hypervolume subset selection).
    [W23b] S. Watanabe, F. Hutter. c-TPE: Tree-structured Parzen Estimator with Inequality
        Constraints for Expensive Hyperparameter Optimization. IJCAI 2023.
"""


from __future__ import annotations

import math

import numpy as np

from hyperknob.samplers._prior import off_center_mass, prior_sigma
from hyperknob.samplers.tpe._bandwidth import (
    MULTIVARIATE_CLIP,
    UNIVARIATE_CLIP,
    categorical_eps,
    magic_clip,
    neighbour_bandwidth,
    scott_bandwidth,
)
from hyperknob.samplers.tpe._cache import FitCache
from hyperknob.samplers.tpe._cache import log_norm as log_norm_of
from hyperknob.samplers.tpe._density import log_pdf, log_ratio
from hyperknob.samplers.tpe._space import (
    BoolArray,
    FloatArray,
    GridKernels,
    IntArray,
    ParzenEstimator,
    Space,
    clip,
    from_unit,
    to_unit,
)
from hyperknob.samplers.tpe._truncnorm import (
    log_normal_mass,
    truncnorm_log_mass,
    truncnorm_log_pdf,
    truncnorm_sample,
)

__all__ = ["BoolArray", "FitCache", "FloatArray", "GridKernels", "IntArray", "ParzenEstimator",
           "Space", "fit", "from_unit", "log_normal_mass", "log_pdf", "log_ratio", "sample",
           "to_unit",
           "truncnorm_log_mass", "truncnorm_log_pdf", "truncnorm_sample"]

#: The prior component's kernel in unit coordinates: a wide Gaussian at the centre ([W23]).
PRIOR_MU = 0.5
PRIOR_SIGMA = 1.0


# -- fitting ----------------------------------------------------------------------------------
def fit(
    observations: FloatArray,
    weights: FloatArray,
    space: Space,
    *,
    prior_weight: float = 1.0,
    multivariate: bool = True,
    consider_endpoints: bool = False,
    prior_center: FloatArray | None = None,
    prior_confidence: FloatArray | None = None,
    cache: FitCache | None = None,
    keys: IntArray | None = None,
) -> ParzenEstimator:
    """Fit a Parzen estimator to observations.

    The prior component is flat ([W23]: a wide Gaussian at the centre, a uniform category)
    except in dimensions given a user prior: there it is the belief of ``samplers/_prior`` --
    a Gaussian at the unit centre with ``sigma = prior_sigma(confidence)``, or the favoured
    category with ``eps = 1 - p(center)``. TPE gives priors to the good model ``l(x)`` only
    ([S21]); the prior's share ``prior_weight / (sum(weights) + prior_weight)`` shrinks as
    observations accumulate, so the data overrules a wrong belief.

    Args:
        observations: ``[n, d]`` internal values (``n`` may be 0: the prior alone).
        weights: ``[n]`` non-negative weights of the observations.
        space: The space of the observations.
        prior_weight: Weight of the prior component, relative to the observation weights.
        multivariate: Joint kernels with scaled Scott bandwidths [F18, S92]; else independent 1-D
            mixtures with neighbour-gap bandwidths [B11].
        consider_endpoints: In univariate mode, count the range ends as neighbours.
        prior_center: ``[d]`` internal centres of user priors (category indices for
            categorical dimensions); NaN where a dimension has none. None: no priors.
        prior_confidence: ``[d]`` their confidences in (0, 1); NaN where there is no prior.
        cache: A :class:`~_cache.FitCache` of ``space`` kept from fit to fit, with ``keys``
            ``[n]`` naming the observations (an observation's values never change): the
            result is the same, computed with less work.
        keys: See ``cache``.

    Returns:
        The estimator; components are the observations in the order given, then the prior.
    """
    observations = np.asarray(observations, dtype=np.float64).reshape(-1, space.size)
    weights = np.asarray(weights, dtype=np.float64)
    n = observations.shape[0]
    if weights.shape != (n,):
        raise ValueError(f"weights must have shape ({n},), got {weights.shape}")
    if np.any(weights < 0) or not np.all(np.isfinite(weights)):
        raise ValueError(f"weights must be finite and >= 0, got {weights}")
    if not (math.isfinite(prior_weight) and prior_weight > 0):
        raise ValueError(f"prior_weight must be > 0, got prior_weight={prior_weight!r}")
    numerical = space.numerical
    d_eff = space.size if multivariate else 1
    rows = np.zeros(0, dtype=np.int64)
    if cache is not None:
        rows = np.asarray(keys, dtype=np.int64).reshape(-1)
        if cache.space is not space or rows.shape != (n,):
            raise ValueError(f"a cache needs its own space and {n} keys, got "
                             f"{rows.shape[0]} keys")

    u = to_unit(space, observations) if cache is None else cache.unit(rows, observations)
    u_num = u[:, numerical]
    if n == 0:
        sigma_obs = np.empty((0, u_num.shape[1]))
    elif multivariate:
        sigma_obs = np.broadcast_to(scott_bandwidth(u_num, weights, d_eff), u_num.shape)
    else:
        sigma_obs = neighbour_bandwidth(u_num, consider_endpoints)
    floor = magic_clip(n, *(MULTIVARIATE_CLIP if multivariate else UNIVARIATE_CLIP))
    sigma_obs = clip(sigma_obs, floor, PRIOR_SIGMA)
    n_choices = space.n_choices[~numerical]
    mu_prior = np.full(u_num.shape[1], PRIOR_MU)
    sigma_prior = np.full(u_num.shape[1], PRIOR_SIGMA)
    category_prior = np.zeros(n_choices.shape[0])
    eps_prior = (n_choices - 1) / np.maximum(n_choices, 1)  # a uniform kernel
    if prior_center is not None or prior_confidence is not None:
        center, confidence, has = _check_prior(space, prior_center, prior_confidence)
        unit_center = to_unit(space, center[None, :])[0]
        mu_prior = np.where(has[numerical], unit_center[numerical], mu_prior)
        sigma_prior = np.where(has[numerical], prior_sigma(confidence[numerical]), sigma_prior)
        category_prior = np.where(has[~numerical], center[~numerical], category_prior)
        eps_prior = np.where(has[~numerical], off_center_mass(n_choices, confidence[~numerical]),
                             eps_prior)
    mu = np.concatenate([u_num, mu_prior[None, :]])
    sigma = np.concatenate([sigma_obs, sigma_prior[None, :]])

    category = np.concatenate([u[:, ~numerical], category_prior[None, :]]).astype(np.int64)
    eps = np.empty((n + 1, n_choices.shape[0]))
    eps[:n] = categorical_eps(n, d_eff, n_choices)
    eps[n] = eps_prior

    all_weights = np.append(weights, prior_weight)
    with np.errstate(divide="ignore"):
        log_weights = np.log(all_weights / all_weights.sum())
    log_norm = np.empty_like(mu)
    cont = space.continuous_columns
    at_floor = np.zeros(cont.size, dtype=bool)
    if cache is not None and multivariate and n > 0:
        # Observation bandwidths are one row broadcast: where it sits at the floor, the
        # cache knows the kernels' masses.
        at_floor = sigma_obs[0, cont] == floor
        if at_floor.any():
            cached = cache.floor_log_norm(rows, mu[:n, cont], floor)
            log_norm[:n, cont[at_floor]] = cached[:, at_floor]
    log_norm[n, cont] = log_norm_of(mu[n, cont], sigma[n, cont])
    if not at_floor.all():
        rest = cont[~at_floor]
        log_norm[:n, rest] = log_norm_of(mu[:n, rest], sigma[:n, rest])
    grid = []
    if space.grid_columns.size:
        dims = np.flatnonzero(numerical)[space.grid_columns]
        n_cells = space.grid_cells
        cells = clip(np.rint((observations[:, dims] - space.low[dims]) / space.step[dims]),
                     0, n_cells - 1).astype(np.int64)
        for g, column in enumerate(space.grid_columns):
            # Observation kernels share their bandwidth: one kernel per occupied grid value
            # (counted when the grid is small next to n, else sorted).
            shared = multivariate and n_cells[g] <= 4 * n + 64
            kernels = _grid_kernels(mu[:, column], sigma[:, column],
                                    cells[:, g] if shared else None)
            log_norm[:, column] = kernels.log_norm[kernels.kernel_of]
            grid.append(kernels)
    return ParzenEstimator(space=space, multivariate=multivariate, log_weights=log_weights,
                           mu=mu, sigma=sigma, log_norm=log_norm, category=category, eps=eps,
                           grid=tuple(grid))


def _grid_kernels(mu: FloatArray, sigma: FloatArray, cell: IntArray | None) -> GridKernels:
    """Return the distinct kernels ``(mu, sigma)`` of one discrete dimension ``[k]``.

    ``cell``: the grid index of each observation (every component but the last, the prior)
    when observation kernels share one bandwidth, so that the grid value tells them apart --
    counted, not sorted. None: kernels are told apart by their ``(mu, sigma)`` pairs.
    """
    k = mu.shape[0]
    if cell is not None and k > 1:
        occupied = np.bincount(cell) > 0
        kernel_of_cell = np.cumsum(occupied) - 1
        first = np.empty(occupied.shape[0], dtype=np.int64)
        first[cell] = np.arange(k - 1)  # any observation of a cell: their centres are equal
        n_kernels = int(kernel_of_cell[-1]) + 1
        first = np.append(first[occupied], k - 1)
        kernel_of = np.append(kernel_of_cell[cell], n_kernels)
    else:
        _, first, kernel_of = np.unique(mu + 1j * sigma, return_index=True,
                                        return_inverse=True)
    k_mu, k_sigma = mu[first], sigma[first]
    return GridKernels(mu=k_mu, sigma=k_sigma, log_norm=log_norm_of(k_mu, k_sigma),
                       kernel_of=kernel_of.astype(np.int64))


def _check_prior(
    space: Space, center: FloatArray | None, confidence: FloatArray | None
) -> tuple[FloatArray, FloatArray, BoolArray]:
    """Return the prior arrays ``[d]`` (NaN-free: ``low`` and 0.5 where there is no prior) and
    the mask of the dimensions that have one, after checking that centres lie in the space."""
    d = space.size
    center = np.full(d, np.nan) if center is None else np.asarray(center, dtype=np.float64)
    confidence = (np.full(d, np.nan) if confidence is None
                  else np.asarray(confidence, dtype=np.float64))
    if center.shape != (d,) or confidence.shape != (d,):
        raise ValueError(f"prior_center and prior_confidence must have shape ({d},), got "
                         f"{center.shape} and {confidence.shape}")
    has = ~np.isnan(center)
    if np.any(has != ~np.isnan(confidence)):
        raise ValueError(f"prior_center and prior_confidence must be NaN in the same "
                         f"dimensions, got {center} and {confidence}")
    if np.any(has & ~((confidence > 0) & (confidence < 1))):
        raise ValueError(f"prior_confidence must be in (0, 1), got {confidence}")
    top = np.where(space.numerical, space.high, space.n_choices - 1)
    inside = (center >= space.low) & (center <= top)
    on_category = space.numerical | (center == np.round(center))
    if np.any(has & ~(inside & on_category)):
        raise ValueError(f"prior_center must lie in the space (a category index for "
                         f"categorical dimensions), got {center}")
    return np.where(has, center, space.low), np.where(has, confidence, 0.5), has


def sample(estimator: ParzenEstimator, rng: np.random.Generator, size: int) -> FloatArray:
    """Draw ``size`` internal points ``[size, d]`` from the estimator.

    A component is drawn by weight -- one per point (multivariate) or one per point and
    dimension (univariate) -- then each dimension from that component's kernel.
    """
    space = estimator.space
    numerical = space.numerical
    k = estimator.log_weights.shape[0]
    p = np.exp(estimator.log_weights)
    p = p / p.sum()
    shape: tuple[int, ...] = (size,) if estimator.multivariate else (size, space.size)
    component = rng.choice(k, size=shape, p=p)
    columns = np.arange(space.size)
    if estimator.multivariate:
        component = np.broadcast_to(component[:, None], (size, space.size))

    u = np.empty((size, space.size))
    num_idx = np.flatnonzero(numerical)
    if num_idx.size:
        comp = component[:, num_idx]
        col = np.arange(num_idx.size)[None, :]
        u[:, num_idx] = truncnorm_sample(estimator.mu[comp, col], estimator.sigma[comp, col],
                                         rng)
    cat_idx = columns[~numerical]
    if cat_idx.size:
        comp = component[:, cat_idx]
        col = np.arange(cat_idx.size)[None, :]
        n_choices = space.n_choices[cat_idx][None, :]
        favoured = estimator.category[comp, col]
        move = rng.random(favoured.shape) < estimator.eps[comp, col]
        # Off the favoured category: uniform over the K - 1 others.
        shift = 1 + np.floor(rng.random(favoured.shape) * np.maximum(n_choices - 1, 1))
        u[:, cat_idx] = np.where(move, (favoured + shift) % n_choices, favoured)
    return from_unit(space, u)
