"""BOHBSampler: TPE whose models are fitted at one budget, the largest that enough trials reached.

BOHB [F18] pairs Hyperband's brackets with a model-based sampler: the model is fitted on the
observations at the largest budget with enough of them, so it learns from the many cheap,
stopped trials early on and from full trials once there are enough. Here the budgets are the
rungs of successive halving (``min_resource * reduction_factor^k`` steps), a trial's value at a
budget is what it reported at its first step reaching it (the rule of
``pruners._halving``), and the model is hyperknob's multivariate TPE.

References:
    [F18] S. Falkner, A. Klein, F. Hutter. BOHB: Robust and Efficient Hyperparameter
        Optimization at Scale. ICML 2018.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from hyperknob._checks import check_int
from hyperknob.pruners._halving import rung_resources, rung_value
from hyperknob.samplers.tpe._history import (
    TIER_COMPLETE,
    TIER_RUNNING,
    Observations,
    StudyHistory,
)
from hyperknob.samplers.tpe._sampler import TPESampler
from hyperknob.trial._frozen import FrozenTrial


class BOHBSampler(TPESampler):
    """TPE fitted at the largest budget (rung) with enough observations [F18].

    While fewer than ``min_points_in_model`` trials (default: ``max(n_startup_trials, d + 1)``
    for ``d`` parameters) are COMPLETE, the models are fitted to the trials that reached the
    largest rung with that many of them, scored by their value at that rung -- including
    trials a pruner stopped later. From then on it is plain TPE on the final values. Use it
    with a :class:`~hyperknob.pruners.HyperbandPruner` (or successive halving) of the same
    ``min_resource`` and ``reduction_factor``: ``hyperknob.strategies.bohb()`` builds both.

    Args:
        min_resource: The first rung's step.
        reduction_factor: The ratio of consecutive rungs.
        min_points_in_model: Observations a budget needs to be modelled.
        **tpe: :class:`TPESampler`'s arguments (``seed``, ``n_startup_trials``, ...).

    Example:
        >>> sampler = BOHBSampler(min_resource=1, reduction_factor=3, seed=0)
    """

    def __init__(
        self,
        *,
        min_resource: int = 1,
        reduction_factor: int = 3,
        min_points_in_model: int | None = None,
        **tpe: Any,
    ) -> None:
        super().__init__(**tpe)
        self.min_resource = check_int("min_resource", min_resource, least=1)
        self.reduction_factor = check_int("reduction_factor", reduction_factor, least=2)
        if min_points_in_model is not None:
            check_int("min_points_in_model", min_points_in_model, least=2)
        self.min_points_in_model = min_points_in_model
        #: The budget (rung step) of the last model fitted; None: final values.
        self.last_budget: int | None = None

    def _model_observations(
        self, obs: Observations, history: StudyHistory, running: list[FrozenTrial], d: int
    ) -> Observations:
        if history.n_objectives > 1:
            raise ValueError("BOHBSampler models one objective (its budgets rank trials by "
                             "one value); use TPESampler or NSGAIISampler for several")
        needed = self.min_points_in_model or max(self.n_startup_trials, d + 1)
        finished = obs.tier != TIER_RUNNING
        if int(np.count_nonzero(obs.tier == TIER_COMPLETE)) >= needed:
            self.last_budget = None
            return obs
        live = {t.number: t.intermediate_values for t in running}
        curves = [history.curve(int(n)) if f else live.get(int(n), {})
                  for n, f in zip(obs.number, finished, strict=True)]
        top = max((max(c) for c in curves if c), default=-1)
        sign = history.sign
        for budget in reversed(rung_resources(self.min_resource, self.reduction_factor, 0, top)):
            values = [rung_value(c, budget) if f else None
                      for c, f in zip(curves, finished, strict=True)]
            reached = np.array([v is not None for v in values])
            if int(np.count_nonzero(reached)) < needed:
                continue
            keep = reached | ~finished  # running trials stay as constant-liar points
            score = np.array([math.inf if v is None or math.isnan(v) else sign * v
                              for v in values])
            self.last_budget = budget
            return Observations(values=obs.values[keep],
                                tier=np.where(finished, TIER_COMPLETE, TIER_RUNNING)[keep],
                                score=np.where(finished, score, np.nan)[keep],
                                number=obs.number[keep],
                                violation=None if obs.violation is None
                                else obs.violation[keep])
        self.last_budget = None
        return obs
