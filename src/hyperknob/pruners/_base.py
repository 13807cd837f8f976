"""The pruner interface: a read-only view of the study and a trial in, a decision out."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from hyperknob.trial._frozen import FrozenTrial

if TYPE_CHECKING:
    from hyperknob.study._view import StudyView


class BasePruner:
    """Decide whether a running trial should stop early.

    Like samplers, pruners never write and keep no state of their own that the stored trials
    could not rebuild: every decision is a function of the study's stored trials, so it is
    the same in every worker process and after a restart.

    Subclasses define :meth:`check`, which says why a trial should stop (or returns None), or
    only :meth:`prune`, the yes/no form (Optuna's interface); each has a default in terms of
    the other. ``Trial.should_prune`` asks :meth:`check` and keeps the reason, which the study
    stores with the PRUNED trial.
    """

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if cls.check is BasePruner.check and cls.prune is BasePruner.prune:
            raise TypeError(f"pruner {cls.__name__} must define check() or prune()")

    def prune(self, study: StudyView, trial: FrozenTrial) -> bool:
        """Return True if ``trial`` (with its reported intermediate values) should stop."""
        return self.check(study, trial) is not None

    def check(self, study: StudyView, trial: FrozenTrial) -> str | None:
        """Return why ``trial`` should stop now, with the numbers behind it, or None."""
        if not self.prune(study, trial):
            return None
        step = last_step(trial)
        return f"{type(self).__name__} pruned the trial at step {step}"


class NopPruner(BasePruner):
    """Never prune.

    Example:
        >>> NopPruner().prune(None, None)  # type: ignore[arg-type]
        False
    """

    def check(self, study: StudyView, trial: FrozenTrial) -> str | None:
        return None


def last_step(trial: FrozenTrial) -> int | None:
    """Return the largest step ``trial`` reported, or None before its first report."""
    values = trial.intermediate_values
    return max(values) if values else None


def check_int(name: str, value: object, least: int) -> int:
    """Return ``value`` if it is an int >= ``least``; else raise a clear error."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {name}={value!r}")
    if value < least:
        raise ValueError(f"{name} must be >= {least}, got {name}={value}")
    return value


def is_nan(value: float) -> bool:
    """Return whether a reported value is NaN."""
    return math.isnan(value)
