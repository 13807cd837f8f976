"""A trust region for the acquisition (TuRBO-1), its size replayed from the stored history.

Shapes: ``values`` (n,) the completed trials' values to minimize, in trial order;
``center`` (D,) and ``lengthscales`` (D,) on the GP's unit box.

In many dimensions EI's highest values sit where the posterior variance is largest: in the
corners of the box, far from every observation. A GP whose lengthscales shrank as data came in
then spends trial after trial there (on a rotated Rastrigin in 10-D, more than half the points
after trial 45 had a coordinate at the boundary and values 10-50 times the incumbent's).
TuRBO confines the search to a box around the incumbent, shaped by the lengthscales, that
doubles after a run of improvements and halves after a run of failures.

Here the search starts without a region, on the whole box, as plain BO does: a region from
the first model-based trial cost 3 points of score at 25 trials in 10-D (a box around a random
start-up point hides the better basins of a multimodal function). The region appears at the
first run of ``failure_tolerance`` failures, at TuRBO's initial size, or at the first run of
``SUCCESS_TOLERANCE`` successes, at its largest size (doubling the whole box is capped there:
the search is paying off near the incumbent), and follows TuRBO's rules from there; when it
shrinks below its minimum the search goes back to the whole box (TuRBO's restart, with the
observations kept).

The size is a function of the values alone (replayed from the first model-based trial), so
every worker and a restarted study compute the same region from the same history.

Reference:
    Eriksson, Pearce, Gardner, Turner and Poloczek, "Scalable Global Optimization via Local
    Bayesian Optimization", NeurIPS 2019 (sec. 2: L_init 0.8, L_min 2^-7, L_max 1.6,
    tau_succ 3, tau_fail = max(4, D); the box x_c +- w_i L / 2 with w the lengthscales divided
    by their geometric mean; an improvement beats the best by 1e-3 |best|).
"""

from __future__ import annotations

import math

import numpy as np

LENGTH_INIT, LENGTH_MIN, LENGTH_MAX = 0.8, 0.5**7, 1.6
#: The side length that stands for "no region": the whole box.
WHOLE_BOX = math.inf
SUCCESS_TOLERANCE = 3
#: Relative margin by which a value must beat the best to count as a success.
IMPROVEMENT = 1e-3


def failure_tolerance(dim: int) -> int:
    """Consecutive failures before the region halves: max(4, D) (TuRBO, one point a batch)."""
    return max(4, dim)


def region_length(values: np.ndarray, n_startup: int, dim: int) -> float:
    """Return the side length L after replaying ``values`` (n,) past the first ``n_startup``;
    ``WHOLE_BOX`` (inf) while there is no region.

    The start-up values set the first best; each later one is a success (it beats the best
    by ``IMPROVEMENT`` of its size) or a failure. ``failure_tolerance(dim)`` failures in a row
    open the region at ``LENGTH_INIT`` or halve it; ``SUCCESS_TOLERANCE`` successes in a row
    double it, at most to ``LENGTH_MAX`` (from the whole box, too). Below ``LENGTH_MIN`` the
    search is back on the whole box.
    """
    length = WHOLE_BOX
    if len(values) <= n_startup:
        return length
    best = float(np.min(values[:max(n_startup, 1)]))
    successes = failures = 0
    tolerance = failure_tolerance(dim)
    for value in values[max(n_startup, 1):]:
        if value < best - IMPROVEMENT * abs(best):
            successes, failures = successes + 1, 0
        else:
            successes, failures = 0, failures + 1
        best = min(best, float(value))
        if successes == SUCCESS_TOLERANCE:
            length, successes = min(2.0 * length, LENGTH_MAX), 0
        elif failures == tolerance:
            length, failures = (LENGTH_INIT if math.isinf(length) else length / 2.0), 0
            if length < LENGTH_MIN:
                length = WHOLE_BOX
    return length


def region_box(center: np.ndarray, lengthscales: np.ndarray, length: float
               ) -> tuple[np.ndarray, np.ndarray]:
    """Return (low, high) (D,) of the box ``center +- w L / 2`` clipped to [0, 1], with
    ``w = lengthscales / geomean(lengthscales)`` (long lengthscales: wider sides)."""
    weights = lengthscales / math.exp(float(np.mean(np.log(lengthscales))))
    half = 0.5 * length * weights
    return np.clip(center - half, 0.0, 1.0), np.clip(center + half, 0.0, 1.0)
