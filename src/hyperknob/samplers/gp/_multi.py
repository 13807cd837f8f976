"""The GP sampler's acquisitions for several objectives and for constraints.

One GP per objective and per constraint, each fitted to the completed trials as the
one-objective GP is (standardized, objectives warped); running trials condition the
objective GPs as constant lies. The acquisition is then:

- several objectives (up to three): log EHVI over the boxes the feasible observed front
  leaves undominated, its reference point the worst feasible value of each objective plus a
  tenth of its range (``_ehvi``); four or more: ParEGO's augmented Chebyshev scalarization
  with weights drawn per trial ([K06]) and log EI on it;
- with constraints: plus log P(feasible) ([G14]); before any trial is feasible, that term
  alone, which steers the search into the feasible region first.

References:
    [K06] Knowles, "ParEGO: A Hybrid Algorithm With On-Line Landscape Approximation for
    Expensive Multiobjective Optimization Problems", IEEE Trans. Evol. Comput. 2006.
    [G14] see ``_ehvi``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import numpy as np

from hyperknob._pareto import nadir_reference, nondominated_mask
from hyperknob.samplers.gp._acquisition import LogEI
from hyperknob.samplers.gp._ehvi import LogEHVI, LogFeasibility, box_decomposition
from hyperknob.samplers.gp._gp import GPModel
from hyperknob.samplers.gp._maximize import Acquisition
from hyperknob.samplers.gp._warp import warp_targets

#: Objectives from which EHVI's boxes ((k + 1)^(m - 1)) give way to ParEGO.
EHVI_MAX_OBJECTIVES = 3
#: ParEGO's augmentation weight rho ([K06] eq. 2).
PAREGO_RHO = 0.05

#: Fit and condition a GP on standardized targets (the sampler's, with its warm start):
#: (targets (n,), the name its fit is remembered by) -> the model, lies included.
FitModel = Callable[[np.ndarray, str], GPModel]


def standardize(values: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Return ``(values - mean) / std`` and the mean and std used (std 1 for a constant)."""
    mean = float(np.mean(values))
    scale = float(np.std(values))
    scale = scale if scale > 0.0 and np.isfinite(scale) else 1.0
    return (values - mean) / scale, mean, scale


def standardize_and_warp(values: np.ndarray) -> np.ndarray | None:
    """Return the GP's targets for values to minimize: standardized, then warped
    (``_warp``); None when they overflow (values near the float limit)."""
    scaled = standardize(values)[0]
    if not np.all(np.isfinite(scaled)):
        return None
    return warp_targets(scaled)


@dataclasses.dataclass(frozen=True)
class Plan:
    """What the acquisition needs beyond the models: its value function and the points
    to search near (the best feasible ones)."""

    acquisition: Acquisition
    incumbents: np.ndarray


def feasibility(constraints: np.ndarray, fit: FitModel) -> LogFeasibility:
    """Return log P(feasible) from (n, c) constraint values of the completed trials."""
    models, thresholds = [], []
    for k in range(constraints.shape[1]):
        scaled, mean, scale = standardize(constraints[:, k])
        models.append(fit(scaled, f"constraint {k}"))
        thresholds.append((0.0 - mean) / scale)
    return LogFeasibility(models, np.array(thresholds))


def plan_multi(x: np.ndarray, losses: np.ndarray, feasible: np.ndarray, fit: FitModel,
               rng: np.random.Generator) -> Plan | None:
    """Return the acquisition of several objectives: ``x`` (n, D) the completed trials'
    features, ``losses`` (n, m) their values to minimize, ``feasible`` (n,) which meet their
    constraints (at least one does); None when the values overflow."""
    columns = []
    for j in range(losses.shape[1]):
        column = standardize_and_warp(losses[:, j])
        if column is None:
            return None
        columns.append(column)
    transformed = np.column_stack(columns)
    good = transformed[feasible]
    front_mask = nondominated_mask(good)
    front_rows = np.flatnonzero(feasible)[front_mask]
    pick = rng.permutation(len(front_rows))[:3]
    incumbents = x[front_rows[pick]]
    m = losses.shape[1]
    if m <= EHVI_MAX_OBJECTIVES:
        models = [fit(transformed[:, j], f"objective {j}") for j in range(m)]
        lower, upper = box_decomposition(good[front_mask], nadir_reference(good, floor=1e-6))
        return Plan(LogEHVI(models, lower, upper), incumbents)
    # ParEGO: one random weighting of the objectives, scaled to [0, 1], per trial.
    low, high = transformed.min(axis=0), transformed.max(axis=0)
    unit = (transformed - low) / np.maximum(high - low, 1e-12)
    weights = rng.dirichlet(np.ones(m))
    scalar = np.max(weights * unit, axis=1) + PAREGO_RHO * unit @ weights
    scaled = standardize(scalar)[0]
    model = fit(scaled, "parego")
    best = int(np.argmin(np.where(feasible, scaled, np.inf)))
    return Plan(LogEI(model, float(scaled[best])), x[[best]])
