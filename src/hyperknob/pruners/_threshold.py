"""ThresholdPruner and PatientPruner: rules that look at one trial's own curve."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from hyperknob._checks import check_int, check_number, invalid, is_number
from hyperknob._direction import StudyDirection
from hyperknob.pruners._base import BasePruner, last_step, reported_direction
from hyperknob.pruners._percentile import is_check_step
from hyperknob.trial._frozen import FrozenTrial

if TYPE_CHECKING:
    from hyperknob.study._view import StudyView


def _bound(name: str, value: float | None) -> float | None:
    if value is None:
        return None
    if not is_number(value) or math.isnan(value):
        raise invalid(name, value, "a number or None")
    return float(value)


class ThresholdPruner(BasePruner):
    """Stop a trial whose latest value leaves ``[lower, upper]`` or is NaN.

    Checked at step ``n_warmup_steps`` and every ``interval_steps`` steps after it.

    Example:
        >>> pruner = ThresholdPruner(upper=2.0)  # a loss above 2 will not recover
    """

    def __init__(
        self,
        lower: float | None = None,
        upper: float | None = None,
        n_warmup_steps: int = 0,
        interval_steps: int = 1,
    ) -> None:
        self.lower = _bound("lower", lower)
        self.upper = _bound("upper", upper)
        if self.lower is None and self.upper is None:
            raise TypeError("ThresholdPruner needs lower, upper or both")
        if self.lower is not None and self.upper is not None and self.lower > self.upper:
            raise ValueError(f"lower must be <= upper, got lower={lower!r}, upper={upper!r}")
        self.n_warmup_steps = check_int("n_warmup_steps", n_warmup_steps, least=0)
        self.interval_steps = check_int("interval_steps", interval_steps, least=1)

    def check(self, study: StudyView, trial: FrozenTrial) -> str | None:
        step = last_step(trial)
        if step is None or not is_check_step(step, self.n_warmup_steps, self.interval_steps):
            return None
        value = trial.intermediate_values[step]
        if math.isnan(value):
            return f"ThresholdPruner: the value reported at step {step} is NaN"
        if self.lower is not None and value < self.lower:
            return (f"ThresholdPruner: value {value:.6g} at step {step} is below the lower "
                    f"bound {self.lower:.6g}")
        if self.upper is not None and value > self.upper:
            return (f"ThresholdPruner: value {value:.6g} at step {step} is above the upper "
                    f"bound {self.upper:.6g}")
        return None


class PatientPruner(BasePruner):
    """Let ``wrapped`` prune a trial only once it has stopped improving.

    The trial is *stalled* when the best of its last ``patience`` reported values does not
    beat the best value before them by more than ``min_delta``. A stalled trial is passed to
    ``wrapped`` (or pruned, when ``wrapped`` is None); an improving one is never pruned.

    Example:
        >>> from hyperknob.pruners import MedianPruner
        >>> pruner = PatientPruner(MedianPruner(), patience=3)
    """

    def __init__(
        self, wrapped: BasePruner | None, patience: int, min_delta: float = 0.0
    ) -> None:
        if wrapped is not None and not isinstance(wrapped, BasePruner):
            raise TypeError(f"wrapped must be a pruner or None, got {wrapped!r}")
        self.wrapped = wrapped
        self.patience = check_int("patience", patience, least=0)
        self.min_delta = check_number("min_delta", min_delta, least=0.0)

    def check(self, study: StudyView, trial: FrozenTrial) -> str | None:
        steps = sorted(trial.intermediate_values)
        if len(steps) <= self.patience:
            return None
        values = [trial.intermediate_values[s] for s in steps]
        before = [v for v in values[: len(values) - self.patience] if not math.isnan(v)]
        recent = [v for v in values[len(values) - self.patience:] if not math.isnan(v)]
        if not before:
            return None
        sign = 1.0 if reported_direction(study) is StudyDirection.MINIMIZE else -1.0
        best_before = min(sign * v for v in before)
        best_recent = min((sign * v for v in recent), default=math.inf)
        if best_recent < best_before - self.min_delta:
            return None  # still improving
        stalled = (f"no improvement by more than {self.min_delta:g} over the last "
                   f"{self.patience} steps (best before: {sign * best_before:.6g})")
        if self.wrapped is None:
            return f"PatientPruner: {stalled}"
        reason = self.wrapped.check(study, trial)
        return None if reason is None else f"{reason}; PatientPruner: {stalled}"
