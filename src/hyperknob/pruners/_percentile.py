"""PercentilePruner and MedianPruner: stop a trial that is worse than most finished ones."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from hyperknob._checks import check_int, check_number
from hyperknob._direction import StudyDirection
from hyperknob.pruners._base import BasePruner, last_step, reported_direction
from hyperknob.trial._frozen import FrozenTrial
from hyperknob.trial._state import TrialState

if TYPE_CHECKING:
    from hyperknob.study._view import StudyView


def best_so_far(trial: FrozenTrial, step: int, direction: StudyDirection) -> float:
    """Return the trial's best non-NaN value reported at or before ``step`` (NaN if none)."""
    values = [v for s, v in trial.intermediate_values.items() if s <= step and not math.isnan(v)]
    if not values:
        return math.nan
    return min(values) if direction is StudyDirection.MINIMIZE else max(values)


def is_check_step(step: int, n_warmup_steps: int, interval_steps: int) -> bool:
    """Return whether a pruner with this warm-up and interval looks at ``step``."""
    return step >= n_warmup_steps and (step - n_warmup_steps) % interval_steps == 0


class PercentilePruner(BasePruner):
    """Stop a trial whose best value so far is worse than a percentile of the COMPLETE trials'
    values at the same step.

    At step ``s`` the trial's best value over steps ``<= s`` is compared with the
    ``percentile``-th best of the values that COMPLETE trials reported at step ``s`` (the
    ``percentile``-th percentile when minimizing, the ``100 - percentile``-th when maximizing,
    so a smaller ``percentile`` prunes more). Nothing is pruned while fewer than
    ``n_startup_trials`` trials are COMPLETE, before step ``n_warmup_steps``, between checks
    (every ``interval_steps`` steps from the warm-up on), or when fewer than ``n_min_trials``
    COMPLETE trials reported step ``s``. A NaN value is pruned at the next check.

    Example:
        >>> pruner = PercentilePruner(25.0, n_startup_trials=5, n_warmup_steps=3)
    """

    def __init__(
        self,
        percentile: float,
        n_startup_trials: int = 5,
        n_warmup_steps: int = 0,
        interval_steps: int = 1,
        *,
        n_min_trials: int = 1,
    ) -> None:
        self.percentile = check_number("percentile", percentile, least=0.0, most=100.0)
        self.n_startup_trials = check_int("n_startup_trials", n_startup_trials, least=0)
        self.n_warmup_steps = check_int("n_warmup_steps", n_warmup_steps, least=0)
        self.interval_steps = check_int("interval_steps", interval_steps, least=1)
        self.n_min_trials = check_int("n_min_trials", n_min_trials, least=1)

    def _name(self) -> str:
        return f"{type(self).__name__}({self.percentile:g}th percentile)"

    def check(self, study: StudyView, trial: FrozenTrial) -> str | None:
        step = last_step(trial)
        if step is None or not is_check_step(step, self.n_warmup_steps, self.interval_steps):
            return None
        complete = study.get_trials((TrialState.COMPLETE,))
        if len(complete) < self.n_startup_trials:
            return None
        direction = reported_direction(study)
        current = trial.intermediate_values[step]
        if math.isnan(current):
            return f"{self._name()}: the value reported at step {step} is NaN"
        best = best_so_far(trial, step, direction)
        others = [t.intermediate_values[step] for t in complete
                  if step in t.intermediate_values]
        others = [v for v in others if not math.isnan(v)]
        if len(others) < self.n_min_trials:
            return None
        minimize = direction is StudyDirection.MINIMIZE
        q = self.percentile if minimize else 100.0 - self.percentile
        threshold = float(np.percentile(np.array(others), q))
        if (best > threshold) if minimize else (best < threshold):
            return (f"{self._name()}: best value {best:.6g} up to step {step} is worse than "
                    f"{threshold:.6g}, the {self.percentile:g}th percentile of the "
                    f"{len(others)} COMPLETE trials at step {step}")
        return None


class MedianPruner(PercentilePruner):
    """Stop a trial whose best value so far is worse than the median of the COMPLETE trials
    at the same step: :class:`PercentilePruner` at the 50th percentile.

    Example:
        >>> pruner = MedianPruner(n_startup_trials=5, n_warmup_steps=3)
    """

    def __init__(
        self,
        n_startup_trials: int = 5,
        n_warmup_steps: int = 0,
        interval_steps: int = 1,
        *,
        n_min_trials: int = 1,
    ) -> None:
        super().__init__(50.0, n_startup_trials, n_warmup_steps, interval_steps,
                         n_min_trials=n_min_trials)

    def _name(self) -> str:
        return "MedianPruner"
