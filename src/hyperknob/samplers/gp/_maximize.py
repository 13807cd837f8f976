"""Maximize an acquisition function over the mixed unit box: Sobol screening, L-BFGS-B on
the numeric columns, grid snapping and a hill-climb over categories. Pure numpy / scipy.

Shapes: ``x`` (m, D) points of the unit box the GP works in (numeric columns in [0, 1],
categories one-hot). An acquisition is any :class:`Acquisition`: values (m,) at points, and
values with their gradient (m, D); log-EI (``_acquisition``), log-EHVI (``_ehvi``) and the
log probability of feasibility (``LogFeasibility``, in ``_ehvi``) are the ones the GP sampler uses.
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable, Sequence
from typing import Protocol

import numpy as np
import scipy.optimize

from hyperknob.samplers.gp._encoding import BOUND_STEP

#: Bounds (low, high), each (D,), on the unit box: a trust region (``_trust_region``).
Region = tuple[np.ndarray, np.ndarray]


class Acquisition(Protocol):
    """A function of points of the unit box to maximize."""

    def __call__(self, x: np.ndarray) -> np.ndarray:
        """Return the values (m,) at points ``x`` (m, D)."""

    def with_gradient(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Return the values (m,) and their gradients (m, D) at ``x`` (m, D)."""


@dataclasses.dataclass(frozen=True)
class Sum:
    """The sum of acquisitions (in logs: a product, e.g. log EI + log P(feasible))."""

    parts: Sequence[Acquisition]

    def __call__(self, x: np.ndarray) -> np.ndarray:
        total: np.ndarray = np.zeros(len(x))
        for part in self.parts:
            total = total + part(x)
        return total

    def with_gradient(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        value, grad = np.zeros(len(x)), np.zeros_like(x, dtype=float)
        for part in self.parts:
            part_value, part_grad = part.with_gradient(x)
            value, grad = value + part_value, grad + part_grad
        return value, grad


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
    acquisition: Acquisition, starts: np.ndarray, columns: np.ndarray,
    max_iterations: int = 30, region: Region | None = None,
) -> np.ndarray:
    """Run L-BFGS-B on ``columns`` from each start (k, D), the other columns held fixed.

    The k problems are independent, so one L-BFGS-B run on the sum of their acquisition
    values optimizes all of them at once (block-diagonal Hessian): one scipy call instead of
    k. 30 iterations: on 200-trial studies in 5-D and 10-D, running on to 100 changed the log
    EI of the point chosen by at most 0.02 (the starts are the best of 2,300 screened points)
    at 1.3x the cost.
    """
    k = len(starts)

    def negative(flat: np.ndarray) -> tuple[float, np.ndarray]:
        x = starts.copy()
        x[:, columns] = flat.reshape(k, len(columns))
        value, grad = acquisition.with_gradient(x)
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


def maximize_acquisition(
    acquisition: Acquisition,
    box: MixedBox,
    rng: np.random.Generator,
    incumbents: np.ndarray,
    *,
    seen: np.ndarray | None = None,
    n_candidates: int = 2048,
    n_restarts: int = 5,
    region: Region | None = None,
) -> tuple[np.ndarray, float]:
    """Return the feasible point (D,) of highest ``acquisition`` found, and that value.

    With a ``region`` ((low, high), (D,) each; ``_trust_region``) the numeric columns of every
    candidate and every local search stay inside it (grid snapping may step just outside).

    Screens ``n_candidates`` Sobol points plus perturbations of ``incumbents`` (k, D) (the best
    observed points), refines the top ``n_restarts`` with L-BFGS-B in the continuous relaxation,
    snaps them to the grid (refining the continuous columns once more with the grid columns
    fixed), and hill-climbs the categories of the winner. Every value compared is the
    acquisition at a snapped, feasible point. Points in ``seen`` (evaluated or pending) score
    -inf unless no other point is found: with a noise term, EI stays positive at an observed
    grid point and would otherwise propose it again and again in small discrete spaces.
    """
    seen = np.empty((0, box.n_features)) if seen is None else seen

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
        refined = box.snap(_local_numeric(acquisition, starts, box.numeric, region=region))
        if 0 < len(box.continuous) < len(box.numeric):
            # Rounding moved the grid columns: re-fit the continuous ones on the grid slice.
            refined = np.vstack([refined, _local_numeric(acquisition, refined, box.continuous,
                                                         region=region)])
        pool = np.vstack([pool, refined])
        pool_values = np.concatenate([pool_values, score(refined)])
    top = int(np.argmax(pool_values))
    x, value = pool[top], float(pool_values[top])
    if box.categorical:
        x, value = _local_categorical(score, box, x, value)
    if not np.isfinite(value) and region is not None:
        # Every feasible point of the region was seen (a narrow region over a grid): the
        # whole box may still hold new ones.
        return maximize_acquisition(acquisition, box, rng, incumbents, seen=seen,
                                    n_candidates=n_candidates, n_restarts=n_restarts)
    if not np.isfinite(value):  # every point found was seen: the space may be exhausted
        top = int(np.argmax(raw))
        x, value = candidates[top], float(raw[top])
    return x, value


#: How much of the acquisition (in logs) moving a point on a continuous column's bound
#: ``BOUND_STEP`` inside may cost: a bound is suggested only where the model
#: clearly favours it, its acquisition e^2 ~ 7.4 times that just inside. (On
#: alpha + b^2 over [0, 1] x [-1, 1] the GP put 10-19 of 30 trials on alpha = 0 exactly with
#: a tolerance of log 2 or 0.01; none with 2, at a best value of 0.001.)
BOUND_TOLERANCE = 2.0


def step_off_bounds(acquisition: Acquisition, x: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """Return ``x`` (D,) with its continuous ``columns`` that sit exactly on 0 or 1 moved
    ``BOUND_STEP`` inside, unless that lowers the acquisition by more than
    ``BOUND_TOLERANCE``.

    L-BFGS-B stops on a bound whenever the acquisition still rises toward it, however
    slightly, and a bound is often a value the objective cannot take (a regularization
    strength of exactly 0, a rate of exactly 1): it should be suggested only when the model
    clearly prefers it.
    """
    on_bound = columns[(x[columns] <= 0.0) | (x[columns] >= 1.0)]
    if not len(on_bound):
        return x
    moved: np.ndarray = x.copy()
    moved[on_bound] = np.where(x[on_bound] <= 0.0, BOUND_STEP, 1.0 - BOUND_STEP)
    values = acquisition(np.stack([x, moved]))
    if not np.isfinite(values[1]) or values[0] - values[1] > BOUND_TOLERANCE:
        return x
    return moved
